# Found by exitmm diff --random: a write through GUP (MADV_POPULATE_WRITE) to a shared page
# whose PTE is present, writable and clean dirties the page itself (follow_page_pte with
# FOLL_WRITE|FOLL_TOUCH: folio_mark_dirty) and leaves the PTE clean; a forked child that then
# maps the page sees it dirty. A CPU write (touch) would have set only the PTE's dirty bit.
mmap 0 28K rw shared,anon
touch 12K 8K r
touch 16K 4K w
fork
madvise 0 16K populate_write
child touch 0 28K r
child dump
dump
shmfile g 64K
mmap 4M 64K rw shared g
touch 4M 16K r
madvise 4M 8K populate_write
dump
