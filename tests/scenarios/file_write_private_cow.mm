# write(2) into a file whose pages a private mapping has copied: the page cache takes the new
# bytes (dirty), the private copies stay the mapping's; shared mappings see the cache.
memfd f 16K fill
mmap 0 16K rw private f
mmap 1M 16K r shared f
touch 0 8K w
touch 1M 16K r
write f 0 16K
dump
touch 0 16K r
write f 16K 8K
touch 1M 16K r
dump
commit
write f 1G 4K
commit
truncate f 0
commit
dump
