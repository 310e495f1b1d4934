# mremap moves a whole aligned THP with its PMD (and deposit); a move by an unaligned amount
# splits it and moves PTE by PTE.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4M w 2M
mremap 0 2M 2M maymove fixed=64M
dump
mremap 2M 2M 2M maymove fixed=128M+4K
dump
