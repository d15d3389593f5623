// SPDX-License-Identifier: MIT
/*
 * DOC: /proc/PID/fd and /proc/PID/fdinfo, as the kernel shows a dma-buf
 *
 * Where the kernel shows its own dma-buf, heap, udmabuf or sync_file, a
 * program under the layer sees the kernel's text of the mount's files:
 *
 *  - readlink(2) of /proc/PID/fd/N: /dev/dma_heap/NAME, /dev/udmabuf,
 *    /dmabuf:NAME, anon_inode:sync_file.  Opening it is ENXIO for a
 *    buffer or a sync_file.
 *  - /proc/PID/fdinfo/N of a buffer: the kernel's pos and flags, then
 *    size, count, exp_name and name; of a sync_file, pos and flags.
 *
 * PID is self, thread-self, this process's own or another's: tools that
 * account dma-buf memory (Android's dmabuf_dump, lsfd) read every
 * process's.  Another's fds are known by stat(2) of their links, which
 * the kernel allows where it allows their fdinfo (ptrace read access);
 * /dev/fd/N is this process's.  count sees the references of that one
 * process: its fds that share the open file (kcmp(2)) and its mappings.
 *
 * Built on fds.c (what an fd is) and views.c; paths.c calls it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../libdmabuf/private.h"

#include "compat.h"

/**
 * compat_proc_pid() - what follows /proc/PID/ in @path, and whose it is
 * @path: any path
 * @pid: out: the process; this one's for self and thread-self
 *
 * Return: the rest of @path, or NULL when it is not under /proc/PID/.
 */
const char *compat_proc_pid(const char *path, pid_t *pid)
{
	const char *p;
	char *end;
	long n;

	if (strncmp(path, "/proc/", 6))
		return NULL;
	p = path + 6;
	*pid = getpid();
	if (!strncmp(p, "self/", 5))
		return p + 5;
	if (!strncmp(p, "thread-self/", 12))
		return p + 12;
	if (*p < '1' || *p > '9')
		return NULL;
	n = strtol(p, &end, 10);
	if (*end != '/' || n <= 0 || n > INT_MAX)
		return NULL;
	*pid = (pid_t)n;
	return end + 1;
}

/* An fd of a process: this one's (@self) or another's. */
struct proc_fd {
	pid_t pid;
	int fd;
	bool self;
};

/*
 * Is @path /proc/PID/@what/N, or for "fd" also /dev/fd/N (the kernel
 * follows /dev/fd to /proc/self/fd)?
 */
static bool proc_fd_path(const char *path, const char *what, struct proc_fd *p)
{
	const char *rest;
	size_t n;
	int end = 0;

	if (!strcmp(what, "fd") &&
	    sscanf(path, "/dev/fd/%d%n", &p->fd, &end) == 1) {
		p->pid = getpid();
		p->self = true;
		return !path[end] && p->fd >= 0;
	}
	rest = compat_proc_pid(path, &p->pid);
	if (!rest)
		return false;
	p->self = p->pid == getpid();
	n = strlen(what);
	if (strncmp(rest, what, n) || rest[n] != '/')
		return false;
	rest += n + 1;
	return *rest >= '0' && *rest <= '9' &&
	       sscanf(rest, "%d%n", &p->fd, &end) == 1 && !rest[end];
}

/* What @p is; its stat(2) in @st, as the mount reports it. */
static enum compat_kind proc_fd_kind(const struct proc_fd *p, struct stat *st)
{
	char link[64];

	if (p->self)
		return compat_fd_kind(p->fd, st);
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)p->pid, p->fd);
	if (!compat_armed() || REAL(stat)(link, st))
		return COMPAT_NOT_OURS;
	return compat_kind_of(st->st_dev, st->st_ino, st->st_mode);
}

/* The buffer's exporter and name, from the daemon. */
static int buffer_info(const struct proc_fd *p, const struct stat *st,
		       struct dmabuf_info *info)
{
	memset(info, 0, sizeof(*info));
	return p->self ? dmabuf_info(p->fd, info)
		       : dmabuf_info_by_ino(compat_mount(), st->st_ino, info);
}

/* The heap @p is, by the node its link names: "" when none. */
static void heap_name(const struct proc_fd *p, char *out, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *mnt = compat_mount();
	size_t m = strlen(mnt);
	ssize_t n;

	out[0] = '\0';
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)p->pid, p->fd);
	n = REAL(readlink)(link, target, sizeof(target) - 1);
	if (n <= (ssize_t)m + 8)
		return;
	target[n] = '\0';
	if (!strncmp(target, mnt, m) && !strncmp(target + m, "/.heaps/", 8))
		snprintf(out, len, "%s", target + m + 8);
}

/* What /proc/PID/fd/N links to on the kernel; "" when the layer has no
 * say (not ours, or a node that is no device). */
static void kernel_link(const struct proc_fd *p, char *out, size_t len)
{
	struct dmabuf_info info;
	char heap[NAME_MAX + 1];
	struct stat st;

	out[0] = '\0';
	switch (proc_fd_kind(p, &st)) {
	case COMPAT_HEAP:
		heap_name(p, heap, sizeof(heap));
		if (heap[0])
			snprintf(out, len, "/dev/dma_heap/%s", heap);
		break;
	case COMPAT_UDMABUF:
		snprintf(out, len, "/dev/udmabuf");
		break;
	case COMPAT_SYNC_FILE:
		snprintf(out, len, "anon_inode:sync_file");
		break;
	case COMPAT_BUFFER:
		if (!buffer_info(p, &st, &info))
			snprintf(out, len, "/dmabuf:%.*s",
				 (int)sizeof(info.name), info.name);
		break;
	default:
		break;
	}
}

/**
 * compat_proc_readlink() - readlink(2) of /proc/PID/fd/N, as the kernel
 * @path: the path asked for
 * @buf: as readlink(2)
 * @len: as readlink(2)
 * @handled: out: whether the answer is this one
 *
 * Return: as readlink(2), when *@handled.
 */
ssize_t compat_proc_readlink(const char *path, char *buf, size_t len,
			     bool *handled)
{
	char target[PATH_MAX];
	struct proc_fd p;
	size_t n;

	*handled = false;
	if (!path || !proc_fd_path(path, "fd", &p))
		return 0;
	kernel_link(&p, target, sizeof(target));
	if (!target[0])
		return 0;
	*handled = true;
	n = strlen(target);
	if (n > len)
		n = len;
	memcpy(buf, target, n);
	return (ssize_t)n;
}

/* Do fds @a and @b of @pid share one open file?  Without kcmp(2), yes. */
static bool shares_file(pid_t pid, int a, int b)
{
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);

	return r == 0 || (r < 0 && (errno == ENOSYS || errno == EPERM));
}

/*
 * Does the line of maps at @lo..@hi, naming @path, hold the buffer @st?
 * A mapping of its file does; so does one of the views this process made
 * of its memfds (views.c), once per view, as one kernel mapping would.
 */
static bool maps_ref(const struct proc_fd *p, unsigned long lo,
		     unsigned long hi, dev_t dev, unsigned long ino,
		     const char *path, const struct stat *st, int *last_view)
{
	struct compat_view v;
	int i;

	if (dev == st->st_dev && ino == st->st_ino)
		return true;
	if (!p->self || !strstr(path, " /memfd:"))
		return false;
	i = compat_view_of(lo, hi, &v);
	if (i < 0 || i == *last_view || v.dev != st->st_dev ||
	    v.ino != st->st_ino)
		return false;
	*last_view = i; /* a view's lines come one after the other */
	return true;
}

/* Is entry @n of @p's fd directory (@d) the buffer @st? */
static bool same_buffer(const struct proc_fd *p, DIR *d, int n,
			const struct stat *st)
{
	char link[64];
	struct stat o;

	if (p->self) {
		if (n == dirfd(d) || REAL(fstat)(n, &o))
			return false;
	} else {
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)p->pid, n);
		if (REAL(stat)(link, &o))
			return false;
	}
	return o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

/*
 * The kernel's f_count less procfs's own reference: the process's fds
 * that share the open file, and its mappings of the buffer (each holds
 * the file).  Other processes' references are not seen from here.
 */
static unsigned int count_refs(const struct proc_fd *p, const struct stat *st)
{
	unsigned long lo, hi, off, ino;
	unsigned int count = 0, maj, min;
	char line[PATH_MAX + 128];
	int last_view = -1;
	struct dirent *e;
	DIR *d;
	FILE *f;

	snprintf(line, sizeof(line), "/proc/%d/fd", (int)p->pid);
	d = REAL(opendir)(line);
	while (d && (e = REAL(readdir)(d))) {
		int n = atoi(e->d_name);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    !same_buffer(p, d, n, st))
			continue;
		if (n == p->fd || shares_file(p->pid, p->fd, n))
			count++;
	}
	if (d)
		REAL(closedir)(d);
	snprintf(line, sizeof(line), "/proc/%d/maps", (int)p->pid);
	f = REAL(fopen)(line, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &lo, &hi, &off,
			   &maj, &min, &ino) == 6 &&
		    maps_ref(p, lo, hi, makedev(maj, min), ino, line, st,
			     &last_view))
			count++;
	if (f)
		fclose(f);
	return count;
}

/* The kernel's fdinfo of buffer or sync_file @p, in a memfd. */
static int kernel_fdinfo(const struct proc_fd *p, enum compat_kind kind,
			 const struct stat *st, int flags)
{
	char path[64], line[256];
	struct dmabuf_info info;
	unsigned int fl;
	FILE *in, *out;
	int mfd, err;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)p->pid, p->fd);
	in = REAL(fopen)(path, "re");
	if (!in)
		return -errno; /* the kernel's say: gone, or not ours to read */
	mfd = memfd_create("fdinfo", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (mfd < 0) {
		err = -errno;
		fclose(in);
		return err;
	}
	out = fdopen(REAL(dup)(mfd), "w");
	while (out && fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "pos:", 4))
			fputs("pos:\t0\n", out); /* a dma-buf never moves */
		else if (sscanf(line, "flags: %o", &fl) == 1)
			fprintf(out, "flags:\t0%o\n", /* made, not opened */
				fl & ~(unsigned int)KERNEL_O_LARGEFILE);
		else
			fputs(line, out);
	}
	fclose(in);
	if (out && kind == COMPAT_BUFFER && !buffer_info(p, st, &info)) {
		fprintf(out, "size:\t%llu\ncount:\t%u\nexp_name:\t%.*s\n",
			(unsigned long long)st->st_size, count_refs(p, st),
			(int)sizeof(info.heap), info.heap);
		if (info.name[0])
			fprintf(out, "name:\t%.*s\n", (int)sizeof(info.name),
				info.name);
	}
	if (!out || fclose(out)) {
		REAL(close)(mfd);
		return -EIO;
	}
	lseek(mfd, 0, SEEK_SET);
	return mfd;
}

/**
 * compat_proc_open() - open(2) of /proc/PID/fdinfo/N or /proc/PID/fd/N
 * @path: the path asked for
 * @flags: open(2)'s flags
 * @handled: out: whether the answer is this one
 *
 * fdinfo of a buffer or sync_file is the kernel's text, in a memfd;
 * reopening a buffer or sync_file through its link is ENXIO.
 *
 * Return: an fd or -errno, when *@handled.
 */
int compat_proc_open(const char *path, int flags, bool *handled)
{
	enum compat_kind kind;
	struct proc_fd p;
	struct stat st;

	*handled = false;
	if (!path || (path[0] != '/' || (path[1] != 'p' && path[1] != 'd')))
		return 0;
	if (proc_fd_path(path, "fdinfo", &p)) {
		kind = proc_fd_kind(&p, &st);
		if (kind != COMPAT_BUFFER && kind != COMPAT_SYNC_FILE)
			return 0;
		*handled = true;
		if ((flags & O_ACCMODE) != O_RDONLY)
			return -EACCES;
		return kernel_fdinfo(&p, kind, &st, flags);
	}
	if (proc_fd_path(path, "fd", &p)) {
		kind = proc_fd_kind(&p, &st);
		*handled = kind == COMPAT_BUFFER || kind == COMPAT_SYNC_FILE;
		return -ENXIO;
	}
	return 0;
}
