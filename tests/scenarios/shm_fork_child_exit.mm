# A segment attached before fork is attached twice (nattch 2); the child's exit detaches its
# copy (shm_close), the parent's IPC_RMID then destroys the segment once the parent detaches;
# Committed_AS gives the charge back at destruction.
shmget s 256K
commit
shmat s 0
touch 0 256K w
fork
child touch 0 128K r
child shmat s 1M rdonly
child_exit
shmrm s
commit
shmdt 0
commit
shmat s 0
