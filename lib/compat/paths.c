// SPDX-License-Identifier: MIT
/*
 * DOC: the compat layer's paths: where /dev/dma_heap and /dev/udmabuf are
 *
 * "/dev/dma_heap", "/dev/dma_heap/..." and "/dev/udmabuf", given to the
 * open, stat, access, readlink and realpath families and to opendir and
 * fopen, are redirected to the mount's device nodes (<mount>/.heaps/...,
 * <mount>/.udmabuf; see dmabuffs(8)).  Every other path passes through
 * untouched.  This file also says which mount the layer serves and whether
 * an fd is one of its files (compat_ours()); compat.c's ioctls and mmap
 * build on it, and it calls nothing of theirs.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "compat.h"

#define HEAP_DIR "/dev/dma_heap"
#define UDMABUF_DEV "/dev/udmabuf"

static struct {
	pthread_once_t once;
	char mount[PATH_MAX];
	size_t mount_len;
	dev_t dev; /* the mount's st_dev; 0 when there is no mount */
} compat = {.once = PTHREAD_ONCE_INIT};

static void compat_init(void)
{
	const char *mnt = dmabuf_mount_path();
	struct stat st;

	if (!REAL(realpath)(mnt, compat.mount) ||
	    REAL(stat)(compat.mount, &st) || !S_ISDIR(st.st_mode))
		return;
	compat.mount_len = strlen(compat.mount);
	compat.dev = st.st_dev;
}

static bool armed(void)
{
	pthread_once(&compat.once, compat_init);
	return compat.dev != 0;
}

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
	    strlen(norm) >= len || !armed())
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
	if (!armed())
		return orig;
	n = rest ? snprintf(buf, len, "%s/.heaps%s", compat.mount, rest)
		 : snprintf(buf, len, "%s/.udmabuf", compat.mount);
	return n > 0 && (size_t)n < len ? buf : orig;
}

/* ---- the path family ---- */

#define REDIRECT(path)                \
	char redirect_buf_[PATH_MAX]; \
	const char *redirected_ =     \
		compat_redirect(path, redirect_buf_, sizeof(redirect_buf_))

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
	REDIRECT(path);
	return REAL(open)(redirected_, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	REDIRECT(path);
	return REAL(open64)(redirected_, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	REDIRECT(path);
	return REAL(openat)(dirfd, redirected_, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	REDIRECT(path);
	return REAL(openat64)(dirfd, redirected_, flags, mode);
}

/* _FORTIFY_SOURCE's checked entry points. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	REDIRECT(path);
	return REAL(__open_2)(redirected_, flags);
}

int __open64_2(const char *path, int flags)
{
	REDIRECT(path);
	return REAL(__open64_2)(redirected_, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	REDIRECT(path);
	return REAL(__openat_2)(dirfd, redirected_, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	REDIRECT(path);
	return REAL(__openat64_2)(dirfd, redirected_, flags);
}

FILE *fopen(const char *path, const char *mode)
{
	REDIRECT(path);
	return REAL(fopen)(redirected_, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	REDIRECT(path);
	return REAL(fopen64)(redirected_, mode);
}

/* glibc's opendir() opens its directory internally, past open(). */
DIR *opendir(const char *path)
{
	REDIRECT(path);
	return REAL(opendir)(redirected_);
}

int stat(const char *restrict path, struct stat *restrict st)
{
	REDIRECT(path);
	return REAL(stat)(redirected_, st);
}

int stat64(const char *restrict path, struct stat64 *restrict st)
{
	REDIRECT(path);
	return REAL(stat64)(redirected_, st);
}

int lstat(const char *restrict path, struct stat *restrict st)
{
	REDIRECT(path);
	return REAL(lstat)(redirected_, st);
}

int lstat64(const char *restrict path, struct stat64 *restrict st)
{
	REDIRECT(path);
	return REAL(lstat64)(redirected_, st);
}

int fstatat(int dirfd, const char *restrict path, struct stat *restrict st,
	    int flags)
{
	REDIRECT(path);
	return REAL(fstatat)(dirfd, redirected_, st, flags);
}

int fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict st,
	      int flags)
{
	REDIRECT(path);
	return REAL(fstatat64)(dirfd, redirected_, st, flags);
}

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask,
	  struct statx *restrict stx)
{
	REDIRECT(path);
	return REAL(statx)(dirfd, redirected_, flags, mask, stx);
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
	return REAL(__xstat)(ver, redirected_, st);
}

int __xstat64(int ver, const char *path, struct stat64 *st)
{
	REDIRECT(path);
	return REAL(__xstat64)(ver, redirected_, st);
}

int __lxstat(int ver, const char *path, struct stat *st)
{
	REDIRECT(path);
	return REAL(__lxstat)(ver, redirected_, st);
}

int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	REDIRECT(path);
	return REAL(__lxstat64)(ver, redirected_, st);
}

int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	REDIRECT(path);
	return REAL(__fxstatat)(ver, dirfd, redirected_, st, flags);
}

int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags)
{
	REDIRECT(path);
	return REAL(__fxstatat64)(ver, dirfd, redirected_, st, flags);
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

ssize_t readlink(const char *restrict path, char *restrict buf, size_t len)
{
	REDIRECT(path);
	return REAL(readlink)(redirected_, buf, len);
}

ssize_t readlinkat(int dirfd, const char *restrict path, char *restrict buf,
		   size_t len)
{
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

/**
 * compat_mount() - the mount the layer serves ($DMABUF_MOUNT, else
 * /run/dmabuf), resolved; "" when there is none
 */
const char *compat_mount(void)
{
	armed();
	return compat.mount;
}

/**
 * compat_ours() - is @fd an open file of the mount?
 * @fd: any fd
 * @node: out: which node, e.g. "/.heaps/system" (may be NULL)
 * @len: room in @node
 *
 * Known by the open file itself (fstat(2), /proc/self/fd), never by its
 * number, so dup(2), fork(2) and SCM_RIGHTS keep working.
 */
bool compat_ours(int fd, char *node, size_t len)
{
	char link[64], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (!armed() || fstat(fd, &st) || st.st_dev != compat.dev)
		return false;
	if (!node)
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = REAL(readlink)(link, target, sizeof(target) - 1);
	if (n <= (ssize_t)compat.mount_len ||
	    strncmp(target, compat.mount, compat.mount_len))
		return false;
	target[n] = '\0';
	snprintf(node, len, "%s", target + compat.mount_len);
	return true;
}
