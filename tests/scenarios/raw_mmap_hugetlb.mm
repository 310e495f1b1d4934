# Raw MAP_HUGETLB values: the size bits name 2 MiB (21) or 1 GiB (30), none means the
# default; any other size is EINVAL, as is MAP_HUGETLB on a memfd that is not hugetlbfs.
hugetlb_pool 2M 3
memfd f 4M
mmap 0 2M rw raw=0x40022
mmap 0 2M rw raw=0x54040022
mmap 2M 2M rw raw=0x4c040022
mmap 4M 2M rw raw=0x40032
mmap 8M 2M rw raw=0x40001 f
mmap 8M 2M rw raw=0x40003
mmap 8M 2M rw raw=0x40023
hugetlb_stat 2M
dump
