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

#include "san.h"

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

/**
 * dmabuf_sanitizer_prot() - the protection the program mapped @addr with
 * @addr: an address in a watched mapping of a buffer
 *
 * The sanitizer takes a mapping's pages away outside brackets; this is
 * what the program asked for, as /proc/self/maps would show it without
 * the sanitizer.
 *
 * Return: PROT_* bits, or -1 for an address no watched mapping holds.
 */
int dmabuf_sanitizer_prot(uintptr_t addr)
{
	struct san_map *m;
	int prot = -1;

	if (!san.on)
		return -1;
	pthread_mutex_lock(&san.lock);
	m = map_at(addr);
	if (m)
		prot = m->prot;
	pthread_mutex_unlock(&san.lock);
	return prot;
}

/* Does another fd of this process than @fd name inode @ino of @dev? */
static bool other_fd_of(int fd, dev_t dev, ino_t ino)
{
	DIR *d = REAL(opendir)("/proc/self/fd");
	struct dirent *e;
	struct stat st;
	bool found = false;
	int n;

	while (d && !found && (e = REAL(readdir)(d))) {
		n = atoi(e->d_name);
		found = e->d_name[0] != '.' && n != fd && n != dirfd(d) &&
			!REAL(fstat)(n, &st) && st.st_dev == dev &&
			st.st_ino == ino;
	}
	if (d)
		REAL(closedir)(d);
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

	if (!san.on || REAL(fstat)(fd, &st))
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
		report(open, SAN_BRACKET_LEAK, (uintptr_t)at[0], false,
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
 *
 * Each call is reported once: by the compat layer's ioctl() for a
 * program's own calls, by libdmabuf for its calls, which never go through
 * the layer's interposers (lib/libdmabuf/private.h).
 */
void dmabuf_sanitizer_ioctl(int fd, unsigned long req, const void *arg, int err)
{
	void *frames[MAX_FRAMES], **at;
	uint64_t start, end;
	struct san_buffer *b;
	int depth, saved_errno;
	bool is_end;
	uint32_t dir;

	if (!san.on || !arg || (err && err != EAGAIN) ||
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
			report(b, SAN_BRACKET_LEAK, 0, false,
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
