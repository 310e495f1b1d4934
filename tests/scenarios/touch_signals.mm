# Access the VMA forbids raises SIGSEGV; past end of file raises SIGBUS.
mmap 0 64K r private,anon
touch 0 8K w
mmap 1M 64K none private,anon
touch 1M 4K r
memfd f 8K fill
mmap 2M 64K r shared f
touch 2M 16K r
pagemap 2M 64K
