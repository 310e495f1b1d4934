# Truncating a mapped memfd: every mapping of the file loses the pages past the new end
# (unmap_mapping_range with even_cows), private COW copies in parent and child included, and
# later touches there get SIGBUS.
memfd f 64K fill
mmap 0 64K rw shared f
mmap 1M 64K rw private f
touch 0 64K r
touch 1M 32K w
touch 1M+32K 32K r
fork
child touch 1M 64K r
commit
truncate f 16K
commit
touch 0 64K r
touch 1M 64K r
child touch 1M 16K r
child touch 1M+16K 4K w
# growing again brings holes, not the old pages
truncate f 64K
touch 1M 64K r
dump
