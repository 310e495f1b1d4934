# mprotect of part of a ring would split it: EINVAL. The whole ring may change protection;
# PROT_NONE leaves the raw entries in place but unreadable ('?'), rw makes them readable again.
perf_ring ev 8
mmap 0 36K rw shared ev
mprotect 0 4K r
mprotect 0 36K r
dump
mprotect 0 36K none
dump
pagemap 0 36K
mprotect 0 36K rw
pagemap 0 36K
