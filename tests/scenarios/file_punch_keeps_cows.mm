# A hole punch (fallocate punch keep) takes the page-cache pages of the range out of every
# mapping but keeps private COW copies; without keep the kernel refuses (EOPNOTSUPP).
memfd f 64K fill
mmap 0 64K rw shared f
mmap 1M 64K rw private f
touch 0 64K r
touch 1M 64K r
touch 1M 16K w
fork
child touch 0 64K r
commit
fallocate f 0 32K punch
fallocate f 0 32K punch keep
commit
dump
touch 1M 64K r
child touch 0 64K r
# a punch inside one page only zeroes (and dirties) it
fallocate f 40K+100 200 punch keep
dump
