# process_mrelease of a live, unkilled process: EINVAL whatever the flags, from either role and
# on itself; with no child left there is no pidfd to open (EBADF). Nothing of the memory moves.
mmap 0 64K rw private,anon
touch 0 64K w
mrelease P
mrelease P 1
fork
mrelease C
mrelease C 7
child mrelease P
child_exit
mrelease C
