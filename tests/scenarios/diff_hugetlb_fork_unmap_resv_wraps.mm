# Found by a generated script (seed 0xA7_0000_005A, minimised): a private hugetlb owner
# that unmaps a page it shares with a forked child gives the page's reservation back twice.
# 6.18's __unmap_hugepage_range marks the folio restore_reserve and forgets that the index was
# consumed, so hugetlb_vm_op_close returns the reservation at once; the folio returns it again
# when the child lets go of it. Until then resv_hugepages reads 2^64 - 1; the child's exit
# brings it back to 0. The model checks it as the signed number it stands for.
hugetlb_pool 2M 1
mmap 112M 2M r private,anon,hugetlb=2M,locked
hugetlb_stat 2M
fork
hugetlb_stat 2M
munmap 112M 2M
hugetlb_stat 2M
child_exit
hugetlb_stat 2M
