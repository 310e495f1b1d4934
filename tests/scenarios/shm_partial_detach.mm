# munmap of part of an attachment splits it; shmdt at the start takes every remaining piece
# that starts at its own offset from there; a segment whose size is not a page multiple maps
# its last page whole. An unaligned shmat is EINVAL, one over a mapping too.
shmget s 30000
shmat s 0
touch 0 28K w
munmap 8K 4K
munmap 20K 8K
dump
shmat s 16K
shmat s 1M+100
mmap 2M 4K rw private,anon
shmat s 2044K
shmdt 0
dump
shmdt 0
shmrm s
