# MADV_FREE makes pages lazily freeable: a pageout then drops the clean ones outright (no slot,
# no swap entry: the PTE is empty), while a page written again after MADV_FREE is swap-backed
# once more and stays resident. MADV_FREE on swapped-out pages frees their slots.
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 32K free
touch 8K 4K w
madvise 0 32K pageout
pagemap 0 64K
meminfo SwapFree
dump
madvise 32K 32K pageout
meminfo SwapFree
madvise 32K 16K free
pagemap 0 64K
meminfo SwapFree
dump
