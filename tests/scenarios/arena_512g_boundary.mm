# The arena past its first 512 GiB: each 512 GiB span has a top-level (PGD) entry and a PUD
# table of its own, on the kernel as in the model, and offsets up to 32 TiB are arena offsets.
# A VMA across 512G (512G-8K, 16K) touched on both sides needs a PTE, PMD and PUD table on each
# side: below, those a VMA just below (512G-2M, 64K) already faulted in; above, three new ones
# under the second top-level entry. munmap of the upper side frees the upper tables (no
# remaining VMA meets [512G, 1T)); munmap of the rest of the crossing VMA frees nothing, since
# the VMA just below still meets the lower spans. VMAs wholly above 1T (at 3T, and at the top of
# the arena, 32T-2M) count in status, T, M and V lines like any other; removing the one at 3T
# frees its PTE, PMD and PUD tables.
mmap 0x7fffe00000 64K rw private,anon
mmap 0x7fffffe000 16K rw private,anon
touch 0x7fffe00000 64K w
touch 0x7fffffe000 16K w
pagemap 0x7fffffc000 24K
dump
munmap 512G 8K
pagemap 0x7fffffc000 24K
dump
munmap 0x7fffffe000 8K
mmap 3T 64K rw private,anon
touch 3T 64K w
mmap 0x1fffffe00000 2M rw private,anon
touch 0x1ffffffff000 4K w
touch 0x1fffffe00000 4K r
pagemap 3T 16K
pagemap 0x1fffffe00000 4K
pagemap 0x1ffffffff000 4K
dump
munmap 3T 64K
dump
