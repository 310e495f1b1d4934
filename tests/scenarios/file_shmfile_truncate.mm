# The same truncation rules on a tmpfs file (/dev/shm), mapped shared twice and privately in a
# child that wrote to it: the new end cuts every mapping, the child's COW pages too.
shmfile s 128K fill
mmap 0 128K rw shared s
mmap 1M 64K r shared s 64K
touch 0 128K r
touch 1M 64K r
fork
child mmap 2M 128K rw private s
child touch 2M 128K w
truncate s 96K
dump
child dump
child touch 2M 128K r
touch 1M 64K r
truncate s 0
child dump
dump
