# A shared mapping is never probed (valid_vma refuses VM_MAYSHARE): the page stays the file's,
# and a call runs the original instruction without a hit (no XOL area).
codefile code 16K
mmap 0 16K rx shared code
uprobe code 0x1000
pagemap 0 16K
call 0x1000
pagemap 0 16K
dump
