/*
 * exitmm kernel runner: runs a digested exitmm script on this machine's real kernel and prints
 * records format v1 (shared/spec/script.md).
 *
 * The Rust side (crates/exitmm-host) parses the script and sends one digested op per line on
 * stdin:   <line>\t<role P|C>\t<op>\t<decimal args separated by spaces>\t<op text>\n
 *
 * Rules this program keeps so that its own memory never moves the figures it reports:
 *  - static binary, no malloc, no stdio: all buffers are static and pre-faulted, output goes
 *    through write(2) from a static buffer;
 *  - ASLR off (re-exec with ADDR_NO_RANDOMIZE), THP off (PR_SET_THP_DISABLE);
 *  - every non-arena mapping is populated before the baseline is read (mlockall + munlockall);
 *  - the child role is a fork whose baseline is calibrated with a throw-away fork that runs the
 *    same code; the child pre-faults its non-arena mappings right after fork;
 *  - a self-check at start: an anon mapping of known size must move status by exactly its size.
 * A script maps only inside the arena [ARENA, ARENA + 32 TiB): an mmap or mremap whose range
 * would end past the arena while staying inside the user address space is refused (one line on
 * stderr, exit code EXIT_REFUSED) before it reaches the kernel; ranges the kernel refuses anyway
 * (past TASK_SIZE, or overflowing) go to it unchanged, so that their errno compares.
 * The footprint cap (1 GiB by default, -c BYTES; exitmm's --cap) bounds what the script makes
 * resident or charges, not what it reserves: before each op that may add to it, the script's
 * measured footprint (VmRSS deltas of both roles plus the Committed_AS delta) and what the op may
 * add must stay within the cap, or the op is refused (see footprint_check).
 * Huge page pools (hugetlb_pool, with -P): the pool of a size is set through sysfs (root); the old
 * value of every size the script changes is handed, before the change, to a janitor: a process
 * forked at start in its own session that holds the read end of a pipe whose only write end is
 * the runner's. When the run ends the runner restores the pools itself through the janitor (its
 * memory and files go first, then it closes the pipe and waits for the janitor); if the runner
 * dies any other way (a crash, SIGKILL) the kernel closes the pipe and the janitor, reading EOF,
 * restores them alone. Either way nothing of the pools is left. One run at a time may set pools:
 * the next waits for the lock the runner and its janitor hold (pools_lock).
 * The same janitor (started with -U) undoes what uprobes and codefiles leave on the host: every
 * exitmm uprobe event the runner adds (told before it is added) is disabled and removed, the
 * tracing instance the events are enabled in is removed, codefiles are unlinked.
 * Namespaces: at start the runner enters its own mount and IPC namespaces (unshare, / made
 * rprivate) and mounts a fresh tmpfs on /dev/shm (exec allowed) and, for uprobes, tracefs on
 * /sys/kernel/tracing: files of the run vanish with the namespace however it ends, and nothing
 * is mounted on the host. Where that is not permitted, files go to the host's /dev/shm under
 * unique names (exitmm-<pid>-NAME, shown as /dev/shm/NAME in M lines) and are unlinked at the end
 * (and by the janitor; tracefs, if the runner had to mount it on the host's namespace, is
 * unmounted by the janitor). -H takes that way on purpose, for its test.
 * PFN maps (perf rings): pagemap reads VM_PFNMAP VMAs as not present, so G lines tell a present
 * entry by reading one byte of the page in the role's own process and seeing that its minor fault
 * count did not move ('p'); PROT_NONE ones print '?'.
 * Uprobes go through tracefs: a probe line in uprobe_events (group exitmm, one event per
 * registration), enabled in a tracing instance of the run's own (so that the host's top-level
 * ring buffer is not expanded), which makes the kernel call uprobe_register.
 * `call OFF` jumps only to a `ret` of a codefile mapping (or a uprobe's int3 on one): anything
 * else executable is refused.
 * A second mmap of a perf ring still mapped is refused (see perf_remap_check: 6.18 leaks the
 * ring's pages into the user's locked_vm until reboot).
 * `mrelease ROLE [FLAGS]` (digested: `mrelease` with args TARGET FLAGS, TARGET 0 for P, 1 for C):
 * the running role opens a pidfd of the target (pidfd_open) and calls process_mrelease on it.
 * The runner kills no process, so the target is live and the kernel answers EINVAL; a target
 * role that does not exist (no child) gets EBADF without a syscall, as no pidfd can be opened.
 * -E lists the exitmm uprobe events registered on the host (any run's) and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARENA 0x100000000000ULL
#define ARENA_END (ARENA + (32ULL << 40))
#define ARENA_NAME "[0, 32T)"
#define PAGE 4096ULL
/* TASK_SIZE_MAX with 4-level paging; with 5-level paging (la57) MAP_FIXED may reach higher */
#define TASK_SIZE_4L 0x7ffffffff000ULL
#define TASK_SIZE_5L 0xfffffffffff000ULL
/* exit code of a refusal (cap, arena, runner limits); any other failure exits 2 */
#define EXIT_REFUSED 6
/* exit code when the host lacks what the script needs (root, huge pages of a size, a pool) */
#define EXIT_UNAVAILABLE 7
#define EXIT_POOL_SHORT 8 /* the kernel could not allocate the pool this time (fragmentation) */
#define MAX_PAGES (1u << 18) /* 1 GiB of pages: a pagemap request at most, a touch's mincore chunk */
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#define HUGE_SHIFT 26 /* MAP_HUGE_SHIFT and MFD_HUGE_SHIFT */
#define MFD_CLOEXEC_ 1
#define MFD_HUGETLB_ 4
#define HP_DIR "/sys/kernel/mm/hugepages/hugepages-%llukB"
#define TRACEFS "/sys/kernel/tracing"
#define TRACEFS_MAGIC_ 0x74726163
#define SYS_pidfd_open_ 434       /* x86-64 */
#define SYS_process_mrelease_ 448 /* x86-64, 5.15+ */

typedef unsigned long long u64;

/* ---------- output ---------- */
static char outbuf[1 << 16];
static size_t outlen;
static void flush_out(void) {
	size_t off = 0;
	while (off < outlen) {
		ssize_t n = write(1, outbuf + off, outlen - off);
		if (n <= 0) _exit(3);
		off += (size_t)n;
	}
	outlen = 0;
}
static void out(const char *fmt, ...) {
	va_list ap;
	if (outlen > sizeof(outbuf) - 4096) flush_out();
	va_start(ap, fmt);
	int n = vsnprintf(outbuf + outlen, sizeof(outbuf) - outlen, fmt, ap);
	va_end(ap);
	if (n > 0) outlen += (size_t)n;
}
static int child_pid = -1;
static void janitor_end(void);
static void shms_end(void);
static void vstop(int code, const char *fmt, va_list ap) {
	char b[1024];
	flush_out();
	/* a live child holds our stdout and stderr: it must not outlive us */
	if (child_pid > 0) { kill(child_pid, SIGKILL); waitpid(child_pid, NULL, 0); child_pid = -1; }
	shms_end();
	janitor_end();
	int n = vsnprintf(b, sizeof b, fmt, ap);
	if (n > (int)sizeof b - 1) n = (int)sizeof b - 1;
	if (n > 0) { if (write(2, "kernel-runner: ", 15)) {} if (write(2, b, (size_t)n)) {} if (write(2, "\n", 1)) {} }
	_exit(code);
}
/* the runner failed */
static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vstop(2, fmt, ap);
	va_end(ap);
}
/* the script asks for what the runner does not allow (cap, arena, its own limits) */
static void refuse(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vstop(EXIT_REFUSED, fmt, ap);
	va_end(ap);
}
/* the host lacks what the script needs (root, huge pages of a size, enough of them) */
static void unavailable(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vstop(EXIT_UNAVAILABLE, fmt, ap);
	va_end(ap);
}

/* the kernel gave fewer huge pages than asked: memory is too fragmented this time */
static void pool_short(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vstop(EXIT_POOL_SHORT, fmt, ap);
	va_end(ap);
}

/* ---------- /proc reading ---------- */
static char procbuf[8 << 20];
static size_t read_file(const char *path) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) die("open %s: %s", path, strerror(errno));
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, procbuf + len, sizeof(procbuf) - 1 - len);
		if (n < 0) die("read %s: %s", path, strerror(errno));
		if (n == 0) break;
		len += (size_t)n;
		if (len >= sizeof(procbuf) - 1) die("%s too large", path);
	}
	close(fd);
	procbuf[len] = 0;
	return len;
}

enum { S_VMSIZE, S_VMRSS, S_RSSANON, S_RSSFILE, S_RSSSHMEM, S_VMPTE, S_VMLCK, S_VMPIN, S_VMDATA,
       S_VMSTK, S_VMEXE, S_VMLIB, S_VMSWAP, S_HUGETLB, S_MAPS, S_N };
static const char *status_keys[S_N] = {"VmSize", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmPTE",
	"VmLck", "VmPin", "VmData", "VmStk", "VmExe", "VmLib", "VmSwap", "HugetlbPages", "maps_lines"};

struct status { long long v[S_N]; };

static u64 parse_hex(const char **p) {
	u64 v = 0;
	for (;;) {
		char c = **p;
		if (c >= '0' && c <= '9') v = v * 16 + (u64)(c - '0');
		else if (c >= 'a' && c <= 'f') v = v * 16 + (u64)(c - 'a' + 10);
		else break;
		(*p)++;
	}
	return v;
}

/* ---------- smaps ---------- */
/* in the order V lines print them (from V_RSS on): records format v2 puts the hugetlb keys
 * right after Locked */
enum { V_SIZE, V_RSS, V_PSS, V_SHCL, V_SHDI, V_PRCL, V_PRDI, V_REF, V_ANON, V_KSM, V_LAZY, V_AHP,
       V_SHMPMD, V_FPMD, V_SWAP, V_LOCKED, V_SHHT, V_PRHT, V_KPS, V_MMUPS, V_THPEL, V_N };
static const char *smaps_keys[V_N] = {"Size", "Rss", "Pss", "Shared_Clean", "Shared_Dirty",
	"Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
	"ShmemPmdMapped", "FilePmdMapped", "Swap", "Locked", "Shared_Hugetlb", "Private_Hugetlb",
	"KernelPageSize", "MMUPageSize", "THPeligible"};

#define MAX_VMAS 4096
struct vma {
	u64 start, end, off, ino;
	char perms[5];
	char name[160];
	char flags[160];
	long long v[V_N];
};
static struct vma vmas[MAX_VMAS];
static int nvmas;
/* non-arena bookkeeping: total size of locked / accounted VMAs outside the arena */
static long long outside_locked_kb, outside_ac_kb;

static void read_smaps(int pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/smaps", pid);
	read_file(path);
	nvmas = 0;
	outside_locked_kb = 0;
	outside_ac_kb = 0;
	const char *p = procbuf;
	struct vma *cur = NULL;
	int cur_outside = 0;
	long long cur_size = 0;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol) eol = p + strlen(p);
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
			const char *q = p;
			u64 s = parse_hex(&q);
			int is_header = (*q == '-');
			if (is_header) {
				q++;
				u64 e = parse_hex(&q);
				if (s >= ARENA && s < ARENA_END) {
					if (nvmas >= MAX_VMAS) die("too many VMAs");
					cur = &vmas[nvmas++];
					memset(cur, 0, sizeof *cur);
					cur->start = s; cur->end = e;
					q++;
					memcpy(cur->perms, q, 4); cur->perms[4] = 0;
					q += 5;
					cur->off = parse_hex(&q);
					q++; /* dev */
					while (*q != ' ') q++;
					while (*q == ' ') q++;
					u64 ino = 0;
					while (*q >= '0' && *q <= '9') ino = ino * 10 + (u64)(*q++ - '0');
					cur->ino = ino;
					while (*q == ' ') q++;
					size_t n = (size_t)(eol - q);
					if (n >= sizeof cur->name) n = sizeof cur->name - 1;
					memcpy(cur->name, q, n); cur->name[n] = 0;
					cur_outside = 0;
				} else {
					cur = NULL;
					cur_outside = 1;
					cur_size = (long long)((e - s) >> 10);
				}
				p = *eol ? eol + 1 : eol;
				continue;
			}
		}
		/* key: value line */
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			size_t klen = (size_t)(colon - p);
			if (klen == 7 && !memcmp(p, "VmFlags", 7)) {
				const char *q = colon + 1;
				while (*q == ' ') q++;
				if (cur) {
					size_t n = (size_t)(eol - q);
					if (n >= sizeof cur->flags) n = sizeof cur->flags - 1;
					memcpy(cur->flags, q, n); cur->flags[n] = 0;
				} else if (cur_outside) {
					for (const char *f = q; f + 1 < eol; f += 3) {
						if (f[0] == 'l' && f[1] == 'o') outside_locked_kb += cur_size;
						if (f[0] == 'a' && f[1] == 'c') outside_ac_kb += cur_size;
					}
				}
			} else if (cur) {
				for (int i = 0; i < V_N; i++)
					if (strlen(smaps_keys[i]) == klen && !memcmp(p, smaps_keys[i], klen)) {
						cur->v[i] = strtoll(colon + 1, NULL, 10);
						break;
					}
			}
		}
		p = *eol ? eol + 1 : eol;
	}
}

static void read_status(int pid, struct status *st) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	read_file(path);
	memset(st, 0, sizeof *st);
	for (int i = 0; i < S_MAPS; i++) {
		char key[32];
		snprintf(key, sizeof key, "\n%s:", status_keys[i]);
		const char *k = strstr(procbuf, key);
		if (!k) die("status has no %s", status_keys[i]);
		st->v[i] = strtoll(k + strlen(key), NULL, 10);
	}
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	size_t n = read_file(path);
	long long lines = 0;
	for (size_t i = 0; i < n; i++) lines += procbuf[i] == '\n';
	st->v[S_MAPS] = lines;
	/* VmLck moved by locking outside the arena (mlockall) is not the script's memory */
	read_smaps(pid);
	st->v[S_VMLCK] -= outside_locked_kb;
}

/* ---------- processes ---------- */
static struct status base_parent, base_child;
static long long base_committed_kb;
static int to_child[2], from_child[2];
static u64 zero_pfn;
static u64 footprint_cap = 1ULL << 30;
static u64 task_size = TASK_SIZE_4L;
static int overcommit_never; /* vm.overcommit_memory=2: MAP_NORESERVE is ignored */

struct cmd {
	int op;
	u64 a[8];
	char name[64];
	char name2[64]; /* a second name (reopen's AS) */
};
struct result {
	long long rc;
	/* 0 none, 1 sigsegv_at, 2 sigbus_at, 3 mremap_result, 4 moved out of the arena, 5 a call
	 * took SIGTRAP, 6 perf_event_open failed, 7 prctl(PR_SET_MM) refused, 8 brk result */
	int extra;
	u64 extra_val;
	int tab; /* the op added (1) or removed (-1) a name of the process's file table */
};

/* ops after OP_NOP are the runner's own (never in the input) */
enum { OP_MMAP, OP_FILE, OP_TOUCH, OP_MUNMAP, OP_MPROTECT, OP_MLOCK, OP_MUNLOCK, OP_MLOCKALL,
       OP_MUNLOCKALL, OP_MADVISE, OP_MREMAP, OP_FORK, OP_CHILD_EXIT, OP_DUMP, OP_PAGEMAP,
       OP_COMMIT, OP_MEMINFO, OP_HUGETLB_POOL, OP_HUGETLB_STAT, OP_PERF_RING, OP_CLOSE,
       OP_CODEFILE, OP_UPROBE, OP_UPROBE_REMOVE, OP_CALL, OP_SWAPON, OP_THP, OP_MRELEASE,
       OP_MSYNC, OP_WRITE, OP_TRUNCATE, OP_FALLOCATE, OP_FSYNC, OP_REOPEN, OP_SHMGET, OP_SHMAT,
       OP_SHMDT, OP_SHMRM, OP_BRK_START, OP_BRK, OP_SETRLIMIT, OP_DROP_CAP, OP_NOP, OP_QUIT,
       OP_PFN_PROBE, OP_PEEK };
static const char *op_names[] = {"mmap", "file", "touch", "munmap", "mprotect", "mlock", "munlock",
	"mlockall", "munlockall", "madvise", "mremap", "fork", "child_exit", "dump", "pagemap",
	"commit", "meminfo", "hugetlb_pool", "hugetlb_stat", "perf_ring", "close", "codefile",
	"uprobe", "uprobe_remove", "call", "swapon", "thp", "mrelease", "msync", "write", "truncate",
	"fallocate", "fsync", "reopen", "shmget", "shmat", "shmdt", "shmrm", "brk_start", "brk",
	"setrlimit", "drop_cap", "nop", "quit", "pfn_probe",
	"peek"};

/* Files, per process: each process runs its ops on its own table (a child inherits the
 * parent's at fork); the parent keeps a mirror of the child's names and kinds (`ctab`), for the
 * checks it makes itself (uprobe, call, the footprint of a perf ring). */
#define MAX_FILES 64
enum { FK_MEMFD, FK_SHMFILE, FK_CODEFILE, FK_PERF };
struct fent { char name[64]; int fd; int kind; int id; };
struct ftab { struct fent f[MAX_FILES]; int n; };
static struct ftab files, ctab;

static struct fent *tab_find(struct ftab *t, const char *name) {
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->f[i].name, name)) return &t->f[i];
	return NULL;
}
/* ids tell objects apart in the parent (a name inherited at fork is the same object in both
 * roles; a child's own object gets its id from the parent's mirror) */
static int next_file_id;
static void tab_add(struct ftab *t, const char *name, int fd, int kind) {
	if (t->n >= MAX_FILES) die("too many files (at most %d)", MAX_FILES);
	struct fent *e = &t->f[t->n++];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->fd = fd;
	e->kind = kind;
	e->id = ++next_file_id;
}
/* AS names the same object as NAME (reopen): same kind, same id */
static void tab_alias(struct ftab *t, const char *name, const char *as, int fd) {
	const struct fent *src = tab_find(t, name);
	if (!src) return;
	int kind = src->kind, id = src->id;
	tab_add(t, as, fd, kind);
	t->f[t->n - 1].id = id;
}
static void tab_del(struct ftab *t, const char *name) {
	struct fent *e = tab_find(t, name);
	if (!e) return;
	*e = t->f[--t->n];
}
static int file_fd(const char *name) {
	struct fent *e = tab_find(&files, name);
	return e ? e->fd : -1;
}
/* the table of ROLE as the parent knows it */
static struct ftab *role_tab(char role) { return role == 'C' ? &ctab : &files; }

/* tmpfs files (shmfile, codefile) live at /dev/shm/<shm_prefix>NAME: the prefix is empty in the
 * run's own tmpfs, "exitmm-<pid>-" on the host's */
static int ns_private;
static char shm_prefix[32];
static void shm_path(char *b, size_t n, const char *name) {
	if (snprintf(b, n, "/dev/shm/%s%s", shm_prefix, name) >= (int)n) die("file name too long: %s", name);
}
/* a static buffer of x86 `ret` instructions (filled before the baseline) */
static unsigned char ret_buf[1 << 16];

static sigjmp_buf touch_jmp;
static volatile int touch_sig;
static void on_fault(int sig) {
	touch_sig = sig;
	siglongjmp(touch_jmp, 1);
}

static unsigned char mincore_vec[MAX_PAGES];

/* PFN-map G characters: for each of N pages from START (absolute), 'p' if reading one byte of
 * it took no page fault (its entry is present), '.' if the read faulted (and may have mapped
 * it) or was refused with SIGSEGV/SIGBUS. Runs in the role's own process. */
static char pfn_chars[MAX_PAGES];
static void pfn_probe(u64 start, u64 n) {
	struct sigaction sa, old_segv, old_bus;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	static volatile u64 i;
	static struct rusage before, after;
	for (i = 0; i < n; i++) {
		if (sigsetjmp(touch_jmp, 1)) { pfn_chars[i] = '.'; continue; }
		getrusage(RUSAGE_SELF, &before);
		(void)*(volatile char *)(uintptr_t)(start + i * PAGE);
		getrusage(RUSAGE_SELF, &after);
		pfn_chars[i] = after.ru_minflt == before.ru_minflt && after.ru_majflt == before.ru_majflt ? 'p' : '.';
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
}

static long long sys_rc(long r) { return r < 0 ? -(long long)errno : 0; }

static int prot_bits(u64 p) {
	return (p & 1 ? PROT_READ : 0) | (p & 2 ? PROT_WRITE : 0) | (p & 4 ? PROT_EXEC : 0);
}

static struct result mremap_result(u64 at, u64 new_len) {
	struct result r = {0, 3, at - ARENA, 0};
	/* the kernel chose an address outside the arena: the parent refuses the script (it has the
	 * op's text) */
	if (at < ARENA || at >= ARENA_END || new_len > ARENA_END - at) { r.extra = 4; r.extra_val = at; }
	return r;
}

/* Runs one op in this process. */
static int has_vmflag(const char *flags, const char *f);
static struct result run_op(const struct cmd *c) {
	struct result r = {0, 0, 0, 0};
	void *addr = (void *)(uintptr_t)(ARENA + c->a[0]);
	switch (c->op) {
	case OP_MMAP: {
		u64 f = c->a[3];
		int flags = (f & 1 ? MAP_SHARED : MAP_PRIVATE) | (f & 2 ? MAP_ANONYMOUS : 0) |
			    (f & 4 ? MAP_POPULATE : 0) | (f & 8 ? MAP_LOCKED : 0) |
			    (f & 16 ? MAP_NORESERVE : 0) | (f & 32 ? MAP_GROWSDOWN : 0) |
			    (f & 64 ? MAP_FIXED : MAP_FIXED_NOREPLACE) |
			    (f & 128 ? MAP_HUGETLB | (f & 256 ? 30 : 21) << HUGE_SHIFT : 0);
		/* f & 512: a raw value (a[5]) as the script gave it, MAP_FIXED_NOREPLACE added
		 * unless it has MAP_FIXED */
		if (f & 512) flags = (int)(c->a[5] | (c->a[5] & MAP_FIXED ? 0 : MAP_FIXED_NOREPLACE));
		int fd = -1;
		if (!(f & 2)) {
			fd = file_fd(c->name);
			if (fd < 0) { r.rc = -EBADF; break; }
		}
		void *m = mmap(addr, c->a[1], prot_bits(c->a[2]), flags, fd, (off_t)c->a[4]);
		if (m == MAP_FAILED) r.rc = -errno;
		else if (m != addr) { munmap(m, c->a[1]); r.rc = -EEXIST; }
		break;
	}
	case OP_THP:
		/* `thp on|off`: PR_SET_THP_DISABLE (inherited at fork); the runner starts with it set */
		if (prctl(PR_SET_THP_DISABLE, c->a[0] ? 0 : 1, 0, 0, 0) < 0) r.rc = -errno;
		break;
	case OP_FILE: {
		int fd;
		if (files.n >= MAX_FILES) die("too many files");
		if (file_fd(c->name) >= 0) { r.rc = -EEXIST; break; }
		if (c->a[2]) {
			char path[128];
			shm_path(path, sizeof path, c->name);
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0) unlink(path);
		} else {
			/* a[3]: log2 of the huge page size of an MFD_HUGETLB memfd, or 0 */
			unsigned mfd = MFD_CLOEXEC_ | (c->a[3] ? MFD_HUGETLB_ | (unsigned)c->a[3] << HUGE_SHIFT : 0);
			fd = (int)syscall(SYS_memfd_create, c->name, mfd);
		}
		if (fd < 0) { r.rc = -errno; break; }
		if (ftruncate(fd, (off_t)c->a[0]) < 0) { r.rc = -errno; close(fd); break; }
		if (c->a[1] && c->a[3]) {
			/* hugetlbfs has no write(2): fallocate puts every huge page of the file in its
			 * page cache (from the pool), as writing each page does for shmem */
			if (fallocate(fd, 0, 0, (off_t)c->a[0]) < 0) r.rc = -errno;
		} else if (c->a[1]) {
			static const char one = 1;
			for (u64 o = 0; o < c->a[0]; o += PAGE)
				if (pwrite(fd, &one, 1, (off_t)o) != 1) { r.rc = -errno; break; }
		}
		tab_add(&files, c->name, fd, c->a[2] ? FK_SHMFILE : FK_MEMFD);
		r.tab = 1;
		break;
	}
	case OP_CODEFILE: {
		/* a[0] SIZE. Linked until the run ends (tracefs names it by path) */
		if (file_fd(c->name) >= 0) { r.rc = -EEXIST; break; }
		char path[128];
		shm_path(path, sizeof path, c->name);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
		if (fd < 0) { r.rc = -errno; break; }
		for (u64 o = 0; o < c->a[0];) {
			size_t n = c->a[0] - o < sizeof ret_buf ? (size_t)(c->a[0] - o) : sizeof ret_buf;
			ssize_t w = pwrite(fd, ret_buf, n, (off_t)o);
			if (w <= 0) { r.rc = w < 0 ? -errno : -EIO; break; }
			o += (u64)w;
		}
		tab_add(&files, c->name, fd, FK_CODEFILE);
		r.tab = 1;
		break;
	}
	case OP_PERF_RING: {
		if (file_fd(c->name) >= 0) { r.rc = -EEXIST; break; }
		struct perf_event_attr at;
		memset(&at, 0, sizeof at);
		at.type = PERF_TYPE_SOFTWARE;
		at.size = sizeof at;
		at.config = PERF_COUNT_SW_DUMMY;
		at.disabled = 1;
		int fd = (int)syscall(SYS_perf_event_open, &at, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
		/* the parent stops the run saying perf is unavailable (it has the op's text) */
		if (fd < 0) { r.rc = -errno; r.extra = 6; break; }
		tab_add(&files, c->name, fd, FK_PERF);
		r.tab = 1;
		break;
	}
	case OP_SHMAT: {
		/* a[1] rdonly, a[2] the segment's id as the parent knows it (-1: none) */
		void *m = shmat((int)c->a[2], addr, c->a[1] ? SHM_RDONLY : 0);
		if (m == (void *)-1) r.rc = -errno;
		break;
	}
	case OP_SHMDT: r.rc = sys_rc(shmdt(addr)); break;
	case OP_BRK_START:
		/* the heap moves into the arena: needs CAP_SYS_RESOURCE */
		if (prctl(PR_SET_MM, PR_SET_MM_START_BRK, (unsigned long)addr, 0, 0) < 0 ||
		    prctl(PR_SET_MM, PR_SET_MM_BRK, (unsigned long)addr, 0, 0) < 0) {
			r.rc = -errno;
			r.extra = 7;
		}
		break;
	case OP_BRK: {
		u64 b = (u64)syscall(SYS_brk, addr);
		r.extra = 8;
		r.extra_val = b - ARENA;
		break;
	}
	case OP_SETRLIMIT: {
		/* a[0]: 0 memlock, 1 as, 2 data; a[1] inf; a[3] the value with the role's baseline
		 * added (by the parent) */
		int res = c->a[0] == 0 ? RLIMIT_MEMLOCK : c->a[0] == 1 ? RLIMIT_AS : RLIMIT_DATA;
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max = c->a[1] ? RLIM_INFINITY : (rlim_t)c->a[3];
		r.rc = sys_rc(setrlimit(res, &rl));
		break;
	}
	case OP_DROP_CAP: {
		/* capset without CAP_IPC_LOCK (14) in the effective and permitted sets */
		struct { unsigned version; int pid; } hdr = {0x20080522, 0};
		struct { unsigned eff, perm, inh; } data[2];
		if (syscall(SYS_capget, &hdr, data) < 0) { r.rc = -errno; break; }
		data[0].eff &= ~(1u << 14);
		data[0].perm &= ~(1u << 14);
		r.rc = sys_rc(syscall(SYS_capset, &hdr, data));
		break;
	}
	case OP_MSYNC:
		r.rc = sys_rc(msync(addr, c->a[1], (int)c->a[2]));
		break;
	case OP_WRITE: {
		/* every byte 0x5a; a short write after some bytes went is a success */
		static char buf[1 << 16];
		if (!buf[0]) memset(buf, 0x5a, sizeof buf);
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		u64 done = 0;
		while (done < c->a[1]) {
			size_t n = c->a[1] - done < sizeof buf ? (size_t)(c->a[1] - done) : sizeof buf;
			ssize_t w = pwrite(fd, buf, n, (off_t)(c->a[0] + done));
			if (w <= 0) { if (!done) r.rc = w < 0 ? -errno : -EIO; break; }
			done += (u64)w;
		}
		if (!c->a[1]) r.rc = sys_rc((int)pwrite(fd, buf, 0, (off_t)c->a[0]));
		break;
	}
	case OP_TRUNCATE: {
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		r.rc = sys_rc(ftruncate(fd, (off_t)c->a[0]));
		break;
	}
	case OP_FALLOCATE: {
		/* a[2]: 1 punch, 2 keep */
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		int mode = (c->a[2] & 1 ? FALLOC_FL_PUNCH_HOLE : 0) | (c->a[2] & 2 ? FALLOC_FL_KEEP_SIZE : 0);
		r.rc = sys_rc(fallocate(fd, mode, (off_t)c->a[0], (off_t)c->a[1]));
		break;
	}
	case OP_FSYNC: {
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		r.rc = sys_rc(fsync(fd));
		break;
	}
	case OP_REOPEN: {
		/* a[0]: 0 ro, 1 wo, 2 rw; through /proc/self/fd, a new open file of the same inode */
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		if (file_fd(c->name2) >= 0) { r.rc = -EEXIST; break; }
		if (files.n >= MAX_FILES) die("too many files");
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		int nfd = open(path, (c->a[0] == 0 ? O_RDONLY : c->a[0] == 1 ? O_WRONLY : O_RDWR) | O_CLOEXEC);
		if (nfd < 0) { r.rc = -errno; break; }
		tab_alias(&files, c->name, c->name2, nfd);
		r.tab = 1;
		break;
	}
	case OP_CLOSE: {
		int fd = file_fd(c->name);
		if (fd < 0) { r.rc = -EBADF; break; }
		r.rc = sys_rc(close(fd));
		tab_del(&files, c->name);
		r.tab = -1;
		break;
	}
	case OP_CALL: {
		/* the parent checked that ARENA + OFF, if executable, holds a codefile's ret (or a
		 * uprobe's breakpoint on one); past the arena lies only the runner's own memory,
		 * unmapped for the script */
		if (c->a[0] >= ARENA_END - ARENA) { r.rc = -EFAULT; r.extra = 1; r.extra_val = c->a[0]; break; }
		struct sigaction sa, old_segv, old_bus, old_trap;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_fault;
		sa.sa_flags = SA_NODEFER;
		sigaction(SIGSEGV, &sa, &old_segv);
		sigaction(SIGBUS, &sa, &old_bus);
		sigaction(SIGTRAP, &sa, &old_trap);
		if (sigsetjmp(touch_jmp, 1)) {
			r.rc = touch_sig == SIGBUS ? -EIO : -EFAULT;
			r.extra = touch_sig == SIGBUS ? 2 : touch_sig == SIGTRAP ? 5 : 1;
			r.extra_val = c->a[0];
		} else {
			void (*volatile fn)(void) = (void (*)(void))(uintptr_t)(ARENA + c->a[0]);
			fn();
		}
		sigaction(SIGSEGV, &old_segv, NULL);
		sigaction(SIGBUS, &old_bus, NULL);
		sigaction(SIGTRAP, &old_trap, NULL);
		break;
	}
	case OP_MRELEASE: {
		/* a[0] target (0 P, 1 C), a[1] FLAGS; a[2] the target's pid, or 0 if the target role
		 * does not exist (the parent fills it in): then no pidfd can be opened (EBADF). Only
		 * syscalls: nothing of the role's memory moves. */
		if (!c->a[2]) { r.rc = -EBADF; break; }
		long fd = syscall(SYS_pidfd_open_, (pid_t)c->a[2], 0);
		if (fd < 0) { r.rc = -errno; break; }
		r.rc = sys_rc(syscall(SYS_process_mrelease_, (int)fd, (unsigned long)c->a[1]));
		close((int)fd);
		break;
	}
	case OP_PFN_PROBE: pfn_probe(c->a[0], c->a[1]); break;
	case OP_PEEK: r.extra_val = *(volatile unsigned char *)(uintptr_t)(ARENA + c->a[0]); break;
	case OP_TOUCH: {
		u64 off = c->a[0], len = c->a[1], stride = c->a[3];
		int write_ = (int)c->a[2];
		if (len == 0) break;
		/* nothing of the script lies past the arena (mmap and mremap refuse it), only the
		 * runner's own memory: such a range is unmapped for the script */
		if (off >= ARENA_END - ARENA || len > ARENA_END - ARENA - off) { r.rc = -ENOMEM; break; }
		u64 s = (ARENA + off) & ~(PAGE - 1), e = (ARENA + off + len + PAGE - 1) & ~(PAGE - 1);
		if (c->a[4]) {
			/* grow: a hole is allowed right below a growsdown VMA (the stack's to take) */
			read_smaps(getpid());
			u64 pos = s;
			for (int i = 0; i < nvmas && pos < e; i++) {
				if (vmas[i].end <= pos) continue;
				if (vmas[i].start > pos && !has_vmflag(vmas[i].flags, "gd")) break;
				pos = vmas[i].end;
			}
			if (pos < e) { r.rc = -ENOMEM; break; }
		} else {
			for (u64 cs = s; cs < e && !r.rc; cs += (u64)MAX_PAGES * PAGE) {
				u64 ce = e - cs > (u64)MAX_PAGES * PAGE ? cs + (u64)MAX_PAGES * PAGE : e;
				if (mincore((void *)(uintptr_t)cs, ce - cs, mincore_vec) < 0) r.rc = -errno;
			}
		}
		if (r.rc) break;
		struct sigaction sa, old_segv, old_bus;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_fault;
		sa.sa_flags = SA_NODEFER;
		sigaction(SIGSEGV, &sa, &old_segv);
		sigaction(SIGBUS, &sa, &old_bus);
		static volatile u64 a;
		for (a = 0; a < len; a += stride) {
			volatile char *p = (volatile char *)(uintptr_t)(ARENA + off + a);
			if (sigsetjmp(touch_jmp, 1)) {
				r.rc = touch_sig == SIGBUS ? -EIO : -EFAULT;
				r.extra = touch_sig == SIGBUS ? 2 : 1;
				r.extra_val = off + a;
				break;
			}
			if (write_) *p = 1;
			else (void)*p;
		}
		sigaction(SIGSEGV, &old_segv, NULL);
		sigaction(SIGBUS, &old_bus, NULL);
		break;
	}
	case OP_MUNMAP: r.rc = sys_rc(munmap(addr, c->a[1])); break;
	case OP_MPROTECT: r.rc = sys_rc(mprotect(addr, c->a[1], prot_bits(c->a[2]))); break;
	case OP_MLOCK:
		r.rc = sys_rc(syscall(SYS_mlock2, addr, c->a[1], c->a[3] ? c->a[2] : c->a[2] ? 1 : 0));
		break;
	case OP_MUNLOCK: r.rc = sys_rc(munlock(addr, c->a[1])); break;
	case OP_MLOCKALL:
		r.rc = sys_rc(mlockall(c->a[3] ? (int)c->a[4] :
				       (c->a[0] ? MCL_CURRENT : 0) | (c->a[1] ? MCL_FUTURE : 0) |
				       (c->a[2] ? MCL_ONFAULT : 0)));
		break;
	case OP_MUNLOCKALL: r.rc = sys_rc(munlockall()); break;
	case OP_MADVISE: r.rc = sys_rc(madvise(addr, c->a[1], (int)c->a[2])); break;
	case OP_MREMAP: {
		int flags = (c->a[3] ? MREMAP_MAYMOVE : 0) | (c->a[4] ? MREMAP_FIXED : 0) |
			    (c->a[6] ? MREMAP_DONTUNMAP : 0);
		void *m = (void *)syscall(SYS_mremap, addr, c->a[1], c->a[2], flags,
					  (void *)(uintptr_t)(ARENA + c->a[5]));
		if (m == MAP_FAILED) r.rc = -errno;
		else r = mremap_result((u64)(uintptr_t)m, c->a[2]);
		break;
	}
	default: break;
	}
	return r;
}

/* ---------- child ---------- */
#define MAX_RANGES 128
static struct { u64 s, e; int w; } own_ranges[MAX_RANGES];
static int nown;

static void record_own_ranges(void) {
	read_file("/proc/self/maps");
	const char *p = procbuf;
	while (*p && nown < MAX_RANGES) {
		u64 s = parse_hex(&p); p++;
		u64 e = parse_hex(&p); p++;
		if (s < ARENA || s >= ARENA_END) {
			own_ranges[nown].s = s; own_ranges[nown].e = e; own_ranges[nown].w = p[1] == 'w';
			nown++;
		}
		p = strchr(p, '\n');
		if (!p) break;
		p++;
	}
}

static void prefault_own(void) {
	for (int i = 0; i < nown; i++)
		madvise((void *)(uintptr_t)own_ranges[i].s, own_ranges[i].e - own_ranges[i].s,
			own_ranges[i].w ? 23 /* MADV_POPULATE_WRITE */ : 22 /* MADV_POPULATE_READ */);
}

static void xread(int fd, void *b, size_t n) {
	size_t off = 0;
	while (off < n) {
		ssize_t k = read(fd, (char *)b + off, n - off);
		if (k <= 0) _exit(4);
		off += (size_t)k;
	}
}
static void xwrite(int fd, const void *b, size_t n) {
	size_t off = 0;
	while (off < n) {
		ssize_t k = write(fd, (const char *)b + off, n - off);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) _exit(5);
		off += (size_t)k;
	}
}

static int janitor_fd = -1, janitor_pid = -1;
static int pools_lock_fd = -1; /* -P: held while the run may change the pools (pools_lock) */
static void child_loop(void) {
	/* keep only our ends, so that either side sees EOF when the other one is gone */
	close(to_child[1]);
	close(from_child[0]);
	/* only the runner may hold the janitor's pipe: its EOF means the runner is gone */
	if (janitor_fd >= 0) { close(janitor_fd); janitor_fd = -1; }
	if (pools_lock_fd >= 0) { close(pools_lock_fd); pools_lock_fd = -1; }
	janitor_pid = -1;
	prefault_own();
	struct result ready = {0, 0, 0, 0};
	xwrite(from_child[1], &ready, sizeof ready);
	for (;;) {
		struct cmd c;
		xread(to_child[0], &c, sizeof c);
		if (c.op == OP_QUIT) _exit(0);
		struct result r = run_op(&c);
		xwrite(from_child[1], &r, sizeof r);
		if (c.op == OP_PFN_PROBE) xwrite(from_child[1], pfn_chars, (size_t)c.a[1]);
	}
}

/* the parent's read of the child's answer: a child that died (its own message, if any, is
 * already on stderr) stops the run */
static void child_read_bytes(void *b, size_t n) {
	size_t off = 0;
	while (off < n) {
		ssize_t k = read(from_child[0], (char *)b + off, n - off);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) {
			int st = 0;
			waitpid(child_pid, &st, 0);
			child_pid = -1;
			die("the child role died (wait status 0x%x)", st);
		}
		off += (size_t)k;
	}
}
static void child_read(struct result *r) { child_read_bytes(r, sizeof *r); }

static void start_child(void) {
	if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC)) die("pipe: %s", strerror(errno));
	flush_out();
	int pid = fork();
	if (pid < 0) die("fork: %s", strerror(errno));
	if (pid == 0) child_loop();
	child_pid = pid;
	close(to_child[0]);
	close(from_child[1]);
	struct result ready;
	child_read(&ready);
}

static struct result child_run(const struct cmd *c) {
	struct result r;
	if (write(to_child[1], c, sizeof *c) != (ssize_t)sizeof *c) {
		if (c->op != OP_QUIT) die("the child role is gone: %s", strerror(errno));
	}
	if (c->op == OP_QUIT) {
		int st;
		waitpid(child_pid, &st, 0);
		close(to_child[1]); close(from_child[0]);
		child_pid = -1;
		memset(&r, 0, sizeof r);
		return r;
	}
	child_read(&r);
	if (c->op == OP_PFN_PROBE) child_read_bytes(pfn_chars, (size_t)c->a[1]);
	return r;
}

/* ---------- records ---------- */
static const char *errname(long long e) {
	switch (-e) {
	case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EIO: return "EIO";
	case EBADF: return "EBADF"; case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV"; case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG"; case ENOSPC: return "ENOSPC"; case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP"; case ESRCH: return "ESRCH"; case EINTR: return "EINTR";
	default: return "E?";
	}
}

static void print_off(u64 v) {
	if (v) out("0x%llx", v);
	else out("0");
}

static void print_vmflags(const char *flags) {
	/* smaps order, joined by '.'; all of them (the comparison reduces the set) */
	int first = 1;
	const char *f = flags;
	while (f[0] && f[1]) {
		out("%s%c%c", first ? "" : ".", f[0], f[1]);
		first = 0;
		f += 2;
		while (*f == ' ') f++;
	}
}

/* a VMA's name as the script knows it: on the host's /dev/shm, without the run's prefix */
static const char *shown_name(const char *name) {
	static char b[sizeof vmas[0].name];
	size_t pl = strlen(shm_prefix);
	if (pl && !strncmp(name, "/dev/shm/", 9) && !strncmp(name + 9, shm_prefix, pl)) {
		snprintf(b, sizeof b, "/dev/shm/%s", name + 9 + pl);
		return b;
	}
	return name[0] ? name : "-";
}

static void print_dump(char role, int pid) {
	read_smaps(pid);
	for (int i = 0; i < nvmas; i++) {
		struct vma *v = &vmas[i];
		out("M %c ", role); print_off(v->start - ARENA); out("-"); print_off(v->end - ARENA);
		out(" %s off=0x%llx ino=%s name=%s\n", v->perms, v->off, v->ino ? "file" : "0",
		    shown_name(v->name));
	}
	out("M %c nvma=%d\n", role, nvmas);
	for (int i = 0; i < nvmas; i++) {
		struct vma *v = &vmas[i];
		out("V %c ", role); print_off(v->start - ARENA); out("-"); print_off(v->end - ARENA);
		out(" %s", v->perms);
		for (int k = V_RSS; k < V_N; k++) out(" %s=%lld", smaps_keys[k], v->v[k]);
		out(" VmFlags=");
		print_vmflags(v->flags);
		out("\n");
	}
}

static void print_status(char role, int pid) {
	struct status st;
	const struct status *b = role == 'P' ? &base_parent : &base_child;
	read_status(pid, &st);
	out("D %c", role);
	for (int i = 0; i < S_N; i++) out(" %s=%lld", status_keys[i], st.v[i] - b->v[i]);
	out("\n");
	read_smaps(pid);
	long long t[V_N] = {0};
	long long locked_vm = 0;
	for (int i = 0; i < nvmas; i++) {
		for (int k = 0; k < V_N; k++) t[k] += vmas[i].v[k];
		for (const char *f = vmas[i].flags; f[0] && f[1]; f += 3)
			if (f[0] == 'l' && f[1] == 'o') locked_vm += vmas[i].v[V_SIZE];
	}
	out("T %c nvma=%d size=%lld rss=%lld pss=%lld anon=%lld file_shmem=%lld locked_vm=%lld "
	    "Locked=%lld Shared_Clean=%lld Shared_Dirty=%lld Private_Clean=%lld Private_Dirty=%lld "
	    "Swap=%lld AnonHugePages=%lld hugetlb=%lld\n",
	    role, nvmas, t[V_SIZE], t[V_RSS], t[V_PSS], t[V_ANON], t[V_RSS] - t[V_ANON], locked_vm,
	    t[V_LOCKED], t[V_SHCL], t[V_SHDI], t[V_PRCL], t[V_PRDI], t[V_SWAP], t[V_AHP],
	    t[V_SHHT] + t[V_PRHT]);
}

static u64 pm_buf[MAX_PAGES];
static void read_pagemap(int pid, u64 start, u64 npages) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) die("open %s: %s", path, strerror(errno));
	size_t want = (size_t)npages * 8, got = 0;
	while (got < want) {
		ssize_t n = pread(fd, (char *)pm_buf + got, want - got, (off_t)((start / PAGE) * 8 + got));
		if (n <= 0) die("read pagemap: %s", strerror(errno));
		got += (size_t)n;
	}
	close(fd);
}

static int has_vmflag(const char *flags, const char *f);
static char gline[MAX_PAGES + 1];
static void print_pagemap(char role, int pid, u64 off, u64 len) {
	u64 s = off & ~(PAGE - 1), e = (off + len + PAGE - 1) & ~(PAGE - 1);
	u64 n = (e - s) / PAGE;
	read_pagemap(pid, ARENA + s, n);
	read_smaps(pid); /* which pages lie in hugetlb VMAs (VmFlags ht) */
	int vi = 0;
	for (u64 i = 0; i < n; i++) {
		u64 pm = pm_buf[i], va = ARENA + s + i * PAGE;
		while (vi < nvmas && vmas[vi].end <= va) vi++;
		int ht = vi < nvmas && vmas[vi].start <= va && has_vmflag(vmas[vi].flags, "ht");
		/* a private anonymous VMA: the only "file" page it can map is the huge zero page */
		int anon_private = vi < nvmas && vmas[vi].start <= va && vmas[vi].ino == 0 &&
				   vmas[vi].perms[3] == 'p';
		char ch = '.';
		if (pm & (1ULL << 63)) {
			u64 pfn = pm & ((1ULL << 55) - 1);
			int excl = (pm >> 56) & 1, file = (pm >> 61) & 1;
			/* a hugetlb subpage: pagemap sets the exclusive bit when its huge page is
			 * mapped once (private ones read as anon, shared ones as file) */
			if (ht) ch = excl ? 'H' : 'h';
			else if (!file && pfn == zero_pfn) ch = 'z';
			else if (file && anon_private) ch = 'z'; /* the huge zero page */
			else if (file) ch = excl ? 'F' : 'f';
			else ch = excl ? 'A' : 'a';
		} else if (pm & (1ULL << 62)) ch = 's';
		else if (pm & (1ULL << 58)) ch = 'g';
		gline[i] = ch;
	}
	gline[n] = 0;
	/* PFN maps: pagemap reads them as not present; the role itself tells (pfn_probe). smaps is
	 * read again first: the role's reads must not see a stale list */
	read_smaps(pid);
	for (int k = 0; k < nvmas; k++) {
		u64 a = vmas[k].start > ARENA + s ? vmas[k].start : ARENA + s;
		u64 b = vmas[k].end < ARENA + e ? vmas[k].end : ARENA + e;
		if (a >= b || !has_vmflag(vmas[k].flags, "pf")) continue;
		u64 first = (a - ARENA - s) / PAGE, np = (b - a) / PAGE;
		if (!memcmp(vmas[k].perms, "---", 3)) { memset(gline + first, '?', (size_t)np); continue; }
		if (role == 'C') {
			struct cmd c;
			memset(&c, 0, sizeof c);
			c.op = OP_PFN_PROBE; c.a[0] = a; c.a[1] = np;
			child_run(&c);
		} else pfn_probe(a, np);
		memcpy(gline + first, pfn_chars, (size_t)np);
	}
	out("G %c ", role); print_off(s); out(" %s\n", gline);
}

/* Committed_AS, less what dup_mmap charged for the child's copy of the runner's own
 * (non-arena) accounted VMAs: the model's processes have no such memory. */
static long long committed_as(void);
static long long meminfo(const char *key) {
	char k[80];
	if (!strcmp(key, "Committed_AS")) return committed_as();
	read_file("/proc/meminfo");
	snprintf(k, sizeof k, "%s:", key);
	const char *p = procbuf;
	while (p && *p) {
		if (!strncmp(p, k, strlen(k))) return strtoll(p + strlen(k), NULL, 10);
		p = strchr(p, '\n');
		if (p) p++;
	}
	return -1;
}

static long long committed_as(void) {
	long long child_own = 0;
	if (child_pid > 0) {
		read_smaps(child_pid);
		child_own = outside_ac_kb;
	}
	read_file("/proc/meminfo");
	const char *k = strstr(procbuf, "\nCommitted_AS:");
	if (!k) die("meminfo has no Committed_AS");
	return strtoll(k + 14, NULL, 10) - child_own;
}

/* ---------- input ---------- */
static char inbuf[1 << 20];
static size_t inlen, inpos;
static char *next_line(void) {
	for (;;) {
		char *nl = memchr(inbuf + inpos, '\n', inlen - inpos);
		if (nl) {
			*nl = 0;
			char *l = inbuf + inpos;
			inpos = (size_t)(nl - inbuf) + 1;
			return l;
		}
		if (inpos) { memmove(inbuf, inbuf + inpos, inlen - inpos); inlen -= inpos; inpos = 0; }
		if (inlen >= sizeof inbuf - 1) die("input line too long");
		ssize_t n = read(0, inbuf + inlen, sizeof inbuf - 1 - inlen);
		if (n < 0) die("read stdin: %s", strerror(errno));
		if (n == 0) return NULL;
		inlen += (size_t)n;
	}
}

/* ---------- huge page pools ---------- */
/* The sizes whose pools the runner knows, in kB; index 0 is 2 MiB, 1 is 1 GiB. */
static const u64 hp_kb[2] = {2048, 1048576};
static int hp_index(u64 kb) { return kb == hp_kb[0] ? 0 : kb == hp_kb[1] ? 1 : -1; }
/* per size: whether the script changed the pool, its value before the run, the value the script
 * set last */
static int pool_saved[2];
static long long pool_old[2], pool_set[2];
/* per size: pages in use or reserved before the script ran (kB), for the footprint */
static long long base_hp_held_kb[2];
static int pools_wanted; /* -P: the script sets pools; the janitor runs */
static int uprobes_wanted; /* -U: codefiles or uprobes; the janitor runs */
static int swap_wanted; /* -S: the script makes a swap device; the janitor runs */
static int events_wanted; /* -E: list the host's exitmm uprobe events */

/* the text of FILE of the sysfs directory of size KB into B (N bytes): 0, or -1 with errno set */
static int hp_read_text(u64 kb, const char *file, char *b, size_t n) {
	char path[128];
	snprintf(path, sizeof path, HP_DIR "/%s", kb, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t got = read(fd, b, n - 1);
	int e = got < 0 ? errno : EIO;
	close(fd);
	if (got <= 0) { errno = e; return -1; }
	b[got] = 0;
	return 0;
}

/* a number from FILE of the sysfs directory of size KB; -1 (errno set) if it cannot be read */
static long long hp_read(u64 kb, const char *file) {
	char b[32];
	return hp_read_text(kb, file, b, sizeof b) < 0 ? -1 : strtoll(b, NULL, 10);
}

/* resv_hugepages as the kernel prints it (%lu: 6.18 can wrap it below zero), into *V: 0 or -1 */
static int hp_read_resv(u64 kb, unsigned long long *v) {
	char b[32];
	if (hp_read_text(kb, "resv_hugepages", b, sizeof b) < 0) return -1;
	*v = strtoull(b, NULL, 10);
	return 0;
}

/* writes V to nr_hugepages of size KB: 0 or -errno */
static int hp_write(u64 kb, long long v) {
	char path[128], b[32];
	snprintf(path, sizeof path, HP_DIR "/nr_hugepages", kb);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -errno;
	int n = snprintf(b, sizeof b, "%lld\n", v);
	ssize_t w = write(fd, b, (size_t)n);
	int e = w < 0 ? errno : EIO;
	close(fd);
	return w == n ? 0 : -e;
}

/* kB of huge pages of size index I in use or reserved on the host now (0 without such pages).
 * sysfs nr_hugepages is h->nr_huge_pages, surplus pages included. */
static long long hp_held_kb(int i) {
	long long nr = hp_read(hp_kb[i], "nr_hugepages"), fr = hp_read(hp_kb[i], "free_hugepages");
	unsigned long long rs;
	if (nr < 0 || fr < 0 || hp_read_resv(hp_kb[i], &rs) < 0) return 0;
	/* a wrapped counter reads as the negative number it stands for */
	return (nr - fr + (long long)rs) * (long long)hp_kb[i];
}

/* The janitor: its own session (no signal meant for the runner's group reaches it), no file but
 * the pipe's read end, the runner's namespaces. Each message names one thing to undo: a pool's
 * value before the run, an uprobe event to disable and remove, the run's tracing instance, a file
 * to unlink, tracefs to unmount (mounted on the host's namespace by the runner). EOF (the runner
 * closed the pipe, or is gone) undoes every one of them: events first, then the instance, files,
 * the mount, and the pools last. */
enum { JM_POOL = 1, JM_EVENT, JM_INSTANCE, JM_FILE, JM_UMOUNT, JM_ZRAM, JM_SHM };
struct jmsg { int kind; u64 kb; long long old; char s[200]; }; /* < PIPE_BUF: whole messages */
#define MAX_JMSG 512
static struct jmsg jsaved[MAX_JMSG];
static char instance_dir[128]; /* the run's tracing instance, once made */

/* writes S to PATH (never O_TRUNC: truncating uprobe_events removes every probe): 0 or -errno */
static int write_str(const char *path, const char *str) {
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -errno;
	size_t n = strlen(str);
	ssize_t w = write(fd, str, n);
	int e = w < 0 ? errno : EIO;
	close(fd);
	return w == (ssize_t)n ? 0 : -e;
}

/* disables EV in the run's instance and removes it from uprobe_events: 0 or the -errno of the
 * removal */
static int event_remove(const char *inst, const char *ev) {
	char path[256], line[128];
	if (inst[0]) {
		snprintf(path, sizeof path, "%s/events/exitmm/%s/enable", inst, ev);
		write_str(path, "0\n");
	}
	snprintf(line, sizeof line, "-:exitmm/%s\n", ev);
	return write_str(TRACEFS "/uprobe_events", line);
}

/* ---------- swap on zram ---------- */
/* swaps the run's zram device off, resets it and removes it (the janitor's undo, and the end
 * of a run); what is swapped out of a live process is swapped back in first by swapoff */
static void zram_remove(int id) {
	char path[64], v[16];
	snprintf(path, sizeof path, "/dev/zram%d", id);
	syscall(SYS_swapoff, path);
	snprintf(path, sizeof path, "/sys/block/zram%d/reset", id);
	write_str(path, "1\n");
	snprintf(v, sizeof v, "%d\n", id);
	write_str("/sys/class/zram-control/hot_remove", v);
}

static void janitor_main(int rfd) {
	setsid();
	/* the pools' lock stays held until the pools are restored */
	for (int fd = 0; fd < 4096; fd++)
		if (fd != rfd && fd != pools_lock_fd) close(fd);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct jmsg m;
	int n = 0;
	for (;;) {
		ssize_t k = read(rfd, &m, sizeof m);
		if (k == (ssize_t)sizeof m) { if (n < MAX_JMSG) jsaved[n++] = m; continue; }
		if (k < 0 && errno == EINTR) continue;
		break;
	}
	const char *inst = "";
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_INSTANCE) inst = jsaved[i].s;
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_EVENT) event_remove(inst, jsaved[i].s);
	if (inst[0]) rmdir(inst);
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_FILE) unlink(jsaved[i].s);
	/* SysV segments made in the host's IPC namespace (a private one takes them with it) */
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_SHM) shmctl((int)jsaved[i].kb, IPC_RMID, NULL);
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_UMOUNT) umount2(jsaved[i].s, MNT_DETACH);
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_ZRAM) zram_remove((int)jsaved[i].kb);
	for (int i = 0; i < n; i++)
		if (jsaved[i].kind == JM_POOL) hp_write(jsaved[i].kb, jsaved[i].old);
	_exit(0);
}

/* -P: one run at a time sets huge page pools, host-wide. Two at once would each save the other's
 * value as "before" and the last to end would leave it (and their huge page figures would mix).
 * The lock is an abstract unix socket name (nothing on disk to leave behind), held by the runner
 * and its janitor: the next run waits until the janitor has restored the pools and exited. */
static void pools_lock(void) {
	static const char name[] = "\0exitmm-hugetlb-pools";
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, name, sizeof name - 1);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof name - 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) die("socket: %s", strerror(errno));
	for (int waited_ms = 0; bind(fd, (struct sockaddr *)&a, len) < 0; waited_ms += 50) {
		if (errno != EADDRINUSE) die("bind the huge page pools' lock: %s", strerror(errno));
		if (waited_ms >= 600000) unavailable("another run has held the huge page pools for 10 minutes");
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	pools_lock_fd = fd;
}

static void janitor_start(void) {
	int p[2];
	if (pipe2(p, O_CLOEXEC)) die("pipe: %s", strerror(errno));
	flush_out();
	int pid = fork();
	if (pid < 0) die("fork: %s", strerror(errno));
	if (pid == 0) janitor_main(p[0]);
	close(p[0]);
	janitor_fd = p[1];
	janitor_pid = pid;
}

/* tells the janitor one thing to undo; TEXT names the op that needs it */
static void janitor_tell(int kind, u64 kb, long long old, const char *str, const char *text) {
	if (janitor_pid <= 0) die("'%s': no janitor to undo it (run the runner with %s)", text,
				  kind == JM_POOL ? "-P" : kind == JM_ZRAM ? "-S" : kind == JM_SHM ? "-I" : "-U");
	struct jmsg m;
	memset(&m, 0, sizeof m);
	m.kind = kind; m.kb = kb; m.old = old;
	if (str) snprintf(m.s, sizeof m.s, "%s", str);
	if (write(janitor_fd, &m, sizeof m) != (ssize_t)sizeof m) die("janitor: %s", strerror(errno));
}

/* Ends the run's use of what the janitor undoes, has it undo everything, and returns when it
 * has. The script's memory and files go first, so that the pools shrink at once. */
static void janitor_end(void) {
	if (janitor_pid <= 0) return;
	if (child_pid > 0) { kill(child_pid, SIGKILL); waitpid(child_pid, NULL, 0); child_pid = -1; }
	munmap((void *)(uintptr_t)ARENA, ARENA_END - ARENA);
	for (int i = 0; i < files.n; i++) close(files.f[i].fd);
	files.n = 0;
	close(janitor_fd);
	janitor_fd = -1;
	while (waitpid(janitor_pid, NULL, 0) < 0 && errno == EINTR) {}
	janitor_pid = -1;
}

static const struct vma *vma_at(int pid, u64 off);
static void uprobes_end(void);
static void uprobes_check(void);
static void codefiles_end(void);
static void shms_end(void);
/* the normal end: the runner removes its uprobes and codefiles itself and checks that no uprobe
 * event of the run is left (before the janitor, which may unmount tracefs, tries again), the
 * janitor undoes the rest; then check that every pool is as it was */
static void run_end(void) {
	shms_end();
	uprobes_end();
	codefiles_end();
	uprobes_check();
	janitor_end();
	for (int i = 0; i < 2; i++) {
		if (!pool_saved[i]) continue;
		long long now = hp_read(hp_kb[i], "nr_hugepages");
		if (now != pool_old[i])
			die("the pool of %llu kB huge pages is %lld after the run, not %lld as before: "
			    "restore it by hand (" HP_DIR "/nr_hugepages)", hp_kb[i], now, pool_old[i], hp_kb[i]);
	}
}

/* ---------- uprobes and codefiles ---------- */
/* the codefiles made in the run (either role), by name: their paths stay linked until it ends */
static char codes[MAX_FILES][64];
static int ncodes;
/* the uprobe events the run registered (most recent last); `active` until removed */
#define MAX_UPROBES 256
static struct { char ev[32]; char name[64]; u64 foff; int active; } ups[MAX_UPROBES];
static int nups, nevents, trace_ready;

/* Tracefs and the run's tracing instance, once: tracefs is mounted if it is not (inside the
 * run's namespace; on the host's, the janitor unmounts it), the instance is made (the janitor
 * removes it). The host lacking root, tracefs or uprobe events stops the run (unavailable). */
static void trace_setup(const char *text) {
	if (trace_ready) return;
	if (geteuid() != 0) unavailable("'%s' needs root (tracefs " TRACEFS "/uprobe_events)", text);
	struct statfs sf;
	if (statfs(TRACEFS, &sf) < 0 || sf.f_type != TRACEFS_MAGIC_) {
		if (!ns_private) janitor_tell(JM_UMOUNT, 0, 0, TRACEFS, text);
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) < 0)
			unavailable("'%s' needs tracefs: cannot mount it on " TRACEFS ": %s", text, strerror(errno));
	}
	if (access(TRACEFS "/uprobe_events", W_OK) < 0)
		unavailable("'%s' needs uprobe events (CONFIG_UPROBE_EVENTS): " TRACEFS "/uprobe_events: %s",
			    text, strerror(errno));
	char dir[128];
	snprintf(dir, sizeof dir, TRACEFS "/instances/exitmm_%d", getpid());
	janitor_tell(JM_INSTANCE, 0, 0, dir, text);
	if (mkdir(dir, 0700) < 0)
		unavailable("'%s' needs a tracing instance: mkdir %s: %s", text, dir, strerror(errno));
	snprintf(instance_dir, sizeof instance_dir, "%s", dir);
	trace_ready = 1;
}

/* `uprobe NAME FOFF`: NAME resolved in ROLE's table; 0 or -errno */
static long long uprobe_add(char role, const char *name, u64 foff, const char *text) {
	struct fent *e = tab_find(role_tab(role), name);
	if (!e) return -EBADF;
	if (e->kind != FK_CODEFILE) return -EINVAL;
	if (nups >= MAX_UPROBES) refuse("'%s': more than %d uprobes in one run", text, MAX_UPROBES);
	trace_setup(text);
	char ev[32], path[128], line[256], en[256];
	snprintf(ev, sizeof ev, "e%d_%d", getpid(), nevents++);
	shm_path(path, sizeof path, name);
	/* the janitor knows the event before it exists */
	janitor_tell(JM_EVENT, 0, 0, ev, text);
	snprintf(line, sizeof line, "p:exitmm/%s %s:0x%llx\n", ev, path, foff);
	int rc = write_str(TRACEFS "/uprobe_events", line);
	if (rc) return rc;
	/* enabling the event is what makes the kernel call uprobe_register */
	snprintf(en, sizeof en, "%s/events/exitmm/%s/enable", instance_dir, ev);
	rc = write_str(en, "1\n");
	if (rc) { event_remove(instance_dir, ev); return rc; }
	snprintf(ups[nups].ev, sizeof ups[nups].ev, "%s", ev);
	snprintf(ups[nups].name, sizeof ups[nups].name, "%s", name);
	ups[nups].foff = foff;
	ups[nups++].active = 1;
	return 0;
}

/* `uprobe_remove NAME FOFF`: the most recent event of NAME at FOFF still registered */
static long long uprobe_del(char role, const char *name, u64 foff) {
	struct fent *e = tab_find(role_tab(role), name);
	if (!e) return -EBADF;
	if (e->kind != FK_CODEFILE) return -EINVAL;
	for (int i = nups - 1; i >= 0; i--)
		if (ups[i].active && ups[i].foff == foff && !strcmp(ups[i].name, name)) {
			ups[i].active = 0;
			return event_remove(instance_dir, ups[i].ev);
		}
	return -ENOENT;
}

static int zram_id = -1; /* the run's zram device, once made */
static long long base_swap_used_kb; /* SwapTotal - SwapFree before the device */

/* `swapon SIZE`: a zram device made for the run (the janitor removes it however the run ends),
 * a version-1 swap header written on its first page (mkswap's, without label or UUID), then
 * swapon(2) with no flags: priority -2, no discard. No root or no zram stops the run. */
static long long swapon_zram(u64 size, const char *text) {
	if (zram_id >= 0) return -EBUSY;
	int fd = open("/sys/class/zram-control/hot_add", O_RDONLY | O_CLOEXEC);
	if (fd < 0) unavailable("'%s' needs zram: /sys/class/zram-control/hot_add: %s", text, strerror(errno));
	char b[16] = {0};
	ssize_t n = read(fd, b, sizeof b - 1);
	int e = errno;
	close(fd);
	if (n <= 0) unavailable("'%s' needs zram: hot_add: %s", text, n < 0 ? strerror(e) : "no device");
	zram_id = atoi(b);
	janitor_tell(JM_ZRAM, (u64)zram_id, 0, NULL, text);
	base_swap_used_kb = meminfo("SwapTotal") - meminfo("SwapFree");
	char path[64], v[32];
	snprintf(path, sizeof path, "/sys/block/zram%d/disksize", zram_id);
	snprintf(v, sizeof v, "%llu\n", size);
	int rc = write_str(path, v);
	if (rc) unavailable("'%s': %s: %s", text, path, strerror(-rc));
	static unsigned char hdr[PAGE];
	memset(hdr, 0, sizeof hdr);
	unsigned int version = 1, last_page = (unsigned int)(size / PAGE - 1);
	memcpy(hdr + 1024, &version, 4);
	memcpy(hdr + 1028, &last_page, 4);
	memcpy(hdr + PAGE - 10, "SWAPSPACE2", 10);
	snprintf(path, sizeof path, "/dev/zram%d", zram_id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) unavailable("'%s': open %s: %s", text, path, strerror(errno));
	if (pwrite(fd, hdr, PAGE, 0) != PAGE || fsync(fd) < 0)
		unavailable("'%s': writing the swap header to %s: %s", text, path, strerror(errno));
	close(fd);
	if (syscall(SYS_swapon, path, 0) < 0) {
		e = errno;
		if (e == EPERM) unavailable("'%s': swapon %s: %s (needs CAP_SYS_ADMIN)", text, path, strerror(e));
		return -e;
	}
	return 0;
}

/* kB the script has swapped out (zram holds them in memory) */
static long long swap_used_kb(void) {
	if (zram_id < 0) return 0;
	return meminfo("SwapTotal") - meminfo("SwapFree") - base_swap_used_kb;
}

static int uprobe_active(const char *name, u64 foff) {
	for (int i = 0; i < nups; i++)
		if (ups[i].active && ups[i].foff == foff && !strcmp(ups[i].name, name)) return 1;
	return 0;
}

/* the normal end: the runner removes its events and instance (the janitor tries again) */
static void uprobes_end(void) {
	for (int i = 0; i < nups; i++)
		if (ups[i].active) {
			int rc = event_remove(instance_dir, ups[i].ev);
			if (rc) die("cannot remove uprobe event exitmm/%s: %s", ups[i].ev, strerror(-rc));
			ups[i].active = 0;
		}
	if (instance_dir[0] && rmdir(instance_dir) < 0 && errno != ENOENT)
		die("cannot remove the tracing instance %s: %s", instance_dir, strerror(errno));
}

/* after the janitor: no event of this run may be left */
static void uprobes_check(void) {
	if (!trace_ready) return;
	char key[48];
	snprintf(key, sizeof key, "exitmm/e%d_", getpid());
	read_file(TRACEFS "/uprobe_events");
	if (strstr(procbuf, key))
		die("uprobe events of this run are left in " TRACEFS "/uprobe_events (%s*): remove them "
		    "by hand (echo '-:exitmm/EVENT' >> " TRACEFS "/uprobe_events)", key);
}

static void codefiles_end(void) {
	for (int i = 0; i < ncodes; i++) {
		char path[128];
		shm_path(path, sizeof path, codes[i]);
		unlink(path);
	}
	ncodes = 0;
}

/* `call OFF`, before it runs: an executable ARENA + OFF must lie in a mapping of one of the run's
 * codefiles and hold its `ret` (or, in a private mapping, the int3 of a uprobe registered there);
 * anything else executable is refused, so the runner never jumps into unknown code. Not
 * executable, unmapped, or past the file's last page: the call faults, which run_op catches. */
static void call_check(int pid, u64 off, const char *text) {
	if (off >= ARENA_END - ARENA) return;
	const struct vma *v = vma_at(pid, off);
	if (!v || v->perms[2] != 'x') return;
	int code = -1;
	char path[128];
	for (int i = 0; i < ncodes && code < 0; i++) {
		shm_path(path, sizeof path, codes[i]);
		if (!strcmp(v->name, path)) code = i;
	}
	if (code < 0)
		refuse("'%s': the target is executable but not in a codefile mapping (%s): the runner "
		       "calls only codefiles", text, shown_name(v->name));
	u64 addr = ARENA + off, foff = v->off + (addr - v->start);
	unsigned char byte = 0;
	read_pagemap(pid, addr & ~(PAGE - 1), 1);
	if (pm_buf[0] & (1ULL << 63)) {
		/* mapped: what the CPU would fetch, read by a plain load in the role's own process (no
		 * fault: it is present). Not through /proc/PID/mem: its GUP (FOLL_TOUCH) marks the
		 * folio accessed, and a second access queues it for activation in a CPU batch that
		 * holds a reference, which decides whether uprobe_remove may drop a copy. */
		struct cmd peek = {.op = OP_PEEK};
		peek.a[0] = off;
		struct result r = pid == getpid() ? run_op(&peek) : child_run(&peek);
		byte = (unsigned char)r.extra_val;
	} else {
		/* not mapped yet: a fault would map the file's page (no COW copy exists without a
		 * present PTE) */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) die("open %s: %s", path, strerror(errno));
		u64 size = (u64)st.st_size;
		if (foff >= size) {
			close(fd);
			if ((foff & ~(PAGE - 1)) >= ((size + PAGE - 1) & ~(PAGE - 1))) return; /* SIGBUS */
			refuse("'%s': the target is past the end of codefile %s (zeros, not code)", text, codes[code]);
		}
		if (pread(fd, &byte, 1, (off_t)foff) != 1) die("read %s: %s", path, strerror(errno));
		close(fd);
	}
	if (byte == 0xc3) return;
	if (byte == 0xcc && v->perms[3] == 'p' && uprobe_active(codes[code], foff)) return;
	refuse("'%s': the byte there is 0x%02x, not a ret of codefile %s: the runner does not jump "
	       "into unknown code", text, byte, codes[code]);
}

/* ---------- perf rings ---------- */
/* Perf events (by id) the run has mapped. On 6.18 a second mmap of a ring that is still mapped
 * (in the same mm or another) adds the ring's pages to the user's locked_vm for good: nothing
 * gives them back until reboot, and once the user's locked_vm passes perf_event_mlock_kb x CPUs
 * every later ring of that user (any run, any process) is charged to pinned_vm (VmPin). So such
 * an mmap is refused: an event mapped before, with the same length at offset 0, while any perf
 * ring mapping is left in the run's processes (they cannot be told apart by name: all are
 * anon_inode:[perf_event]). */
static struct { int id; u64 len; } perf_mapped[MAX_FILES * 2];
static int nperf_mapped;
static int perf_vmas(int pid) {
	read_smaps(pid);
	int n = 0;
	for (int i = 0; i < nvmas; i++) n += !strcmp(vmas[i].name, "anon_inode:[perf_event]");
	return n;
}
/* LEN and FOFF of the mmap: a ring still mapped maps again only with its own length at offset 0
 * (other lengths are EINVAL, other offsets are the AUX area a dummy event has not: no charge) */
static void perf_remap_check(char role, const char *name, u64 len, u64 foff, const char *text) {
	const struct fent *fe = tab_find(role_tab(role), name);
	if (!fe || fe->kind != FK_PERF || foff) return;
	int before = 0;
	len = (len + PAGE - 1) & ~(PAGE - 1);
	for (int i = 0; i < nperf_mapped; i++) before |= perf_mapped[i].id == fe->id && perf_mapped[i].len == len;
	if (!before) return;
	if (perf_vmas(getpid()) + (child_pid > 0 ? perf_vmas(child_pid) : 0) == 0) return;
	refuse("'%s' maps perf ring %s again while it may still be mapped: this kernel would add the "
	       "ring's pages to the user's locked_vm until reboot (perf_event_mlock_kb accounting "
	       "leak), so the runner does not", text, name);
}

/* ---------- namespaces ---------- */
/* The run's own mount and IPC namespaces, with a fresh tmpfs on /dev/shm; or, where that is not
 * permitted, the host's /dev/shm with names unique to the run. */
static int host_ns; /* -H: stay in the host's namespaces (what happens where unshare is denied) */
static int ipc_private; /* the run has its own IPC namespace: its SysV segments go with it */
static void namespaces_setup(void) {
	if (!host_ns && unshare(CLONE_NEWNS | CLONE_NEWIPC) == 0) ipc_private = 1;
	if (!host_ns && (ipc_private || unshare(CLONE_NEWNS) == 0)) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") == 0)
			ns_private = 1;
	}
	if (!ns_private) snprintf(shm_prefix, sizeof shm_prefix, "exitmm-%d-", getpid());
}

/* -E: print the exitmm uprobe events registered on the host (any run's), one per line */
static void list_events(void) {
	if (geteuid() != 0) unavailable("listing uprobe events needs root");
	struct statfs sf;
	int mounted = 0;
	if (statfs(TRACEFS, &sf) < 0 || sf.f_type != TRACEFS_MAGIC_) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) < 0)
			unavailable("cannot mount tracefs on " TRACEFS ": %s", strerror(errno));
		mounted = 1;
	}
	if (access(TRACEFS "/uprobe_events", R_OK) < 0)
		unavailable(TRACEFS "/uprobe_events: %s (no CONFIG_UPROBE_EVENTS?)", strerror(errno));
	read_file(TRACEFS "/uprobe_events");
	for (char *p = procbuf; *p;) {
		char *eol = strchr(p, '\n');
		if (eol) *eol = 0;
		if (strstr(p, ":exitmm/")) out("%s\n", p);
		if (!eol) break;
		p = eol + 1;
	}
	flush_out();
	if (mounted && !ns_private) umount2(TRACEFS, MNT_DETACH);
}

/* hugetlb_stat: the K line of size KB */
static void print_hugetlb(char role, u64 kb, const char *text) {
	static const char *f[4] = {"nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages"};
	long long v[4];
	unsigned long long resv = 0;
	for (int i = 0; i < 4; i++) {
		v[i] = i == 2 ? hp_read_resv(kb, &resv) : hp_read(kb, f[i]);
		if (v[i] < 0)
			unavailable("'%s': this host has no huge pages of %llu kB (" HP_DIR "/%s: %s)", text, kb,
				    kb, f[i], strerror(errno));
	}
	out("K %c hugetlb size=%llu total=%lld free=%lld resv=%llu surp=%lld\n", role, kb, v[0], v[1],
	    resv, v[3]);
}

/* hugetlb_pool: set the pool of size KB to N, or stop saying why not */
static void hugetlb_pool(char role, u64 kb, u64 n, const char *text) {
	int i = hp_index(kb);
	if (i < 0) die("'%s': unknown huge page size %llu kB", text, kb);
	long long old = hp_read(kb, "nr_hugepages");
	if (old < 0)
		unavailable("'%s': this host has no huge pages of %llu kB (" HP_DIR "/nr_hugepages: %s)",
			    text, kb, kb, strerror(errno));
	if (geteuid() != 0) unavailable("'%s' needs root (to write " HP_DIR "/nr_hugepages)", text, kb);
	if (janitor_pid <= 0) die("'%s': no janitor to restore the pool (run the runner with -P)", text);
	if (!pool_saved[i]) {
		/* the janitor knows the old value before the pool changes */
		janitor_tell(JM_POOL, kb, old, NULL, text);
		pool_saved[i] = 1;
		pool_old[i] = old;
	}
	pool_set[i] = (long long)n;
	int e = hp_write(kb, (long long)n);
	if (e)
		unavailable("'%s': cannot write " HP_DIR "/nr_hugepages: %s (the pools are restored)", text,
			    kb, strerror(-e));
	long long got = hp_read(kb, "nr_hugepages");
	if (got < (long long)n)
		pool_short("'%s': only %lld of %llu huge pages of %llu kB could be allocated (the pools "
			    "are restored)", text, got, n, kb);
	print_hugetlb(role, kb, text);
}

/* ---------- the arena and the footprint cap ---------- */
static u64 sat_add(u64 a, u64 b) { return a > ~0ULL - b ? ~0ULL : a + b; }

/* Whether the kernel must refuse a mapping of LEN bytes at ARENA + OFF whatever is mapped:
 * LEN rounded up to ALIGN (4K; the huge page size for MAP_HUGETLB, as the kernel rounds it) or
 * the end overflows 64 bits, or the end is past TASK_SIZE. (OFF itself is checked by
 * escapes_arena first: ARENA + OFF must not wrap.) */
static int kernel_refuses(u64 off, u64 len, u64 align) {
	if (off > ~0ULL - ARENA || len > ~0ULL - (align - 1)) return 1;
	u64 start = ARENA + off, l = (len + align - 1) & ~(align - 1);
	return l > ~0ULL - start || start + l > task_size;
}

/* Whether a mapping of LEN bytes (rounded up to ALIGN) at ARENA + OFF might be placed by the
 * kernel outside the arena: ARENA + OFF wraps around (the kernel would see a low address), or the
 * range ends past the arena and the kernel would not refuse it. */
static int escapes_arena(u64 off, u64 len, u64 align) {
	if (off > ~0ULL - ARENA) return 1;
	if (kernel_refuses(off, len, align)) return 0;
	return ARENA + off + ((len + align - 1) & ~(align - 1)) > ARENA_END;
}

/* the length an mmap with digested flags F rounds to: the huge page size for MAP_HUGETLB */
static u64 mmap_align(u64 f) { return f & 128 ? (f & 256 ? 1ULL << 30 : 2ULL << 20) : PAGE; }

static int has_vmflag(const char *flags, const char *f) {
	for (const char *p = flags; p[0] && p[1]; p += 3)
		if (p[0] == f[0] && p[1] == f[1]) return 1;
	return 0;
}

/* Bytes of the role's arena VMAs that meet [ARENA + OFF, + LEN), hugetlb VMAs left out: what a
 * range op (mlock, MADV_POPULATE_*) can make resident at most. With adds_write, what mprotect to a writable
 * protection can add: for each private VMA that is not writable yet, its part of the range once if
 * the kernel then charges it (neither accounted yet nor noreserve) and once if it is locked (then
 * populated). */
static u64 mapped_in(int pid, u64 off, u64 len, int adds_write) {
	u64 s = off > ~0ULL - ARENA ? ~0ULL : ARENA + off;
	u64 e = sat_add(s, len), total = 0;
	read_smaps(pid);
	for (int i = 0; i < nvmas; i++) {
		const struct vma *v = &vmas[i];
		u64 a = v->start > s ? v->start : s, b = v->end < e ? v->end : e;
		if (a >= b) continue;
		u64 times = 1;
		/* huge pages: counted on their own (footprint_check), from reservations and pools */
		if (has_vmflag(v->flags, "ht")) continue;
		if (adds_write) {
			if (v->perms[1] == 'w' || v->perms[3] != 'p') continue;
			times = (u64)(!has_vmflag(v->flags, "ac") && !has_vmflag(v->flags, "nr")) +
				(u64)has_vmflag(v->flags, "lo");
		}
		total = sat_add(total, (b - a) * times);
	}
	return total;
}

/* the role's arena VMA that holds ARENA + OFF, or NULL */
static const struct vma *vma_at(int pid, u64 off) {
	if (off >= ARENA_END - ARENA) return NULL;
	read_smaps(pid);
	for (int i = 0; i < nvmas; i++)
		if (vmas[i].start <= ARENA + off && ARENA + off < vmas[i].end) return &vmas[i];
	return NULL;
}

/* the script's footprint now, from what the records already read: kB deltas against the
 * baselines */
struct footprint { long long rss_kb, vmsize_kb[2], committed_kb; };
static void measure(struct footprint *fp) {
	struct status st;
	read_status(getpid(), &st);
	fp->rss_kb = st.v[S_VMRSS] - base_parent.v[S_VMRSS];
	fp->vmsize_kb[0] = st.v[S_VMSIZE] - base_parent.v[S_VMSIZE];
	fp->vmsize_kb[1] = 0;
	if (child_pid > 0) {
		read_status(child_pid, &st);
		fp->rss_kb += st.v[S_VMRSS] - base_child.v[S_VMRSS];
		fp->vmsize_kb[1] = st.v[S_VMSIZE] - base_child.v[S_VMSIZE];
	}
	fp->committed_kb = committed_as() - base_committed_kb;
	/* swapped-out pages are still the script's memory: zram keeps them */
	fp->rss_kb += swap_used_kb();
}

/* kB of huge pages in use or reserved, host-wide, against the baseline: neither RSS nor
 * Committed_AS shows them */
static long long hugetlb_held_kb(void) {
	long long kb = 0;
	for (int i = 0; i < 2; i++) kb += hp_held_kb(i) - base_hp_held_kb[i];
	return kb;
}
static u64 kb_to_bytes(long long kb) { return kb > 0 ? (u64)kb << 10 : 0; }

/* bytes of perf rings the script's mmaps may have allocated (never less: an upper bound) */
static u64 perf_held;

/* per role (P, C): mlockall(MCL_FUTURE) without MCL_ONFAULT is in force, so mmaps populate */
static int future_populates[2];

/* The cap: before an op, what the script holds (VmRSS of both roles and Committed_AS, as deltas)
 * plus what this op may add must stay within footprint_cap. Reservations (a noreserve or
 * read-only private mmap, any size) add nothing; what they later make resident is counted by the
 * op that does it. An op's estimate is an upper bound except for shmem pages, which count twice
 * once there (RSS and their per-page charge): the next op's measurement sees them.
 * Huge pages are counted on their own, against the same cap: they are neither RSS nor
 * Committed_AS, they come from pools (host memory whether used or not), and a 1 GiB page is the
 * whole default cap, which a ledger shared with the host-wide, noisy Committed_AS could never
 * hold. The pools the script grows must, together, stay within the cap (hugetlb_pool); and the
 * huge pages in use or reserved (host-wide, against the baseline) plus what a hugetlb op may add
 * must too: a MAP_HUGETLB mmap its LEN rounded up to the huge page size (the kernel's rounding;
 * reserved at mmap, resident once touched: like a populate), a hugetlb memfd's fill its SIZE.
 * Touches, mlock and MADV_POPULATE_* count nothing for hugetlb VMAs: their pages are the
 * mapping's reservations, already held (a page faulted in without one, noreserve or a child's
 * copy on write, is seen by the next hugetlb op's measurement, and is bounded by the pools). */
/* the huge page ledger: what the script holds in huge pages plus ADD bytes more */
static void hugetlb_check(const char *text, u64 add) {
	long long held_kb = hugetlb_held_kb();
	u64 held = kb_to_bytes(held_kb);
	if (add > footprint_cap || held > footprint_cap - add)
		refuse("'%s' would pass the footprint cap of %llu bytes (huge pages the script holds, in "
		       "use or reserved: %llu bytes now, up to %llu more by this op; raise it with "
		       "--cap BYTES)", text, footprint_cap, held, add);
}

/* bytes of the role's hugetlb VMAs in [ARENA + S, ARENA + E) (arena offsets, page-aligned) */
static u64 hugetlb_in(int pid, u64 s, u64 e) {
	u64 total = 0;
	read_smaps(pid);
	for (int i = 0; i < nvmas; i++) {
		const struct vma *v = &vmas[i];
		if (!has_vmflag(v->flags, "ht")) continue;
		u64 a = v->start - ARENA > s ? v->start - ARENA : s, b = v->end - ARENA < e ? v->end - ARENA : e;
		if (a < b) total += b - a;
	}
	return total;
}

static void footprint_check(const struct cmd *c, char role, int pid, const char *text) {
	struct footprint fp;
	int measured = 0, r = role == 'C';
	u64 add = 0;
	switch (c->op) {
	case OP_MMAP: {
		u64 off = c->a[0], len = c->a[1], f = c->a[3], align = mmap_align(f);
		if (kernel_refuses(off, len, align)) break;
		u64 l = (len + align - 1) & ~(align - 1);
		if (f & 128) { hugetlb_check(text, l); break; } /* not charged to Committed_AS */
		if (!(f & 2)) {
			/* a perf ring: its pages are the perf subsystem's, allocated at the first mmap,
			 * neither RSS nor Committed_AS: counted on their own (perf_held) */
			const struct fent *fe = tab_find(role_tab(role), c->name);
			if (fe && fe->kind == FK_PERF) { add = l; break; }
		}
		int noreserve = (f & 16) && !overcommit_never;
		int charged = !noreserve && (f & 1 ? (f & 2) != 0 : (c->a[2] & 2) != 0);
		int populates = (f & (4 | 8)) || future_populates[r];
		add = sat_add(charged ? l : 0, populates ? l : 0);
		break;
	}
	case OP_FILE:
		if (c->a[3]) { if (c->a[1]) hugetlb_check(text, c->a[0]); break; }
		add = c->a[1] ? c->a[0] : 0;
		break;
	case OP_CODEFILE: add = c->a[0]; break; /* written: every page in the page cache */
	/* at most every page of the range comes into the page cache, charged */
	case OP_SHMGET:
		if (c->a[1]) { hugetlb_check(text, (c->a[0] + (2 << 20) - 1) & ~(u64)((2 << 20) - 1)); break; }
		add = sat_add(c->a[0], PAGE); /* charged at once, resident as touched */
		break;
	case OP_WRITE: add = c->a[1] ? sat_add(c->a[1], 2 * PAGE) : 0; break;
	case OP_FALLOCATE: add = c->a[2] & 1 ? 0 : sat_add(c->a[1], 2 * PAGE); break;
	case OP_TOUCH: {
		u64 off = c->a[0], len = c->a[1], stride = c->a[3] ? c->a[3] : 1;
		if (!len || off >= ARENA_END - ARENA || len > ARENA_END - ARENA - off) break;
		u64 s = off & ~(PAGE - 1), e = (off + len + PAGE - 1) & ~(PAGE - 1);
		/* pages of hugetlb VMAs are counted on their own (they are the mapping's) */
		u64 touches = len / stride + (len % stride != 0), pages = (e - s - hugetlb_in(pid, s, e)) / PAGE;
		add = (touches < pages ? touches : pages) * PAGE;
		break;
	}
	case OP_MLOCK: add = c->a[2] ? 0 : mapped_in(pid, c->a[0], c->a[1], 0); break;
	case OP_MLOCKALL:
		if (c->a[0] && !c->a[2]) {
			measure(&fp);
			measured = 1;
			add = kb_to_bytes(fp.vmsize_kb[r]);
		}
		break;
	case OP_MADVISE:
		if (c->a[2] == 22 || c->a[2] == 23) add = mapped_in(pid, c->a[0], c->a[1], 0);
		break;
	case OP_MREMAP: {
		/* Growth is charged if the VMA is accounted (`ac`) and populated if it is locked;
		 * growing a reservation (noreserve, read-only, shared) adds nothing. MREMAP_DONTUNMAP
		 * keeps the old range and its charge: all of the new one is charged again. No VMA at
		 * OFF: the kernel refuses (EFAULT). */
		u64 old_len = c->a[1], new_len = c->a[2];
		if (new_len > task_size) break;
		u64 ln = (new_len + PAGE - 1) & ~(PAGE - 1), lo = (old_len + PAGE - 1) & ~(PAGE - 1);
		u64 grow = ln > lo ? ln - lo : 0;
		const struct vma *v = vma_at(pid, c->a[0]);
		if (!v) break;
		if (has_vmflag(v->flags, "ac")) add = c->a[3] && c->a[6] ? ln : grow;
		if (has_vmflag(v->flags, "lo")) add = sat_add(add, grow);
		break;
	}
	case OP_MPROTECT: add = c->a[2] & 2 ? mapped_in(pid, c->a[0], c->a[1], 1) : 0; break;
	case OP_HUGETLB_POOL: {
		int i = hp_index(c->a[0]);
		u64 grow = 0;
		for (int k = 0; k < 2 && i >= 0; k++) {
			long long old = pool_saved[k] ? pool_old[k] : hp_read(hp_kb[k], "nr_hugepages");
			long long to = k == i ? (c->a[1] > (1ULL << 40) ? 1LL << 40 : (long long)c->a[1])
					      : pool_saved[k] ? pool_set[k] : old;
			if (old >= 0 && to > old) grow = sat_add(grow, (u64)(to - old) * (hp_kb[k] << 10));
		}
		if (grow > footprint_cap)
			refuse("'%s' would pass the footprint cap of %llu bytes (the huge page pools the "
			       "script sets would hold %llu bytes more than before it ran; raise it with "
			       "--cap BYTES)", text, footprint_cap, grow);
		break;
	}
	case OP_FORK:
		/* dup_mmap charges the child's accounted VMAs again */
		measure(&fp);
		measured = 1;
		add = kb_to_bytes(fp.committed_kb);
		break;
	default: break;
	}
	if (!add) return;
	if (!measured) measure(&fp);
	long long held_kb = fp.rss_kb + fp.committed_kb;
	u64 held = sat_add(kb_to_bytes(held_kb), perf_held);
	if (add > footprint_cap || held > footprint_cap - add)
		refuse("'%s' would pass the footprint cap of %llu bytes (memory the script makes "
		       "resident or charges: %llu bytes now, up to %llu more by this op; raise it with "
		       "--cap BYTES)", text, footprint_cap, held, add);
}

/* after an op: what mlockall left in force for later mmaps */
static void track_future(const struct cmd *c, char role, const struct result *res) {
	int r = role == 'C';
	if (c->op == OP_MLOCKALL && res->rc == 0) future_populates[r] = c->a[1] && !c->a[2];
	if (c->op == OP_MUNLOCKALL && res->rc == 0) future_populates[r] = 0;
	if (c->op == OP_FORK || c->op == OP_CHILD_EXIT) future_populates[1] = 0;
}

/* Both processes of a run stay on one CPU: the kernel's per-CPU state the figures depend on
 * (the folio batches below, per-CPU counters, pageout) is then one CPU's, and the run does
 * not migrate between ops. */
static void pin_to_one_cpu(void) {
	cpu_set_t set;
	int cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity: %s", strerror(errno));
}

/* A new folio waits in its CPU's LRU-add (or mlock) batch, holding a reference, until the
 * batch is full or drained; 6.18's uprobe_remove drops a breakpoint's copy only if nothing
 * holds such a reference. What else ran on the CPU must not decide that, so every op starts
 * with the batches drained: MADV_POPULATE_READ of a page of our own (present already, so it
 * maps nothing) ends in lru_add_drain() on this, the pinned, CPU (faultin_page_range), and
 * works whatever the script did to our VMAs (MADV_COLD would refuse a VMA mlockall locked).
 * The model starts every op the same way. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
static const char drain_page[4096] __attribute__((aligned(4096))) = {1};
static void drain_cpu_batches(void) {
	if (madvise((void *)drain_page, sizeof drain_page, MADV_POPULATE_READ) < 0)
		die("madvise(MADV_POPULATE_READ): %s", strerror(errno));
}

static void read_host_limits(void) {
	/* (a sysctl read of procbuf's size is ENOMEM: read it with a small buffer) */
	char b[16] = {0};
	int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, b, sizeof b - 1) <= 0) die("read overcommit_memory: %s", strerror(errno));
	close(fd);
	overcommit_never = b[0] == '2';
	/* with 5-level paging a MAP_FIXED mapping may lie above 128 TiB: refuse up to there too */
	read_file("/proc/cpuinfo");
	for (const char *p = procbuf; (p = strstr(p, " la57"));) {
		p += 5;
		if (*p == ' ' || *p == '\n' || *p == 0) { task_size = TASK_SIZE_5L; break; }
	}
}

static void prefault_self(void) {
	/* grow and touch 1 MiB of stack, then populate every mapping once */
	volatile char stack[1 << 20];
	for (size_t i = 0; i < sizeof stack; i += PAGE) stack[i] = 0;
	memset(procbuf, 0, sizeof procbuf);
	memset(pm_buf, 0, sizeof pm_buf);
	memset(gline, 0, sizeof gline);
	memset(mincore_vec, 0, sizeof mincore_vec);
	memset(inbuf, 0, sizeof inbuf);
	memset(outbuf, 0, sizeof outbuf);
	memset(vmas, 0, sizeof vmas);
	memset(pfn_chars, 0, sizeof pfn_chars);
	memset(jsaved, 0, sizeof jsaved);
	memset(ret_buf, 0xc3, sizeof ret_buf);
	if (mlockall(MCL_CURRENT) < 0) die("mlockall: %s", strerror(errno));
	munlockall();
}

static void probe_zero_pfn(void) {
	/* at 64 TiB: outside the arena, so that no table of the probe is left there */
	void *m = mmap((void *)0x400000000000ULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == MAP_FAILED) die("probe mmap: %s", strerror(errno));
	(void)*(volatile char *)m;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	u64 pm = 0;
	if (fd < 0 || pread(fd, &pm, 8, (off_t)((u64)(uintptr_t)m / PAGE * 8)) != 8) die("pagemap probe failed");
	close(fd);
	munmap(m, PAGE);
	zero_pfn = pm & ((1ULL << 55) - 1);
	if (!zero_pfn) die("pagemap shows no PFNs (needs CAP_SYS_ADMIN): cannot tell the zero page");
}

static void self_check(void) {
	/* status must move by exactly what an arena mapping does, and come back */
	struct status a, b;
	read_status(getpid(), &a);
	void *m = mmap((void *)ARENA, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == MAP_FAILED) die("self-check mmap: %s", strerror(errno));
	for (int i = 0; i < 4; i++) ((volatile char *)m)[i * PAGE] = 1;
	read_status(getpid(), &b);
	long long dsize = b.v[S_VMSIZE] - a.v[S_VMSIZE], drss = b.v[S_RSSANON] - a.v[S_RSSANON];
	long long dpte = b.v[S_VMPTE] - a.v[S_VMPTE];
	munmap(m, 4 * PAGE);
	read_status(getpid(), &b);
	if (dsize != 16 || drss != 16 || dpte != 12)
		die("self-check failed: 4 touched pages moved VmSize by %lld kB, RssAnon by %lld kB, VmPTE by %lld kB (want 16, 16, 12)",
		    dsize, drss, dpte);
	for (int i = 0; i < S_N; i++)
		if (b.v[i] != a.v[i]) die("self-check failed: %s did not come back after munmap", status_keys[i]);
}

/* -t PAGES REPEATS: time the exit of a child that wrote PAGES anonymous pages in the arena.
 * The child touches its pages, tells the parent, and exits; the parent measures from that
 * message to waitpid's return (exit_mmap dominates for large PAGES). Prints one line per run:
 * "exit_ns <pages> <ns>". */
static u64 now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* VmSwap of this process, kB (-1 if unreadable) */
static long long own_vmswap_kb(void) {
	read_file("/proc/self/status");
	const char *k = strstr(procbuf, "\nVmSwap:");
	return k ? strtoll(k + 9, NULL, 10) : -1;
}

/* -t / -T: time the exits of REPEATS children that wrote PAGES pages (-T: and swapped them all
 * out to the run's zram device first, so that the exit frees swap entries, not pages): from
 * the SIGKILL to waitpid's return */
/* AnonHugePages of this process, kB (-1 if unreadable) */
static long long own_thp_kb(void) {
	read_file("/proc/self/smaps_rollup");
	const char *k = strstr(procbuf, "\nAnonHugePages:");
	return k ? strtoll(k + 15, NULL, 10) : -1;
}

/* MODE 1 (-T): swapped out; MODE 2 (-M): THPs (THP on, MADV_HUGEPAGE, a byte per 2 MiB);
 * MODE 3 (-V): PAGES one-page VMAs (a page apart, so none merge), each written; MODE 4 (-A):
 * a shared anonymous mapping written; MODE 5 (-L): a private one mlocked (MAP_LOCKED:
 * populated); MODE 6 (-F): a memfd mapped shared and written (the exit also frees the file) */
static void time_exits(u64 pages, int repeats, int mode) {
	int swapped = mode == 1, thp = mode == 2;
	for (int r = 0; r < repeats; r++) {
		int p[2];
		if (pipe(p)) die("pipe: %s", strerror(errno));
		flush_out();
		int pid = fork();
		if (pid < 0) die("fork: %s", strerror(errno));
		if (pid == 0) {
			if (pages && mode == 3) {
				for (u64 i = 0; i < pages; i++) {
					char *v = mmap((void *)(ARENA + 2 * i * PAGE), PAGE, PROT_READ | PROT_WRITE,
						       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
					if (v == MAP_FAILED) _exit(3);
					*v = 1;
				}
			} else if (pages && mode >= 4) {
				int fd = -1, fl = MAP_FIXED_NOREPLACE;
				if (mode == 6) {
					fd = (int)syscall(SYS_memfd_create, "bench", 0);
					if (fd < 0 || ftruncate(fd, (off_t)(pages * PAGE)) < 0) _exit(3);
					fl |= MAP_SHARED;
				} else {
					fl |= MAP_ANONYMOUS | (mode == 4 ? MAP_SHARED : MAP_PRIVATE | MAP_LOCKED);
				}
				char *m = mmap((void *)ARENA, pages * PAGE, PROT_READ | PROT_WRITE, fl, fd, 0);
				if (m == MAP_FAILED) _exit(3);
				if (mode != 5)
					for (u64 i = 0; i < pages; i++) m[i * PAGE] = 1;
			} else if (pages) {
				char *m = mmap((void *)ARENA, pages * PAGE, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
				if (m == MAP_FAILED) _exit(3);
				if (thp && (prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) < 0 ||
					    madvise(m, pages * PAGE, MADV_HUGEPAGE) < 0))
					_exit(6);
				for (u64 i = 0; i < pages; i += thp ? 512 : 1) m[i * PAGE] = 1;
				if (thp && own_thp_kb() != (long long)(pages * 4)) _exit(7);
				if (swapped && (madvise(m, pages * PAGE, MADV_PAGEOUT) < 0 ||
						own_vmswap_kb() != (long long)(pages * 4)))
					_exit(5);
			}
			char c = 1;
			if (write(p[1], &c, 1) != 1) _exit(4);
			/* wait for the SIGKILL: the exit must not start before the clock does */
			for (;;) pause();
		}
		char c;
		close(p[1]); /* a child that dies setting up must end the read */
		if (read(p[0], &c, 1) != 1) die("child failed to set up %llu pages", pages);
		u64 t0 = now_ns();
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		u64 t1 = now_ns();
		close(p[0]);
		out("exit_ns %llu %llu\n", pages, t1 - t0);
	}
	flush_out();
}

/* ---------- SysV shared memory ---------- */
/* Segments by script name (the IPC namespace is the run's: every role sees each one), made and
 * removed by the parent whichever role asks; attached and detached in the role's process. */
static int shm_wanted;
#define MAX_SHM 64
static struct { char name[64]; int id; } shms[MAX_SHM];
static int nshm;
static int shm_id(const char *name) {
	for (int i = 0; i < nshm; i++)
		if (!strcmp(shms[i].name, name)) return shms[i].id;
	return -1;
}
static const char *shm_name(int id) {
	for (int i = 0; i < nshm; i++)
		if (shms[i].id == id) return shms[i].name;
	return NULL;
}
/* `K <role> shm NAME nattch=.. size=..` from IPC_STAT, or the errno of a segment that is gone */
static void print_shm(char role, const char *name) {
	struct shmid_ds ds;
	int id = shm_id(name);
	if (id < 0) { out("K %c shm %s err=EINVAL\n", role, name); return; }
	if (shmctl(id, IPC_STAT, &ds) < 0) { out("K %c shm %s err=%s\n", role, name, errname(-errno)); return; }
	out("K %c shm %s nattch=%llu size=%llu\n", role, name, (u64)ds.shm_nattch, (u64)ds.shm_segsz);
}
/* The run's segments are removed before it ends, each now or at its last detach (ours, in our
 * exit): left to the private IPC namespace, they would go with it later, in a work item, and
 * their Committed_AS charge would still show when the next run takes its first reading. */
static void shms_end(void) {
	for (int i = 0; i < nshm; i++) shmctl(shms[i].id, IPC_RMID, NULL);
}
static long long shm_get(const char *name, u64 size, int huge, const char *text) {
	for (int i = 0; i < nshm; i++)
		if (!strcmp(shms[i].name, name)) return -EEXIST;
	if (nshm >= MAX_SHM) refuse("'%s': too many segments (at most %d)", text, MAX_SHM);
	int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600 | (huge ? SHM_HUGETLB : 0));
	if (id < 0) return -errno;
	if (!ipc_private) janitor_tell(JM_SHM, (u64)id, 0, NULL, text);
	snprintf(shms[nshm].name, sizeof shms[0].name, "%s", name);
	shms[nshm++].id = id;
	return 0;
}

/* -X, -Y: runs PROG ARGS as the runner's child and waits for it, then has the janitor undo what
 * was set up for it; the child's exit status is the runner's (0 when a signal ended it: the
 * caller killed it on purpose) */
static int run_program(char **prog) {
	flush_out();
	child_pid = fork();
	if (child_pid < 0) die("fork: %s", strerror(errno));
	if (child_pid == 0) {
		execv(prog[0], prog);
		_exit(127);
	}
	int st;
	while (waitpid(child_pid, &st, 0) < 0 && errno == EINTR) {}
	child_pid = -1;
	janitor_end();
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) footprint_cap = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-P")) pools_wanted = 1;
		else if (!strcmp(argv[i], "-U")) uprobes_wanted = 1;
		else if (!strcmp(argv[i], "-S")) swap_wanted = 1;
		else if (!strcmp(argv[i], "-I")) shm_wanted = 1;
		else if (!strcmp(argv[i], "-E")) events_wanted = 1;
		else if (!strcmp(argv[i], "-H")) host_ns = 1;
		else if (!strcmp(argv[i], "-t") && i + 2 < argc) {
			if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("PR_SET_THP_DISABLE: %s", strerror(errno));
			time_exits(strtoull(argv[i + 1], NULL, 0), atoi(argv[i + 2]), 0);
			return 0;
		} else if ((!strcmp(argv[i], "-V") || !strcmp(argv[i], "-A") || !strcmp(argv[i], "-L") ||
			    !strcmp(argv[i], "-F")) && i + 2 < argc) {
			if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("PR_SET_THP_DISABLE: %s", strerror(errno));
			int mode = argv[i][1] == 'V' ? 3 : argv[i][1] == 'A' ? 4 : argv[i][1] == 'L' ? 5 : 6;
			time_exits(strtoull(argv[i + 1], NULL, 0), atoi(argv[i + 2]), mode);
			return 0;
		} else if (!strcmp(argv[i], "-X") && i + 2 < argc) {
			/* a program run with a swap device of BYTES made for it (zram; the janitor removes
			 * it however the run ends): the real-process validation's swapped-out shape */
			u64 bytes = strtoull(argv[i + 1], NULL, 0);
			janitor_start();
			long long rc = swapon_zram(bytes, "-X");
			if (rc < 0) die("swapon: %s", strerror((int)-rc));
			return run_program(argv + i + 2);
		} else if (!strcmp(argv[i], "-Y") && i + 2 < argc) {
			/* a program run with N more 2 MiB huge pages in the pool (the janitor restores
			 * the pool however the run ends): the hugetlb shape of calibrate and validate */
			u64 n = strtoull(argv[i + 1], NULL, 0);
			pools_lock();
			janitor_start();
			long long old = hp_read(2048, "nr_hugepages");
			if (old < 0) unavailable("-Y: this host has no 2 MiB huge pages (" HP_DIR "/nr_hugepages: %s)",
						 2048ULL, strerror(errno));
			if (geteuid() != 0) unavailable("-Y needs root (to write the huge page pool)");
			janitor_tell(JM_POOL, 2048, old, NULL, "-Y");
			int e = hp_write(2048, old + (long long)n);
			if (e) unavailable("-Y: cannot write the 2 MiB pool: %s", strerror(-e));
			if (hp_read(2048, "nr_hugepages") < old + (long long)n)
				pool_short("-Y: the kernel could not allocate %llu more 2 MiB huge pages", n);
			return run_program(argv + i + 2);
		} else if (!strcmp(argv[i], "-M") && i + 2 < argc) {
			/* THPs: the runner's own memory stays without them (set again in the child) */
			if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("PR_SET_THP_DISABLE: %s", strerror(errno));
			time_exits(strtoull(argv[i + 1], NULL, 0), atoi(argv[i + 2]), 2);
			return 0;
		} else if (!strcmp(argv[i], "-T") && i + 2 < argc) {
			/* swapped-out pages: a zram device for the run (the janitor removes it), one CPU
			 * (pageout drains only this CPU's folio batches) */
			if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("PR_SET_THP_DISABLE: %s", strerror(errno));
			u64 pages = strtoull(argv[i + 1], NULL, 0);
			pin_to_one_cpu();
			janitor_start();
			swapon_zram((pages + 16) * PAGE, "-T");
			time_exits(pages, atoi(argv[i + 2]), 1);
			janitor_end();
			return 0;
		} else die("usage: kernel-runner [-c CAP_BYTES] [-P] [-U] [-S] [-I] [-H] < digested-script | kernel-runner -t|-T|-M|-V|-A|-L|-F PAGES "
			       "REPEATS | kernel-runner -X SWAP_BYTES|-Y HUGE_PAGES PROGRAM ARGS... | kernel-runner -E");
	}
	if (sysconf(_SC_PAGESIZE) != 4096) die("needs 4 KiB pages");
	int pers = personality(0xffffffff);
	if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE)) {
		personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
		execv("/proc/self/exe", argv);
		/* fall through if re-exec is impossible: the arena is fixed anyway */
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) die("PR_SET_THP_DISABLE: %s", strerror(errno));
	/* A live child writes to pipes whose reader may be gone: see EPIPE, not SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Own namespaces first: the janitor and every child live in them. */
	namespaces_setup();
	if (events_wanted) { list_events(); return 0; }
	/* -P: the script sets huge page pools; -U: it makes codefiles or uprobes. The janitor is
	 * forked first, while the runner holds almost nothing: it shares no memory of the script,
	 * and what its fork charged is in the baseline. */
	if (pools_wanted) pools_lock();
	/* -I: the script makes SysV segments; in the host's IPC namespace the janitor removes them */
	if (pools_wanted || uprobes_wanted || swap_wanted || (shm_wanted && !ipc_private)) janitor_start();
	/* No RLIMIT_AS: it bounds reservations (VmSize), which the cap deliberately does not (a
	 * 4 GiB noreserve mapping must run), and it would give ENOMEM where the model, which has no
	 * such limit, succeeds. footprint_check bounds what the script makes resident or charges. */

	read_host_limits();
	pin_to_one_cpu();
	prefault_self();
	probe_zero_pfn();
	self_check();
	record_own_ranges();

	/* child baseline: a throw-away fork running the same code */
	start_child();
	struct cmd nop = {.op = OP_NOP};
	child_run(&nop);
	read_status(child_pid, &base_child);
	struct cmd quit = {.op = OP_QUIT};
	child_run(&quit);
	read_status(getpid(), &base_parent);
	base_committed_kb = committed_as();
	for (int i = 0; i < 2; i++) base_hp_held_kb[i] = hp_held_kb(i);

	char *line;
	while ((line = next_line())) {
		char *f[5];
		int nf = 0;
		f[nf++] = line;
		for (char *p = line; *p && nf < 5; p++)
			if (*p == '\t') { *p = 0; f[nf++] = p + 1; }
		if (nf != 5) die("bad input line");
		char role = f[1][0];
		struct cmd c;
		memset(&c, 0, sizeof c);
		c.op = -1;
		for (int i = 0; i <= OP_NOP; i++)
			if (!strcmp(f[2], op_names[i])) c.op = i;
		if (c.op < 0) die("line %s: unknown op %s", f[0], f[2]);
		int na = 0;
		for (char *p = f[3]; *p;) {
			while (*p == ' ') p++;
			if (!*p) break;
			if (*p == '=') { /* a name, then a second one */
				p++;
				size_t n = strcspn(p, " ");
				char *dst = c.name[0] ? c.name2 : c.name;
				if (n >= sizeof c.name) die("name too long");
				memcpy(dst, p, n); dst[n] = 0;
				p += n;
			} else {
				if (na >= 8) die("too many args");
				c.a[na++] = strtoull(p, &p, 10);
			}
		}
		out("# %s %s\n", f[0], f[4]);
		if (c.op == OP_MMAP && escapes_arena(c.a[0], c.a[1], mmap_align(c.a[3])))
			refuse("'%s' maps outside the arena " ARENA_NAME, f[4]);
		if (c.op == OP_MREMAP && ((c.a[2] > c.a[1] && escapes_arena(c.a[0], c.a[2], PAGE)) ||
					  (c.a[3] && c.a[4] && escapes_arena(c.a[5], c.a[2], PAGE))))
			refuse("'%s' maps outside the arena " ARENA_NAME, f[4]);
		if (c.op == OP_PAGEMAP && c.a[1] > (u64)MAX_PAGES * PAGE - PAGE)
			refuse("'%s' spans more than 1 GiB (the runner's pagemap buffer)", f[4]);
		int pid = role == 'C' ? child_pid : getpid();
		if (role == 'C' && child_pid < 0) die("line %s: no child", f[0]);
		if (c.op == OP_CALL) call_check(pid, c.a[0], f[4]);
		if (c.op == OP_MMAP && !(c.a[3] & 2)) perf_remap_check(role, c.name, c.a[1], c.a[4], f[4]);
		if (c.op == OP_MRELEASE) {
			/* the target's pid, as the running role sees it (0: no such process) */
			if (c.a[0] > 1) die("line %s: mrelease target %llu (0 P, 1 C)", f[0], c.a[0]);
			c.a[2] = c.a[0] ? (child_pid > 0 ? (u64)child_pid : 0) : (u64)getpid();
		}
		footprint_check(&c, role, pid, f[4]);
		drain_cpu_batches();
		if (c.op == OP_CODEFILE) {
			/* the janitor knows the path before it exists */
			char path[128];
			shm_path(path, sizeof path, c.name);
			janitor_tell(JM_FILE, 0, 0, path, f[4]);
		}
		struct result r = {0, 0, 0, 0};
		switch (c.op) {
		case OP_FORK:
			start_child();
			ctab = files;
			break;
		case OP_CHILD_EXIT:
			child_run(&quit);
			ctab.n = 0;
			break;
		/* registration is global (per inode): the parent does it whatever the role */
		case OP_UPROBE: r.rc = uprobe_add(role, c.name, c.a[0], f[4]); break;
		case OP_UPROBE_REMOVE: r.rc = uprobe_del(role, c.name, c.a[0]); break;
		case OP_DUMP: print_dump(role, pid); break;
		case OP_PAGEMAP: print_pagemap(role, pid, c.a[0], c.a[1]); break;
		case OP_COMMIT: out("K %c Committed_AS=%lld\n", role, committed_as()); break;
		case OP_MEMINFO: out("K %c %s=%lld\n", role, c.name, meminfo(c.name)); break;
		/* the pools are the host's: set and read by the runner, whichever role asks */
		case OP_HUGETLB_POOL: hugetlb_pool(role, c.a[0], c.a[1], f[4]); break;
		case OP_HUGETLB_STAT: print_hugetlb(role, c.a[0], f[4]); break;
		/* the swap device is the host's: made by the parent, whichever role asks */
		case OP_SWAPON: r.rc = swapon_zram(c.a[0], f[4]); break;
		case OP_NOP: break;
		case OP_SHMGET: r.rc = shm_get(c.name, c.a[0], (int)c.a[1], f[4]); break;
		case OP_SHMRM: {
			int id = shm_id(c.name);
			r.rc = id < 0 ? -EINVAL : sys_rc(shmctl(id, IPC_RMID, NULL));
			break;
		}
		case OP_SHMDT: {
			/* the segment shmdt detaches (the first SysV VMA from OFF on whose distance from
			 * OFF is its file offset), named by its inode (a segment's inode number is its
			 * id), for the K line */
			const char *n = NULL;
			if (c.a[0] < ARENA_END - ARENA) {
				read_smaps(pid);
				for (int i = 0; i < nvmas && !n; i++)
					if (vmas[i].start >= ARENA + c.a[0] && !strncmp(vmas[i].name, "/SYSV", 5) &&
					    vmas[i].start - (ARENA + c.a[0]) == vmas[i].off)
						n = shm_name((int)vmas[i].ino);
			}
			char seg[64] = "";
			if (n) snprintf(seg, sizeof seg, "%s", n);
			r = role == 'C' ? child_run(&c) : run_op(&c);
			if (!r.rc && seg[0]) print_shm(role, seg);
			break;
		}
		case OP_SETRLIMIT: {
			/* as and data bound the script's memory: the role's own comes on top */
			const struct status *b = role == 'P' ? &base_parent : &base_child;
			u64 base = c.a[0] == 1 ? (u64)b->v[S_VMSIZE] << 10 : c.a[0] == 2 ? (u64)b->v[S_VMDATA] << 10 : 0;
			c.a[3] = sat_add(c.a[2], base);
			r = role == 'C' ? child_run(&c) : run_op(&c);
			break;
		}
		case OP_SHMAT:
			c.a[2] = (u64)(long long)shm_id(c.name);
			r = role == 'C' ? child_run(&c) : run_op(&c);
			break;
		default:
			r = role == 'C' ? child_run(&c) : run_op(&c);
		}
		if (c.op == OP_SHMGET || c.op == OP_SHMAT || c.op == OP_SHMRM) print_shm(role, c.name);
		if (r.extra == 1) { out("R %c sigsegv_at=", role); print_off(r.extra_val); out("\n"); }
		if (r.extra == 2) { out("R %c sigbus_at=", role); print_off(r.extra_val); out("\n"); }
		if (r.extra == 4)
			refuse("'%s' moved the mapping outside the arena " ARENA_NAME " (to 0x%llx): give "
			       "it fixed=NEWOFF", f[4], r.extra_val);
		if (r.extra == 5) die("'%s' took SIGTRAP: a breakpoint no uprobe handled", f[4]);
		if (r.extra == 7)
			unavailable("'%s' needs CAP_SYS_RESOURCE: prctl(PR_SET_MM) moves the heap into the "
				    "arena (%s); brk is checked on the model only here", f[4], strerror((int)-r.rc));
		if (r.extra == 8) { out("R %c brk=", role); print_off(r.extra_val); out("\n"); }
		if (r.extra == 6)
			unavailable("'%s' needs perf events: perf_event_open of a software dummy event: %s",
				    f[4], strerror((int)-r.rc));
		/* the parent's mirror of the child's table, the run's codefiles, its perf rings */
		if (role == 'C' && r.tab > 0 && c.op == OP_REOPEN)
			tab_alias(&ctab, c.name, c.name2, -1);
		else if (role == 'C' && r.tab > 0)
			tab_add(&ctab, c.name, -1, c.op == OP_PERF_RING ? FK_PERF : c.op == OP_CODEFILE ? FK_CODEFILE
						   : c.a[2] ? FK_SHMFILE : FK_MEMFD);
		if (role == 'C' && r.tab < 0) tab_del(&ctab, c.name);
		if (c.op == OP_CODEFILE && r.tab > 0 && ncodes < MAX_FILES)
			snprintf(codes[ncodes++], sizeof codes[0], "%s", c.name);
		if (c.op == OP_MMAP && r.rc == 0 && !(c.a[3] & 2)) {
			const struct fent *fe = tab_find(role_tab(role), c.name);
			if (fe && fe->kind == FK_PERF) {
				perf_held = sat_add(perf_held, (c.a[1] + PAGE - 1) & ~(PAGE - 1));
				if (nperf_mapped >= MAX_FILES * 2) refuse("'%s': too many perf ring mappings", f[4]);
				perf_mapped[nperf_mapped].id = fe->id;
				perf_mapped[nperf_mapped++].len = (c.a[1] + PAGE - 1) & ~(PAGE - 1);
			}
		}
		track_future(&c, role, &r);
		if (r.extra == 3) { out("R %c mremap_result=", role); print_off(r.extra_val); out("\n"); }
		out("R %c rc=%lld err=%s\n", role, r.rc, r.rc ? errname(r.rc) : "0");
		print_status(role, pid);
		flush_out();
	}
	if (child_pid >= 0) child_run(&quit);
	flush_out();
	run_end();
	return 0;
}
