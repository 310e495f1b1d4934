# A MAP_FIXED mmap refused by RLIMIT_AS after it gathered what it replaces: the VMAs its range
# cut were split first (vms_gather_munmap_vmas) and are put back split.
mmap 4G 64M rw shared,anon,noreserve
mmap 8G 64M rw private,anon
setrlimit as 4096
mmap 4G+4M 4096 rw shared,anon,fixed
mmap 8G+1M 8M rw private,anon,fixed
mmap 8G+60M 8M rw private,anon,fixed
dump
