# mremap maymove relocates (to fixed=, so that it stays in the arena) when it cannot grow in place;
# a fixed move to an aligned address
# moves whole PTE pages.
mmap 0 64K rw private,anon
mmap 64K 64K r private,anon
touch 0 64K w
mremap 0 64K 128K maymove fixed=1M
pagemap 0 256K
mmap 4M 2M rw private,anon
touch 4M 2M w 128K
mremap 4M 2M 2M maymove fixed=8M
pagemap 8M 256K
dump
