// SPDX-License-Identifier: MIT
/*
 * DOC: the compat layer's paths: where /dev/dma_heap and /dev/udmabuf are
 *
 * "/dev/dma_heap", "/dev/dma_heap/..." and "/dev/udmabuf", given to the
 * open, stat, access, readlink and realpath families and to opendir and
 * fopen, are redirected to the mount's device nodes (<mount>/.heaps/...,
 * <mount>/.udmabuf; see dmabuffs(8)), and so are the getxattr and
 * listxattr families' (ls -l asks them).  A stat of a heap or of
 * /dev/udmabuf says it is a character device.  /proc/self/fd/N and
 * /proc/self/fdinfo/N of the layer's own fds answer as the kernel's
 * (fds.c).  Every other path passes through untouched.  Builds on fds.c;
 * compat.c builds on it and it calls nothing of compat.c's.
 */
/* This file defines open() and friends: no fortified inline versions. */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "compat.h"

#define HEAP_DIR "/dev/dma_heap"
#define UDMABUF_DEV "/dev/udmabuf"

/**
 * compat_redirect() - where a path of the kernel's uapi lives in the mount
 * @path: what the program asked for
 * @buf: room for the answer
 * @len: its size
 *
 * A path is redirected when, with "//", "." and ".." taken out, it names
 * /dev/dma_heap, something in it, or /dev/udmabuf; "/dev/dma_heap/../null"
 * is /dev/null, as on the kernel (where /dev/dma_heap exists to walk
 * through), never the mount's buffer "null".
 *
 * Return: @path itself, or @buf holding the path in the mount.
 */
/*
 * @path with "//", "." and ".." taken out, lexically, as the kernel would
 * walk it in /dev (no symlinks there that matter here).  Return: @out, or
 * NULL when it does not fit.
 */
static const char *normalize(const char *path, char *out, size_t len)
{
	size_t o = 0, n;
	const char *c = path, *end;

	while (*c) {
		while (*c == '/')
			c++;
		end = strchrnul(c, '/');
		n = (size_t)(end - c);
		if (n == 2 && !strncmp(c, "..", 2)) {
			while (o && out[--o] != '/')
				;
		} else if (n && !(n == 1 && *c == '.')) {
			if (o + 1 + n >= len)
				return NULL;
			out[o++] = '/';
			memcpy(out + o, c, n);
			o += n;
		}
		c = end;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/*
 * @orig went into /dev/dma_heap and out again with "..": on the kernel the
 * walk passes through that directory, which exists there; here it does
 * not, so give the kernel the lexical result (/dev/dma_heap has no links
 * to make it differ).  Anything else is left as the program wrote it.
 */
static const char *walked_out(const char *orig, const char *norm, char *buf,
			      size_t len)
{
	char before[PATH_MAX], at[PATH_MAX];
	const char *dots = orig;
	size_t n = strlen(HEAP_DIR);

	/* Where the walk was when it met its first "..". */
	while ((dots = strstr(dots, "/..")) && dots[3] && dots[3] != '/')
		dots += 3;
	if (!dots || (size_t)(dots - orig) >= sizeof(before) ||
	    strlen(norm) >= len || !compat_armed())
		return orig;
	memcpy(before, orig, (size_t)(dots - orig));
	before[dots - orig] = '\0';
	if (!normalize(before, at, sizeof(at)) || strncmp(at, HEAP_DIR, n) ||
	    (at[n] && at[n] != '/'))
		return orig;
	return strcpy(buf, norm);
}

const char *compat_redirect(const char *path, char *buf, size_t len)
{
	char norm[PATH_MAX];
	const char *rest, *orig = path;
	int n;

	if (!path || path[0] != '/' || strncmp(path, "/dev/", 5))
		return path;
	/* Only what is really under /dev/dma_heap: not /dev/dma_heap/../x */
	path = normalize(path, norm, sizeof(norm));
	if (!path)
		return orig;
	if (!strncmp(path, HEAP_DIR, strlen(HEAP_DIR)) &&
	    (path[strlen(HEAP_DIR)] == '\0' || path[strlen(HEAP_DIR)] == '/'))
		rest = path + strlen(HEAP_DIR);
	else if (!strcmp(path, UDMABUF_DEV))
		rest = NULL;
	else
		return walked_out(orig, path, buf, len);
	if (!compat_armed())
		return orig;
	n = rest ? snprintf(buf, len, "%s/.heaps%s", compat_mount(), rest)
		 : snprintf(buf, len, "%s/.udmabuf", compat_mount());
	return n > 0 && (size_t)n < len ? buf : orig;
}

/* ---- the path family ---- */

#define REDIRECT(path)                \
	char redirect_buf_[PATH_MAX]; \
	const char *redirected_ =     \
		compat_redirect(path, redirect_buf_, sizeof(redirect_buf_))

/*
 * /proc/self/fd/N and /proc/self/fdinfo/N of our fds: fds.c answers;
 * /proc/self/maps and smaps: procmaps.c.
 */
static int proc_open(const char *path, int flags, bool *handled)
{
	int fd = compat_proc_open(path, flags, handled);

	return *handled ? fd : compat_maps_open(path, flags, handled);
}

#define PROC_OPEN(path, flags)                                         \
	do {                                                           \
		bool proc_;                                            \
		int proc_fd_ = proc_open(path, flags, &proc_);         \
		if (proc_)                                             \
			return proc_fd_ < 0 ? compat_fail(-proc_fd_)   \
					    : compat_opened(proc_fd_); \
	} while (0)

/* open(2) and friends take a mode only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags)                         \
	mode_t mode = 0;                        \
	if (__OPEN_NEEDS_MODE(flags)) {         \
		va_list ap;                     \
		va_start(ap, flags);            \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap);                     \
	}

int open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return compat_opened(REAL(open)(redirected_, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return compat_opened(REAL(open64)(redirected_, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return compat_opened(REAL(openat)(dirfd, redirected_, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return compat_opened(REAL(openat64)(dirfd, redirected_, flags, mode));
}

/* _FORTIFY_SOURCE's checked entry points. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return REAL(__open_2)(redirected_, flags);
}

int __open64_2(const char *path, int flags)
{
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return REAL(__open64_2)(redirected_, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return REAL(__openat_2)(dirfd, redirected_, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	PROC_OPEN(path, flags);
	REDIRECT(path);
	return REAL(__openat64_2)(dirfd, redirected_, flags);
}

/* fopen(3)'s mode as open(2)'s flags, for proc_open(). */
static int fopen_flags(const char *mode)
{
	int flags = strchr(mode, 'e') ? O_CLOEXEC : 0;

	if (strchr(mode, '+'))
		return flags | O_RDWR;
	return flags | (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
}

#define PROC_FOPEN(path, mode)                                               \
	do {                                                                 \
		bool proc_;                                                  \
		int proc_fd_ = proc_open(path, fopen_flags(mode), &proc_);   \
		if (proc_ && proc_fd_ < 0)                                   \
			errno = -proc_fd_;                                   \
		if (proc_)                                                   \
			return proc_fd_ < 0 ? NULL : fdopen(proc_fd_, mode); \
	} while (0)

FILE *fopen(const char *path, const char *mode)
{
	PROC_FOPEN(path, mode);
	REDIRECT(path);
	return REAL(fopen)(redirected_, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	PROC_FOPEN(path, mode);
	REDIRECT(path);
	return REAL(fopen64)(redirected_, mode);
}

/*
 * Streams of /dev/dma_heap: devtmpfs says DT_CHR of each entry, where the
 * mount's nodes are regular files, so readdir(3) says DT_CHR of theirs.
 * Few are open at once; past the table, an entry says DT_REG.
 */
#define HEAP_DIRS 16

static struct {
	pthread_mutex_t lock;
	DIR *dirs[HEAP_DIRS];
	unsigned int nr; /* read without the lock: 0, no stream to look for */
} heap_dirs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void heap_dir_track(DIR *d, bool add)
{
	unsigned int i;

	pthread_mutex_lock(&heap_dirs.lock);
	for (i = 0; i < HEAP_DIRS; i++) {
		if (heap_dirs.dirs[i] != (add ? NULL : d))
			continue;
		heap_dirs.dirs[i] = add ? d : NULL;
		__atomic_add_fetch(&heap_dirs.nr, add ? 1 : -1,
				   __ATOMIC_RELAXED);
		break;
	}
	pthread_mutex_unlock(&heap_dirs.lock);
}

static bool heap_dir(DIR *d)
{
	bool found = false;
	unsigned int i;

	if (!__atomic_load_n(&heap_dirs.nr, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&heap_dirs.lock);
	for (i = 0; i < HEAP_DIRS && !found; i++)
		found = heap_dirs.dirs[i] == d;
	pthread_mutex_unlock(&heap_dirs.lock);
	return found;
}

/* glibc's opendir() opens its directory internally, past open(). */
DIR *opendir(const char *path)
{
	REDIRECT(path);
	DIR *d = REAL(opendir)(redirected_);

	if (d && redirected_ != path)
		heap_dir_track(d, true);
	return d;
}

int closedir(DIR *d)
{
	if (heap_dir(d))
		heap_dir_track(d, false);
	return REAL(closedir)(d);
}

struct dirent *readdir(DIR *d)
{
	struct dirent *e = REAL(readdir)(d);

	if (e && e->d_type == DT_REG && heap_dir(d))
		e->d_type = DT_CHR;
	return e;
}

struct dirent64 *readdir64(DIR *d)
{
	struct dirent64 *e = REAL(readdir64)(d);

	if (e && e->d_type == DT_REG && heap_dir(d))
		e->d_type = DT_CHR;
	return e;
}

/* What the kernel would say of the node: see compat_kernel_mode(). */
#define STAT_FIX(st, of_fd)                                             \
	((st)->st_mode = compat_kernel_mode((st)->st_dev, (st)->st_ino, \
					    (st)->st_mode, of_fd))
/* fstatat(2)'s way of asking fstat(2): AT_EMPTY_PATH and "" (or NULL). */
static bool empty_path(const char *path)
{
	return !path || !*path;
}

#define OF_FD(path, flags) ((flags)&AT_EMPTY_PATH && empty_path(path))

/*
 * statfs(2) of /dev/dma_heap/... or /dev/udmabuf: the kernel's nodes are
 * devtmpfs's, so /dev's own, once the node exists.
 */
int statfs(const char *path, struct statfs *f)
{
	struct stat st;

	REDIRECT(path);
	if (redirected_ == path)
		return REAL(statfs)(path, f);
	return REAL(stat)(redirected_, &st) ? -1 : REAL(statfs)("/dev", f);
}

int statfs64(const char *path, struct statfs64 *f)
{
	struct stat st;

	REDIRECT(path);
	if (redirected_ == path)
		return REAL(statfs64)(path, f);
	return REAL(stat)(redirected_, &st) ? -1 : REAL(statfs64)("/dev", f);
}

int stat(const char *restrict path, struct stat *restrict st)
{
	REDIRECT(path);
	int ret = REAL(stat)(redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int stat64(const char *restrict path, struct stat64 *restrict st)
{
	REDIRECT(path);
	int ret = REAL(stat64)(redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int lstat(const char *restrict path, struct stat *restrict st)
{
	REDIRECT(path);
	int ret = REAL(lstat)(redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int lstat64(const char *restrict path, struct stat64 *restrict st)
{
	REDIRECT(path);
	int ret = REAL(lstat64)(redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int fstatat(int dirfd, const char *restrict path, struct stat *restrict st,
	    int flags)
{
	REDIRECT(path);
	int ret = REAL(fstatat)(dirfd, redirected_, st, flags);

	if (!ret)
		STAT_FIX(st, OF_FD(path, flags));
	return ret;
}

int fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict st,
	      int flags)
{
	REDIRECT(path);
	int ret = REAL(fstatat64)(dirfd, redirected_, st, flags);

	if (!ret)
		STAT_FIX(st, OF_FD(path, flags));
	return ret;
}

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask,
	  struct statx *restrict stx)
{
	REDIRECT(path);
	int ret = REAL(statx)(dirfd, redirected_, flags, mask, stx);

	if (!ret)
		stx->stx_mode = (__u16)compat_kernel_mode(
			makedev(stx->stx_dev_major, stx->stx_dev_minor),
			stx->stx_ino, stx->stx_mode, OF_FD(path, flags));
	return ret;
}

/* Binaries built against glibc before 2.33 call these. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
	       int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags);

int __xstat(int ver, const char *path, struct stat *st)
{
	REDIRECT(path);
	int ret = REAL(__xstat)(ver, redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int __xstat64(int ver, const char *path, struct stat64 *st)
{
	REDIRECT(path);
	int ret = REAL(__xstat64)(ver, redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int __lxstat(int ver, const char *path, struct stat *st)
{
	REDIRECT(path);
	int ret = REAL(__lxstat)(ver, redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	REDIRECT(path);
	int ret = REAL(__lxstat64)(ver, redirected_, st);

	if (!ret)
		STAT_FIX(st, false);
	return ret;
}

int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	REDIRECT(path);
	int ret = REAL(__fxstatat)(ver, dirfd, redirected_, st, flags);

	if (!ret)
		STAT_FIX(st, OF_FD(path, flags));
	return ret;
}

int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags)
{
	REDIRECT(path);
	int ret = REAL(__fxstatat64)(ver, dirfd, redirected_, st, flags);

	if (!ret)
		STAT_FIX(st, OF_FD(path, flags));
	return ret;
}

int access(const char *path, int how)
{
	REDIRECT(path);
	return REAL(access)(redirected_, how);
}

int faccessat(int dirfd, const char *path, int how, int flags)
{
	REDIRECT(path);
	return REAL(faccessat)(dirfd, redirected_, how, flags);
}

int euidaccess(const char *path, int how)
{
	REDIRECT(path);
	return REAL(euidaccess)(redirected_, how);
}

int eaccess(const char *path, int how)
{
	REDIRECT(path);
	return REAL(eaccess)(redirected_, how);
}

/* /proc/self/fd/N of our fds: fds.c answers. */
#define PROC_READLINK(path, buf, len)                                 \
	do {                                                          \
		bool proc_;                                           \
		ssize_t proc_n_ =                                     \
			compat_proc_readlink(path, buf, len, &proc_); \
		if (proc_)                                            \
			return proc_n_;                               \
	} while (0)

ssize_t readlink(const char *restrict path, char *restrict buf, size_t len)
{
	PROC_READLINK(path, buf, len);
	REDIRECT(path);
	return REAL(readlink)(redirected_, buf, len);
}

ssize_t readlinkat(int dirfd, const char *restrict path, char *restrict buf,
		   size_t len)
{
	PROC_READLINK(path, buf, len);
	REDIRECT(path);
	return REAL(readlinkat)(dirfd, redirected_, buf, len);
}

/*
 * On the kernel these are real paths: they resolve to themselves, not to
 * where the layer keeps them.
 */
char *realpath(const char *restrict path, char *restrict resolved)
{
	REDIRECT(path);
	char *out;

	if (redirected_ == path)
		return REAL(realpath)(path, resolved);
	out = REAL(realpath)(redirected_, NULL);
	if (!out)
		return NULL;
	free(out);
	if (!resolved)
		return strdup(path);
	return strcpy(resolved, path);
}

char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* ls -l asks for a file's ACL and security label: the node's own answer. */
ssize_t getxattr(const char *path, const char *name, void *value, size_t len)
{
	REDIRECT(path);
	return REAL(getxattr)(redirected_, name, value, len);
}

ssize_t lgetxattr(const char *path, const char *name, void *value, size_t len)
{
	REDIRECT(path);
	return REAL(lgetxattr)(redirected_, name, value, len);
}

ssize_t listxattr(const char *path, char *list, size_t len)
{
	REDIRECT(path);
	return REAL(listxattr)(redirected_, list, len);
}

ssize_t llistxattr(const char *path, char *list, size_t len)
{
	REDIRECT(path);
	return REAL(llistxattr)(redirected_, list, len);
}
