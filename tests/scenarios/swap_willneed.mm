# MADV_WILLNEED on swapped-out anonymous memory reads the pages into the swap cache without
# mapping them (RSS and VmSwap unchanged, slots held). A later read maps the cached page (its
# entry was exclusive, so writable) and the slot stays with the cache; a write fault takes the
# page out of the cache and frees the slot, a write through the already-writable PTE does not.
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 64K pageout
meminfo SwapFree
madvise 0 32K willneed
dump
meminfo SwapFree
touch 0 8K r
meminfo SwapFree
touch 8K 8K w
meminfo SwapFree
touch 0 8K w
meminfo SwapFree
pagemap 0 64K
