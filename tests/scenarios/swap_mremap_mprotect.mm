# mremap moves swap entries with their tables, unchanged; mprotect leaves them alone and the
# protection applies at swap-in: a read-only part's pages come back read-only (a write there
# is refused), the writable part's come back on a write.
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
madvise 0 64K pageout
mremap 0 64K 64K maymove fixed=1M
pagemap 1M 64K
meminfo SwapFree
mprotect 1M 32K r
touch 1M 16K r
pagemap 1M 64K
dump
meminfo SwapFree
touch 1M 4K w
touch 1072K 4K w
meminfo SwapFree
