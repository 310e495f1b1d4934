# Exit with shmem: a memfd (still open), a shared anonymous object, a private file mapping.
# memfd: 256 cache pages, charged one by one (VM_NORESERVE object): 256 pages.
memfd f 1M fill
mmap 0 1M r shared f
# One read maps 16 cached pages (fault-around).
touch 0 4K r
# Shared anonymous: a shmem object charged whole at mmap: 256 pages.
mmap 2M 1M rw shared,anon
touch 2M 128K w
# Private writable file mapping: VM_ACCOUNT, 16 pages; fault-around maps 16 cache pages, two
# writes replace two of them by anonymous copies.
mmap 4M 64K rw private f
touch 4M 64K r
touch 4M 8K w
commit
# expect: K P Committed_AS=2112
exit
# PTEs: 16 + 32 + 14 shmem, 2 anon.
# expect: X P unmap_vmas vmas=3 ptes=64 anon=2 file=0 shmem=62 zero=0
# expect: X P free_pgtables pte=3 pmd=1 pud=1
# The 32 dirty shared-anon PTEs force a flush before their PTE lock goes; then the final one.
# Only the 2 anonymous copies are freed: the cache keeps the shmem pages.
# expect: X P tlb_finish_mmu flushes=2 pages_freed=2 pages_released=64 forced=1
# expect: X P vm_unacct_memory pages=16
census
# exit_files after exit_mm: the memfd's last reference frees its cache and returns its charge;
# remove_vma dropped the shared-anon object's last reference the same way.
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
