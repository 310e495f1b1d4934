# Private file mappings share page-cache pages until written.
memfd f 256K fill
mmap 0 256K rw private f
touch 0 64K r
touch 0 16K w
pagemap 0 128K
fork
child pagemap 0 128K
child touch 16K 4K w
child pagemap 0 128K
child_exit
dump
