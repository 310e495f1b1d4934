# VM_DONTCOPY VMAs are absent in the child, VM_WIPEONFORK ones present and empty.
mmap 0 64K rw private,anon
mmap 1M 64K rw private,anon
mmap 2M 64K rw private,anon
touch 0 64K w
touch 1M 64K w
touch 2M 64K w
madvise 1M 64K dontfork
madvise 2M 64K wipeonfork
fork
child dump
child pagemap 0 3M
child touch 2M 4K r
child pagemap 2M 16K
child_exit
madvise 1M 64K dofork
madvise 2M 64K keeponfork
dump
