# A write fault in a VM_HUGEPAGE VMA of a process with THP on maps a 2 MiB THP: RSS 2048 kB at
# once, AnonHugePages in smaps, and VmPTE counts the PTE table deposited beside it (with the
# PUD and PMD tables: 12 kB). Only a 2 MiB range wholly inside the VMA can have one: the VMA's
# unaligned tail gets base pages.
mmap 0 5M rw private,anon
madvise 0 5M hugepage
thp on
touch 2M 4K w
dump
pagemap 2M 8K
touch 4M 4K w
dump
touch 0 4K w
dump
