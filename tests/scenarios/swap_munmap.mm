# munmap of swapped-out pages frees their slots (zap_pte_range's free_swap_and_cache); a
# partial munmap frees only the part's slots; MADV_DONTNEED does the same.
swapon 16M
mmap 0 128K rw private,anon
touch 0 128K w
madvise 0 128K pageout
meminfo SwapFree
munmap 32K 32K
meminfo SwapFree
madvise 64K 16K dontneed
meminfo SwapFree
pagemap 0 128K
dump
munmap 0 128K
meminfo SwapFree
