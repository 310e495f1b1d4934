# Advice that sets a VMA flag splits and merges like any flag.
mmap 0 1M rw private,anon
madvise 256K 256K random
madvise 512K 256K sequential
madvise 0 128K dontdump
madvise 768K 256K hugepage
dump
madvise 0 1M normal
madvise 0 1M dodump
madvise 0 1M nohugepage
dump
madvise 0 1M willneed
madvise 3M 4K willneed
