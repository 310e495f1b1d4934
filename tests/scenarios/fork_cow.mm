# fork shares anonymous pages; a COW write gives the writer a private copy; RSS is unchanged.
mmap 0 1M rw private,anon
touch 0 1M w
fork
pagemap 0 64K
child touch 0 16K w
child pagemap 0 64K
pagemap 0 64K
touch 16K 16K w
pagemap 0 64K
child dump
dump
child_exit
dump
