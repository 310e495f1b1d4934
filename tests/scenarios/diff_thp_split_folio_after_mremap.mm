# mremap (dontunmap) moved part of a PTE-mapped THP away; a pageout of one page of it splits
# the folio, and its zero-filled pages become the zero page where they are now mapped too.
thp on
mmap 42M 2M rw private,anon
madvise 42M 2M hugepage
touch 42M 2M w 8192
mremap 45016K 660K 660K maymove fixed=0 dontunmap
madvise 43864K 4096 pageout
