# Raw flag values (raw=): unknown mmap bits are ignored by MAP_SHARED and MAP_PRIVATE but
# refused by MAP_SHARED_VALIDATE (EOPNOTSUPP, which also refuses the MAP_FIXED_NOREPLACE a raw
# value without MAP_FIXED gets), a bad map type is EINVAL, anonymous MAP_SHARED_VALIDATE too;
# MAP_STACK sets nh, MAP_POPULATE|MAP_NONBLOCK populates nothing; unknown madvise advice,
# mlock2 and mlockall bits are EINVAL, MADV_UNMERGEABLE is 0.
memfd f 64K fill
mmap 0 16K rw raw=0x22
mmap 1M 16K rw raw=0x40022
mmap 2M 16K rw raw=0x20022
mmap 3M 16K rw raw=0x18022
mmap 4M 16K rw raw=0x8022
mmap 5M 16K rw raw=0x800022
mmap 6M 16K rw raw=0x23
mmap 7M 16K rw raw=0x24
mmap 8M 16K rw raw=0x21
mmap 9M 16K rw raw=0x3 f
mmap 9M 16K rw raw=0x13 f
mmap 10M 16K rw raw=0x80013 f
mmap 11M 16K rw raw=0x80001 f
mmap 12M 16K rw raw=0x1 f
mmap 13M 16K rw raw=0x40001 f
mmap 14M 16K rw raw=0x2
mmap 15M 16K rw raw=0x22 f
mmap 16M 16K rw raw=0x100022
mmap 16M 16K rw raw=0x100022
mmap 17M 16K rw raw=0x4000022
mmap 18M 16K rw raw=0x10000022
dump
madvise 0 16K raw=13
madvise 0 16K raw=5
madvise 0 16K raw=26
madvise 0 16K raw=4
madvise 0 16K raw=19
madvise 64M 16K raw=13
mlock2 0 16K raw=0x1
mlock2 0 16K raw=0x2
mlock2 0 16K raw=0
munlock 0 16K
mlockall raw=0
mlockall raw=0x4
mlockall raw=0x8
mlockall raw=0x6
munlockall
mlockall raw=0x2
munlockall
dump
