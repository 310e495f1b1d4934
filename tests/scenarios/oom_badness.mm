# oom_badness picks the victim: points = rss + swap entries + page-table pages
# + oom_score_adj * (totalpages / 1000), where totalpages = RAM + swap pages. The model's RAM is
# 16 GiB and there is no swap, so totalpages = 4194304 and one unit of oom_score_adj is worth
# 4194 pages. select_bad_process takes the highest points; while a victim has not yet released
# its memory (no MMF_OOM_SKIP) the OOM killer waits for it instead of killing again.
mmap 0 8M rw private,anon
touch 0 8M w
fork
child mmap 1G 4M rw private,anon
child touch 1G 4M w
# P: 2048 anon pages + 6 table pages (PUD, PMD, 4 PTE) = 2054.
# C: the 2048 pages it shares with P count in its RSS too, plus 1024 of its own = 3072, and 9
# table pages (P's 6 copied, a PMD table and 2 PTE tables for the range at 1G) = 3081.
oom_kill
# expect: R P oom_victim=C points=3081
oom_kill
# expect: R P oom_victim=none reason=victim_pending
wait
# expect: A C exit:C rc=0
# expect: X C check_mm ok=1
# A fresh child with oom_score_adj 500: 2054 + 500 * 4194 = 2099054, far above P's 2054.
fork
child oom_score_adj 500
oom_kill
# expect: R P oom_victim=C points=2099054
wait
# P made unkillable (OOM_SCORE_ADJ_MIN); a child that has unmapped everything has 0 pages and
# 0 tables (munmap freed them), so -999 * 4194 = -4189806: negative, but still chosen, as
# only LONG_MIN ("never") is skipped.
oom_score_adj -1000
fork
child munmap 0 8M
child oom_score_adj -999
oom_kill
# expect: R P oom_victim=C points=-4189806
wait
# Nobody left that may be killed.
oom_kill
# expect: R P oom_victim=none reason=none_killable
