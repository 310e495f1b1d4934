# Found by exitmm diff: a private locked VMA that becomes writable is COWed at once
# (mprotect_fixup populates it), turning its zero pages into anonymous pages.
mmap 6140K 160K r private,anon
mlock 6160K 96K
mprotect 6252K 4K rw
mprotect 6140K 160K rw
pagemap 6140K 160K
