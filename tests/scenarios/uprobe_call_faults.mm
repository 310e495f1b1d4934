# call where there is no code: a writable anon page, a PROT_NONE one and a hole are SIGSEGV; a
# page past the end of the file is SIGBUS, though the fault mapped the file's pages around it
# (fault-around: RssShmem, the codefile being tmpfs), so the last call needs no fault.
codefile code 10K
mmap 0 16K rx private code
mmap 1M 4K rw private,anon
mmap 2M 4K none private,anon
call 1M
call 2M
call 3M
call 0x3000
call 0x1000
dump
