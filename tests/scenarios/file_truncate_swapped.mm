# Truncating a tmpfs file whose pages were written out to swap: the swapped-out pages leave
# the file with the cached ones (their slots freed, their charge returned).
swapon 16M
shmfile s 64K fill
mmap 0 64K rw shared s
touch 0 64K r
madvise 0 64K pageout
meminfo SwapFree
commit
truncate s 16K
meminfo SwapFree
commit
touch 0 16K r
meminfo SwapFree
dump
