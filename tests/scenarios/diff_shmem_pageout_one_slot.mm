# A one-slot device and a shared anonymous mapping read once in the child: the read page is
# clean, so pageout drops it instead of using the slot.
swapon 8192
fork
child mmap 0 120K rw shared,anon,fixed
child touch 60K 4096 r
child madvise 0 98304 pageout
child dump
meminfo SwapFree
