# Merging is blocked when both neighbours have different anon_vmas; left preference otherwise.
mmap 0 64K rw private,anon
touch 0 4K w
mmap 128K 64K rw private,anon
touch 128K 4K w
mmap 64K 64K rw private,anon
dump
