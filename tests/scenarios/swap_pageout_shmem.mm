# MADV_PAGEOUT of shmem pages with a swap device: each is taken out of the mapping and written
# to swap (shmem_writeout), leaving the page cache: smaps Swap counts them (VmSwap does not,
# no PTE holds a swap entry); a touch brings a page back (no fault-around for swapped pages)
# and frees its slot.
swapon 16M
memfd f 64K fill
mmap 0 64K rw shared f
touch 0 16K r
touch 16K 16K w
madvise 0 64K pageout
dump
pagemap 0 64K
meminfo SwapFree
touch 0 32K r
dump
meminfo SwapFree
