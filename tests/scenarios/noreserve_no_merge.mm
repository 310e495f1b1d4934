# A noreserve mapping (nr, no ac) does not merge with an accounted one (ac).
commit
mmap 0 1M rw private,anon
mmap 1M 1M rw private,anon,noreserve
mmap 2M 1M rw private,anon,noreserve
commit
dump
