# A uprobe registered before the file is mapped: every later mapping of the offset gets the
# breakpoint at mmap (uprobe_mmap), each in a COW copy of its own.
codefile code 16K
uprobe code 0x1000
mmap 0 16K rx private code
pagemap 0 16K
mmap 1M 16K rx private code
pagemap 1M 16K
call 0x101000
uprobe_remove code 0x1000
pagemap 0 16K
