# A device with 3 slots (16 kB, its first page the header): pageout of 8 pages swaps out 3 and
# leaves the rest resident (no slot: the folio is activated and stays mapped).
swapon 16K
meminfo SwapTotal
meminfo SwapFree
mmap 0 32K rw private,anon
touch 0 32K w
madvise 0 32K pageout
pagemap 0 32K
meminfo SwapFree
touch 0 4K w
madvise 0 32K pageout
pagemap 0 32K
meminfo SwapFree
