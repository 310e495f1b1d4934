# A read-only descriptor is inherited at fork: the child's shared mapping through it has
# neither mw nor sh, mprotect to write is EACCES, and a read-write reopen in the child maps
# writable again; a write-only one maps nothing, but write(2) through it lands in the cache.
memfd f 32K fill
reopen f r ro
fork
child mmap 0 32K r shared r
child mprotect 0 32K rw
child reopen f w rw
child mmap 1M 32K rw shared w
child touch 1M 32K w
child reopen f o wo
child mmap 2M 32K r private o
child write o 0 8K
child touch 0 32K r
child dump
mmap 0 32K rw private r
touch 0 32K w
dump
child close r
child close w
child close o
child dump
