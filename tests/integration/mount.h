/* SPDX-License-Identifier: MIT */
/*
 * DOC: integration test harness
 *
 * Each test mounts its own dmabuffs in a fresh temporary directory and
 * unmounts it in the suite's fini, which criterion runs after a failed
 * assertion too: fusermount3 -u, then -u -z, then SIGTERM and SIGKILL to the
 * daemon.  A test process that crashes outright takes its daemon with it
 * (PR_SET_PDEATHSIG), and tests/run-tests sweeps for anything left.
 * Waits poll a condition against a deadline; none sleeps blindly.
 */
#ifndef DMABUF_TEST_MOUNT_H
#define DMABUF_TEST_MOUNT_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/uapi.h>
#include <poll.h>

/* Paths are under /tmp/dmabuffs-test.XXXXXX: short by construction. */
struct test_mount {
	char dir[64];
	char mp[128];
	char log[128];
	pid_t pid;
};

static struct test_mount M;
/* The mount point's name in M.dir; a test may choose another first. */
static const char *mount_subdir = "mnt";

static inline const char *build_path(const char *rel)
{
	static char path[PATH_MAX * 2];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_lt(
		snprintf(path, sizeof(path), "%s/../../%s", dirname(exe), rel),
		(int)sizeof(path));
	return path;
}

/* dmabufctl's path, in a buffer of its own (build_path() has one). */
static inline const char *ctl_path(void)
{
	static char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s", build_path("tools/dmabufctl"));
	return path;
}

/* A program of tests/compat, in a buffer of its own as well. */
static inline const char *compat_prog(const char *name)
{
	static char path[PATH_MAX * 2];
	char rel[64];

	snprintf(rel, sizeof(rel), "tests/compat/%s", name);
	snprintf(path, sizeof(path), "%s", build_path(rel));
	return path;
}

static inline bool is_mounted(const char *mp)
{
	char line[PATH_MAX * 2], needle[4 * PATH_MAX + 3];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "re");
	size_t n = 1;

	/* The kernel writes a space in a path as \040. */
	needle[0] = ' ';
	for (; *mp && n < sizeof(needle) - 6; mp++)
		n += (size_t)(*mp == ' ' ? sprintf(needle + n, "\\040")
					 : sprintf(needle + n, "%c", *mp));
	strcpy(needle + n, " ");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Poll @cond every millisecond until true or @seconds pass. */
#define WAIT_FOR(cond, seconds)                                          \
	({                                                               \
		double _end = now_s() + (seconds);                       \
		bool _ok;                                                \
		while (!(_ok = (cond)) && now_s() < _end)                \
			nanosleep(&(struct timespec){0, 1000000}, NULL); \
		_ok;                                                     \
	})

/*
 * Run shell command @cmd; its output (stdout and stderr) in @out.
 * Return: its exit status, or -1 if it did not exit.
 */
static inline int capture(const char *cmd, char *out, size_t len)
{
	char full[PATH_MAX * 8];
	FILE *p;
	size_t n;
	int st;

	cr_assert_lt(snprintf(full, sizeof(full), "%s 2>&1", cmd),
		     (int)sizeof(full));
	p = popen(full, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void show_log(void)
{
	char cmd[PATH_MAX + 16];

	if (snprintf(cmd, sizeof(cmd), "cat '%s' >&2", M.log) >=
		    (int)sizeof(cmd) ||
	    system(cmd))
		return;
}

/*
 * Mount options for one test, plus $DMABUF_TEST_OPTS (make check runs some
 * suites again with passthrough=off that way).
 */
static inline const char *with_test_opts(const char *opts)
{
	static char all[1024];
	const char *extra = getenv("DMABUF_TEST_OPTS");

	opts = opts && *opts ? opts : "cma_size=64M";
	if (!extra || !*extra)
		return opts;
	cr_assert_lt(snprintf(all, sizeof(all), "%s,%s", opts, extra),
		     (int)sizeof(all));
	return all;
}

static inline void mount_with(const char *opts)
{
	int status;

	snprintf(M.dir, sizeof(M.dir), "/tmp/dmabuffs-test.XXXXXX");
	cr_assert_not_null(mkdtemp(M.dir));
	chmod(M.dir, 0755);
	cr_assert_lt(snprintf(M.mp, sizeof(M.mp), "%s/%s", M.dir, mount_subdir),
		     (int)sizeof(M.mp));
	cr_assert_lt(snprintf(M.log, sizeof(M.log), "%s/daemon.log", M.dir),
		     (int)sizeof(M.log));
	cr_assert_eq(mkdir(M.mp, 0755), 0);
	M.pid = fork();
	cr_assert_geq(M.pid, 0);
	if (M.pid == 0) {
		int fd = open(M.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fd, 2);
		opts = with_test_opts(opts);
		/* DMABUF_VALGRIND=1: the daemon under memcheck; errors fail. */
		if (getenv("DMABUF_VALGRIND"))
			execlp("valgrind", "valgrind", "--quiet",
			       "--error-exitcode=99", "--leak-check=full",
			       "--errors-for-leak-kinds=definite",
			       build_path("fs/dmabuffs"), "-f", "-o", opts,
			       M.mp, (char *)NULL);
		else
			execl(build_path("fs/dmabuffs"), "dmabuffs", "-f", "-o",
			      opts, M.mp, (char *)NULL);
		_exit(127);
	}
	if (!WAIT_FOR(is_mounted(M.mp) ||
			      waitpid(M.pid, &status, WNOHANG) == M.pid,
		      60) ||
	    !is_mounted(M.mp)) {
		show_log();
		cr_assert_fail("dmabuffs did not mount %s", M.mp);
	}
}

static inline void mount_default(void)
{
	mount_with(NULL);
}

static inline void run_quiet(const char *fmt, const char *arg)
{
	char cmd[PATH_MAX + 64];

	if (snprintf(cmd, sizeof(cmd), fmt, arg) >= (int)sizeof(cmd) ||
	    system(cmd) < 0)
		return;
}

/*
 * Unmount and reap the daemon; fail the test if it did not exit cleanly
 * (a sanitizer report in the daemon exits non-zero).
 */
static inline void unmount_all(void)
{
	bool clean = true;
	int status = 0;

	if (!M.pid) {
		/* A test that killed the daemon and then failed: its dead
		 * mount must not outlive it either. */
		if (M.mp[0] && is_mounted(M.mp))
			run_quiet("fusermount3 -u -z '%s' 2>/dev/null", M.mp);
		if (M.dir[0]) /* nor its directory and log */
			run_quiet("rm -rf '%s'", M.dir);
		return;
	}
	run_quiet("fusermount3 -u '%s' 2>/dev/null", M.mp);
	if (is_mounted(M.mp))
		run_quiet("fusermount3 -u -z '%s' 2>/dev/null", M.mp);
	if (!WAIT_FOR(waitpid(M.pid, &status, WNOHANG) == M.pid, 10)) {
		clean = false;
		kill(M.pid, SIGTERM);
		if (!WAIT_FOR(waitpid(M.pid, &status, WNOHANG) == M.pid, 5)) {
			kill(M.pid, SIGKILL);
			waitpid(M.pid, &status, 0);
		}
	}
	M.pid = 0;
	clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!clean)
		show_log();
	run_quiet("rm -rf '%s'", M.dir);
	cr_assert(clean, "dmabuffs did not exit cleanly (status %#x)", status);
}

static inline const char *at(const char *name)
{
	static char paths[4][PATH_MAX + 64];
	static int next;
	char *p = paths[next++ % 4];

	cr_assert_lt(snprintf(p, PATH_MAX + 64, "%s/%s", M.mp, name),
		     PATH_MAX + 64);
	return p;
}

/* Run a shell command with MNT set to the mount point. */
static inline int sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "MNT='%s'; ", M.mp);

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	n = system(cmd);
	return WIFEXITED(n) ? WEXITSTATUS(n) : -1;
}

static inline char *slurp(const char *path)
{
	static char text[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n, len = 0;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, text + len, sizeof(text) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	text[len] = '\0';
	return text;
}

/* A counter of the mount's .stats. */
static inline unsigned long long stat_of(const char *key)
{
	char *text = slurp(at(".stats")), needle[64], *p;

	snprintf(needle, sizeof(needle), "\n%s ", key);
	/* The first line has no newline before it. */
	if (!strncmp(text, needle + 1, strlen(needle + 1)))
		return strtoull(text + strlen(needle + 1), NULL, 10);
	p = strstr(text, needle);
	cr_assert_not_null(p, "no %s in .stats", key);
	return strtoull(p + strlen(needle), NULL, 10);
}

static inline int new_buffer(const char *name, const char *heap, uint64_t size,
			     int flags)
{
	struct dmabuf_export e = {.size = size};
	int fd = open(at(name), O_RDWR | O_CREAT | O_EXCL | flags, 0644);

	cr_assert_geq(fd, 0, "create %s: %s", name, strerror(errno));
	if (heap)
		strcpy(e.heap, heap);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), 0, "export: %s",
		     strerror(errno));
	return fd;
}

static inline uint64_t do_attach(int fd, const char *dev)
{
	struct dmabuf_attach a = {0};

	strcpy(a.device, dev);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &a), 0, "attach %s: %s",
		     dev, strerror(errno));
	return a.attach_id;
}

static inline uint32_t do_map(int fd, uint64_t id, uint32_t dir)
{
	struct dmabuf_map m = {.attach_id = id, .dir = dir};

	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_MAP, &m), 0, "map: %s",
		     strerror(errno));
	return m.nents;
}

static inline void do_unmap(int fd, uint64_t id)
{
	struct dmabuf_attach_ref r = {.attach_id = id};

	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_UNMAP, &r), 0, "unmap: %s",
		     strerror(errno));
}

static inline int sync_buf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* Does the mount serve buffer bytes through FUSE passthrough? */
static inline bool passthrough_on(void)
{
	return strstr(slurp(at(".stats")), "\npassthrough on\n") != NULL;
}

static inline struct dmabuf_info info_of(int fd)
{
	struct dmabuf_info i;

	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_INFO, &i), 0);
	return i;
}

#endif
