# A perf ring refuses to be split (perf_mmap's may_split): munmap of part of it is EINVAL,
# wherever the part lies; the whole of it unmaps, and its tables go with it.
perf_ring ev 8
mmap 0 36K rw shared ev
munmap 4K 4K
munmap 32K 4K
munmap 0 4K
dump
munmap 0 36K
dump
