# dontneed on a locked VMA is EINVAL; dontneed_locked works.
mmap 0 64K rw private,anon
mlock 0 64K
madvise 0 64K dontneed
madvise 0 64K dontneed_locked
pagemap 0 64K
madvise 0 64K free
