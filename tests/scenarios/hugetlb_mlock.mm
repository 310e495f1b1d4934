# mlock of a hugetlb VMA populates it but sets no VM_LOCKED and counts nothing in VmLck; with
# the pool empty it fails with ENOMEM (the populate's EFAULT). munlock does nothing.
hugetlb_pool 2M 3
mmap 0 4M rw private,anon,hugetlb
mlock 0 4M
hugetlb_stat 2M
dump
mmap 8M 4M rw private,anon,hugetlb,noreserve
mlock 8M 4M
hugetlb_stat 2M
mlock 8M 4M onfault
munlock 0 12M
mlockall current
dump
