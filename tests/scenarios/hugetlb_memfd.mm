# An MFD_HUGETLB memfd: fill (fallocate) puts every huge page in its page cache; a shared
# mapping then reserves nothing and its faults take no page; a private mapping maps the cached
# pages read-only until a write copies one (consuming its own reservation); the pages go when
# the file's last reference does.
hugetlb_pool 2M 6
memfd hf 4M hugetlb fill
hugetlb_stat 2M
mmap 0 4M rw shared hf
hugetlb_stat 2M
touch 0 4M r 2M
mmap 8M 4M rw private hf
hugetlb_stat 2M
touch 8M 4K r
pagemap 8M 8K
touch 8M 4K w
hugetlb_stat 2M
pagemap 8M 8K
pagemap 0 8K
mmap 16M 2M rw shared hf 2M
touch 16M 4K r
pagemap 16M 8K
mmap 20M 2M rw shared hf 1M
dump
munmap 0 32M
hugetlb_stat 2M
