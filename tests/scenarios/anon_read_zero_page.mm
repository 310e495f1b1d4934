# A read fault on private anonymous memory maps the shared zero page: not in RSS, but the
# PTE page (and the PMD and PUD pages above it) count in VmPTE.
mmap 0 64K rw private,anon
touch 0 64K r
pagemap 0 64K
touch 0 16K w
pagemap 0 64K
dump
