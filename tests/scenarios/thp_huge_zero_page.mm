# A read fault maps the huge zero page by a PMD: no RSS, no AnonHugePages, but its deposited
# table is in VmPTE; pagemap shows zero pages. A write then gets a new THP in its place (the
# deposit kept).
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4K r
dump
pagemap 0 8K
touch 4K 4K w
dump
pagemap 0 8K
