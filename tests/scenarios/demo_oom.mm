# exitmm demo oom: an OOM kill racing the victim's exit, the oom_reaper, process_mrelease and
# a secondary MMU. These paths are concurrent *actors*: an op like `oom_kill` or `kill` starts
# them and `wait` runs them under the deterministic scheduler, which prints the schedule it
# took (`schedule=`). This run takes the first-come order (the running actor goes on until it
# must wait); `--seed N` picks a random interleaving, `--schedule S` replays one, and
# `exitmm explore` tries them all. The exit/OOM protocol is the seed's, Linux 5.10;
# `--linux 6.18` runs 6.18's (unmap under mmap_read_lock, MMF_OOM_SKIP after it, the write
# lock around free_pgtables) and the reports say which one ran (`linux=`).
#
# Phase 1. P maps 4 MiB of private memory and forks C; C adds 8 MiB of its own and a device
# (say a GPU driver using an mmu notifier) mirrors part of it in its own translations.
mmap 0 4M rw private,anon
touch 0 4M w
fork
child mmap 1G 8M rw private,anon
child touch 1G 8M w
child secondary kvm 1G 1M
child device_access kvm 1G 256K w
# The device faulted 64 pages into its translations.
# expect: R C device=kvm hits=0 faults=64
#
# Phase 2. Memory runs out: the OOM killer scores each process by oom_badness, rss + swap
# entries + page-table pages (+ oom_score_adj thousandths of RAM + swap). P: 1024 pages + 4
# tables (PUD, PMD, 2 PTE) = 1028. C: the 1024 it shares with P, 2048 of its own, and 9
# tables = 3081. C is chosen, marked (MMF_OOM_VICTIM on 5.10, signal->oom_mm pinned by mmgrab) and sent SIGKILL;
# its exit starts, and 5.10 wakes the reaper at once (6.x arms a 2-second timer).
oom_kill
# expect: R P oom_victim=C points=3081
#
# Phase 3. The victim exits promptly. In exit_mmap, mmu_notifier_release comes first: the
# device drops its translations before any page goes. Then, as a 5.10 OOM victim, it reaps
# itself (__oom_reap_task_mm: the private pages, 3072 here), sets MMF_OOM_SKIP and takes
# mmap_lock for write once: a reaper inside must finish first, and one arriving later sees
# MMF_OOM_SKIP under its read lock and leaves (attempts=1). Only then are the page tables
# freed. The reaper's put_task_struct drops the last reference to the mm (the oom_mm pin),
# so check_mm runs there.
wait
# expect: A C exit:C rc=0
# expect: A C oom_reaper:C rc=0 attempts=1 gave_up=0
# expect: X C mmu_notifier_release subscribers=1
# expect: X C __oom_reap_task_mm anon=3072
# expect: X C mmap_write_lock oom_skip=1
# expect: X C unmap_vmas anon=0
# expect: X C check_mm ok=1
#
# Phase 4. A victim that cannot exit at once: another of its threads is in the middle of a
# fault, and holds the mm as a user. The main thread's exit drops its reference and is done;
# the reaper then reaps under mmap_read_lock (its log line), marking the mm MMF_UNSTABLE, so
# the thread's fault gets SIGBUS instead of a fresh zero page where its data was. The
# thread's exit is the mm's last user: exit_mmap runs there and finds nothing left to zap.
# The reaper cleared 1024 entries but freed only 16 pages (ptes=1024 pages_freed=16): the
# copies C had made by writing; the other pages are P's too and stay.
# C (a new child: 1024 pages it shares with P, copies of P's 4 tables = 1028) wins the tie
# with P: a later task with equal points replaces the one chosen so far.
fork
child touch 0 64K w
oom_kill
# expect: R P oom_victim=C points=1028
child touch 2M 64K w
wait
# expect: A C exit:C rc=0
# expect: A C oom_reaper:C rc=0 attempts=1 ptes=1024
# expect: A C thread:C:fault rc=-5 err=EIO
# expect: L oom_reaper: reaped process 1002 (C), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
# expect: X C exit_mmap linux=510
#
# Phase 5. process_mrelease(2): a userspace OOM daemon reaps a process it has killed, in its
# own context. It pins the mm with mmgrab (never mmget, so it can never end up running
# exit_mmap), takes mmap_read_lock, re-checks MMF_OOM_SKIP and reaps. Here it runs before the
# killed child's remaining thread has given up the mm.
fork
child touch 0 64K w
kill C
mrelease C
child touch 0 64K r
wait
# expect: A P mrelease:P>C rc=0
# expect: A C thread:C:fault rc=-5 err=EIO
# expect: X C check_mm ok=1
#
# What to try next:
#   exitmm explore tests/scenarios/race_exit_reaper.mm                  (every interleaving)
#   exitmm explore --inject no-oom-barrier tests/scenarios/race_exit_reaper.mm
#   exitmm explore --inject munlock-before-reap tests/scenarios/race_munlock_thp.mm
#   exitmm demo oom --linux 6.18
census
# expect: K P census frames_pgtable=5
