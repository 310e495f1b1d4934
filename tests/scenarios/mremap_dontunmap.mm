# MREMAP_DONTUNMAP moves the pages and leaves the old range mapped and empty.
mmap 0 64K rw private,anon
touch 0 64K w
mremap 0 64K 64K maymove fixed=1M dontunmap
pagemap 0 64K
pagemap 1M 64K
dump
touch 0 4K r
pagemap 0 16K
