# A THP populated (never written) and split by mprotect: the pageout of one page splits the
# folio, and all 512 zero-filled pages, the PROT_NONE one too, become the zero page.
thp on
fork
mmap 96M 2M rw private,anon
madvise 96M 2M hugepage
madvise 98656K 4096 populate_write
mprotect 98764K 4096 none
madvise 98764K 4096 pageout
