# uprobe's errors: an unknown name (EBADF), a memfd (not a codefile: EINVAL), an offset past
# the end of the file (EINVAL; the end itself and any byte alignment are allowed on x86);
# removing a probe not registered (ENOENT).
codefile code 16K
memfd mf 16K
uprobe nope 0
uprobe mf 0
uprobe code 0x4000
uprobe code 0x3fff
uprobe code 0x5000
uprobe code 0x100000
uprobe code 0x1001
uprobe_remove code 0x1001
uprobe_remove code 0x1001
uprobe_remove nope 0
uprobe_remove mf 0
uprobe_remove code 0x2000
