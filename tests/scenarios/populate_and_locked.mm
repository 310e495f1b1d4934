# MAP_POPULATE prefaults (writes for writable private); MAP_LOCKED locks and populates.
mmap 0 128K rw private,anon,populate
mmap 1M 128K r private,anon,populate
mmap 2M 128K rw private,anon,locked
pagemap 0 128K
pagemap 1M 128K
dump
