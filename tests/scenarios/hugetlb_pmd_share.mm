# PMD table sharing: two mms mapping the same hugetlb file chunk with the same flags, each VMA
# holding the whole 1 GiB-aligned 1 GiB, share one PMD table (huge_pmd_share). fork makes it
# easy: a shared hugetlb VMA is not copied, the child's first fault finds the parent's table
# and hangs it under its own PUD entry (VmPTE counts it in both). Pages reached through it
# show as shared (h, Shared_Hugetlb); a page the child faults appears in the parent too. An
# munmap of any part unshares the whole 1 GiB from that mm (huge_pmd_unshare).
hugetlb_pool 2M 4
mmap 1G 1G rw shared,anon,hugetlb,noreserve
touch 1G 4K w
fork
child touch 1G 4K r
child pagemap 1G 8K
pagemap 1G 8K
child touch 1G+2M 4K w
pagemap 1G+2M 8K
hugetlb_stat 2M
child dump
dump
child munmap 1G+4M 2M
child pagemap 1G 8K
pagemap 1G 8K
child touch 1G 4K r
child dump
child_exit
pagemap 1G 4M
dump
hugetlb_stat 2M
