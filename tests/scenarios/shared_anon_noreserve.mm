# With noreserve a shared anonymous mapping is charged per page as pages are allocated.
commit
mmap 0 1M rw shared,anon,noreserve
commit
touch 0 64K w
commit
munmap 0 1M
commit
dump
