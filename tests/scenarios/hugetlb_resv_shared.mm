# Shared MAP_HUGETLB: reservations belong to the inode (its resv_map); faults consume them and
# the pages stay in the page cache; munmap of part of the mapping gives nothing back: pages and
# reservations go when the last mapping of the internal file goes (inode eviction).
hugetlb_pool 2M 8
mmap 0 8M rw shared,anon,hugetlb
hugetlb_stat 2M
touch 0 4K w
touch 2M 4K r
hugetlb_stat 2M
munmap 0 2M
hugetlb_stat 2M
munmap 4M 2M
hugetlb_stat 2M
dump
munmap 0 8M
hugetlb_stat 2M
