# madvise on a VM_PFNMAP | VM_IO ring: dontneed, free, wipeonfork, the populates, dofork and
# dodump are EINVAL, remove is ENODEV (no fallocate behind the event's file); dontfork, willneed,
# dontdump, hugepage (the VMA shows hg) and normal return 0. The raw entries stay.
perf_ring ev 8
mmap 0 36K rw shared ev
madvise 0 36K dontneed
madvise 0 36K dofork
madvise 0 36K dontfork
madvise 0 36K free
madvise 0 36K remove
madvise 0 36K wipeonfork
madvise 0 36K populate_read
madvise 0 36K populate_write
madvise 0 36K willneed
madvise 0 36K dontdump
madvise 0 36K dodump
madvise 0 36K hugepage
madvise 0 36K normal
dump
pagemap 0 36K
