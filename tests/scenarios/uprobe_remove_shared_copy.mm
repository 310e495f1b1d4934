# Removal with the copy shared by parent and child: each mm's read GUP marks the old page
# accessed a second time, which queues it in the CPU's lru_activate batch; 6.18 leaves such a
# folio on its LRU list, so wp_can_reuse_anon_folio sees the batch's reference and both mms
# get a fresh copy, which the LRU-add batch holds: neither copy is dropped.
codefile code 16K
mmap 0 16K rx private code
uprobe code 0x1000
fork
uprobe_remove code 0x1000
child pagemap 0 16K
pagemap 0 16K
child_exit
dump
