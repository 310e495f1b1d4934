# Found by exitmm diff --random: do_mmap lets only private anonymous memory grow down. A file
# mapping (shared or private) or shared anonymous memory with MAP_GROWSDOWN is EINVAL, checked
# after the MAP_FIXED_NOREPLACE collision (EEXIST comes first).
mmap 0 8K rw private,anon,growsdown
mmap 2M 4K rw shared,anon,growsdown
mmap 2M 4K r shared,anon,noreserve,growsdown,fixed
memfd f 4K fill
mmap 4M 4K r shared,growsdown f
mmap 4M 4K r private,growsdown f
mmap 0 4K r shared,anon,growsdown
dump
