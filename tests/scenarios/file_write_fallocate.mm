# write(2) and fallocate(2) on a mapped memfd: a write past the end grows the file (pages in
# the cache, dirty, charged); fallocated pages are dirty but not uptodate, so fault-around
# leaves them for their own fault; keep allocates past the end without growing it.
memfd f 16K
commit
mmap 0 128K r shared f
touch 0 128K r
write f 20K 8K
commit
touch 0 128K r
dump
fallocate f 64K 32K
commit
touch 64K 4K r
dump
touch 72K 8K r
fallocate f 128K 64K keep
commit
touch 0 128K r
fallocate f 0 0
fallocate f 1G 4K keep
commit
fallocate f 1G 8K punch keep
commit
# a partial last page is zeroed past the new end and dirtied
truncate f 5000
dump
truncate f 1M
touch 0 128K r
dump
write f 0 0
fsync f
