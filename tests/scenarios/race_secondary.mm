# An OOM kill of a process with two secondary MMUs: kvm, whose invalidation never sleeps, and
# gpu, whose invalidation must wait for the device (nonblock). The reaper may not block, so
# for the VMA gpu mirrors its non-blocking notifier start fails with EAGAIN and it skips the
# VMA, retrying 100 ms later; the exit's mmu_notifier_release comes before its unmap, so the
# devices drop every translation before any page they could reach is freed.
mmap 0 2M rw private,anon
touch 0 2M w
secondary kvm 0 1M
secondary gpu 1M 1M nonblock
device_access kvm 0 64K w
# expect: R P device=kvm hits=0 faults=16
device_access gpu 1M 64K w
oom_kill
device_access kvm 0 64K r
wait
# expect: A P exit:P rc=0
# expect: A P device:kvm rc=-19 err=ENODEV
# expect: X P mmu_notifier_release subscribers=2
# expect: X P check_mm ok=1
