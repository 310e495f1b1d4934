# Errors the kernel returns, and that nothing changes when it does.
mmap 0 64K rw private,anon
mmap 32K 64K rw private,anon
mmap 1M 0 rw private,anon
mmap 1M+1 4K rw private,anon
munmap 1 4K
mprotect 2M 4K r
munmap 2M 4K
touch 2M 4K r
touch 0 128K r
mremap 0 64K 128K
mremap 0 64K 32K fixed=1M
madvise 1 4K dontneed
madvise 2M 4K dontneed
mlock 2M 4K
