# mlock populates writable private ranges by write faults, read-only ones with zero pages.
mmap 0 256K rw private,anon
mmap 1M 256K r private,anon
mlock 0 128K
mlock 1M 128K
pagemap 0 256K
pagemap 1M 256K
dump
munlock 0 256K
munlock 1M 256K
dump
