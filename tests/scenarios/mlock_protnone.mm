# mlock of PROT_NONE returns ENOMEM, but the VMA is locked and counted.
mmap 0 64K none private,anon
mlock 0 64K
dump
mmap 64K 64K rw private,anon
mlock 64K 64K
dump
