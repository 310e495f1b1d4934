# SHM_RDONLY: the attachment maps r--s without mw and sh; a write faults (SIGSEGV), mprotect
# to write is EACCES; a read-write attachment of the same segment beside it shares its pages.
shmget s 64K
shmat s 0 rdonly
shmat s 1M
touch 1M 64K w
touch 0 64K r
touch 0 4K w
mprotect 0 64K rw
mprotect 1M 64K r
mprotect 1M 64K rw
dump
madvise 0 64K dontneed
madvise 1M 64K remove
dump
shmrm s
shmdt 1M
shmdt 0
