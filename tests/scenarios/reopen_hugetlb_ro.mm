# A read-only descriptor of a hugetlb memfd: a shared read-only mapping of it is neither
# writable nor VM_SHARED, yet still takes the inode's reservations; write(2) is EINVAL
# (hugetlbfs has none), fsync is 0.
hugetlb_pool 2M 3
memfd h 4M hugetlb
reopen h r ro
mmap 0 4M rw shared r
mmap 0 4M r shared r
hugetlb_stat 2M
touch 0 4M r
hugetlb_stat 2M
write r 0 4K
write h 0 4K
fsync r
dump
munmap 0 4M
close r
close h
hugetlb_stat 2M
