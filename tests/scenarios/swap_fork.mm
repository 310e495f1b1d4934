# fork duplicates swap entries: both processes count them in VmSwap, and a slot is freed only
# when its last entry goes. A swap-in of a shared slot goes through the swap cache (with
# readahead) and keeps the slot; a write by the other process copies; the child's exit then
# frees what only it held.
swapon 64M
meminfo SwapFree
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 32K pageout
pagemap 0 64K
meminfo SwapFree
touch 0 8K r
pagemap 0 64K
meminfo SwapFree
fork
child pagemap 0 64K
child touch 16K 4K r
child pagemap 0 64K
pagemap 0 64K
meminfo SwapFree
touch 16K 4K w
pagemap 0 64K
child dump
dump
child_exit
meminfo SwapFree
munmap 0 64K
meminfo SwapFree
