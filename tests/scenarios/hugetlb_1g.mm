# 1 GiB hugetlb pages: PUD-level leaves (VmPTE: only the PUD table), HugetlbPages in 1 GiB steps,
# splits only at 1 GiB (a 2M munmap is EINVAL), fork shares the page until a write copies it.
hugetlb_pool 1G 2
mmap 0 2G rw private,anon,hugetlb=1G,noreserve
touch 0 4K w
hugetlb_stat 1G
munmap 0 2M
fork
child pagemap 0 8K
child touch 4K 4K w
hugetlb_stat 1G
child_exit
dump
munmap 1G 1G
dump
hugetlb_stat 1G
