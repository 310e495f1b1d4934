# A device keeps reading memory through its own translations while the OOM reaper frees that
# memory. The reaper's notifier range makes the device drop the translations before the zap
# (`--inject skip-secondary-invalidate` leaves them, and explore finds the device reading a
# freed page).
mmap 0 1M rw private,anon
touch 0 1M w
secondary kvm 0 1M
device_access kvm 0 64K w
oom_kill
device_access kvm 0 64K r
wait
# expect: A P exit:P rc=0
# expect: X P mmu_notifier_release subscribers=1
# expect: X P check_mm ok=1
