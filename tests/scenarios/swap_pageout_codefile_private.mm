# A private mapping of a tmpfs file: its page-cache pages go to swap as shmem pages (unmapped
# here, written out from the cache), its anonymous COW copies as anonymous pages (swap PTEs).
swapon 16M
codefile code 32K
mmap 0 32K rw private code
touch 0 16K r
touch 16K 8K w
madvise 0 32K pageout
dump
pagemap 0 32K
meminfo SwapFree
touch 0 32K r
dump
meminfo SwapFree
