# An OOM kill while another thread of the victim is faulting. That thread holds a user
# reference on the mm, so the last of the two threads to exit runs exit_mmap; its fault takes
# mmap_read_lock and, once the reaper (or 5.10's self-reap) has set MMF_UNSTABLE, gets
# SIGBUS (check_stable_address_space) rather than a fresh zero page where data was.
mmap 0 1M rw private,anon
touch 0 512K w
oom_kill P
touch 512K 64K w
wait
# expect: A P exit:P rc=0
# expect: A P thread:P:fault rc=-5 err=EIO
# expect: X P exit_mmap linux=510
# expect: X P check_mm ok=1
