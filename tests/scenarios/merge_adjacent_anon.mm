# Adjacent anonymous mappings with the same flags merge into one VMA.
mmap 0 64K rw private,anon
mmap 64K 64K rw private,anon
mmap 128K 64K r private,anon
mmap 192K 64K rw private,anon
dump
touch 0 256K r
mmap 256K 64K rw private,anon
dump
