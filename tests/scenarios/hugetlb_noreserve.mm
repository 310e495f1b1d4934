# MAP_NORESERVE hugetlb mappings reserve nothing; a fault takes an unreserved free page, and
# with none left it is SIGBUS (VM_FAULT_SIGBUS from -ENOSPC), even though mmap succeeded.
hugetlb_pool 2M 2
mmap 0 8M rw private,anon,hugetlb,noreserve
mmap 16M 8M rw shared,anon,hugetlb,noreserve
hugetlb_stat 2M
touch 0 4K w
touch 16M 4K w
hugetlb_stat 2M
touch 2M 4K w
touch 18M 4K r
hugetlb_stat 2M
dump
