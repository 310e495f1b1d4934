# Stack growth by a call below a growsdown VMA, one page and then 255; a mapping 504 KiB below
# leaves less than the 1 MiB stack guard gap, so the next growth is refused.
mmap 2M 64K rw private,anon,growsdown
commit
call 2044K
dump
commit
call 1M
dump
commit
mmap 512K 4K rw private,anon
call 1020K
dump
commit
