# pagemap of a PMD-mapped THP gives every subpage the exclusive bit of the PMD's first page: the
# parent's writes after fork copied that page, so the child's whole PMD reads as exclusive (A).
thp on
mmap 108M 2M rw private,anon
madvise 108M 2M hugepage
touch 108M 2M w 4096
fork
touch 108M 2M w 8192
child pagemap 108M 8192
