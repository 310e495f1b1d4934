# Resource limits and CAP_IPC_LOCK. Root locks past RLIMIT_MEMLOCK until it drops the
# capability; then mlock counts pages already locked in the range once, MAP_LOCKED and the
# growth of a locked mapping are EAGAIN, mlockall current over the limit ENOMEM, and a zero
# limit EPERM. A hard limit cannot be raised again (this host withholds CAP_SYS_RESOURCE).
# RLIMIT_AS bounds every mapping (what MAP_FIXED replaces does not count twice), RLIMIT_DATA
# only private writable ones; the child inherits the limits.
setrlimit memlock 16M
setrlimit memlock 4M
mmap 0 8M rw private,anon
mlock 0 6M
munlock 0 6M
drop_cap ipc_lock
mlock 0 6M
mlock 0 2M
mlock 0 4M
mlock 1M 2M
mlock 0 5M
munlock 0 8M
mmap 16M 6M rw private,anon,locked
mmap 16M 2M rw private,anon,locked
mremap 16M 2M 6M
mlockall current
mlockall future
mmap 32M 3M rw private,anon
munlockall
setrlimit memlock 0
mlock 0 4K
mlockall future
setrlimit memlock 8M
setrlimit as 64M
mmap 64M 60M rw private,anon
mmap 64M 50M rw private,anon,noreserve
mmap 128M 8M r private,anon
munmap 64M 50M
mmap 64M 50M r private,anon,fixed
munmap 64M 50M
setrlimit data 16M
mmap 256M 16M rw private,anon
mmap 256M 4M rw private,anon
mmap 256M 4M rw private,anon,fixed
mmap 300M 8M r private,anon
mmap 400M 8M rw shared,anon
mremap 256M 4M 8M
mprotect 300M 8M rw
setrlimit data inf
fork
child setrlimit data 4M
child mmap 512M 8M rw private,anon
child mmap 512M 8M rw shared,anon
mmap 512M 8M rw private,anon
child mlock 0 4K
