# Every madvise number the kernel knows and a few it does not, raw: the valid ones act as
# their named forms (on a locked VMA DONTNEED is EINVAL, 24 is not), invalid ones EINVAL
# before any other check, 13 (MADV_UNMERGEABLE) is 0 over any mapping.
mmap 0 64K rw private,anon
mmap 1M 64K rw private,anon,locked
touch 0 64K w
madvise 0 64K raw=0
madvise 0 64K raw=1
madvise 0 64K raw=2
madvise 0 64K raw=3
madvise 0 16K raw=4
madvise 16K 16K raw=8
madvise 0 64K raw=10
madvise 0 64K raw=11
madvise 0 64K raw=14
madvise 0 64K raw=15
madvise 0 64K raw=16
madvise 0 64K raw=17
madvise 0 64K raw=18
madvise 0 64K raw=19
madvise 0 64K raw=22
madvise 0 64K raw=23
madvise 1M 64K raw=4
madvise 1M 64K raw=24
madvise 1M 64K raw=13
madvise 2K 64K raw=13
madvise 0 64K raw=5
madvise 0 64K raw=6
madvise 0 64K raw=7
madvise 0 64K raw=26
madvise 0 64K raw=99
madvise 0 64K raw=104
madvise 64M 4K raw=99
madvise 64M 4K raw=13
dump
