# A mapping that straddles a 2 MiB boundary needs one PTE page per 2 MiB slot it touches.
mmap 0x1fe000 16K rw private,anon
touch 0x1fe000 4K w
touch 2M 4K w
mmap 10M 6M rw private,anon
touch 10M 6M w 2M
dump
