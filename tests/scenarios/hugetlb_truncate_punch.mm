# Truncation and hole punch of a hugetlb memfd: only whole huge pages (a size that is not one
# is EINVAL); every mapping loses what lies past the cut, private COW copies too (their
# reservation comes back: resv + 1); fallocate allocates whole huge pages, consuming the
# inode's reservations; a punch keeps nothing, unlike shmem's.
hugetlb_pool 2M 12
memfd h 8M hugetlb
mmap 0 8M rw shared h
mmap 1G 8M rw private h
touch 0 8M w
touch 1G 4M w
touch 1G+4M 4M r
hugetlb_stat 2M
truncate h 5M
truncate h 4M
hugetlb_stat 2M
dump
touch 0 8M r
touch 1G 8M r
truncate h 8M
hugetlb_stat 2M
fallocate h 4M 2M keep
hugetlb_stat 2M
fallocate h 0 2M+1 punch keep
fallocate h 0 4M punch keep
hugetlb_stat 2M
fallocate h 10M 4M
hugetlb_stat 2M
dump
touch 0 8M r
