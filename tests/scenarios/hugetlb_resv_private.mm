# Private MAP_HUGETLB: mmap reserves the whole range in a map of its own (HPAGE_RESV_OWNER);
# each fault consumes one reservation (resv and free go down together); munmap of a part gives
# back the unconsumed reservations of that part (hugetlb_vm_op_close); the rest at munmap.
hugetlb_pool 2M 8
mmap 0 8M rw private,anon,hugetlb
hugetlb_stat 2M
touch 0 4K w
touch 2M 4K r
hugetlb_stat 2M
munmap 6M 2M
hugetlb_stat 2M
munmap 0 2M
hugetlb_stat 2M
dump
munmap 0 8M
hugetlb_stat 2M
