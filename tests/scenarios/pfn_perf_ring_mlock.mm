# mlock of a ring returns 0 without locking it (VM_IO | VM_PFNMAP are VM_SPECIAL): no lo flag,
# no VmLck; mlockall and the on-fault variant leave it alone too.
perf_ring ev 8
mmap 0 36K rw shared ev
mlock 0 36K
dump
munlock 0 36K
mlock 0 36K onfault
mlockall current
dump
munlockall
