# Found by exitmm diff --random: mremap that shrinks and moves an accounted (VM_ACCOUNT)
# mapping unmaps the tail first (returning its charge), then charges the delta worked out
# before the shrink (vrm_calc_charge uses vrm->delta): the tail's charge comes back, no VMA
# holds it, and it is never returned. Committed_AS keeps 872 kB after everything is unmapped.
commit
mmap 0 1M rw private,anon
commit
mremap 16K 876K 4K maymove fixed=4M
commit
munmap 0 8M
commit
# Growing while moving charges the growth; dontunmap charges the whole new length.
mmap 16M 1M rw private,anon
commit
mremap 16M+4K 64K 256K maymove fixed=64M
commit
mremap 64M 256K 256K maymove fixed=96M dontunmap
commit
munmap 0 128M
commit
