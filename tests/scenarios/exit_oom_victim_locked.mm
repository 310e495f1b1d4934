# An OOM victim with mlocked memory exits (Linux 5.10): exit_mmap reaps it first, then
# munlocks, then unmaps what is left.
mmap 0 2M rw private,anon
touch 0 2M w
mmap 4M 256K rw private,anon
mlock 4M 256K
mmap 8M 1M rw shared,anon
touch 8M 64K w
oom_victim
exit
# The 5.10 reaper skips VM_LOCKED (munlock has not run yet) and shared VMAs: 512 private pages.
# expect: X P __oom_reap_task_mm ptes=512 anon=512 file=0 shmem=0 pages_freed=512
# expect: X P mmap_write_lock oom_skip=1
# Then the munlock pass finds the 64 mlocked pages.
# expect: X P munlock_vma_pages_all vmas=1 pages=64
# unmap_vmas clears what the reaper left: 64 locked anon + 16 shmem PTEs.
# expect: X P unmap_vmas vmas=3 ptes=80 anon=64 shmem=16 zero=0
# The reaper frees no page tables: all three PTE tables go here.
# expect: X P free_pgtables pte=3 pmd=1 pud=1
# expect: X P tlb_finish_mmu flushes=2 pages_freed=64 forced=1
# 512 + 64 VM_ACCOUNT pages.
# expect: X P vm_unacct_memory pages=576
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
