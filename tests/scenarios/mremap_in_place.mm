# mremap grows and shrinks in place when the room is there.
mmap 0 64K rw private,anon
touch 0 64K w
mremap 0 64K 128K
touch 64K 64K w
mremap 0 128K 32K
mmap 256K 64K rw private,anon
mremap 0 32K 512K
dump
