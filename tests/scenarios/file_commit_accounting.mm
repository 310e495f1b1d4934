# Commit accounting of file I/O on memfd and tmpfs files: each page write or fallocate brings
# into the cache is charged once; truncate and punch return it; a private COW copy is charged
# by its mapping, not the file.
memfd f 0
shmfile s 0
commit
write f 0 64K
write f 32K 64K
commit
fallocate s 0 128K
commit
fallocate s 0 64K punch keep
commit
mmap 0 96K rw private f
touch 0 96K w
commit
truncate f 4K
commit
truncate s 1M
commit
write s 1020K+1 4K
commit
close f
close s
commit
