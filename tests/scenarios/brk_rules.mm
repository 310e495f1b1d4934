# brk(2) as mm/mmap.c has it (checked on the model: this host withholds CAP_SYS_RESOURCE,
# which prctl(PR_SET_MM) needs to move a heap into the arena). The break moves by bytes, the
# [heap] VMA by pages; below start_brk is refused; shrinking unmaps; growth must leave a page
# (and a stack's guard gap) before the next VMA; RLIMIT_DATA bounds the heap; a heap locked by
# mlockall(MCL_FUTURE) is populated and bounded by the lock limit; an adjacent compatible
# anonymous VMA is expanded instead of a new one made.
brk_start 1G
# expect: R P rc=0
brk 1G+10000
# expect: R P brk=0x40002710
# expect: D P VmSize=12 VmRSS=0 VmData=12 maps_lines=1
dump
# expect: M P 0x40000000-0x40003000 rw-p off=0x0 ino=0 name=[heap]
touch 1G 8K w
brk 1G+100K+1
# expect: R P brk=0x40019001
# expect: D P VmSize=104 VmRSS=8 VmData=104
brk 1020M
# expect: R P brk=0x40019001
brk 1G+4K
# expect: R P brk=0x40001000
# expect: D P VmSize=4 VmRSS=4 RssAnon=4 VmData=4
mmap 1G+4M 64K rw private,anon
brk 1G+4092K
# expect: R P brk=0x403ff000
brk 1G+4096K
# expect: R P brk=0x403ff000
brk 1G+3M
# expect: R P brk=0x40300000
mmap 1G+5M 64K rw private,anon,growsdown
munmap 1G+4M 64K
brk 1G+4M
# expect: R P brk=0x40300000
brk 1G+3M+4K
# expect: R P brk=0x40301000
munmap 1G+5M 64K
mlockall future
brk 1G+3M+68K
# expect: R P brk=0x40311000
# expect: D P VmRSS=68 VmLck=64
dump
# expect: M P 0x40000000-0x40301000 rw-p off=0x0 ino=0 name=[heap]
# expect: M P 0x40301000-0x40311000 rw-p off=0x0 ino=0 name=[heap]
drop_cap ipc_lock
brk 1G+12M
# expect: R P brk=0x40311000
munlockall
setrlimit data 4M
brk 1G+5M
# expect: R P brk=0x40311000
brk 1G+4M
# expect: R P brk=0x40400000
# Unlocked again, the two pieces still do not merge: each has its own anon_vma (the locked
# one's flags were not compatible with its neighbour's when it was populated).
dump
# expect: M P 0x40000000-0x40301000 rw-p off=0x0 ino=0 name=[heap]
# expect: M P 0x40301000-0x40400000 rw-p off=0x0 ino=0 name=[heap]
# expect: M P nvma=2
fork
child brk 1G+4K
# expect: R C brk=0x40001000
child dump
# expect: M C 0x40000000-0x40001000 rw-p off=0x0 ino=0 name=[heap]
exit
# expect: X P remove_vma vmas=2
