# fallocate keep past the end of a file allocates (and charges) pages that a mapping cannot
# reach (SIGBUS past i_size) until the file grows over them; then their first fault makes them
# uptodate and maps them. A punch past the end frees them again.
memfd f 8K
mmap 0 64K rw shared f
commit
fallocate f 8K 56K keep
commit
touch 0 64K r
truncate f 64K
touch 0 64K r
dump
fallocate f 32K 32K punch keep
commit
touch 0 64K w
dump
fallocate f 0 64K
fallocate f 1G+100 1 keep
commit
