# madvise on hugetlb VMAs: dontneed needs an aligned start and rounds the end down (the owner's
# pages give their reservations back); free and wipeonfork are EINVAL; remove punches the file
# (shared only; EACCES private); flag advices split at huge page boundaries.
hugetlb_pool 2M 6
mmap 0 8M rw private,anon,hugetlb
touch 0 8M w 2M
hugetlb_stat 2M
madvise 4K 2M dontneed
madvise 0 3M dontneed
hugetlb_stat 2M
madvise 0 2M free
madvise 0 2M wipeonfork
madvise 0 2M remove
mmap 16M 4M rw shared,anon,hugetlb
touch 16M 4M w 2M
hugetlb_stat 2M
madvise 16M 2M remove
hugetlb_stat 2M
madvise 16M 4M dontneed
madvise 16M+2M 2M dontfork
madvise 2M 2M populate_write
madvise 2M 2M hugepage
hugetlb_stat 2M
dump
