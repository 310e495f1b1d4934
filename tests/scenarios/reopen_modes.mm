# Descriptors opened read-only or write-only (through /proc/self/fd): a shared writable
# mapping needs FMODE_WRITE, every mapping FMODE_READ (EACCES); a read-only shared mapping
# loses VM_MAYWRITE and VM_SHARED (maps still says s), so mprotect cannot make it writable;
# writes, truncation and fallocate through it fail as the VFS says.
memfd f 32K fill
reopen f r ro
reopen f w wo
reopen f r rw
mmap 0 32K rw shared r
mmap 0 32K r shared r
mmap 1M 32K rw private r
mmap 2M 32K r shared w
mmap 2M 32K r private w
touch 0 32K r
touch 1M 32K w
mprotect 0 32K rw
mprotect 0 32K r
mprotect 1M 32K r
madvise 0 32K remove
dump
write r 0 4K
truncate r 0
fallocate r 0 4K
fsync r
write w 0 4K
fsync w
msync 0 32K sync
fork
child reopen f cr ro
child mmap 4M 32K r shared cr
child touch 4M 32K r
child close cr
close r
dump
child dump
shmfile s 16K fill
reopen s sr ro
mmap 8M 16K r shared sr
close sr
touch 8M 16K r
dump
