# Crossing a 1 GiB boundary needs a second PMD page; the PUD page is shared by the arena.
mmap 0x3ffff000 8K rw private,anon
touch 0x3ffff000 8K w
mmap 5G 4K r private,anon
touch 5G 4K r
pagemap 0x3ffff000 8K
