# MADV_PAGEOUT of shmem pages with no swap device: each page this mm alone maps is taken out
# of the mapping (RssShmem down) but stays in the page cache, dirty: the next touch maps it
# again, with fault-around.
memfd f 64K fill
mmap 0 64K rw shared f
touch 0 16K r
touch 16K 16K w
madvise 0 64K pageout
dump
pagemap 0 64K
touch 0 32K r
dump
