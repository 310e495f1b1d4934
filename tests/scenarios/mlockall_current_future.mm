# mlockall current locks every VMA; future locks new ones; munlockall clears both.
mmap 0 64K rw private,anon
mlockall current future
mmap 1M 64K rw private,anon
dump
munlockall
mmap 2M 64K rw private,anon
dump
