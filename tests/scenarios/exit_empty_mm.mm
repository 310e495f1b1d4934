# An mm with no VMAs left returns from exit_mmap right after arch_exit_mmap: no gather, no
# flush, nothing to unaccount. (munmap already freed its page tables.)
mmap 0 1M rw private,anon
touch 0 1M w
munmap 0 1M
exit
# expect: X P exit_mmap vmas=0
# expect: X P arch_exit_mmap
# expect-no: X P tlb_gather_mmu
# expect-no: X P unmap_vmas
# expect-no: X P vm_unacct_memory
# expect: X P check_mm ok=1
