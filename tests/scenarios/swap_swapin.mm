# Touching a swapped-out page brings it back. A slot named by one PTE is read without the swap
# cache (the synchronous device's shortcut) and freed at once: SwapFree rises with each page
# read or written back, and the page is the process's alone again (A).
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 64K pageout
meminfo SwapFree
touch 0 16K r
meminfo SwapFree
touch 16K 16K w
pagemap 0 64K
meminfo SwapFree
dump
madvise 0 32K pageout
pagemap 0 64K
meminfo SwapFree
