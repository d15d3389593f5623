// SPDX-License-Identifier: MIT
/*
 * DOC: the CPU-access sanitizer
 *
 * With DMABUF_SANITIZE=1 (dmabufctl run --sanitize), every mapping the
 * program makes of a buffer of the mount (mmap(2) of a buffer fd, heap and
 * udmabuf fds included) is kept without access rights outside CPU brackets,
 * read-only inside a READ bracket and with its own rights inside a WRITE
 * or RW one.  A fault in such a mapping is a finding: reported once per
 * buffer and code site, in the shape AddressSanitizer users know, with the
 * last START/END on that buffer and its stack; then the page is opened for
 * the access and the program goes on (unless halt_on_error=1).  Brackets
 * nest as the kernel allows: they are counted per buffer and direction,
 * and rights drop when the last one ends.
 *
 * With passthrough, page faults never reach the daemon: the checking lives
 * here, in the program's process.  Faults that are not ours go to the
 * program's own SIGSEGV handler, which sigaction(2) records instead of
 * installing.  Everything the signal handler reads is in fixed tables
 * written under a mutex by the wrappers; it takes no lock and allocates
 * nothing until it reports.
 *
 * Options, in DMABUF_SANITIZE_OPTIONS as ASan's: halt_on_error=1,
 * exitcode=N, log_path=P (writes P.<pid>), suppressions=FILE (one function
 * name per line, "#" comments), print_stats_on_exit=1.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "compat.h"

#define MAX_BUFFERS 128
#define MAX_MAPS 512
#define MAX_SITES 256
#define MAX_FRAMES 16
#define MAX_SUPPRESSIONS 64

enum san_kind {
	SAN_READ_OUTSIDE,
	SAN_WRITE_OUTSIDE,
	SAN_WRITE_IN_READ,
	SAN_END_WITHOUT_START,
	SAN_END_FLAGS_MISMATCH,
	SAN_BRACKET_LEAK,
	SAN_NR_KINDS,
};

static const char *const kind_names[SAN_NR_KINDS] = {
	[SAN_READ_OUTSIDE] = "cpu-read-outside-bracket",
	[SAN_WRITE_OUTSIDE] = "cpu-write-outside-bracket",
	[SAN_WRITE_IN_READ] = "write-in-read-bracket",
	[SAN_END_WITHOUT_START] = "end-without-start",
	[SAN_END_FLAGS_MISMATCH] = "end-flags-mismatch",
	[SAN_BRACKET_LEAK] = "bracket-leak",
};

/* A buffer the program mapped, by inode; its brackets, all handles. */
struct san_buffer {
	uint64_t ino;
	char name[256];
	int readers; /* open READ brackets */
	int writers; /* open WRITE and RW brackets */
	uint64_t last_flags; /* the last START/END, and its stack */
	void *last_stack[MAX_FRAMES];
	int last_depth;
	unsigned int findings[SAN_NR_KINDS];
};

struct san_map {
	uintptr_t start, end;
	int prot; /* what the program asked for */
	off_t off;
	struct san_buffer *buf; /* NULL: slot free */
};

/* A code site already reported for a buffer. */
struct san_site {
	struct san_buffer *buf;
	enum san_kind kind;
	uintptr_t pc;
};

static struct {
	bool on, halt;
	int exitcode, log_fd;
	bool stats;
	char suppress[MAX_SUPPRESSIONS][64];
	int nr_suppress;
	pthread_mutex_t lock;
	struct san_buffer bufs[MAX_BUFFERS];
	int nr_bufs;
	struct san_map maps[MAX_MAPS];
	struct san_site sites[MAX_SITES];
	int nr_sites;
	struct sigaction chained; /* the program's SIGSEGV handler */
	unsigned long total;
} san = {.lock = PTHREAD_MUTEX_INITIALIZER, .exitcode = 1, .log_fd = 2};

/* ---- reports ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n > 0 && write(san.log_fd, line, (size_t)n) < 0)
		return;
}

/* "function file:line" of @pc, through dladdr and addr2line. */
static void symbolize(void *pc, char *out, size_t len)
{
	char cmd[PATH_MAX + 128], fn[256] = "??", where[PATH_MAX] = "??";
	Dl_info dl;
	FILE *p;
	uintptr_t rel;

	snprintf(out, len, "%p", pc);
	if (!dladdr(pc, &dl) || !dl.dli_fname)
		return;
	rel = (uintptr_t)pc - (uintptr_t)dl.dli_fbase;
	snprintf(cmd, sizeof(cmd), "addr2line -f -e '%s' %#lx 2>/dev/null",
		 dl.dli_fname, (unsigned long)(rel ? rel - 1 : rel));
	p = popen(cmd, "r");
	if (p) {
		if (fgets(fn, sizeof(fn), p))
			fn[strcspn(fn, "\n")] = '\0';
		if (fgets(where, sizeof(where), p))
			where[strcspn(where, "\n")] = '\0';
		pclose(p);
	}
	if (!strcmp(fn, "??") && dl.dli_sname)
		snprintf(fn, sizeof(fn), "%s", dl.dli_sname);
	snprintf(out, len, "in %s %s", fn,
		 strncmp(where, "??", 2) ? where : dl.dli_fname);
}

static void print_stack(void *const *frames, int depth)
{
	char sym[PATH_MAX + 300];
	int i;

	for (i = 0; i < depth; i++) {
		symbolize(frames[i], sym, sizeof(sym));
		say("    #%d %p %s\n", i, frames[i], sym);
	}
}

static bool suppressed(void *const *frames, int depth)
{
	char sym[PATH_MAX + 300];
	int i, j;

	for (i = 0; i < depth && san.nr_suppress; i++) {
		symbolize(frames[i], sym, sizeof(sym));
		for (j = 0; j < san.nr_suppress; j++)
			if (strstr(sym, san.suppress[j]))
				return true;
	}
	return false;
}

/* Reported already for this buffer and site?  Else remember it. */
static bool seen(struct san_buffer *b, enum san_kind kind, uintptr_t pc)
{
	int i;

	for (i = 0; i < san.nr_sites; i++)
		if (san.sites[i].buf == b && san.sites[i].kind == kind &&
		    san.sites[i].pc == pc)
			return true;
	if (san.nr_sites < MAX_SITES)
		san.sites[san.nr_sites++] =
			(struct san_site){.buf = b, .kind = kind, .pc = pc};
	return false;
}

static const char *flags_text(uint64_t flags)
{
	static const char *const text[] = {
		"START|?", "START|READ", "START|WRITE", "START|RW",
		"END|?",   "END|READ",	 "END|WRITE",	"END|RW"};

	return text[(flags & DMA_BUF_SYNC_RW) | (flags & DMA_BUF_SYNC_END)];
}

/*
 * One finding: the access or call, its stack (@frames, from the handler or
 * the wrapper), and the buffer's last bracket with its own stack.
 */
static void report(struct san_buffer *b, enum san_kind kind, uintptr_t pc,
		   const char *what, void *const *frames, int depth)
{
	char sym[PATH_MAX + 300];

	if (seen(b, kind, pc) || suppressed(frames, depth))
		return;
	b->findings[kind]++;
	san.total++;
	say("==%d==ERROR: dmabuf-sanitizer: %s on buffer '%s' (inode %llu)\n",
	    (int)getpid(), kind_names[kind], b->name,
	    (unsigned long long)b->ino);
	say("%s\n    brackets open: %d READ, %d WRITE/RW\n", what, b->readers,
	    b->writers);
	print_stack(frames, depth);
	if (b->last_depth) {
		say("  the last bracket call on this buffer was SYNC %s:\n",
		    flags_text(b->last_flags));
		print_stack(b->last_stack, b->last_depth);
	} else {
		say("  no bracket was ever taken on this buffer\n");
	}
	symbolize(pc ? (void *)pc : frames[0], sym, sizeof(sym));
	say("SUMMARY: dmabuf-sanitizer: %s %s\n", kind_names[kind], sym);
	if (san.halt)
		_exit(san.exitcode);
}

/* ---- the tables ---- */

static struct san_buffer *buffer_of_fd_locked(int fd)
{
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int i;

	if (fstat(fd, &st))
		return NULL;
	for (i = 0; i < san.nr_bufs; i++)
		if (san.bufs[i].ino == st.st_ino)
			return &san.bufs[i];
	if (san.nr_bufs == MAX_BUFFERS)
		return NULL;
	san.bufs[i].ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	/* A buffer from /dev/dma_heap has no name: it was never linked. */
	snprintf(san.bufs[i].name, sizeof(san.bufs[i].name), "%.255s",
		 n <= 0 || strstr(path, " (deleted)") ? "(anonymous)"
		 : strrchr(path, '/')		      ? strrchr(path, '/') + 1
						      : path);
	san.nr_bufs++;
	return &san.bufs[i];
}

/* The rights a mapping of @b has now: none, read, or its own. */
static int rights(const struct san_map *m)
{
	if (m->buf->writers)
		return m->prot;
	return m->buf->readers ? m->prot & PROT_READ : PROT_NONE;
}

static void apply_locked(struct san_buffer *b)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf == b)
			mprotect((void *)m->start, m->end - m->start,
				 rights(m));
}

static struct san_map *map_at(uintptr_t addr)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf && addr >= m->start && addr < m->end)
			return m;
	return NULL;
}

/* ---- the hooks compat.c calls ---- */

/**
 * sanitizer_enabled() - is DMABUF_SANITIZE=1 in force?
 *
 * compat.c asks first, so that with the sanitizer off no call pays for it.
 */
bool sanitizer_enabled(void)
{
	return san.on;
}

/**
 * sanitizer_mapped() - a mapping of one of our buffer fds was made
 * @addr: where
 * @len: its length
 * @prot: what the program asked for
 * @fd: the buffer fd
 * @off: offset in the buffer
 */
void sanitizer_mapped(void *addr, size_t len, int prot, int fd, off_t off)
{
	struct san_map *m;

	if (!san.on || addr == MAP_FAILED)
		return;
	pthread_mutex_lock(&san.lock);
	for (m = san.maps; m < san.maps + MAX_MAPS && m->buf; m++)
		;
	if (m < san.maps + MAX_MAPS) {
		*m = (struct san_map){.start = (uintptr_t)addr,
				      .end = (uintptr_t)addr + len,
				      .prot = prot,
				      .off = off,
				      .buf = buffer_of_fd_locked(fd)};
		if (m->buf)
			mprotect(addr, len, rights(m));
	}
	pthread_mutex_unlock(&san.lock);
}

/**
 * dmabuf_sanitizer_watch() - libdmabuf's zero-copy mapping of a buffer
 * @addr: where it is mapped
 * @len: its length
 * @prot: its rights
 * @fd: the buffer fd it was made from
 *
 * libdmabuf calls it, when defined, from dmabuf_mmap(3): the mapping is
 * of a memfd the sanitizer would not know as the buffer's.
 */
void dmabuf_sanitizer_watch(void *addr, size_t len, int prot, int fd)
{
	if (san.on)
		sanitizer_mapped(addr, len, prot, fd, 0);
}

/**
 * sanitizer_unmapping() - the program unmaps [@addr, @addr + @len)
 * @addr: start
 * @len: length
 *
 * A bracket still open when the last mapping of its buffer goes is a leak.
 */
void sanitizer_unmapping(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	struct san_buffer *b = NULL;
	void *frames[MAX_FRAMES];
	struct san_map *m;
	bool last = true;
	int depth;

	if (!san.on)
		return;
	pthread_mutex_lock(&san.lock);
	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf && m->start >= a && m->end <= a + len) {
			b = m->buf;
			m->buf = NULL;
		}
	for (m = san.maps; b && m < san.maps + MAX_MAPS; m++)
		last = last && m->buf != b;
	depth = b && last ? backtrace(frames, MAX_FRAMES) : 0;
	if (depth >= 3 && (b->readers || b->writers)) {
		/* frames[0] is here, [1] the munmap wrapper */
		report(b, SAN_BRACKET_LEAK, (uintptr_t)frames[2],
		       "  a CPU bracket is still open at munmap of the "
		       "buffer's last mapping",
		       frames + 2, depth - 2);
	}
	pthread_mutex_unlock(&san.lock);
}

/**
 * sanitizer_sync() - the program called DMA_BUF_IOCTL_SYNC on a buffer fd
 * @fd: the fd
 * @flags: its flags
 * @ret: what the call returned; a refused SYNC is not a bracket (waypipe
 *       probes with invalid flags)
 */
void sanitizer_sync(int fd, uint64_t flags, int ret)
{
	void *frames[MAX_FRAMES];
	struct san_buffer *b;
	bool end = flags & DMA_BUF_SYNC_END;
	bool write = flags & DMA_BUF_SYNC_WRITE;
	int depth, *count;

	if (!san.on || ret)
		return;
	/* frames[0] is here, [1] the ioctl wrapper, [2] the program's call */
	depth = backtrace(frames, MAX_FRAMES);
	if (depth < 3)
		return;
	pthread_mutex_lock(&san.lock);
	b = buffer_of_fd_locked(fd);
	if (!b)
		goto out;
	count = write ? &b->writers : &b->readers;
	if (end && !*count) {
		int *other = write ? &b->readers : &b->writers;

		report(b,
		       *other ? SAN_END_FLAGS_MISMATCH : SAN_END_WITHOUT_START,
		       (uintptr_t)frames[2],
		       *other ? "  SYNC END with other read/write flags than "
				"its START (the uapi wants the same)"
			      : "  SYNC END without a matching START",
		       frames + 2, depth - 2);
		if (*other)
			(*other)--;
	} else {
		*count += end ? -1 : 1;
	}
	b->last_flags = flags;
	b->last_depth = depth - 2;
	memcpy(b->last_stack, frames + 2, (size_t)(depth - 2) * sizeof(void *));
	apply_locked(b);
out:
	pthread_mutex_unlock(&san.lock);
}

/* ---- faults ---- */

static bool is_write_fault(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return uc->uc_mcontext.gregs[REG_ERR] & 2;
#else
	(void)uc;
	return true; /* the architecture does not say: assume the worse */
#endif
}

static uintptr_t fault_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
	(void)uc;
	return 0;
#endif
}

static void chain(int sig, siginfo_t *si, void *ctx)
{
	if (san.chained.sa_flags & SA_SIGINFO && san.chained.sa_sigaction) {
		san.chained.sa_sigaction(sig, si, ctx);
		return;
	}
	if (san.chained.sa_handler != SIG_DFL &&
	    san.chained.sa_handler != SIG_IGN) {
		san.chained.sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL); /* the fault repeats, and kills */
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr, page;
	struct san_map *m = map_at(addr);
	void *frames[MAX_FRAMES];
	char what[256];
	bool write;
	int depth;

	if (!m || sig != SIGSEGV) {
		chain(sig, si, ctx);
		return;
	}
	write = is_write_fault(ctx);
	snprintf(what, sizeof(what),
		 "%s of 1 byte at %#lx: offset %#lx in the buffer",
		 write ? "WRITE" : "READ", (unsigned long)addr,
		 (unsigned long)(addr - m->start + (uintptr_t)m->off));
	depth = backtrace(frames, MAX_FRAMES);
	/* frames[0] is here, frames[1] the signal trampoline */
	if (depth > 2)
		frames[2] = (void *)fault_pc(ctx);
	report(m->buf,
	       m->buf->readers && write ? SAN_WRITE_IN_READ
	       : write			? SAN_WRITE_OUTSIDE
					: SAN_READ_OUTSIDE,
	       fault_pc(ctx), what, frames + 2, depth - 2);
	/* Let this access through; rights come back at the next bracket. */
	page = addr & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	mprotect((void *)page, (size_t)sysconf(_SC_PAGESIZE), m->prot);
}

/* The program's own SIGSEGV handler is kept, to be called for faults not
 * ours; ours stays installed. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!san.on || sig != SIGSEGV)
		return REAL(sigaction)(sig, act, old);
	if (old)
		*old = san.chained;
	if (act)
		san.chained = *act;
	return 0;
}

/* ---- start and end ---- */

static void leaks_at_exit(void)
{
	struct san_buffer *b;
	void *frames[MAX_FRAMES];
	int depth, k;

	if (!san.on)
		return;
	depth = backtrace(frames, MAX_FRAMES);
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		if ((b->readers || b->writers) &&
		    !b->findings[SAN_BRACKET_LEAK]) /* once per buffer */
			report(b, SAN_BRACKET_LEAK, 0,
			       "  a CPU bracket is still open at exit",
			       frames + 1, depth - 1);
	if (!san.stats && !san.total)
		return;
	say("==%d==dmabuf-sanitizer: %lu finding(s)\n", (int)getpid(),
	    san.total);
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		for (k = 0; k < SAN_NR_KINDS; k++)
			if (b->findings[k])
				say("  %-28s %u on buffer '%s'\n",
				    kind_names[k], b->findings[k], b->name);
}

static void load_suppressions(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "re");

	while (f && san.nr_suppress < MAX_SUPPRESSIONS &&
	       fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			snprintf(san.suppress[san.nr_suppress++],
				 sizeof(san.suppress[0]), "%.63s", line);
	}
	if (f)
		fclose(f);
	else
		say("dmabuf-sanitizer: suppressions %s: %s\n", path,
		    strerror(errno));
}

static void parse_options(const char *opts)
{
	char copy[1024], *tok, *save = NULL, path[PATH_MAX + 16];

	snprintf(copy, sizeof(copy), "%s", opts ? opts : "");
	for (tok = strtok_r(copy, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		if (!strncmp(tok, "halt_on_error=", 14))
			san.halt = atoi(tok + 14) != 0;
		else if (!strncmp(tok, "exitcode=", 9))
			san.exitcode = atoi(tok + 9);
		else if (!strncmp(tok, "print_stats_on_exit=", 20))
			san.stats = atoi(tok + 20) != 0;
		else if (!strncmp(tok, "suppressions=", 13))
			load_suppressions(tok + 13);
		else if (!strncmp(tok, "log_path=", 9)) {
			snprintf(path, sizeof(path), "%s.%d", tok + 9,
				 (int)getpid());
			san.log_fd = open(
				path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				0644);
			if (san.log_fd < 0)
				san.log_fd = 2;
		} else
			say("dmabuf-sanitizer: unknown option '%s'\n", tok);
	}
}

/* Mappings of the mount made before we were loaded cannot be watched. */
static void check_not_late(void)
{
	char line[PATH_MAX + 128], *mnt = getenv("DMABUF_MOUNT");
	FILE *f = fopen("/proc/self/maps", "re");
	int late = 0;

	while (mnt && *mnt && f && fgets(line, sizeof(line), f))
		late += strstr(line, mnt) != NULL;
	if (f)
		fclose(f);
	if (late)
		say("==%d==dmabuf-sanitizer: loaded too late: %d mapping(s) of "
		    "%s were made before and are not watched\n",
		    (int)getpid(), late, mnt);
}

__attribute__((constructor)) static void sanitizer_init(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault,
			       .sa_flags = SA_SIGINFO | SA_NODEFER};
	void *warm[2];
	const char *on = getenv("DMABUF_SANITIZE");

	if (!on || strcmp(on, "1"))
		return;
	parse_options(getenv("DMABUF_SANITIZE_OPTIONS"));
	backtrace(warm, 2); /* loads libgcc now, not in a signal handler */
	sigemptyset(&sa.sa_mask);
	if (REAL(sigaction)(SIGSEGV, &sa, &san.chained))
		return;
	san.on = true;
	check_not_late();
	atexit(leaks_at_exit);
}
