# SysV shared memory: a segment charges its whole size at shmget; each attachment is a shared
# mapping named /SYSV00000000 (deleted), counted in nattch (fork and splits count too);
# IPC_RMID marks it, and it goes with its last attachment (IPC_STAT then says EINVAL).
shmget a 40000
commit
shmat a 0
shmat a 64K rdonly
shmat a 32K
touch 0 40K w
touch 64K 40K r
dump
fork
child touch 0 40K r
shmrm a
child shmdt 0
shmdt 64K
shmdt 64K
shmdt 0
commit
child mprotect 64K 4K r
child mprotect 64K 4K rw
child dump
child shmdt 64K
child dump
commit
shmget b 8K
shmat b 1M
shmrm b
shmat b 2M
shmdt 1M
shmat b 1M
shmrm b
shmat nope 0
shmget a 4K
shmget c 0
shmdt 4M
shmdt 1M+2K
