# MADV_FREE of a whole THP makes it lazily freeable; a pageout then drops it whole (no split).
# Without swap, pageout of a THP written since splits it and puts the pages back.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4M w 2M
madvise 0 2M free
dump
madvise 0 2M pageout
dump
madvise 2M 2M pageout
dump
