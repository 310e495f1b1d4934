# mlock of a whole VM_HUGEPAGE VMA populates it with THPs (a write fault each, the VMA being
# writable); munlock leaves them.
mmap 0 4M rw private,anon
madvise 0 4M hugepage
thp on
mlock 0 4M
dump
munlock 0 4M
dump
