# Found by exitmm diff: a VMA whose anon_vma came from fork does not merge with a new VMA
# that has none (is_mergeable_anon_vma and "uncowed parents").
mmap 4120K 512K rw private,anon
fork
touch 4184K 4096 w 4K
child_exit
fork
child mmap 4132K 4096 rw private,anon,fixed
child dump
child_exit
