# mlock2(MLOCK_ONFAULT) counts the whole size in VmLck but populates nothing.
mmap 0 256K rw private,anon
mlock 0 256K onfault
pagemap 0 256K
touch 0 16K w
dump
munlock 0 128K
dump
