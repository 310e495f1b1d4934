# Two probes in one page, one of them registered twice (two events, one uprobe): one COW copy
# per VMA holds both int3 bytes; removing one event leaves the breakpoint, removing the other
# restores that byte, and the copy stays (the other breakpoint is still in it).
codefile code 16K
mmap 0 16K rx private code
mmap 1M 16K rx private code
uprobe code 0x1000
uprobe code 0x1000
uprobe code 0x1800
pagemap 0 16K
pagemap 1M 16K
call 0x1000
call 0x101000
call 0x1800
uprobe_remove code 0x1000
call 0x1000
uprobe_remove code 0x1000
pagemap 0 16K
dump
