# Stack growth under limits: with CAP_IPC_LOCK dropped, a locked stack grows only within
# RLIMIT_MEMLOCK (past it the access is SIGSEGV); RLIMIT_AS bounds growth too; a fixed
# mapping placed inside the guard gap is allowed and then blocks growth; a growsdown VMA
# below imposes no gap.
setrlimit memlock 1M
drop_cap ipc_lock
mmap 64M 64K rw private,anon,growsdown,locked
touch 63M 4K w grow
touch 63M+768K 4K w grow
dump
setrlimit as 66M
mmap 128M 64K rw private,anon,growsdown
touch 127M 4K r grow
touch 100M 4K r grow
setrlimit as inf
dump
mmap 256M 64K rw private,anon,growsdown
mmap 255M+512K 4K rw private,anon,fixed
touch 255M+960K 4K w grow
mmap 300M 4K rw private,anon,growsdown
mmap 300M+64K 64K rw private,anon,growsdown
touch 300M+8K 4K w grow
dump
