# A memfd without fill has holes: read faults on a shared mapping allocate shmem pages one at a
# time (no cached neighbours to fault around); writes dirty them; the file charges per page.
memfd f 1M
commit
mmap 0 1M rw shared f
touch 0 64K r
pagemap 0 128K
touch 64K 64K w
commit
dump
