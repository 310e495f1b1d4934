# Exit with a private and a shared hugetlb mapping (2 MiB pages).
hugetlb_pool 2M 4
# Private: mmap reserves 2 pages in a map the VMA owns; the 2 write faults consume them.
mmap 0 4M rw private,anon,hugetlb
touch 0 4M w 2M
# Shared: the internal file's inode reserves 1 page; the read fault consumes it and puts the
# page in that inode's page cache.
mmap 1G 2M rw shared,anon,hugetlb
touch 1G 4K r
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=4 free=1 resv=0 surp=0
exit
# Both VMAs take the hugetlb branch (both have a file, the MAP_HUGETLB inode, so uprobe_munmap
# is called too); no PTE is cleared, 3 huge leaves are.
# expect: X P unmap_vmas vmas=2 ptes=0 anon=0 file=0 shmem=0 swap=0 zero=0 hugetlb=3
# expect: X P unmap_single_vma vma=0-0x400000 branch=hugetlb uprobe_munmap=1 ptes=0 hugetlb=2 unshared=0
# expect: X P unmap_single_vma vma=0x40000000-0x40200000 branch=hugetlb uprobe_munmap=1 ptes=0 hugetlb=1
# No PTE tables; the PMD tables of [0, 1G) and [1G, 2G), and the PUD table.
# expect: X P free_pgtables pte=0 pmd=2 pud=1
# One flush, then the 3 folios' references go: the 2 private ones are freed (their last
# reference), the shared one stays in the page cache of its inode.
# expect: X P tlb_finish_mmu flushes=1 pages_freed=2 pages_released=3 forced=0
# Hugetlb mappings are never VM_ACCOUNT.
# expect: X P vm_unacct_memory pages=0
# expect: X P check_mm ok=1
# remove_vma: the private VMA's close gives back nothing (its reservations were consumed, and
# the unmap restored them to the freed folios, which gave them back to the pool); the shared
# VMA's fput was the inode's last reference: eviction frees its cached page.
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=4 free=4 resv=0 surp=0
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 frames_hugetlb=2048
