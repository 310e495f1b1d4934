# Registration skips a writable private mapping (VM_WRITE), and a whole-VMA mprotect to rx does
# not run uprobe_mmap (no split, no merge), so the first probe stays missing there; a probe
# registered afterwards is installed. A new read-only mapping gets both at mmap: VM_MAYEXEC is
# all valid_vma asks for.
codefile code 16K
mmap 0 16K rwx private code
uprobe code 0x1000
pagemap 0 16K
call 0x1000
pagemap 0 16K
mprotect 0 16K rx
pagemap 0 16K
uprobe code 0x2000
pagemap 0 16K
mmap 1M 16K r private code
pagemap 1M 16K
dump
