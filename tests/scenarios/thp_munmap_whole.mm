# munmap of a whole THP: zap_huge_pmd frees the deposited table with it (VmPTE falls by 4 kB)
# and the 2 MiB leave RSS at once.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4M w 2M
dump
munmap 0 2M
dump
madvise 2M 2M dontneed
dump
touch 2M 4K w
dump
