# CVE-2018-1000200: an mlocked THP region of an OOM victim. 5.10's exit_mmap reaps itself
# first (its reaper skips VM_LOCKED VMAs), sets MMF_OOM_SKIP, waits out any reaper with
# mmap_write_lock, and only then munlocks: the munlock walk, which clears VM_LOCKED before it
# looks at the pages, can no longer meet a reaper. Swap the order (`--inject
# munlock-before-reap`, the 4.14-4.16 code) and the reaper zaps the huge PMD while
# follow_page_mask waits for its lock.
thp on
mmap 0 4M rw private,anon
madvise 0 4M hugepage
mlock 0 4M
mmap 1G 64K rw private,anon
touch 1G 64K w
oom_kill
wait
# expect: A P exit:P rc=0
# expect: X P munlock_vma_pages_all vmas=1 pages=1024
# expect: X P unmap_vmas anon=1024
# expect: X P check_mm ok=1
