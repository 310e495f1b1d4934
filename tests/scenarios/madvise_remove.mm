# madvise remove punches a hole in a shared file mapping: the pages leave every mapping of the
# file (a private COW copy stays) and the page cache, and their charge comes back.
memfd f 256K fill
commit
mmap 0 256K rw shared f
mmap 1M 256K rw private f
touch 0 256K r
touch 1M 64K r
touch 1M 8K w
pagemap 1M 64K
madvise 0 64K remove
commit
pagemap 0 64K
pagemap 1M 64K
dump
madvise 1M 64K remove
touch 0 8K r
pagemap 0 64K
commit
