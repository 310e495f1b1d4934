# Write faults allocate anonymous pages one by one.
mmap 0 1M rw private,anon
touch 0 4K w
touch 8K 8K w
touch 64K 512K w 16K
pagemap 0 128K
dump
