# Smoke test of the kernel runner's hugetlb ops with 1 GiB pages (records format v2). One page is
# all the default footprint cap (1 GiB) lets a script hold, so the private mapping and the memfd
# take turns with it. It shows:
# - hugetlb_pool 1G 1 (restored when the run ends) and the pool line; mmap hugetlb=1G at a
#   1 GiB-aligned offset reserves the page, a touch faults it in, and the page tables stop at the
#   PUD (VmPTE 4 kB: one PUD table, the page is its entry);
# - smaps: KernelPageSize = MMUPageSize = 1048576 (for 1 GiB VMAs the comparison takes
#   Shared_Hugetlb + Private_Hugetlb, and H and h in pagemap, as one: script.md);
# - pagemap across the VMA's start: a hole, then the huge page's subpages;
# - fork: the child maps the same page; munmap not aligned to 1 GiB is EINVAL, then munmap;
# - a 1 GiB hugetlb memfd filled by fallocate (page cache from the pool), mapped shared and read.
hugetlb_stat 1G
hugetlb_pool 1G 1
mmap 1G 1G rw private,anon,hugetlb=1G
hugetlb_stat 1G
touch 1G 1G w 256M
hugetlb_stat 1G
dump
pagemap 1048568K 16K
fork
child pagemap 1G 8K
child_exit
munmap 1G 2M
munmap 1G 1G
hugetlb_stat 1G
memfd g 1G hugetlb=1G fill
hugetlb_stat 1G
mmap 4G 1G rw shared g
touch 4G 4K r
pagemap 4G 8K
dump
munmap 4G 1G
hugetlb_stat 1G
