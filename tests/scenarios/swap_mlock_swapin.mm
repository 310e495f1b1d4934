# mlock of a range with swapped-out pages populates it with write faults (a private writable
# VMA): every page comes back and its slot is freed; MADV_PAGEOUT of a locked VMA is EINVAL.
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 64K pageout
meminfo SwapFree
mlock 0 32K
pagemap 0 64K
meminfo SwapFree
dump
madvise 0 32K pageout
madvise 32K 32K pageout
meminfo SwapFree
