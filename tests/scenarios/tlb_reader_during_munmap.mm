# A thread on CPU 1 keeps reading four pages while the main thread (CPU 0) unmaps them: the
# unmap must shoot down CPU 1's translations before the pages and tables are freed.
# Catches: free-before-flush, skip-ipi, free-table-before-flush.
mmap 0 64K rw private,anon
touch 0 64K w
thread reader 1
background reader 0 16K r
nop
nop
munmap 0 64K
# expect: R P rc=0 err=0
