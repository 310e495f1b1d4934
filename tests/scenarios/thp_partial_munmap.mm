# munmap of part of a THP splits its PMD (the deposited table becomes the PTE table; VmPTE
# unchanged) and unmaps the part: RSS falls by the part only, AnonHugePages is 0.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
touch 0 4K w
touch 2M 4K w
munmap 64K 64K
dump
pagemap 0 256K
munmap 2M 2M
dump
