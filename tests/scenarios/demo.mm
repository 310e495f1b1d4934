# The exitmm demo: one process with private, shared-anonymous, memfd and mlocked memory forks
# twice. The first child writes (COW), is marked an OOM victim and exits: exit_mmap reaps it
# first (5.10's OOM branch). The second child unmaps everything and exits with an empty mm.
# Then the parent exits with mlocked memory (the 5.10 munlock pass), and the census shows what
# is left: nothing but the memfd's pages, which go when its last reference does.
# It runs on 4 CPUs: a reader thread and a writer thread keep touching memory the main thread
# unmaps, and a helper thread leaves its CPU lazy with the mm before the exit, so that
# `exitmm demo --inject NAME` shows the TLB model catching each injected fault.
mmap 64M 64K rw private,anon
touch 64M 64K w
mmap 66M 64K rw shared,anon
touch 66M 64K w
thread reader 1
background reader 64M 16K r
thread writer 2
background writer 66M 16K w
nop
nop
munmap 64M 64K
munmap 66M 64K
thread_exit reader
thread_exit writer
memfd data 1M fill
mmap 0 4M rw private,anon
touch 0 4M w
mmap 4M 1M rw shared,anon
touch 4M 256K w
mmap 8M 1M r shared data
touch 8M 64K r
mmap 16M 256K rw private,anon
mlock 16M 256K
mmap 1G 64K r private,anon
touch 1G 64K r
thread helper 3
background helper 0 4M r
nop
nop
thread_exit helper
commit
# memfd 256 pages (per page) + shared anon 256 (whole) + VM_ACCOUNT 1024 + 64: 1600 pages.
# expect: K P Committed_AS=6400
fork
child touch 0 64K w
child oom_victim
child_exit
# The child's copied private VMAs (the locked one is unlocked in a child) are reaped: 1024 + 64
# PTEs, of which only the 16 COW copies were the child's alone. Nothing is left to unmap; the
# child's three copied PTE tables go in free_pgtables.
# expect: X C __oom_reap_task_mm ptes=1088 anon=1088 shmem=0 pages_freed=16
# expect: X C unmap_vmas vmas=5 ptes=0
# expect: X C free_pgtables pte=3 pmd=1 pud=1
# expect: X C vm_unacct_memory pages=1088
fork
child munmap 0 2G
child_exit
# expect: X C exit_mmap vmas=0
# expect: X C check_mm ok=1
census
exit
# The munlock pass finds the 64 mlocked pages; then 1088 anon, 64 + 16 shmem and 16 zero-page
# PTEs; dirty shared-anon PTEs force one flush before the final one.
# expect: X P munlock_vma_pages_all vmas=1 pages=64
# expect: X P unmap_vmas vmas=5 ptes=1184 anon=1088 file=0 shmem=80 zero=16
# expect: X P free_pgtables pte=6 pmd=2 pud=1
# expect: X P tlb_finish_mmu flushes=2 pages_freed=1088 forced=1
# expect: X P vm_unacct_memory pages=1088
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
