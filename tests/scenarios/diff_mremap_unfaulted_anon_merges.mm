# Found by exitmm diff: an anonymous VMA never faulted in takes the pgoff of its new place
# when mremap moves it (copy_vma), so it merges with its new neighbours.
mmap 1050612K 128K none private,anon
mremap 1050676K 16K 4096 maymove fixed=1050632K
dump
mmap 4096 6M rw private,anon,fixed
mremap 4200K 40K 4096 maymove fixed=6M
dump
