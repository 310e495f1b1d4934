# Closing the event's descriptor does not free a ring still mapped: the mapping keeps the event
# alive and the pages present. A closed name cannot be mapped again (EBADF); a new event of the
# same name can.
perf_ring ev 8
mmap 0 36K rw shared ev
close ev
close ev
touch 0 36K r
pagemap 0 36K
dump
mmap 1M 36K rw shared ev
perf_ring ev 8
mmap 1M 36K rw shared ev
dump
