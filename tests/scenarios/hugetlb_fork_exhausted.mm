# When the owner's copy-on-write finds no free page, the kernel takes the page away from the
# child (unmap_ref_private) so that the owner can reuse it; the child's VMA is marked and any
# later fault there on a missing page is SIGBUS. A child's own COW with no free page is SIGBUS.
hugetlb_pool 2M 2
mmap 0 4M rw private,anon,hugetlb
touch 0 4M w 2M
hugetlb_stat 2M
fork
child touch 0 4K w
child pagemap 0 4M
touch 0 4K w
hugetlb_stat 2M
pagemap 0 4M
child pagemap 0 4M
child touch 2M 4K r
child touch 0 4K r
child dump
child_exit
hugetlb_stat 2M
