# MREMAP_DONTUNMAP of a locked VMA: the whole source VMA loses its lock flags in place while
# VmLck keeps counting it (dontunmap_complete leaves locked_vm alone).
mmap 0 64K rw private,anon
mlock 0 64K
mremap 0 32K 32K maymove fixed=1M dontunmap
dump
