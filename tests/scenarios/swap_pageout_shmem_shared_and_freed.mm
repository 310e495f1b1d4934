# Shmem pages mapped by two processes are left alone by pageout: fork does not copy a shared
# mapping's PTEs, but the child's read maps all 16 pages again (fault-around), so the first
# pageout leaves every one; after the child's exit, all go to swap.
# Punching a hole frees the slots of the swapped pages in it, and so does the file's eviction
# when its last reference goes (SwapFree back to where it was).
swapon 16M
meminfo SwapFree
mmap 0 64K rw shared,anon
touch 0 64K w
fork
child touch 0 32K r
madvise 0 64K pageout
dump
meminfo SwapFree
child_exit
madvise 0 64K pageout
meminfo SwapFree
madvise 0 16K remove
meminfo SwapFree
dump
munmap 0 64K
meminfo SwapFree
