# Attachments split by mprotect and munmap count once per VMA in nattch, never merge back
# (their close is shm_close), and shmdt takes every piece that starts at its own offset.
shmget s 64K
shmat s 0
touch 0 64K w
mprotect 16K 16K r
dump
mprotect 16K 16K rw
dump
munmap 48K 4K
dump
shmdt 0
dump
shmat s 1M
munmap 1M 16K
shmdt 1M
shmdt 1M+16K
dump
shmrm s
