# mremap with OLDLEN 0 duplicates a shared mapping (the "duplicate shm area" case kept for
# DOS emulators): a new VMA of NEWLEN maps the same object at the same file offset, the
# source stays, and no page moves (move_page_tables of 0 bytes; unmap_source_vma's
# do_vmi_munmap refuses the zero length and that error is not the caller's). A private
# mapping is refused with EINVAL (check_prep_vma); without maymove nothing can grow in place
# (ENOMEM).
mmap 0 64K rw shared,anon
touch 0 16K w
mremap 0 0 32K
mremap 0 0 32K maymove fixed=1M
# From the middle of the VMA: the copy starts at that page's file offset.
mremap 4K 0 8K maymove fixed=2M
dump
# fixed= unmaps what was at the target first: the copy lands on a private mapping.
mmap 4M 64K rw private,anon
touch 4M 64K w
mremap 0 0 16K maymove fixed=4M
dump
mremap 4M 0 16K maymove fixed=8M
# A memfd: the copy may be longer than the source VMA (it maps more of the file).
memfd f 128K fill
mmap 16M 64K r shared f
mremap 16M 0 128K maymove fixed=32M
mremap 16M 0 64K maymove fixed=48M+8K
touch 32M 128K r
# Private mappings cannot be duplicated; a zero NEWLEN is refused; fixed= needs maymove.
mmap 64M 64K r private f
mremap 64M 0 64K maymove fixed=80M
mremap 16M 0 0 maymove fixed=96M
mremap 16M 0 4K fixed=96M
dump
pagemap 32M 128K
fork
child mremap 1M 0 8K maymove fixed=100M
child dump
child_exit
