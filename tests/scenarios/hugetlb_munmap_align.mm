# Splits of a hugetlb VMA happen only at its page size (hugetlb_vm_op_split): munmap, mprotect
# and madvise that would split elsewhere are EINVAL; the length is not rounded; an end past the
# VMA needs no split. A failed second split leaves the first one in place.
hugetlb_pool 2M 4
mmap 0 8M rw private,anon,hugetlb,noreserve
munmap 0 4K
munmap 4K 2M
munmap 2M 1M
mprotect 0 1M r
madvise 0 3M dontfork
dump
munmap 2M 3M
dump
munmap 6M 2M+4K
dump
mprotect 0 2M r
madvise 0 2M dontdump
dump
