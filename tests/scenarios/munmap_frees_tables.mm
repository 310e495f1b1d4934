# munmap of the only mapping frees its PTE, PMD and PUD pages.
mmap 0 4M rw private,anon
touch 0 4M w 64K
munmap 0 4M
mmap 1G 2M rw private,anon
touch 1G 2M r 1M
munmap 1G 2M
