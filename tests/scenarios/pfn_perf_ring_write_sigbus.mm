# Only the ring's user page (offset 0) may be written (perf_mmap_pfn_mkwrite); a write to a
# data page is SIGBUS. Reads of every page succeed without a fault.
perf_ring ev 8
mmap 0 36K rw shared ev
touch 0 4K w
touch 8K 4K w
touch 4K 4K w
touch 0 36K r
pagemap 0 36K
