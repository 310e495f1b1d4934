# The hugetlb VMA without a file (the seed's comment in unmap_single_vma): when hugetlbfs's
# mmap refuses a VMA it was given (here: 2 pages to reserve, 1 in the pool: ENOMEM), the VMA
# loses its file and mmap_region's error path unmaps its range (unmap_region); there
# unmap_single_vma finds a hugetlb VMA with vm_file == NULL and does nothing.
hugetlb_pool 2M 1
mmap 0 4M rw private,anon,hugetlb
# expect: X P unmap_region vmas=1
# expect: X P unmap_single_vma vma=0-0x400000 branch=skip uprobe_munmap=0 untrack_pfn=0 ptes=0 hugetlb=0
# expect: R P rc=-12 err=ENOMEM
# Nothing was reserved or taken; the VMA never was in the mm: it exits empty.
hugetlb_stat 2M
# expect: K P hugetlb size=2048 total=1 free=1 resv=0 surp=0
exit
# expect: X P exit_mmap vmas=0
# expect: X P check_mm ok=1
