# msync(2): flags, alignment, holes (ENOMEM after the rest is done; MS_ASYNC stops at the first
# hole), MS_INVALIDATE over a locked VMA (EBUSY); shmem writes nothing back, so dirty state
# stays as it is.
memfd f 64K fill
mmap 0 64K rw shared f
mmap 128K 64K rw private anon
touch 0 64K w
touch 128K 64K w
dump
msync 0 64K sync
msync 0 64K async
msync 0 64K invalidate
msync 0 64K sync,invalidate
msync 0 64K async,invalidate
msync 0 64K sync,async
msync 2K 4K async
msync 0 0 sync
msync 0 192K sync
msync 0 192K async
msync 0 192K invalidate
msync 64K 4K sync
msync 64M 4K sync
mlock 128K 4K
msync 0 192K invalidate
msync 0 64K invalidate
msync 0 192K sync
dump
