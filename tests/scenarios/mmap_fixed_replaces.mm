# MAP_FIXED over an existing mapping replaces it and frees what it covered.
mmap 0 4M rw private,anon
touch 0 4M w 512K
mmap 0 2M rw private,anon,fixed
pagemap 0 4M
mmap 0 4M r private,anon,fixed
dump
