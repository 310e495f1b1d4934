# Shared anonymous mappings are shmem objects named /dev/zero (deleted), charged whole at mmap.
commit
mmap 0 1M rw shared,anon
commit
touch 0 128K w
touch 512K 4K r
pagemap 0 1M
fork
child touch 0 8K r
child pagemap 0 128K
child dump
child_exit
munmap 0 1M
commit
