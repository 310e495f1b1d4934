# Found by exitmm diff: MADV_FREE on a page shared with the parent cleans this mapping's PTE
# (Shared_Clean in the child) and marks the folio lazyfree, though PG_dirty stays.
mmap 1050696K 152K rwx private,anon,populate
fork
child madvise 1050776K 4096 free
child dump
dump
