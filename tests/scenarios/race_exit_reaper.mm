# An OOM kill racing the victim's own exit and the oom_reaper. The victim has private anonymous
# memory (the reaper's to take), a shared memfd mapping (which the reaper leaves alone) and an
# mlocked VMA (which 5.10's reaper skips). Explore it: exitmm explore --linux 5.10|6.18.
# In the first-come order printed here the victim runs first: on 5.10 it reaps itself, sets
# MMF_OOM_SKIP and takes mmap_lock for write once, so the reaper, arriving later, finds
# MMF_OOM_SKIP under its read lock and leaves.
memfd f 1M fill
mmap 0 4M rw private,anon
touch 0 4M w
mmap 1G 1M rw shared f
touch 1G 1M r
mmap 2G 64K rw private,anon,locked
# Points: 1024 anon + 256 shmem + 16 locked pages, and 8 table pages (a PUD table, a PMD
# table for each of the three GiB, 2 + 1 + 1 PTE tables) = 1304.
oom_kill
# expect: R P oom_victim=P points=1304
wait
# expect: A P exit:P rc=0
# expect: A P oom_reaper:P rc=0 attempts=1 gave_up=0
# expect: X P exit_mmap linux=510
# expect: X P __oom_reap_task_mm anon=1024 shmem=0
# expect: X P mmap_write_lock oom_skip=1
# expect: X P munlock_vma_pages_all vmas=1 pages=16
# expect: X P unmap_vmas anon=16 shmem=256
# expect: X P check_mm ok=1
census
# expect: K P census frames_anon=0
