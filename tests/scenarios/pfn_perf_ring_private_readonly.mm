# A ring must be mapped shared (EINVAL for private, read-only or not); a read-only shared map is
# allowed, and a write to it then is a SIGSEGV, not a fault the driver sees.
perf_ring ev 8
mmap 0 36K rw private ev
mmap 0 36K r private ev
mmap 0 36K r shared ev
dump
touch 0 4K w
touch 0 36K r
pagemap 0 36K
