# A child shares its parent's pages copy-on-write; each exit frees only what it held alone.
mmap 0 1M rw private,anon
touch 0 1M w
# fork copies the 256 PTEs (COW) and charges the child's 256 VM_ACCOUNT pages.
fork
# The child's 16 writes copy 16 pages; those 16 old pages are now the parent's alone.
child touch 0 64K w
child_exit
# The child's 256 PTEs: 16 copies it held alone (freed) and 240 shared ones (only released).
# expect: X C unmap_vmas vmas=1 ptes=256 anon=256 zero=0
# expect: X C free_pgtables pte=1 pmd=1 pud=1
# expect: X C tlb_finish_mmu flushes=1 pages_freed=16 pages_released=256
# expect: X C vm_unacct_memory pages=256
exit
# Now every one of the parent's 256 pages is its own.
# expect: X P unmap_vmas vmas=1 ptes=256 anon=256
# expect: X P tlb_finish_mmu flushes=1 pages_freed=256 pages_released=256
# expect: X P vm_unacct_memory pages=256
census
# expect: K P census frames_anon=0 frames_pagecache=0 frames_pgtable=0 Committed_AS=0
