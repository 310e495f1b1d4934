# Found by exitmm diff: 6.18's mremap looks the VMA up (EFAULT) before it unmaps anything,
# for a shrink and for a fixed move alike.
mremap 52K 60K 4096
mmap 4100K 4096 rw shared,anon
mremap 4056K 8M 4096 maymove fixed=1048568K
dump
