# fork copies page tables only for VMAs with an anon_vma; copied VMAs get a PTE page for
# every 2 MiB slot the parent has, even an empty one; zero-page PTEs stay zero pages.
mmap 0 4M rw private,anon
touch 0 4K w
touch 2M 4K r
madvise 2M 2M dontneed
mmap 8M 2M rw private,anon
touch 8M 2M r 64K
memfd f 2M fill
mmap 16M 2M r shared f
touch 16M 64K r
fork
child pagemap 0 4M
child pagemap 8M 128K
child dump
child_exit
