# fork of a private hugetlb mapping: the child shares the parent's pages write-protected (h in
# pagemap, Shared_Hugetlb), owns no reservation, and its write copies a page from the unreserved
# free pool; the parent's write of a page it shares also copies it, without using its
# reservation (cow_from_owner).
hugetlb_pool 2M 6
mmap 0 8M rw private,anon,hugetlb
touch 0 4M w 2M
hugetlb_stat 2M
fork
child pagemap 0 8K
child dump
child touch 0 4K w
hugetlb_stat 2M
child pagemap 0 8K
pagemap 0 8K
touch 2M 4K w
hugetlb_stat 2M
pagemap 2M 8K
child pagemap 2M 8K
child touch 4M 4K w
hugetlb_stat 2M
child_exit
hugetlb_stat 2M
dump
