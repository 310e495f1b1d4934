# mprotect of part of a THP splits the VMA and, at an unaligned boundary, the THP; of a whole
# aligned THP it changes the PMD alone.
mmap 0 6M rw private,anon
madvise 0 6M hugepage
thp on
touch 0 6M w 2M
mprotect 1M 4K r
dump
mprotect 4M 2M r
dump
touch 4M 4K r
touch 1M 4K r
dump
