# A tmpfs file mapped shared and private: private writes COW into anonymous pages.
shmfile t 1M fill
mmap 0 1M rw shared t
mmap 2M 1M rw private t
touch 0 64K w
touch 2M 64K r
pagemap 2M 128K
touch 2M 8K w
pagemap 2M 128K
dump
