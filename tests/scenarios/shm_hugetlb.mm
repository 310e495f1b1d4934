# A SysV segment on huge pages: shmget reserves its huge pages (rounded up), an attachment
# needs a huge-page-aligned address, and the pages go back with the last detach after
# IPC_RMID; a segment the pool cannot back is ENOMEM.
hugetlb_pool 2M 4
shmget h 3M hugetlb
hugetlb_stat 2M
shmat h 2M
shmat h 1G+4K
touch 2M 4M w
hugetlb_stat 2M
fork
child touch 2M 4M r
dump
shmrm h
shmdt 2M
hugetlb_stat 2M
child shmdt 2M
hugetlb_stat 2M
shmget big 16M hugetlb
hugetlb_stat 2M
