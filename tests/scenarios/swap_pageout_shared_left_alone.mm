# MADV_PAGEOUT leaves a page another mm maps: after fork every page is shared with the child
# and nothing is paged out. Pages the child has since copied are the parent's alone again and
# go; the child's own copies go from the child.
swapon 16M
mmap 0 64K rw private,anon
touch 0 64K w
fork
madvise 0 64K pageout
pagemap 0 64K
meminfo SwapFree
child touch 0 16K w
madvise 0 64K pageout
pagemap 0 64K
child madvise 0 64K pageout
child pagemap 0 64K
meminfo SwapFree
child dump
dump
