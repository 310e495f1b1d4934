# Smoke test of the kernel runner's hugetlb ops with 2 MiB pages (records format v2). It shows:
# - hugetlb_pool sets the persistent pool (8 pages; the runner restores the old value however the
#   run ends) and prints the pool line, as hugetlb_stat does;
# - MAP_HUGETLB rounds LEN up to 2 MiB (3M maps 4M); mmap reserves pages (resv), a touch faults
#   one huge page in from the pool (free and resv go down by one);
# - smaps' hugetlb keys: Private_Hugetlb / Shared_Hugetlb (a huge page mapped more than once),
#   KernelPageSize = MMUPageSize = 2048, VmFlags ht; huge pages are not RSS, only T hugetlb= and
#   D HugetlbPages count them; the page tables stop at the PMD (VmPTE: PUD and PMD tables);
# - pagemap: H for a huge page mapped once, h after fork (the child shares the private pages until
#   its write copies one; a shared hugetlb VMA has no anon_vma, so fork copies no entry of it);
# - munmap of a range not aligned to 2 MiB is EINVAL;
# - a hugetlb memfd's fill (fallocate: hugetlbfs has no write) puts its huge pages in the page
#   cache from the pool before any fault; a read fault maps one without taking another page.
hugetlb_stat 2M
hugetlb_pool 2M 8
mmap 0 3M rw private,anon,hugetlb
hugetlb_stat 2M
mmap 8M 2M rw shared,anon,hugetlb=2M
touch 0 4M w 2M
touch 8M 4K w
hugetlb_stat 2M
pagemap 2040K 16K
pagemap 4088K 16K
pagemap 8M 8K
dump
fork
child pagemap 0 8K
child pagemap 8M 8K
child touch 0 4K w
child pagemap 0 8K
hugetlb_stat 2M
child_exit
pagemap 0 8K
memfd hf 4M hugetlb fill
hugetlb_stat 2M
mmap 16M 4M r shared hf
touch 16M 4K r
hugetlb_stat 2M
pagemap 16M 8K
pagemap 18M 8K
dump
munmap 0 4K
munmap 0 4M
munmap 8M 2M
munmap 16M 4M
hugetlb_stat 2M
dump
