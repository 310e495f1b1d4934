# No THP without VM_HUGEPAGE (the host's enabled=madvise), without thp on, with nohugepage, in
# a shared or file mapping, or where a PTE table is already there.
thp on
mmap 0 4M rw private,anon
touch 0 4K w
madvise 0 4M hugepage
touch 8K 4K w
dump
thp off
mmap 4M 4M rw private,anon
madvise 4M 4M hugepage
touch 4M 4K w
thp on
mmap 8M 4M rw private,anon
madvise 8M 4M nohugepage
touch 8M 4K w
mmap 12M 4M rw shared,anon
madvise 12M 4M hugepage
touch 12M 4K w
dump
