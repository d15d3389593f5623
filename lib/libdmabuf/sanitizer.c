// SPDX-License-Identifier: MIT
/*
 * DOC: the CPU-access sanitizer
 *
 * With DMABUF_SANITIZE=1, every mapping the program makes of a buffer is
 * kept without access rights outside CPU brackets, read-only inside a READ
 * bracket and with its own rights inside a WRITE or RW one, page by page
 * over the bracket's range.  A fault in such a mapping is a finding:
 * reported once per buffer and code site, in the shape AddressSanitizer
 * users know, with the last bracket call on that buffer and its stack;
 * then the page is opened for the access and the program goes on (unless
 * halt_on_error=1) until the next bracket call sets the rights again.
 * Brackets nest as the kernel allows: they are counted per range and
 * direction, and rights drop when the last one covering a page ends.  At
 * each END the daemon is asked whether a device mapped the buffer while
 * the bracket was open (DMABUF_IOCTL_TAKE_RACE): it knows both sides.
 *
 * It lives in libdmabuf, so a program linked against libdmabuf is watched
 * with nothing preloaded: its dmabuf_mmap() mappings and its bracket
 * calls.  The compat layer, which carries libdmabuf, adds the mmap(2),
 * mremap(2), munmap(2), ioctl(2) and sigaction(2)/signal(2) calls of
 * programs written against the kernel's uapi.  When both are in a process (a
 * libdmabuf program run under dmabufctl run), the dynamic linker binds every
 * libdmabuf symbol to the first copy, the preloaded one, and the constructors
 * of both start that one copy: one sanitizer, one set of tables.
 *
 * With passthrough, page faults never reach the daemon: the checking lives
 * here, in the program's process.  Faults that are not ours go to the
 * program's own SIGSEGV handler: the compat layer hands it over when the
 * program installs it, and every bracket call takes it over if it was
 * installed some other way (a libdmabuf program, a raw syscall).
 * Everything the signal handler reads is in fixed tables written under a
 * mutex by the hooks; it takes no lock and allocates nothing until it
 * reports.
 *
 * Options, in DMABUF_SANITIZE_OPTIONS as ASan's: halt_on_error=1,
 * exitcode=N, log_path=P (writes P.<pid>), suppressions=FILE (one function
 * name per line, "#" comments), print_stats_on_exit=1.
 */
#include <dlfcn.h>
#include <dirent.h>
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
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <dmabuf/uapi.h>

#include "sanitizer.h"

#define MAX_BUFFERS 128
#define MAX_MAPS 512
#define MAX_SITES 256
#define MAX_FRAMES 16
#define MAX_SUPPRESSIONS 64
#define MAX_OPEN 16 /* distinct (range, direction) brackets per buffer */

enum san_kind {
	SAN_READ_OUTSIDE,
	SAN_WRITE_OUTSIDE,
	SAN_WRITE_IN_READ,
	SAN_END_WITHOUT_START,
	SAN_END_FLAGS_MISMATCH,
	SAN_BRACKET_LEAK,
	SAN_RACED_DEVICE,
	SAN_NR_KINDS,
};

static const char *const kind_names[SAN_NR_KINDS] = {
	[SAN_READ_OUTSIDE] = "cpu-read-outside-bracket",
	[SAN_WRITE_OUTSIDE] = "cpu-write-outside-bracket",
	[SAN_WRITE_IN_READ] = "write-in-read-bracket",
	[SAN_END_WITHOUT_START] = "end-without-start",
	[SAN_END_FLAGS_MISMATCH] = "end-flags-mismatch",
	[SAN_BRACKET_LEAK] = "bracket-leak",
	[SAN_RACED_DEVICE] = "cpu-access-raced-device",
};

/* Open brackets of one byte range and direction, nested @count deep. */
struct san_bracket {
	uint64_t start, end;
	uint32_t dir; /* DMA_BUF_SYNC_READ, WRITE or RW */
	unsigned int count;
};

/* A buffer the program mapped or bracketed, by inode; all handles. */
struct san_buffer {
	uint64_t ino, size;
	char name[256];
	char debug[DMABUF_NAME_LEN]; /* DMA_BUF_SET_NAME's, "" when unset */
	struct san_bracket open[MAX_OPEN];
	int nr_open;
	bool start_refused; /* the last START got EAGAIN: a device held it */
	char last_call[128]; /* the last bracket call, and its stack */
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
	bool on, started, halt, stats;
	bool interposed; /* the compat layer's ioctl() reports every call */
	int exitcode, log_fd;
	char suppress[MAX_SUPPRESSIONS][64];
	int nr_suppress;
	uintptr_t own_base; /* where this code is loaded, to skip its frames */
	pthread_mutex_t lock;
	struct san_buffer bufs[MAX_BUFFERS];
	int nr_bufs;
	struct san_map maps[MAX_MAPS];
	struct san_site sites[MAX_SITES];
	int nr_sites;
	struct sigaction chained; /* the program's SIGSEGV handler */
	unsigned long total;
} san = {.lock = PTHREAD_MUTEX_INITIALIZER, .exitcode = 1, .log_fd = 2};

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

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
	if (n > 0 && REAL(write)(san.log_fd, line, (size_t)n) < 0)
		return;
}

/* "function file:line" of @pc, through dladdr and addr2line. */
static void symbolize(void *pc, char *out, size_t len)
{
	char cmd[PATH_MAX + 128], fn[256] = "??", where[PATH_MAX] = "??";
	Dl_info dl;
	FILE *p;
	uintptr_t rel;

	/* Code in no object (a JIT's, say llvmpipe's shaders): say so,
	 * rather than print its address a second time. */
	snprintf(out, len, "in code of no object (generated at run time?)");
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

/*
 * The program's part of a stack taken in a hook: the frames after the
 * hook's own and those in this library (the ioctl wrapper, xioctl,
 * dmabuf_sync, ...).  Linked into the program itself, the library cannot
 * be told from the program: only the hook's frame goes.
 */
static int program_frames(void **frames, int depth, void ***first)
{
	Dl_info dl;
	int i = 1;

	while (san.own_base && i < depth - 1 && dladdr(frames[i], &dl) &&
	       (uintptr_t)dl.dli_fbase == san.own_base)
		i++;
	*first = frames + i;
	return depth - i;
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

static const char *const dir_names[] = {"?", "READ", "WRITE", "RW"};

static void say_brackets(const struct san_buffer *b)
{
	int i, readers = 0, writers = 0;

	for (i = 0; i < b->nr_open; i++)
		*(b->open[i].dir & DMA_BUF_SYNC_WRITE ? &writers : &readers) +=
			(int)b->open[i].count;
	say("    brackets open: %d READ, %d WRITE/RW\n", readers, writers);
	for (i = 0; i < b->nr_open; i++)
		if (b->open[i].start || b->open[i].end != b->size)
			say("      [%#llx, %#llx) %s x%u\n",
			    (unsigned long long)b->open[i].start,
			    (unsigned long long)b->open[i].end,
			    dir_names[b->open[i].dir], b->open[i].count);
}

/*
 * One finding: the access or call, its stack (@frames, from the handler or
 * the hook), and the buffer's last bracket call with its own stack.
 */
/* 'file' (name 'debug name', inode N): what the user named the buffer. */
static const char *buffer_text(const struct san_buffer *b, char *out,
			       size_t len)
{
	if (b->debug[0])
		snprintf(out, len, "'%s' (name '%s', inode %llu)", b->name,
			 b->debug, (unsigned long long)b->ino);
	else
		snprintf(out, len, "'%s' (inode %llu)", b->name,
			 (unsigned long long)b->ino);
	return out;
}

static void report(struct san_buffer *b, enum san_kind kind, uintptr_t pc,
		   const char *what, void *const *frames, int depth)
{
	char sym[PATH_MAX + 300], text[400];

	if (seen(b, kind, pc) || suppressed(frames, depth))
		return;
	b->findings[kind]++;
	san.total++;
	say("==%d==ERROR: dmabuf-sanitizer: %s on buffer %s\n", (int)getpid(),
	    kind_names[kind], buffer_text(b, text, sizeof(text)));
	say("%s\n", what);
	say_brackets(b);
	print_stack(frames, depth);
	if (b->last_depth) {
		say("  the last bracket call on this buffer was %s:\n",
		    b->last_call);
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

/* Say once that a table is full, and what is not watched because of it. */
static void say_full_once(bool *told, const char *what)
{
	if (*told)
		return;
	*told = true;
	say("==%d==dmabuf-sanitizer: more than %s at once: the rest are not "
	    "watched\n",
	    (int)getpid(), what);
}

/*
 * A slot for one more buffer: a new one, or that of a buffer that has no
 * mapping, no open bracket and no finding (nothing left to watch or to
 * summarize); NULL when every slot holds one of those.
 */
static struct san_buffer *buffer_slot_locked(void)
{
	static bool told;
	struct san_buffer *b;
	struct san_map *m;
	bool busy;
	int k;

	if (san.nr_bufs < MAX_BUFFERS)
		return &san.bufs[san.nr_bufs++];
	for (b = san.bufs; b < san.bufs + MAX_BUFFERS; b++) {
		busy = b->nr_open > 0;
		for (k = 0; k < SAN_NR_KINDS && !busy; k++)
			busy = b->findings[k] > 0;
		for (m = san.maps; m < san.maps + MAX_MAPS && !busy; m++)
			busy = m->buf == b;
		if (!busy) {
			memset(b, 0, sizeof(*b));
			return b;
		}
	}
	say_full_once(&told, "128 buffers mapped, bracketed or reported");
	return NULL;
}

static struct san_buffer *buffer_of_fd_locked(int fd)
{
	char link[64], path[PATH_MAX];
	struct dmabuf_info info;
	struct san_buffer *b;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return NULL;
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		if (b->ino == st.st_ino)
			goto found;
	b = buffer_slot_locked();
	if (!b)
		return NULL;
	b->ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = REAL(readlink)(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	/* A buffer from /dev/dma_heap has no name: it was never linked. */
	snprintf(b->name, sizeof(b->name), "%.255s",
		 n <= 0 || strstr(path, " (deleted)") ? "(anonymous)"
		 : strrchr(path, '/')		      ? strrchr(path, '/') + 1
						      : path);
	/* A debug name set before we first saw it (after: named()). */
	if (!REAL(ioctl)(fd, DMABUF_IOCTL_INFO, &info))
		memcpy(b->debug, info.name, sizeof(b->debug));
	b->debug[sizeof(b->debug) - 1] = '\0';
found:
	b->size = (uint64_t)st.st_size;
	return b;
}

/* Rights a mapping @m has on the page at buffer offset @off: the union of
 * the brackets that touch the page (mprotect cannot do less than one). */
static int rights_at(const struct san_map *m, uint64_t off)
{
	const struct san_buffer *b = m->buf;
	uint64_t end = off + page_size();
	int i, prot = PROT_NONE;

	for (i = 0; i < b->nr_open; i++) {
		if (b->open[i].start >= end || b->open[i].end <= off)
			continue;
		if (b->open[i].dir & DMA_BUF_SYNC_WRITE)
			return m->prot;
		prot = m->prot & PROT_READ;
	}
	return prot;
}

/* The first page boundary after @off where a bracket of @b begins or ends. */
static uint64_t next_edge(const struct san_buffer *b, uint64_t off,
			  uint64_t end)
{
	uint64_t pg = page_size(), next = end, edge;
	int i;

	for (i = 0; i < b->nr_open; i++) {
		edge = b->open[i].start / pg * pg;
		if (edge > off && edge < next)
			next = edge;
		edge = (b->open[i].end + pg - 1) / pg * pg;
		if (edge > off && edge < next)
			next = edge;
	}
	return next;
}

/* Set @m's rights run by run: one mprotect per stretch of equal rights. */
static void protect_locked(const struct san_map *m)
{
	uint64_t first = (uint64_t)m->off, end = first + (m->end - m->start);
	uint64_t run = first, off = first, next;
	int prot = rights_at(m, first);

	while (off < end) {
		next = next_edge(m->buf, off, end);
		if (next == end || rights_at(m, next) != prot) {
			mprotect((void *)(m->start + (run - first)), next - run,
				 prot);
			run = next;
			if (next < end)
				prot = rights_at(m, next);
		}
		off = next;
	}
}

static void apply_locked(struct san_buffer *b)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf == b)
			protect_locked(m);
}

static struct san_map *map_at(uintptr_t addr)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf && addr >= m->start && addr < m->end)
			return m;
	return NULL;
}

static struct san_map *free_map_slot(void)
{
	static bool told;
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (!m->buf)
			return m;
	say_full_once(&told, "512 mappings");
	return NULL;
}

/*
 * [@a, @z) is no longer what we mapped (munmap, or a MAP_FIXED mapping on
 * top): drop it from the table, trimming or splitting a mapping it covers
 * in part, so that no later fault there is taken for ours.
 *
 * Return: a buffer one of whose mappings went away entirely, or NULL.
 */
static struct san_buffer *forget_range_locked(uintptr_t a, uintptr_t z)
{
	struct san_buffer *gone = NULL;
	struct san_map *m, *tail;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++) {
		if (!m->buf || m->end <= a || m->start >= z)
			continue;
		if (m->start >= a && m->end <= z) {
			gone = m->buf;
			m->buf = NULL;
		} else if (m->start < a && m->end > z) {
			tail = free_map_slot();
			if (tail) { /* a hole in the middle: two mappings */
				*tail = *m;
				tail->off += (off_t)(z - m->start);
				tail->start = z;
			}
			m->end = a;
		} else if (m->start < a) {
			m->end = a;
		} else {
			m->off += (off_t)(z - m->start);
			m->start = z;
		}
	}
	return gone;
}

/* ---- brackets ---- */

static void open_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
			 uint32_t dir)
{
	struct san_bracket *o;

	for (o = b->open; o < b->open + b->nr_open; o++)
		if (o->start == start && o->end == end && o->dir == dir)
			goto nest;
	if (b->nr_open == MAX_OPEN) {
		/* Out of slots: widen the last one, never report falsely. */
		o = &b->open[MAX_OPEN - 1];
		o->start = start < o->start ? start : o->start;
		o->end = end > o->end ? end : o->end;
		o->dir |= dir;
		goto nest;
	}
	o = &b->open[b->nr_open++];
	*o = (struct san_bracket){.start = start, .end = end, .dir = dir};
nest:
	o->count++;
}

static void drop_bracket(struct san_buffer *b, struct san_bracket *o)
{
	if (--o->count)
		return;
	*o = b->open[--b->nr_open];
}

static struct san_bracket *find_bracket(struct san_buffer *b, uint64_t start,
					uint64_t end, uint32_t dir)
{
	struct san_bracket *o;

	for (o = b->open; o < b->open + b->nr_open; o++)
		if (o->start == start && o->end == end &&
		    (!dir || o->dir == dir))
			return o;
	return NULL;
}

/* An END: it must name the range and direction of an open START. */
static void close_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
			  uint32_t dir, void **frames, int depth)
{
	struct san_bracket *o = find_bracket(b, start, end, dir);
	char what[256];

	if (o) {
		drop_bracket(b, o);
		return;
	}
	o = find_bracket(b, start, end, 0);
	if (o) {
		snprintf(what, sizeof(what),
			 "  END|%s of a bracket opened START|%s (the uapi "
			 "wants the same flags)",
			 dir_names[dir], dir_names[o->dir]);
		report(b, SAN_END_FLAGS_MISMATCH, (uintptr_t)frames[0], what,
		       frames, depth);
		drop_bracket(b, o);
		return;
	}
	snprintf(what, sizeof(what),
		 "  END|%s of [%#llx, %#llx) without a matching START",
		 dir_names[dir], (unsigned long long)start,
		 (unsigned long long)end);
	report(b, SAN_END_WITHOUT_START, (uintptr_t)frames[0], what, frames,
	       depth);
}

/*
 * Did a device map the buffer while the bracket that @fd's END closes was
 * open?  The daemon noted it on the handle; a finding at the END.
 */
static void check_race_locked(struct san_buffer *b, int fd, void **frames,
			      int depth)
{
	static const char *const dev_dirs[] = {"BIDIRECTIONAL", "TO_DEVICE",
					       "FROM_DEVICE"};
	struct dmabuf_cpu_race race = {0};
	char what[512];

	if (REAL(ioctl)(fd, DMABUF_IOCTL_TAKE_RACE, &race) || !race.count)
		return;
	snprintf(what, sizeof(what),
		 "  device '%.31s' mapped the buffer %s (pid %d, uid %u) "
		 "while this CPU bracket was open: the device and the CPU "
		 "used it at once (%u such mapping(s))",
		 race.device, dev_dirs[race.dir % 3], (int)race.pid, race.uid,
		 race.count);
	report(b, SAN_RACED_DEVICE, (uintptr_t)frames[0], what, frames, depth);
}

/* ---- the SIGSEGV handler, ours or the program's ---- */

static void on_fault(int sig, siginfo_t *si, void *ctx);

/*
 * Our SIGSEGV handler as installed: SA_ONSTACK, so that a program that
 * runs its handlers on an alternate stack (sigaltstack(2)) keeps doing so.
 */
static struct sigaction our_action(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault,
			       .sa_flags =
				       SA_SIGINFO | SA_NODEFER | SA_ONSTACK};

	sigemptyset(&sa.sa_mask);
	return sa;
}

/*
 * Is ours still the SIGSEGV handler?  A handler installed past the compat
 * layer (a libdmabuf program, a raw syscall) replaced it: keep it as the
 * program's, to chain to, and put ours back.
 */
static void reclaim_sigsegv_locked(void)
{
	struct sigaction now, ours = our_action();

	if (REAL(sigaction)(SIGSEGV, NULL, &now) ||
	    ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fault))
		return;
	san.chained = now;
	REAL(sigaction)(SIGSEGV, &ours, NULL);
}

/**
 * dmabuf_sanitizer_keeps_sigsegv() - the program installs a SIGSEGV handler
 * @act: the handler, or NULL to only ask
 * @old: out, or NULL: the program's previous handler
 *
 * The compat layer's sigaction() and signal() ask first.  While the
 * sanitizer is on, its own handler stays installed and calls the
 * program's for every fault that is not in a watched mapping.
 *
 * Return: true when kept here (the call is done), false to pass it on.
 */
bool dmabuf_sanitizer_keeps_sigsegv(const struct sigaction *act,
				    struct sigaction *old)
{
	if (!san.on)
		return false;
	if (old)
		*old = san.chained;
	if (act)
		san.chained = *act;
	return true;
}

/* ---- the hooks libdmabuf and the compat layer call ---- */

/**
 * dmabuf_sanitizer_enabled() - is DMABUF_SANITIZE=1 in force?
 *
 * Callers ask first, so that with the sanitizer off no call pays for it.
 *
 * Return: true when on.
 */
bool dmabuf_sanitizer_enabled(void)
{
	return san.on;
}

/**
 * dmabuf_sanitizer_mapped() - a mapping of a buffer was made
 * @addr: where; MAP_FAILED is ignored
 * @len: its length
 * @prot: what the program asked for
 * @fd: the buffer fd
 * @off: offset in the buffer
 *
 * Called by the compat layer's mmap() and by dmabuf_mmap().
 */
void dmabuf_sanitizer_mapped(void *addr, size_t len, int prot, int fd,
			     off_t off)
{
	struct san_map *m;
	int saved_errno;

	if (!san.on || addr == MAP_FAILED)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	reclaim_sigsegv_locked();
	forget_range_locked((uintptr_t)addr, (uintptr_t)addr + len);
	m = free_map_slot();
	if (m) {
		*m = (struct san_map){.start = (uintptr_t)addr,
				      .end = (uintptr_t)addr + len,
				      .prot = prot,
				      .off = off,
				      .buf = buffer_of_fd_locked(fd)};
		if (m->buf)
			protect_locked(m);
	}
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/**
 * dmabuf_sanitizer_unmapping() - [@addr, @addr + @len) is being unmapped
 * @addr: start
 * @len: length
 *
 * Not a leak yet when a bracket is open: a program may unmap and then end
 * the bracket (GTK's gdk_dmabuf_munmap() does), which is legal.  A bracket
 * is a leak when the buffer's last fd closes (dmabuf_sanitizer_closing())
 * or the program exits with it open.  Called by the compat layer's munmap()
 * and by dmabuf_munmap(); the second call for one mapping finds nothing.
 */
void dmabuf_sanitizer_unmapping(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	int saved_errno;

	if (!san.on)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	forget_range_locked(a, a + len);
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/* Does another fd of this process than @fd name inode @ino of @dev? */
static bool other_fd_of(int fd, dev_t dev, ino_t ino)
{
	DIR *d = REAL(opendir)("/proc/self/fd");
	struct dirent *e;
	struct stat st;
	bool found = false;
	int n;

	while (d && !found && (e = readdir(d))) {
		n = atoi(e->d_name);
		found = e->d_name[0] != '.' && n != fd && n != dirfd(d) &&
			!fstat(n, &st) && st.st_dev == dev && st.st_ino == ino;
	}
	if (d)
		closedir(d);
	return found;
}

/**
 * dmabuf_sanitizer_closing() - the program is about to close @fd
 * @fd: any fd
 *
 * A bracket still open on a buffer when its last fd in the process goes
 * can never be ended: a bracket-leak.  Called by the compat layer's close().
 */
void dmabuf_sanitizer_closing(int fd)
{
	void *frames[MAX_FRAMES], **at;
	struct san_buffer *b, *open = NULL;
	int depth, saved_errno = errno;
	struct stat st;

	if (!san.on || fstat(fd, &st))
		goto out;
	pthread_mutex_lock(&san.lock);
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		if (b->ino == st.st_ino && b->nr_open)
			open = b;
	pthread_mutex_unlock(&san.lock);
	if (!open || other_fd_of(fd, st.st_dev, st.st_ino))
		goto out;
	depth = program_frames(frames, backtrace(frames, MAX_FRAMES), &at);
	pthread_mutex_lock(&san.lock);
	if (open->ino == st.st_ino && open->nr_open)
		report(open, SAN_BRACKET_LEAK, (uintptr_t)at[0],
		       "  a CPU bracket is still open at close of the "
		       "buffer's last fd",
		       at, depth);
	pthread_mutex_unlock(&san.lock);
out:
	errno = saved_errno;
}

/**
 * dmabuf_sanitizer_moved() - mremap(2) moved or resized a mapping
 * @from: where it was
 * @from_len: its length there
 * @to: where it is now
 * @to_len: its length now
 *
 * Called by the compat layer's mremap() after a successful call: a watched
 * mapping is watched where it went, with the rights of its buffer's
 * brackets (the kernel carries the old ones along).
 */
void dmabuf_sanitizer_moved(void *from, size_t from_len, void *to,
			    size_t to_len)
{
	uintptr_t a = (uintptr_t)from;
	struct san_map *m, moved = {0};
	int saved_errno;

	if (!san.on)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf && m->start == a && m->end - m->start <= from_len)
			moved = *m;
	forget_range_locked(a, a + from_len);
	forget_range_locked((uintptr_t)to, (uintptr_t)to + to_len);
	m = moved.buf ? free_map_slot() : NULL;
	if (m) {
		*m = moved;
		m->start = (uintptr_t)to;
		m->end = (uintptr_t)to + to_len;
		protect_locked(m);
	}
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/* The bracket call @req on @arg: byte range, direction and END or START. */
static bool decode_bracket(const struct san_buffer *b, unsigned long req,
			   const void *arg, uint64_t *start, uint64_t *end,
			   uint32_t *dir, bool *is_end)
{
	const struct dmabuf_cpu_access *r = arg;
	uint64_t flags;

	if (req == DMA_BUF_IOCTL_SYNC) {
		flags = ((const struct dma_buf_sync *)arg)->flags;
		*start = 0;
		*end = b->size;
		*dir = (uint32_t)(flags & DMA_BUF_SYNC_RW);
		*is_end = flags & DMA_BUF_SYNC_END;
		return true;
	}
	if (req != DMABUF_IOCTL_BEGIN_CPU_ACCESS &&
	    req != DMABUF_IOCTL_END_CPU_ACCESS)
		return false;
	*start = r->offset;
	*end = r->length ? r->offset + r->length : b->size;
	*dir = r->flags & DMA_BUF_SYNC_RW;
	*is_end = req == DMABUF_IOCTL_END_CPU_ACCESS;
	return true;
}

static void describe_call(struct san_buffer *b, unsigned long req,
			  uint64_t start, uint64_t end, uint32_t dir,
			  bool is_end, int err)
{
	int n = req == DMA_BUF_IOCTL_SYNC
			? snprintf(b->last_call, sizeof(b->last_call),
				   "SYNC %s|%s", is_end ? "END" : "START",
				   dir_names[dir])
			: snprintf(b->last_call, sizeof(b->last_call),
				   "%s_CPU_ACCESS of [%#llx, %#llx) %s",
				   is_end ? "END" : "BEGIN",
				   (unsigned long long)start,
				   (unsigned long long)end, dir_names[dir]);

	if (err && n > 0 && (size_t)n < sizeof(b->last_call))
		snprintf(b->last_call + n, sizeof(b->last_call) - (size_t)n,
			 ", refused with %s: a device still held the buffer",
			 strerrorname_np(err));
}

/**
 * dmabuf_sanitizer_ioctl() - the program made an ioctl on a buffer fd
 * @fd: the fd
 * @req: the request; only the bracket calls matter (DMA_BUF_IOCTL_SYNC,
 *       DMABUF_IOCTL_BEGIN/END_CPU_ACCESS)
 * @arg: its argument, as the call left it
 * @err: 0, or the errno it failed with.  A refused call is not a bracket
 *       (waypipe probes with invalid flags); a START refused with EAGAIN is
 *       remembered: an access after it did not wait for the device.
 * @interposer: the caller is the compat layer's ioctl(), which sees every
 *              call, libdmabuf's own included: libdmabuf's calls are then
 *              not counted twice
 */
void dmabuf_sanitizer_ioctl(int fd, unsigned long req, const void *arg, int err,
			    bool interposer)
{
	void *frames[MAX_FRAMES], **at;
	uint64_t start, end;
	struct san_buffer *b;
	int depth, saved_errno;
	bool is_end;
	uint32_t dir;

	if (!san.on || !arg || (san.interposed && !interposer) ||
	    (err && err != EAGAIN) ||
	    (req != DMA_BUF_IOCTL_SYNC &&
	     req != DMABUF_IOCTL_BEGIN_CPU_ACCESS &&
	     req != DMABUF_IOCTL_END_CPU_ACCESS))
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	b = buffer_of_fd_locked(fd);
	if (!b || !decode_bracket(b, req, arg, &start, &end, &dir, &is_end) ||
	    (err && is_end))
		goto out;
	reclaim_sigsegv_locked();
	depth = program_frames(frames, backtrace(frames, MAX_FRAMES), &at);
	b->start_refused = err == EAGAIN;
	if (is_end && !err) {
		check_race_locked(b, fd, at, depth);
		close_bracket(b, start, end, dir, at, depth);
	} else if (!err) {
		open_bracket(b, start, end, dir);
	}
	describe_call(b, req, start, end, dir, is_end, err);
	b->last_depth = depth;
	memcpy(b->last_stack, at, (size_t)depth * sizeof(void *));
	apply_locked(b);
out:
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/**
 * dmabuf_sanitizer_interposed() - the compat layer reports every ioctl
 *
 * Called once by the compat layer: its ioctl() sees libdmabuf's calls too.
 */
void dmabuf_sanitizer_interposed(void)
{
	san.interposed = true;
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
	/*
	 * The default action: the fault repeats and kills, with a core dump
	 * where enabled, as without the sanitizer.  REAL(): inside the compat
	 * layer a plain signal() would bind to the layer's own interposer,
	 * which keeps our handler, and the fault would repeat for ever.
	 */
	REAL(sigaction)(sig, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
}

/* What kind of access fault at buffer offset @off is. */
static enum san_kind fault_kind(const struct san_map *m, uint64_t off,
				bool write)
{
	uint64_t page = off / page_size() * page_size();

	if (write && rights_at(m, page) & PROT_READ)
		return SAN_WRITE_IN_READ;
	if (m->buf->start_refused)
		return SAN_RACED_DEVICE;
	return write ? SAN_WRITE_OUTSIDE : SAN_READ_OUTSIDE;
}

/*
 * Faults are reported by the reporter thread, one at a time: the handler
 * does only what is async-signal-safe (look up the mapping, take the
 * stack with backtrace(), warmed at start, open the page, write a byte,
 * wait on a futex).  It hands the fault over in a slot and waits until the
 * report is out, so reports still come before the program goes on, and
 * never interleave; symbolizing (popen, addr2line), formatting and the
 * table of sites reported already stay out of signal context.
 */
#define MAX_PENDING 64

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_DONE };

static struct {
	int pipe[2]; /* a byte per fault handed over */
	pid_t pid; /* the process the thread runs in */
	struct pending {
		int state; /* enum slot_state; the futex word */
		struct san_map *m;
		uintptr_t addr, pc;
		bool write;
		void *frames[MAX_FRAMES];
		int depth;
	} slot[MAX_PENDING];
} rep = {.pipe = {-1, -1}};

static long futex(int *word, int op, int val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Report the fault in @p; san.lock held. */
static void report_fault_locked(struct pending *p)
{
	struct san_map *m = p->m;
	uint64_t off = p->addr - m->start + (uint64_t)m->off;
	enum san_kind kind;
	char what[256];

	if (!m->buf)
		return; /* unmapped since */
	kind = fault_kind(m, off, p->write);
	snprintf(what, sizeof(what),
		 "%s of 1 byte at %#lx: offset %#llx in the buffer%s",
		 p->write ? "WRITE" : "READ", (unsigned long)p->addr,
		 (unsigned long long)off,
		 kind == SAN_RACED_DEVICE
			 ? ", after a START that did not wait for the device"
			 : "");
	report(m->buf, kind, p->pc, what, p->frames, p->depth);
}

static void *reporter_main(void *arg)
{
	struct pending *p;
	char byte;

	(void)arg;
	while (REAL(read)(rep.pipe[0], &byte, 1) == 1 || errno == EINTR) {
		for (p = rep.slot; p < rep.slot + MAX_PENDING; p++) {
			if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) !=
			    SLOT_READY)
				continue;
			pthread_mutex_lock(&san.lock);
			report_fault_locked(p);
			pthread_mutex_unlock(&san.lock);
			__atomic_store_n(&p->state, SLOT_DONE,
					 __ATOMIC_RELEASE);
			futex(&p->state, FUTEX_WAKE, 1);
		}
	}
	return NULL;
}

/* Start the reporter in this process.  Return: 0 or -1. */
static int reporter_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (pipe2(rep.pipe, O_CLOEXEC))
		return -1;
	memset(rep.slot, 0, sizeof(rep.slot));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &attr, reporter_main, NULL);
	pthread_attr_destroy(&attr);
	if (ret)
		return -1;
	rep.pid = getpid();
	return 0;
}

/*
 * Across fork(2): san.lock is held across FUSE round trips and the
 * symbolizer, so take it first and hand it free to both sides; the child
 * gets a reporter of its own (threads do not survive fork).
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&san.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&san.lock);
}

static void fork_child(void)
{
	pthread_mutex_unlock(&san.lock);
	REAL(close)(rep.pipe[0]);
	REAL(close)(rep.pipe[1]);
	rep.pid = 0;
	if (san.on)
		reporter_start();
}

/*
 * Hand the fault over and wait until it is reported.  Return: false when
 * there is no reporter here or no free slot (then it is not reported).
 */
static bool hand_over(struct san_map *m, uintptr_t addr, uintptr_t pc,
		      bool write, void **frames, int depth)
{
	struct pending *p;
	int free = SLOT_FREE;

	if (rep.pid != getpid())
		return false;
	for (p = rep.slot; p < rep.slot + MAX_PENDING; p++, free = SLOT_FREE)
		if (__atomic_compare_exchange_n(&p->state, &free, SLOT_FILLING,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	if (p == rep.slot + MAX_PENDING)
		return false;
	p->m = m;
	p->addr = addr;
	p->pc = pc;
	p->write = write;
	p->depth = depth < MAX_FRAMES ? depth : MAX_FRAMES;
	memcpy(p->frames, frames, (size_t)p->depth * sizeof(void *));
	__atomic_store_n(&p->state, SLOT_READY, __ATOMIC_RELEASE);
	if (syscall(SYS_write, rep.pipe[1], "f", 1) != 1) {
		__atomic_store_n(&p->state, SLOT_FREE, __ATOMIC_RELEASE);
		return false;
	}
	while (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != SLOT_DONE)
		futex(&p->state, FUTEX_WAIT, SLOT_READY);
	__atomic_store_n(&p->state, SLOT_FREE, __ATOMIC_RELEASE);
	return true;
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr, pg = page_size();
	struct san_map *m = map_at(addr);
	void *frames[MAX_FRAMES];
	int depth, saved_errno = errno;
	bool write;

	write = ctx && is_write_fault(ctx);
	if (!m || sig != SIGSEGV || (write && !(m->prot & PROT_WRITE))) {
		chain(sig, si, ctx); /* not ours, or wrong even in a bracket */
		return;
	}
	depth = backtrace(frames, MAX_FRAMES);
	/* frames[0] is here, frames[1] the signal trampoline */
	if (depth > 2) {
		frames[2] = (void *)fault_pc(ctx);
		hand_over(m, addr, fault_pc(ctx), write, frames + 2, depth - 2);
	}
	/* Let this access through; rights come back at the next bracket. */
	mprotect((void *)(addr & ~(pg - 1)), pg, m->prot);
	errno = saved_errno;
}

/**
 * dmabuf_sanitizer_named() - the program set a buffer's debug name
 * @fd: the buffer's fd
 * @name: the name (DMA_BUF_SET_NAME, dmabuf_set_name())
 *
 * Reports then name the buffer as the program did.
 */
void dmabuf_sanitizer_named(int fd, const char *name)
{
	struct san_buffer *b;
	int saved_errno;

	if (!san.on)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	b = buffer_of_fd_locked(fd);
	if (b)
		snprintf(b->debug, sizeof(b->debug), "%s", name);
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/* ---- system calls that touch the program's memory ---- */

/*
 * Open the pages of [@lo, @hi) of @m that lack @need for the access a
 * system call is about to make; report the first.  Lock held.
 */
static void open_for_call_locked(struct san_map *m, uintptr_t lo, uintptr_t hi,
				 bool write, const char *call,
				 void *const *frames, int depth)
{
	uintptr_t pg = page_size(), p;
	int need = write ? PROT_WRITE : PROT_READ;
	bool told = false;
	char what[256];
	uint64_t off;

	for (p = lo & ~(pg - 1); p < hi; p += pg) {
		off = p - m->start + (uint64_t)m->off;
		if (rights_at(m, off) & need)
			continue;
		if (!told) {
			off = (lo > p ? lo : p) - m->start + (uint64_t)m->off;
			snprintf(what, sizeof(what),
				 "%s of %zu byte(s) at %#lx by %s(2): offset "
				 "%#llx in the buffer",
				 write ? "WRITE" : "READ", (size_t)(hi - lo),
				 (unsigned long)lo, call,
				 (unsigned long long)off);
			report(m->buf, fault_kind(m, off, write),
			       (uintptr_t)frames[0], what, frames, depth);
			told = true;
		}
		mprotect((void *)p, pg, m->prot);
	}
}

/**
 * dmabuf_sanitizer_user_memory() - a system call will touch the program's
 *                                  memory [@addr, @addr + @len)
 * @addr: as the program passed it (an address only: never dereferenced, and
 *        so not a pointer to the compiler, which would take it for a read
 *        of what read(2) is about to write)
 * @len: bytes
 * @write: the kernel writes there (read(2), recv(2)), else reads there
 *         (write(2), send(2))
 * @call: the call's name, for the report
 *
 * The kernel cannot touch a watched page that has no rights: the call would
 * fail with EFAULT where it works without the sanitizer.  So the access is
 * judged as the CPU's would be, reported when it is outside a bracket (once
 * per site), and the pages are opened for it, as after a fault; rights come
 * back at the next bracket.  Called by the compat layer's interposers.
 */
void dmabuf_sanitizer_user_memory(uintptr_t addr, size_t len, bool write,
				  const char *call)
{
	uintptr_t a = addr, lo, hi;
	void *frames[MAX_FRAMES], **at = NULL;
	int depth = 0, saved_errno;
	struct san_map *m;

	if (!san.on || !len || a + len < a)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	for (m = san.maps; m < san.maps + MAX_MAPS; m++) {
		if (!m->buf || m->end <= a || m->start >= a + len ||
		    (write && !(m->prot & PROT_WRITE)))
			continue; /* not ours, or EFAULT as without us */
		if (!at)
			depth = program_frames(
				frames, backtrace(frames, MAX_FRAMES), &at);
		lo = a > m->start ? a : m->start;
		hi = a + len < m->end ? a + len : m->end;
		open_for_call_locked(m, lo, hi, write, call, at, depth);
	}
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}

/* ---- start and end ---- */

static void leaks_at_exit(void)
{
	void *frames[MAX_FRAMES], **at;
	char text[400];
	struct san_buffer *b;
	int depth, k;

	if (!san.on)
		return;
	depth = program_frames(frames, backtrace(frames, MAX_FRAMES), &at);
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		if (b->nr_open &&
		    !b->findings[SAN_BRACKET_LEAK]) /* once per buffer */
			report(b, SAN_BRACKET_LEAK, 0,
			       "  a CPU bracket is still open at exit", at,
			       depth);
	if (!san.stats && !san.total)
		return;
	say("==%d==dmabuf-sanitizer: %lu finding(s)\n", (int)getpid(),
	    san.total);
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		for (k = 0; k < SAN_NR_KINDS; k++)
			if (b->findings[k])
				say("  %-28s %u on buffer %s\n", kind_names[k],
				    b->findings[k],
				    buffer_text(b, text, sizeof(text)));
}

static void load_suppressions(const char *path)
{
	char line[256];
	FILE *f = REAL(fopen)(path, "re");

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
			/* A new file of ours only: a name planted there
			 * (a symlink to a victim's file) is refused. */
			snprintf(path, sizeof(path), "%s.%d", tok + 9,
				 (int)getpid());
			san.log_fd = REAL(open)(path,
						O_WRONLY | O_CREAT | O_EXCL |
							O_NOFOLLOW | O_CLOEXEC,
						0600);
			if (san.log_fd < 0) {
				int err = errno;

				san.log_fd = 2;
				say("dmabuf-sanitizer: log_path %s: %s; "
				    "reporting on stderr\n",
				    path, strerror(err));
			}
		} else
			say("dmabuf-sanitizer: unknown option '%s'\n", tok);
	}
}

/* Mappings of the mount made before we were loaded cannot be watched. */
static void check_not_late(void)
{
	char line[PATH_MAX + 128], *mnt = secure_getenv("DMABUF_MOUNT");
	FILE *f = REAL(fopen)("/proc/self/maps", "re");
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

/* Where this code is loaded, unless it is linked into the program. */
static uintptr_t own_object(void)
{
	Dl_info own, prog;

	if (!dladdr((void *)own_object, &own) ||
	    !dladdr((void *)getauxval(AT_ENTRY), &prog) ||
	    own.dli_fbase == prog.dli_fbase)
		return 0;
	return (uintptr_t)own.dli_fbase;
}

/**
 * dmabuf_sanitizer_start() - arm the sanitizer, once per process
 *
 * The constructor of every copy of libdmabuf in the process calls the
 * first definition of this function, so exactly one copy is armed.
 */
void dmabuf_sanitizer_start(void)
{
	struct sigaction sa = our_action();
	void *warm[2];

	if (san.started)
		return;
	san.started = true;
	parse_options(secure_getenv("DMABUF_SANITIZE_OPTIONS"));
	if (!REAL(sigaction) || !REAL(ioctl)) {
		say("dmabuf-sanitizer: cannot find libc's sigaction and ioctl "
		    "(a static program?): not armed\n");
		return;
	}
	san.own_base = own_object();
	backtrace(warm, 2); /* loads libgcc now, not in a signal handler */
	if (reporter_start() || REAL(sigaction)(SIGSEGV, &sa, &san.chained))
		return;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	san.on = true;
	check_not_late();
	atexit(leaks_at_exit);
}

__attribute__((constructor)) static void sanitizer_init(void)
{
	const char *on = secure_getenv("DMABUF_SANITIZE");
	void (*start)(void);

	if (!on || strcmp(on, "1"))
		return;
	start = (void (*)(void))dlsym(RTLD_DEFAULT, "dmabuf_sanitizer_start");
	(start ? start : dmabuf_sanitizer_start)();
}
