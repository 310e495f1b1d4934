# munmap of a probed VMA: unmap_single_vma's uprobe_munmap does its work (mm_users is not 0),
# the copy is freed with the zap; a new mapping after removal maps the file page again.
codefile code 16K
mmap 0 16K rx private code
uprobe code 0x1000
call 0x1000
munmap 0 16K
dump
uprobe_remove code 0x1000
mmap 0 16K rx private code
pagemap 0 16K
dump
