# A pageout of part of a PTE-mapped THP splits its folio, and every zero-filled base page it
# maps (in any VMA of those 2 MiB: here the munmap split the VMA) becomes the zero page.
thp on
mmap 144M 6M rw private,anon
madvise 144M 6M hugepage
touch 144M 6M w 8192
munmap 152612K 4096
madvise 149M 4096 pageout
