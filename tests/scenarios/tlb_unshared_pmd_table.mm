# CVE-2021-4002: after huge_pmd_unshare, the TLB must be flushed before i_mmap_rwsem is dropped.
# The parent and its child share the PMD table of a shared hugetlb GiB; a thread of the parent
# on CPU 1 keeps reading it, so its TLB and walk cache hold the table and the pages. The
# parent's munmap unshares the table (the child keeps it) and clears no leaf of its own: only
# the unshare's flush reaches CPU 1. Then the child exits: the table is freed, and the pages go
# back to the pool with the inode. With --inject skip-unshare-flush, CPU 1 still reads through
# the freed table and pages: the TLB model reports it. (The small mapping at 0 keeps the
# parent's PUD table, whose freeing would flush the range anyway.)
hugetlb_pool 2M 4
mmap 0 4K rw private,anon
touch 0 4K w
mmap 1G 1G rw shared,anon,hugetlb,noreserve
touch 1G 4M w 2M
fork
child touch 1G 4K r
thread reader 1
background reader 1G 4M r
nop
nop
munmap 1G 1G
nop
child_exit
nop
nop
nop
thread_exit reader
# The parent's unshare left the table to the child, which clears both leaves and frees it, with
# the tables of its copy of the page at 0 (a PTE table, the first GiB's PMD table, the PUD).
# expect: X C unmap_single_vma vma=0x40000000-0x80000000 branch=hugetlb ptes=0 hugetlb=2 unshared=0
# expect: X C free_pgtables pte=1 pmd=2 pud=1
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=4 free=4 resv=0 surp=0
