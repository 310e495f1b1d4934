# Read faults on memfd mappings map cached pages in a 16-page window, clamped to the VMA and
# to the PTE page.
memfd f 4M fill
mmap 0 4M r shared f
touch 64K 4K r
pagemap 0 256K
touch 0x1ff000 4K r
pagemap 0x1f0000 128K
mmap 8M 24K r shared f 1M
touch 8M+8K 4K r
pagemap 8M 24K
