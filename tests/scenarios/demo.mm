# The exitmm demo: one process with private, shared-anonymous, memfd and mlocked memory forks
# twice. The first child writes (COW), is marked an OOM victim and exits: exit_mmap reaps it
# first (5.10's OOM branch). The second child unmaps everything and exits with an empty mm.
# Then the parent exits with mlocked memory (the 5.10 munlock pass), and the census shows what
# is left: nothing but the memfd's pages, which go when its last reference does.
memfd data 1M fill
mmap 0 4M rw private,anon
touch 0 4M w
mmap 4M 1M rw shared,anon
touch 4M 256K w
mmap 8M 1M r shared data
touch 8M 64K r
mmap 16M 256K rw private,anon
mlock 16M 256K
mmap 1G 64K r private,anon
touch 1G 64K r
commit
fork
child touch 0 64K w
child oom_victim
child_exit
fork
child munmap 0 2G
child_exit
census
exit
census
