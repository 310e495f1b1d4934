# A growsdown mapping carries gd and merges only with its own kind.
mmap 1M 64K rw private,anon,growsdown
touch 1M+60K 4K w
dump
