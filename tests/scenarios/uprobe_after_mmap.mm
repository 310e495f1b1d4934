# A uprobe registered on an offset already mapped r-x private: install_breakpoint writes the
# int3 into an anonymous COW copy of the file page at once (the page becomes 'A', RssAnon 4 kB,
# the VMA gains an anon_vma). The first hit creates the XOL area ([uprobes], one page near the
# top: VmSize, VmLib, RssFile and maps_lines each grow). Removal writes the original byte back
# and keeps the copy: its own read GUP marks the page accessed a second time, which queues it
# in the CPU's lru_activate batch, and that batch's reference fails the zap test.
codefile code 16K
mmap 0 16K rx private code
pagemap 0 16K
uprobe code 0x1000
dump
pagemap 0 16K
call 0x1000
dump
pagemap 0 16K
call 0x1000
uprobe_remove code 0x1000
dump
pagemap 0 16K
call 0x1000
uprobe_remove code 0x1000
