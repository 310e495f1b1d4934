# process_mrelease racing the exit of the process it reaps. The caller pins the mm with
# mmgrab (the struct stays, the address space may go), takes mmap_read_lock and re-checks
# MMF_OOM_SKIP before reaping: whatever the order, it never frees page tables or VMAs and
# never ends up running exit_mmap itself. In the first-come order the child's exit runs to its
# end first, so the pidfd names a process that is gone: ESRCH.
mmap 0 1M rw private,anon
touch 0 1M w
fork
child touch 0 512K w
kill C
mrelease C
wait
# expect: A C exit:C rc=0
# expect: A P mrelease:P>C rc=-3 err=ESRCH
# expect: X C check_mm ok=1
