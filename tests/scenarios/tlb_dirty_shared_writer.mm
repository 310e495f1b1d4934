# A thread on CPU 1 writes to shared memory while the main thread unmaps it: the dirty shared
# PTEs force a TLB flush before the PTE lock is dropped, so no CPU keeps a writable
# translation to a page the kernel has already taken out of the mapping.
# Catches: drop-dirty-force-flush (and skip-ipi).
mmap 0 64K rw shared,anon
touch 0 64K w
thread writer 1
background writer 0 16K w
nop
nop
munmap 0 64K
# expect: R P rc=0 err=0
