# mremap of hugetlb: lengths round up, addresses must be aligned, growth is EINVAL (also an
# OLDLEN 0 duplicate), dontunmap is EINVAL; shrinking unmaps the tail; a move keeps the pages
# and the reservations (the old VMA's are handed over, it gives nothing back).
hugetlb_pool 2M 6
mmap 0 8M rw private,anon,hugetlb
touch 0 4M w 2M
mremap 0 8M 16M
mremap 0 8M 8M maymove fixed=1M
mremap 0 0 2M maymove fixed=32M
mremap 0 8M 8M maymove fixed=32M dontunmap
mremap 0 8M 6M
hugetlb_stat 2M
mremap 0 6M 6M maymove fixed=64M
hugetlb_stat 2M
pagemap 64M 8K
dump
munmap 64M 6M
hugetlb_stat 2M
