# A perf ring buffer (1 user page + 8 data pages) mapped read-write shared: perf_mmap maps
# every page at once as raw PFNs, so the VMA is pf io dc de dd, no page is in RSS, yet its
# page tables are in VmPTE; reading the whole ring faults nothing.
perf_ring ev 8
mmap 0 36K rw shared ev
dump
pagemap 0 36K
touch 0 36K r
pagemap 0 36K
