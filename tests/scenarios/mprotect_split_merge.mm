# mprotect splits a VMA and re-merges when the protection is restored.
mmap 0 1M rw private,anon
touch 0 1M w 64K
mprotect 256K 256K r
dump
mprotect 256K 256K rw
dump
mprotect 0 1M r
mprotect 512K 512K rw
dump
