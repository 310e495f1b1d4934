# Found by exitmm diff --random: move_page_tables works level by level. Where the source has a
# PMD table, the destination gets its PUD table (alloc_new_pud) even if no PTE table follows;
# where it has a PTE table, the destination gets PMD and PTE tables even with no PTE to move;
# a whole 2 MiB extent moves its PTE table (move_normal_pmd). Here a SIGBUS past the end of a
# 4 KiB file leaves PUD and PMD tables but no PTE table, and the move lands just below 1 TiB,
# so its range crosses two top-level entries: two new PUD tables.
shmfile g 4096
mmap 0 6M rw shared g 4096
touch 0 4096 w
mremap 4096 4M 4M maymove fixed=1073739760K dontunmap
shmfile h 8K fill
mmap 6136K 128K rw private,anon
mmap 16M 96K rw shared,fixed h
fork
child touch 16M 4096 r
child mremap 6232K 16K 4096 maymove fixed=536871032K
child dump
mmap 64M 4M rw private,anon
touch 64M 4M w 64K
mremap 64M 4M 4M maymove fixed=2G
mmap 3G+8K 2M rw private,anon
touch 3G+8K 2M w 256K
mremap 3G+8K 2M 2M maymove fixed=5G+8K
dump
