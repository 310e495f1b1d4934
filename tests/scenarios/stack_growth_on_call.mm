# A call just below a growsdown VMA grows it first (expand_stack, then the access check: no
# VM_EXEC here, so SIGSEGV; the runner's read of the target maps the zero page). The growth is
# charged to Committed_AS even for a VMA without VM_ACCOUNT, which never gives it back; the
# stack guard gap and RLIMIT_STACK (8 MiB) refuse growth; a locked stack's growth is locked.
mmap 16M 64K r private,anon,growsdown
commit
call 16380K
commit
munmap 15M 2M
commit
mmap 32M 64K rw private,anon,growsdown
call 23M
call 25M
commit
dump
mmap 64M 64K rw private,anon,growsdown,locked
call 65520K
commit
dump
