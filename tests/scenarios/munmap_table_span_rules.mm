# free_pgd_range floor/ceiling: a PTE page covering a 2 MiB span is freed only if the nearest
# remaining VMAs lie outside that span.
mmap 0 4K rw private,anon
mmap 2M+4K 4K rw private,anon
mmap 0x3ff000 4K rw private,anon
mmap 8M 4K rw private,anon
touch 0 4K w
touch 2M+4K 4K w
touch 0x3ff000 4K w
touch 8M 4K w
munmap 2M+4K 4K
munmap 0x3ff000 4K
mmap 0x3ff000 4K rw private,anon
touch 0x3ff000 4K w
munmap 0 8M+4K
