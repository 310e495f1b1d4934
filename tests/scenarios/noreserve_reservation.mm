# A reservation bigger than the kernel runner's footprint cap: 4 GiB private, writable,
# MAP_NORESERVE. The kernel counts all of it in VmSize and VmData at once, charges nothing to
# Committed_AS (VmFlags `nr`, no `ac`), and makes resident only what is touched: each touch
# allocates the tables on its own path (a PTE table for its 2 MiB, a PMD table for its 1 GiB,
# one PUD table), so touches at 0, 2G and the last page cost 3 PTE + 3 PMD + 1 PUD tables; a read
# maps the zero page. munmap of the upper half frees the tables under it (no remaining VMA meets
# their spans) but keeps the PUD table, which the lower half still shares.
commit
mmap 0 4G rw private,anon,noreserve
commit
touch 0 4K w
touch 2G 4K w
touch 0xfffff000 4K w
touch 1M 8K r
pagemap 0 8K
pagemap 1M 8K
pagemap 2G 8K
pagemap 0xffffe000 8K
dump
munmap 2G 2G
pagemap 2G 8K
commit
dump
