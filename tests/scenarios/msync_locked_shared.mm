# msync over locked, shared and private file mappings, in parent and child: MS_INVALIDATE is
# EBUSY on the first locked VMA it meets (after any hole before it), MS_SYNC on a shared
# memfd mapping writes nothing back (noop_fsync): Shared_Dirty stays.
memfd f 32K fill
mmap 0 32K rw shared f
mmap 64K 32K rw private f
touch 0 32K w
touch 64K 16K w
mlock 64K 32K
msync 0 96K sync
msync 0 96K invalidate
msync 0 32K invalidate
msync 0 32K sync,invalidate
fork
child msync 0 96K async
child msync 0 32K sync,invalidate
child touch 0 32K r
munlock 64K 32K
msync 0 96K invalidate
msync 32K 32K async
msync 32K 32K sync
dump
child dump
