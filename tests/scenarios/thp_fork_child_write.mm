# fork shares a THP: both PMDs write-protected, the child gets its own deposit (VmPTE). A
# write by the child splits the child's PMD and copies one base page; the parent keeps its
# PMD (AnonHugePages); then a write by the parent, the THP still shared, does the same.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4M w 2M
fork
child dump
child touch 4K 4K w
child dump
child pagemap 0 16K
dump
touch 2M 4K w
dump
pagemap 2M 16K
child_exit
touch 8K 4K w
dump
