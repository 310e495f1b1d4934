# Page tables at every level: mappings straddling a 2 MiB and a 1 GiB boundary, and one in the
# next 512 GiB (another PGD entry, so another PUD table).
mmap 0x1ff000 8K rw private,anon
touch 0x1ff000 8K w
mmap 0x3ffff000 8K rw private,anon
touch 0x3ffff000 8K w
mmap 512G 4K rw private,anon
touch 512G 4K w
exit
# expect: X P unmap_vmas vmas=3 ptes=5 anon=5
# PTE tables: 2 + 2 + 1; PMD tables: [0,1G), [1G,2G), and one under the 2nd PUD; PUD: 2.
# expect: X P free_pgtables pte=5 pmd=3 pud=2
