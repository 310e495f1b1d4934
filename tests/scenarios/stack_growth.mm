# Stack growth (touch ... grow): an access below a growsdown VMA grows it down to the page,
# unless the 256-page guard gap to the VMA below would break (SIGSEGV); a PROT_NONE VMA below
# imposes no gap; a locked stack counts its whole growth in VmLck but populates only the
# touched page; without grow the hole is ENOMEM as for any touch.
mmap 64M 64K rw private,anon,growsdown
touch 63M+1016K 8K w
touch 63M+1016K 8K w grow
touch 64M 4K w grow
dump
touch 60M 8K r grow
dump
mmap 40M 64K rw private,anon
touch 41M+60K 4K w grow
touch 41M+72K 4K w grow
dump
mmap 100M 4K none private,anon
mmap 101M 64K rw private,anon,growsdown,locked
touch 100M+4K 4K w grow
dump
mmap 200M 4K rw private,anon,growsdown
mmap 199M+960K 4K rw private,anon,fixed
touch 199M+1008K 4K w grow
mmap 300M 8K rw private,anon,growsdown
touch 299M 4K r grow
touch 200M+64K 4K w grow
