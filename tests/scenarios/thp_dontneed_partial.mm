# MADV_DONTNEED of part of a THP splits it and drops the part (with PT_RECLAIM nothing frees
# the table, which still maps the rest).
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 2M w 2M
madvise 0 1M dontneed
dump
pagemap 0 2M
touch 0 4K w
dump
