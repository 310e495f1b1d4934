# Found by exitmm diff: MADV_POPULATE_* goes page by page through GUP before any VMA walk:
# a hole at the start is ENOMEM with nothing populated; a forbidden access is EINVAL.
mmap 2172K 4096 rw private,anon
madvise 1984K 256K populate_write
madvise 2172K 4096 populate_read
mmap 3M 64K r private,anon
madvise 3M 64K populate_write
