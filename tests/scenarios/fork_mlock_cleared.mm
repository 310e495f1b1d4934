# VM_LOCKED is cleared in the child; its locked_vm starts at 0.
mmap 0 256K rw private,anon
mlock 0 256K
fork
child dump
child mlock 0 64K
child dump
child_exit
