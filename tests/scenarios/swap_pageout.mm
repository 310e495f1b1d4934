# MADV_PAGEOUT of private anonymous pages with a swap device: each page this mm alone maps
# goes to a slot (s in pagemap, VmSwap and smaps Swap up, RssAnon down, SwapFree down by as
# much); zero-page PTEs (read faults) are left alone; a second pageout finds nothing to do.
swapon 16M
meminfo SwapTotal
meminfo SwapFree
mmap 0 128K rw private,anon
touch 0 64K w
touch 64K 32K r
madvise 16K 96K pageout
pagemap 0 128K
dump
meminfo SwapFree
madvise 0 128K pageout
pagemap 0 128K
meminfo SwapFree
meminfo SwapTotal
