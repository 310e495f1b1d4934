# Pool exhaustion at mmap: a reserving mapping larger than the free pool fails with ENOMEM
# (hugetlb_acct_memory; no overcommit pages by default); a MAP_FIXED one fails after removing
# what it was to replace (the old VMA is closed before the hugetlbfs mmap runs).
hugetlb_pool 2M 3
mmap 0 8M rw private,anon,hugetlb
mmap 0 8M rw shared,anon,hugetlb
hugetlb_stat 2M
mmap 0 4M rw private,anon,hugetlb
touch 0 4K w
hugetlb_stat 2M
mmap 16M 4M rw private,anon,hugetlb
hugetlb_stat 2M
mmap 0 4M rw private,anon,hugetlb,fixed
hugetlb_stat 2M
dump
mmap 0 8M rw private,anon,hugetlb,fixed
hugetlb_stat 2M
dump
