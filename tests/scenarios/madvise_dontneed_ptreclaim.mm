# madvise dontneed zaps pages; with PT_RECLAIM the PTE page goes when one VMA covers its whole
# 2 MiB span, never the PMD or PUD pages.
mmap 0 6M rw private,anon
touch 0 6M w 256K
madvise 0 1M dontneed
madvise 2M 2M dontneed
pagemap 0 64K
madvise 4M 2M+4K dontneed
madvise 4M 2M dontneed
touch 0 4K r
dump
