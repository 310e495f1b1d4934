# A SysV segment attached by parent and child, removed with IPC_RMID while both hold it, and
# destroyed by the last exit: each exit's remove_vma runs shm_close; only the last one (no
# attachment left, SHM_DEST set) destroys the segment, whose inode then goes with the task's
# work, taking its pages and its commit charge.
shmget seg 64K
shmat seg 0
touch 0 64K w
fork
child touch 0 32K r
shmrm seg
census
# The parent's exit: 16 shmem PTEs cleared (dirty shared PTEs: a forced flush), nothing freed
# (the page cache holds every page), the attachment closed but the child's remains: the
# segment stays.
exit
# expect: X P unmap_vmas vmas=1 ptes=16 anon=0 file=0 shmem=16
# expect: X P tlb_finish_mmu pages_freed=0
# expect: X P remove_vma vmas=1 shm_close=1 shm_destroyed=0
# expect: X P exit_task_work files_released=0
# The child read 32K, but its first read fault mapped all 16 cached pages (fault-around,
# 16 pages, within the VMA and the PTE table).
child_exit
# expect: X C unmap_vmas vmas=1 ptes=16 anon=0 file=0 shmem=16
# expect: X C tlb_finish_mmu pages_freed=0
# expect: X C remove_vma vmas=1 shm_close=1 shm_destroyed=1
# The segment's inode is released with the child's task work: its 16 pages are freed and its
# 64K charge returned.
# expect: X C exit_task_work files_released=1
census
# expect: K P census frames_pagecache=0 Committed_AS=0
