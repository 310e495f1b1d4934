# mlock over a hole locks up to the hole, then returns ENOMEM.
mmap 0 64K rw private,anon
mmap 128K 64K rw private,anon
mlock 0 192K
dump
munlock 0 192K
dump
