# With a swap device, pageout of a THP swaps out all its 512 base pages (the PMD split, its
# deposit now the table of 512 swap entries); touching one swaps only that page back in.
swapon 16M
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 2M w 2M
madvise 0 2M pageout
dump
meminfo SwapFree
touch 0 4K r
dump
meminfo SwapFree
