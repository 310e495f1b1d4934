/* exitmm-workload: builds a process of one memory shape, says so, and waits to be killed.
 *
 *   exitmm-workload SHAPE N
 *
 * SHAPE and N:
 *   anon MIB     MIB MiB of private anonymous memory, every page written (0: nothing mapped
 *                beyond the program: the exit's base cost)
 *   thp MIB      the same, 2 MiB-aligned and MADV_HUGEPAGE (THPs where the host has them)
 *   shm MIB      a memfd of MIB MiB mapped shared, every page written (shmem)
 *   vmas N       N one-page anonymous VMAs, a page apart, each written
 *   mlock MIB    MIB MiB of anonymous memory, mlocked (populated by mlock)
 *   fork MIB     MIB MiB written, then a fork; the child keeps them and the parent writes half
 *                again (COW), so half its pages are shared with the child and half its own
 *   kept MIB     MIB MiB written, then a fork; the child keeps them all (the parent's exit
 *                frees none of them)
 *   swap MIB     MIB MiB written, then MADV_PAGEOUT (needs an active swap device: the
 *                kernel runner's -X makes one); it pins itself to one CPU first
 *   hugetlb MIB  MIB MiB of MAP_HUGETLB anonymous memory in 2 MiB pages, every huge page
 *                written (needs the pool: the kernel runner's -Y grows it for the run)
 *   sparse N     N anonymous pages, each written, one per 2 MiB of one VMA: a PTE table each
 *   sparseshm N  a memfd of N pages mapped shared over N * 2 MiB, one page per 2 MiB written:
 *                a PTE table and a dirty shared PTE (the zap's forced TLB flush) each
 *   sparseshmro N the same pages written through write(2) and only read through the mapping:
 *                clean PTEs, no forced flush
 *   file MIB PATH  a regular file of MIB MiB made at PATH (the caller removes it), mapped
 *                shared and every page read: page cache PTEs, the pages stay cached
 *   zero MIB     MIB MiB of private anonymous memory, every page read: zero-page PTEs
 *   flush N      pinned to one CPU, N times: map a page, write it, unmap it (a TLB flush of
 *                this CPU each time); says how long the N took ("ready PID ns=T")
 *   flushipi N   the same with a thread of the process spinning on another CPU: each unmap's
 *                flush also sends it an IPI and waits for it
 *
 * When the shape is built it prints "ready PID" on stdout (PID: the process to look at and
 * kill, this one) and waits until stdin reaches end of file or a signal ends it. A forked
 * child dies with its parent (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static void die(const char *what) {
	fprintf(stderr, "exitmm-workload: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char *map(size_t len, int prot, int flags) {
	void *p = mmap(NULL, len, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* pins the calling thread to CPU, or exits saying why not */
static void pin(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		die("sched_setaffinity");
}

static int other_cpu = -1;
static long long self_ns = -1; /* what a self-timed shape measured */
static volatile int thread_ready;

static void *spinner(void *arg) {
	pin(other_cpu);
	((volatile char *)arg)[0] = 1;
	thread_ready = 1;
	for (;;)
		__asm__ volatile("pause");
	return NULL;
}

static long long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void write_pages(char *p, size_t len) {
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
}

int main(int argc, char **argv) {
	if (argc != 3 && !(argc == 4 && !strcmp(argv[1], "file"))) {
		fprintf(stderr, "usage: exitmm-workload anon|thp|shm|vmas|mlock|fork|kept|swap|hugetlb|sparse|"
				"sparseshm|sparseshmro|zero|flush|flushipi N | file MIB PATH\n");
		return 2;
	}
	/* The clock, read through the vDSO, faults in the [vvar] page it uses: without it a
	 * [vvar] alone in its 2 MiB region (one layout in a hundred or so) had no PTE table, while
	 * a snapshot, which cannot see a PFN map's pages in pagemap, maps it populated. */
	(void)now_ns();
	const char *shape = argv[1];
	unsigned long n = strtoul(argv[2], NULL, 0);
	size_t len = (size_t)n << 20;
	if (!strcmp(shape, "anon")) {
		if (len)
			write_pages(map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS), len);
	} else if (!strcmp(shape, "thp")) {
		char *p = map(len + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		char *a = (char *)(((unsigned long)p + (2 << 20) - 1) & ~((2UL << 20) - 1));
		if (madvise(a, len, MADV_HUGEPAGE))
			die("madvise hugepage");
		write_pages(a, len);
	} else if (!strcmp(shape, "shm")) {
		int fd = memfd_create("exitmm-shm", 0);
		if (fd < 0 || ftruncate(fd, len))
			die("memfd");
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap memfd");
		close(fd);
		write_pages(p, len);
	} else if (!strcmp(shape, "vmas")) {
		char *base = map(2 * n * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
		if (munmap(base, 2 * n * 4096))
			die("munmap");
		for (unsigned long i = 0; i < n; i++) {
			char *p = mmap(base + 2 * i * 4096, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				die("mmap one page");
			p[0] = 1;
		}
	} else if (!strcmp(shape, "mlock")) {
		char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		if (mlock(p, len))
			die("mlock");
	} else if (!strcmp(shape, "fork") || !strcmp(shape, "kept")) {
		char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		write_pages(p, len);
		pid_t parent = getpid();
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		if (!strcmp(shape, "fork"))
			write_pages(p, len / 2);
	} else if (!strcmp(shape, "swap")) {
		/* one CPU: pageout drains only this CPU's folio batches, so every page can go */
		cpu_set_t set;
		int cpu = sched_getcpu();
		CPU_ZERO(&set);
		CPU_SET(cpu < 0 ? 0 : cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set))
			die("sched_setaffinity");
		char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		write_pages(p, len);
		if (madvise(p, len, MADV_PAGEOUT))
			die("madvise pageout");
		/* without a swap device the pages stay: say so rather than pose as swapped */
		char line[256];
		long swap_kb = -1;
		FILE *f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "VmSwap:", 7))
				swap_kb = atol(line + 7);
		if (f)
			fclose(f);
		if (swap_kb < (long)(len >> 10)) {
			fprintf(stderr, "exitmm-workload: swap: only %ld of %zu kB went to swap "
					"(no active swap device?)\n", swap_kb, len >> 10);
			return 2;
		}
	} else if (!strcmp(shape, "file")) {
		if (argc != 4) {
			fprintf(stderr, "exitmm-workload: file needs a PATH\n");
			return 2;
		}
		int fd = open(argv[3], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			die("open");
		char buf[1 << 16];
		memset(buf, 1, sizeof buf);
		for (size_t off = 0; off < len; off += sizeof buf)
			if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
				die("write");
		volatile char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap file");
		close(fd);
		for (size_t i = 0; i < len; i += 4096)
			(void)p[i];
	} else if (!strcmp(shape, "zero")) {
		volatile char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		if (madvise((void *)p, len, MADV_NOHUGEPAGE))
			die("madvise nohugepage");
		for (size_t i = 0; i < len; i += 4096)
			(void)p[i];
	} else if (!strcmp(shape, "hugetlb")) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p == MAP_FAILED)
			die("mmap MAP_HUGETLB (is the 2 MiB pool big enough?)");
		for (size_t i = 0; i < len; i += 2 << 20)
			p[i] = 1;
	} else if (!strcmp(shape, "sparse")) {
		char *p = map(n << 21, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
		if (madvise(p, n << 21, MADV_NOHUGEPAGE))
			die("madvise nohugepage");
		for (unsigned long i = 0; i < n; i++)
			p[i << 21] = 1;
	} else if (!strcmp(shape, "sparseshm") || !strcmp(shape, "sparseshmro")) {
		int ro = !strcmp(shape, "sparseshmro");
		int fd = memfd_create("exitmm-sparse", 0);
		if (fd < 0 || ftruncate(fd, (off_t)(n << 21)))
			die("memfd");
		if (ro) {
			char page[4096];
			memset(page, 1, sizeof page);
			for (unsigned long i = 0; i < n; i++)
				if (pwrite(fd, page, sizeof page, (off_t)(i << 21)) != sizeof page)
					die("pwrite");
		}
		volatile char *p = mmap(NULL, n << 21, ro ? PROT_READ : PROT_READ | PROT_WRITE,
					MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap memfd");
		close(fd);
		/* a read maps the page clean; a write maps it dirty. A read fault maps the pages
		 * around it that are cached too: only the one page per 2 MiB is. */
		for (unsigned long i = 0; i < n; i++)
			if (ro)
				(void)p[i << 21];
			else
				p[i << 21] = 1;
	} else if (!strcmp(shape, "flush") || !strcmp(shape, "flushipi")) {
		int cpu = sched_getcpu();
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (cpu < 0)
			cpu = 0;
		pin(cpu);
		char *page = map(4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		if (!strcmp(shape, "flushipi")) {
			if (ncpu < 2) {
				fprintf(stderr, "exitmm-workload: flushipi: one CPU online\n");
				return 7; /* the kernel runner's "unavailable here" */
			}
			other_cpu = (cpu + 1) % (int)ncpu;
			pthread_t t;
			if (pthread_create(&t, NULL, spinner, page))
				die("pthread_create");
			while (!thread_ready)
				sched_yield();
		}
		char *at = map(4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		long long t0 = now_ns();
		for (unsigned long i = 0; i < n; i++) {
			if (mmap(at, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				die("mmap");
			at[0] = 1;
			if (munmap(at, 4096))
				die("munmap");
		}
		self_ns = now_ns() - t0;
	} else {
		fprintf(stderr, "exitmm-workload: unknown shape '%s'\n", shape);
		return 2;
	}
	if (self_ns >= 0)
		printf("ready %d ns=%lld\n", getpid(), self_ns);
	else
		printf("ready %d\n", getpid());
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
