# The dirty state of a shared page lives in two places: the PTE's dirty bit, which the CPU sets
# on a write through a writable PTE, and the page's PG_dirty, which the kernel sets only at its
# transfer points: a write fault (do_shared_fault / wp_page_shared -> folio_mark_dirty), a
# write(2) into the file, and the zap of a dirty PTE (zap_pte_range's folio_mark_dirty).
# smaps counts a page dirty if either is set, so a process that only reads a page another
# process dirtied through its PTE sees it clean (6.18).
mmap 0 64K rw shared,anon
# Write faults on none PTEs: do_shared_fault dirties these 4 pages.
touch 0 16K w
# Read faults map 4 pages writable (shmem needs no write notification) and clean; the writes
# to 2 of them then only set the PTE dirty bit.
touch 16K 16K r
touch 16K 8K w
fork
child touch 0 64K r
# The child: 4 pages dirty (PG_dirty), 4 shared but clean (the dirt is in the parent's PTEs),
# 8 that only it maps.
child dump
dump
# A memfd: pages written with write(2) are PG_dirty; a shared mapping that reads them sees
# them dirty whatever its PTEs say.
memfd f 64K fill
mmap 1M 64K rw shared f
touch 1M 64K r
touch 1M 16K w
child_exit
dump
# MADV_DONTNEED zaps the parent's dirty PTEs: their dirt moves to the pages (still cached).
madvise 16K 8K dontneed
touch 16K 8K r
dump
