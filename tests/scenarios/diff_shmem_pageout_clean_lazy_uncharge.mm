# A clean shmem page (a hole read, never written) is dropped from the cache by pageout, not
# written to swap; its charge stays until the inode next recalculates (the next allocation).
memfd f 64K
mmap 0 64K rw shared f
touch 0 16K r
commit
madvise 0 64K pageout
commit
touch 0 4K r
commit
dump
