# A regular file on a disk filesystem (`diskfile`, the stand-in a snapshot uses for a real
# process's mapped files): its page-cache pages are not swap-backed, so they count in RssFile,
# not RssShmem, and the file charges nothing to Committed_AS.
commit
diskfile lib 64K
commit
# expect: K P Committed_AS=0
mmap 0 64K r private lib
# A read fault reads the page into the cache and maps it; fault-around maps only pages already
# cached, so two read faults map two pages.
touch 0 4K r
touch 32K 4K r
# expect: D P RssAnon=0 RssFile=8 RssShmem=0 VmPTE=12
# A second mapping of the file: the read fault at offset 0 also maps the cached page at 32K
# (fault-around, within the 16-page window and the VMA).
mmap 1M 64K r private lib
touch 1M 4K r
# expect: D P RssAnon=0 RssFile=16 RssShmem=0
# A private write fault copies the cached page into an anonymous one and maps only the copy.
mmap 2M 64K rw private lib
touch 2M 4K w
# expect: D P RssAnon=4 RssFile=16 RssShmem=0
# A shared writable mapping writes the cache page itself; still a file page.
mmap 3M 64K rw shared lib
touch 3M+8K 4K w
# expect: D P RssAnon=4 RssFile=20 RssShmem=0
commit
# expect: K P Committed_AS=64
# pageout writes a dirty file page back and drops it from the cache: no swap needed.
munmap 0 2M
madvise 3M 64K pageout
# expect: D P RssAnon=4 RssFile=0 RssShmem=0 VmSwap=0
exit
# expect: X P unmap_vmas vmas=2 ptes=1 anon=1 file=0 shmem=0 swap=0
