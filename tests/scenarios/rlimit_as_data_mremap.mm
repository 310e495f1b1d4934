# RLIMIT_AS and RLIMIT_DATA in mremap and mprotect: growth in place or moved past a limit is
# ENOMEM, shrinking always works; making a read-only private range writable counts against
# RLIMIT_DATA; shared and read-only mappings never do.
mmap 0 8M rw private,anon
mmap 16M 8M r private,anon
mmap 32M 8M rw shared,anon
setrlimit data 12M
mremap 0 8M 16M
mremap 0 8M 12M
mremap 0 12M 4M
mprotect 16M 8M rw
mprotect 16M 8M rw
mprotect 16M 4M rw
mremap 32M 8M 64M
setrlimit as 64M
mremap 32M 8M 64M
mremap 32M 8M 16M maymove fixed=128M
mmap 256M 32M r private,anon
dump
