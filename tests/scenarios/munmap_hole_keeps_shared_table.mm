# Unmapping the middle of a VMA splits it; a PTE page still used by a neighbour stays.
mmap 0 4M rw private,anon
touch 0 4M w
munmap 1M 2M
dump
pagemap 0 4M
munmap 0 1M
munmap 3M 1M
