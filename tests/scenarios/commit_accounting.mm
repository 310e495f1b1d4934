# Private writable mappings charge their size at mmap (ac); read-only and noreserve ones do not;
# mprotect to writable charges; munmap returns it; fork charges the child's ac VMAs.
commit
mmap 0 1M rw private,anon
commit
mmap 2M 1M r private,anon
commit
mprotect 2M 1M rw
commit
mmap 4M 1M rw private,anon,noreserve
commit
fork
commit
child munmap 0 512K
commit
child_exit
commit
munmap 0 5M
commit
