# fork of a probed mapping: the child shares the breakpoint's anonymous copy (COW, no longer
# exclusive) and inherits MMF_HAS_UPROBES, not the XOL area (VM_DONTCOPY); its first hit makes
# its own. Removal then finds the copy shared and breaks COW before writing the byte back.
codefile code 16K
mmap 0 16K rx private code
uprobe code 0x1000
call 0x1000
fork
child pagemap 0 16K
child dump
child call 0x1000
child pagemap 0 16K
uprobe_remove code 0x1000
child pagemap 0 16K
child call 0x1000
pagemap 0 16K
dump
child_exit
