// SPDX-License-Identifier: MIT
/*
 * DOC: the layer's fds: which are the mount's, and what the kernel shows
 *      of them
 *
 * Which mount the layer serves ($DMABUF_MOUNT, else /run/dmabuf), and what
 * an fd is: one of its buffers, a heap, .udmabuf, a sync_file or another
 * node.  Known from fstat(2) alone, by the inode numbers <dmabuf/uapi.h>
 * fixes, never by the fd's number, so dup(2), fork(2) and SCM_RIGHTS keep
 * working.
 *
 * And what a program sees of such an fd where the kernel shows its own
 * dma-buf, heap, udmabuf or sync_file (dmabuf-compat(7)):
 *
 *  - fstat(2): a heap and /dev/udmabuf are character devices; a buffer or
 *    a sync_file has no file type bits, as an anonymous inode.
 *  - ftruncate(2) and fsync(2) are EINVAL, fallocate(2) ENODEV.
 *  - fstatfs(2): the dmabuf or anon_inode pseudo file system, or /dev's;
 *    F_GETFL without O_LARGEFILE; no extended attributes.
 *  - epoll(7) refuses a device node; sendfile(2), splice(2) and
 *    copy_file_range(2) move no bytes of what has no read(2).
 *
 * What /proc shows of them is procfd.c's and procmaps.c's.  paths.c,
 * compat.c and those build on this file; it calls none of them.
 */
/* This file defines fstat() and friends: no fortified inline versions. */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>
#include <linux/close_range.h>

#include "../libdmabuf/private.h"

#include "compat.h"

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

/** compat_armed() - is there a mount to serve? */
bool compat_armed(void)
{
	pthread_once(&compat.once, compat_init);
	return compat.dev != 0;
}

/**
 * compat_mount() - the mount the layer serves ($DMABUF_MOUNT, else
 * /run/dmabuf), resolved; "" when there is none
 */
const char *compat_mount(void)
{
	compat_armed();
	return compat.mount;
}

/**
 * compat_kind_of() - what a file of the mount is, by its inode
 * @dev: its st_dev
 * @ino: its st_ino
 * @mode: its st_mode, as the mount reports it
 */
enum compat_kind compat_kind_of(dev_t dev, ino_t ino, mode_t mode)
{
	if (!compat_armed() || dev != compat.dev)
		return COMPAT_NOT_OURS;
	if (ino >= DMABUF_INO_HEAP_BASE &&
	    ino < DMABUF_INO_HEAP_BASE + DMABUF_INO_MAX_HEAPS)
		return COMPAT_HEAP;
	if (ino == DMABUF_INO_UDMABUF)
		return COMPAT_UDMABUF;
	if (ino == DMABUF_INO_SYNC_FILE)
		return COMPAT_SYNC_FILE;
	if (!(ino & DMABUF_INO_NODE) && S_ISREG(mode))
		return COMPAT_BUFFER;
	return COMPAT_NODE;
}

/**
 * compat_fd_kind() - what @fd is
 * @fd: any fd
 * @st: out, may be NULL: its fstat(2), as the mount reports it
 *
 * Return: COMPAT_NOT_OURS for an fd that is not the mount's, or a bad one.
 */
enum compat_kind compat_fd_kind(int fd, struct stat *st)
{
	struct stat local;

	if (!st)
		st = &local;
	if (fd < 0 || !compat_armed() || REAL(fstat)(fd, st))
		return COMPAT_NOT_OURS;
	return compat_kind_of(st->st_dev, st->st_ino, st->st_mode);
}

/**
 * compat_ours() - is @fd an open file of the mount?
 * @fd: any fd
 * @node: out: which node, e.g. "/.heaps/system" (may be NULL)
 * @len: room in @node
 */
bool compat_ours(int fd, char *node, size_t len)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (compat_fd_kind(fd, NULL) == COMPAT_NOT_OURS)
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

/**
 * compat_kernel_mode() - st_mode as the kernel shows it
 * @dev: st_dev
 * @ino: st_ino
 * @mode: st_mode from the mount
 * @of_fd: the stat of an fd (fstat(2)), not of a path
 *
 * A heap and .udmabuf are character devices.  A buffer or sync_file fd
 * has no type bits, as an anonymous inode; the same buffer stat(2)ed by
 * its path in the mount stays a regular file.
 */
mode_t compat_kernel_mode(dev_t dev, ino_t ino, mode_t mode, bool of_fd)
{
	switch (compat_kind_of(dev, ino, mode)) {
	case COMPAT_HEAP:
	case COMPAT_UDMABUF:
		return S_IFCHR | (mode & 07777);
	case COMPAT_SYNC_FILE:
		return of_fd ? 0600 : mode;
	case COMPAT_BUFFER:
		return of_fd ? mode & 07777 : mode;
	default:
		return mode;
	}
}

/* ---- calls on fds ---- */

/* A buffer or sync_file: what the kernel's anonymous files refuse. */
static bool dma_buf_file(int fd)
{
	enum compat_kind kind = compat_fd_kind(fd, NULL);

	return kind == COMPAT_BUFFER || kind == COMPAT_SYNC_FILE;
}

int fstat(int fd, struct stat *st)
{
	int ret = REAL(fstat)(fd, st);

	if (!ret)
		st->st_mode = compat_kernel_mode(st->st_dev, st->st_ino,
						 st->st_mode, true);
	return ret;
}

int fstat64(int fd, struct stat64 *st)
{
	int ret = REAL(fstat64)(fd, st);

	if (!ret)
		st->st_mode = compat_kernel_mode(st->st_dev, st->st_ino,
						 st->st_mode, true);
	return ret;
}

/* Binaries built against glibc before 2.33 call these. */
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);

int __fxstat(int ver, int fd, struct stat *st)
{
	int ret = REAL(__fxstat)(ver, fd, st);

	if (!ret)
		st->st_mode = compat_kernel_mode(st->st_dev, st->st_ino,
						 st->st_mode, true);
	return ret;
}

int __fxstat64(int ver, int fd, struct stat64 *st)
{
	int ret = REAL(__fxstat64)(ver, fd, st);

	if (!ret)
		st->st_mode = compat_kernel_mode(st->st_dev, st->st_ino,
						 st->st_mode, true);
	return ret;
}

int ftruncate(int fd, off_t len)
{
	return dma_buf_file(fd) ? compat_fail(EINVAL)
				: REAL(ftruncate)(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	return dma_buf_file(fd) ? compat_fail(EINVAL)
				: REAL(ftruncate64)(fd, len);
}

/* The kernel's ST_VALID: f_flags is meaningful (not in glibc's headers). */
#define KERNEL_ST_VALID 0x0020

/**
 * compat_kernel_statfs() - statfs(2) of @fd, where the kernel's differs
 * @fd: any fd
 * @f: out, when *@handled
 * @handled: out: whether the answer is this one
 *
 * A buffer or sync_file is of the kernel's pseudo file systems (dmabuf,
 * anon_inode): only the type, block size, name length and flags
 * simple_statfs() gives, and the fsid of the device fstat(2) shows.  A
 * device node, or the heaps' directory, is /dev's own.  Programs check
 * f_type for DMA_BUF_MAGIC to know an fd they were given is a dma-buf.
 *
 * Return: 0 or -1 with errno, when *@handled.
 */
int compat_kernel_statfs(int fd, struct statfs64 *f, bool *handled)
{
	enum compat_kind kind;
	struct stat st;
	uint64_t dev;

	*handled = false;
	kind = compat_fd_kind(fd, &st);
	if (kind == COMPAT_HEAP || kind == COMPAT_UDMABUF ||
	    (kind == COMPAT_NODE && st.st_ino == DMABUF_INO_HEAPS_DIR)) {
		*handled = true;
		return REAL(statfs64)("/dev", f);
	}
	if (kind != COMPAT_BUFFER && kind != COMPAT_SYNC_FILE)
		return 0;
	*handled = true;
	/* The kernel's huge_encode_dev() of the super block's device. */
	dev = (minor(st.st_dev) & 0xffu) | (major(st.st_dev) << 8) |
	      ((uint64_t)(minor(st.st_dev) & ~0xffu) << 12);
	memset(f, 0, sizeof(*f));
	f->f_type = kind == COMPAT_BUFFER ? DMA_BUF_MAGIC : ANON_INODE_FS_MAGIC;
	f->f_bsize = DMABUF_PAGE_SIZE;
	f->f_frsize = DMABUF_PAGE_SIZE;
	f->f_namelen = NAME_MAX;
	f->f_fsid.__val[0] = (int)(uint32_t)dev;
	f->f_fsid.__val[1] = (int)(uint32_t)(dev >> 32);
	f->f_flags = KERNEL_ST_VALID;
	return 0;
}

int fstatfs(int fd, struct statfs *f)
{
	struct statfs64 k;
	bool handled;
	int ret = compat_kernel_statfs(fd, &k, &handled);

	if (!handled)
		return REAL(fstatfs)(fd, f);
	if (!ret)
		compat_statfs_narrow(&k, f);
	return ret;
}

int fstatfs64(int fd, struct statfs64 *f)
{
	bool handled;
	int ret = compat_kernel_statfs(fd, f, &handled);

	return handled ? ret : REAL(fstatfs64)(fd, f);
}

/**
 * compat_statfs_narrow() - struct statfs64 as struct statfs
 * @from: the wide one
 * @to: out
 */
void compat_statfs_narrow(const struct statfs64 *from, struct statfs *to)
{
	memset(to, 0, sizeof(*to));
	to->f_type = from->f_type;
	to->f_bsize = from->f_bsize;
	to->f_blocks = from->f_blocks;
	to->f_bfree = from->f_bfree;
	to->f_bavail = from->f_bavail;
	to->f_files = from->f_files;
	to->f_ffree = from->f_ffree;
	to->f_fsid = from->f_fsid;
	to->f_namelen = from->f_namelen;
	to->f_frsize = from->f_frsize;
	to->f_flags = from->f_flags;
}

/*
 * F_GETFL of a buffer or sync_file: the kernel makes these files with
 * the flags asked of the ioctl, not through open(2), so without
 * O_LARGEFILE.  fcntl(2)'s third argument is read as a pointer, as wide as
 * any it may be.
 */
#define FCNTL_INTERPOSER(name)                                      \
	int name(int fd, int cmd, ...)                              \
	{                                                           \
		va_list ap;                                         \
		void *arg;                                          \
		int ret;                                            \
                                                                    \
		va_start(ap, cmd);                                  \
		arg = va_arg(ap, void *);                           \
		va_end(ap);                                         \
		ret = REAL(name)(fd, cmd, arg);                     \
		if (cmd == F_GETFL && ret >= 0 && dma_buf_file(fd)) \
			ret &= ~KERNEL_O_LARGEFILE;                 \
		return ret;                                         \
	}

FCNTL_INTERPOSER(fcntl)
FCNTL_INTERPOSER(fcntl64)

int fsync(int fd)
{
	return dma_buf_file(fd) ? compat_fail(EINVAL) : REAL(fsync)(fd);
}

int fdatasync(int fd)
{
	return dma_buf_file(fd) ? compat_fail(EINVAL) : REAL(fdatasync)(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	return dma_buf_file(fd) ? compat_fail(ENODEV)
				: REAL(fallocate)(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return dma_buf_file(fd) ? compat_fail(ENODEV)
				: REAL(fallocate64)(fd, mode, off, len);
}

/*
 * What the VFS refuses of a device node, a buffer or a sync_file, for
 * having neither read nor a page cache there: moving bytes without
 * read(2), EINVAL.  A buffer's bytes still splice(2) and sendfile(2) out,
 * as they read(2): dmabuffs's feature (dmabuf-compat(7)).
 */
static bool no_stream(int fd, bool buffer_too)
{
	switch (compat_fd_kind(fd, NULL)) {
	case COMPAT_HEAP:
	case COMPAT_UDMABUF:
	case COMPAT_SYNC_FILE:
		return true;
	case COMPAT_BUFFER:
		return buffer_too;
	default:
		return false;
	}
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	return no_stream(in, false) ? compat_fail(EINVAL)
				    : REAL(sendfile)(out, in, off, count);
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	return no_stream(in, false) ? compat_fail(EINVAL)
				    : REAL(sendfile64)(out, in, off, count);
}

ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len,
	       unsigned int flags)
{
	return no_stream(in, false) || no_stream(out, false)
		       ? compat_fail(EINVAL)
		       : REAL(splice)(in, in_off, out, out_off, len, flags);
}

/* Only between regular files: a buffer is none, on the kernel. */
ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off,
			size_t len, unsigned int flags)
{
	return no_stream(in, true) || no_stream(out, true)
		       ? compat_fail(EINVAL)
		       : REAL(copy_file_range)(in, in_off, out, out_off, len,
					       flags);
}

/* A heap or /dev/udmabuf cannot be polled: epoll(7) refuses it. */
int epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	enum compat_kind kind;

	if (op == EPOLL_CTL_ADD) {
		kind = compat_fd_kind(fd, NULL);
		if (kind == COMPAT_HEAP || kind == COMPAT_UDMABUF)
			return compat_fail(EPERM);
	}
	return REAL(epoll_ctl)(ep, op, fd, ev);
}

/*
 * Extended attributes of an fd the kernel would have made: a heap or
 * /dev/udmabuf (devtmpfs) or an anonymous dma-buf or sync_file is neither
 * a regular file nor a directory, so user.* attributes are never there
 * (ENODATA) and cannot be set (EPERM); a dma-buf's or sync_file's file
 * system has no other namespace (EOPNOTSUPP), and no node's attribute is
 * the program's to set.  The mount's user.dmabuf.* attributes stay on its
 * paths, for getfattr(1) and dmabufctl.  0 for an fd not of these.
 */
static int kernel_xattr(int fd, const char *name, bool write)
{
	enum compat_kind kind = compat_fd_kind(fd, NULL);
	bool user = name && !strncmp(name, "user.", 5);

	switch (kind) {
	case COMPAT_HEAP:
	case COMPAT_UDMABUF:
		return write ? EPERM : ENODATA;
	case COMPAT_BUFFER:
	case COMPAT_SYNC_FILE:
		if (!user)
			return EOPNOTSUPP;
		return write ? EPERM : ENODATA;
	default:
		return 0;
	}
}

ssize_t fgetxattr(int fd, const char *name, void *value, size_t size)
{
	int err = kernel_xattr(fd, name, false);

	return err ? compat_fail(err) : REAL(fgetxattr)(fd, name, value, size);
}

int fsetxattr(int fd, const char *name, const void *value, size_t size,
	      int flags)
{
	int err = kernel_xattr(fd, name, true);

	return err ? compat_fail(err)
		   : REAL(fsetxattr)(fd, name, value, size, flags);
}

int fremovexattr(int fd, const char *name)
{
	int err = kernel_xattr(fd, name, true);

	return err ? compat_fail(err) : REAL(fremovexattr)(fd, name);
}

/* None to list. */
ssize_t flistxattr(int fd, char *list, size_t size)
{
	return kernel_xattr(fd, NULL, false) ? 0
					     : REAL(flistxattr)(fd, list, size);
}

/* These return the error rather than set errno. */
int posix_fallocate(int fd, off_t off, off_t len)
{
	return dma_buf_file(fd) ? ENODEV : REAL(posix_fallocate)(fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	return dma_buf_file(fd) ? ENODEV
				: REAL(posix_fallocate64)(fd, off, len);
}

/* ---- fd numbers: the SYNC fast path's table kept true ---- */

/*
 * libdmabuf's shared-memory SYNC (fastsync.c) knows a buffer fd by its
 * number, so every call that closes or replaces a number says so here.
 * What goes around libc (a raw close syscall, fclose(3) of an fdopen'ed
 * buffer fd) is not seen: dmabuf-compat(7) LIMITS.
 */
static bool is_our_buffer(int fd, dev_t *dev)
{
	struct stat st;

	if (compat_fd_kind(fd, &st) != COMPAT_BUFFER)
		return false;
	*dev = st.st_dev;
	return true;
}

__attribute__((constructor)) static void track_fds(void)
{
	dmabuf_fastsync_track(is_our_buffer);
}

static void forget(int fd)
{
	if (fd >= 0)
		dmabuf_fastsync_forget((unsigned int)fd, (unsigned int)fd);
}

/**
 * compat_opened() - @fd was just opened: whatever its number was is gone
 * @fd: what the open returned
 *
 * Return: @fd.
 */
int compat_opened(int fd)
{
	forget(fd);
	return fd;
}

/* A bracket open when a buffer's last fd closes is a leak. */
int close(int fd)
{
	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_closing(fd);
	forget(fd);
	return REAL(close)(fd);
}

int dup2(int fd, int to)
{
	int ret = REAL(dup2)(fd, to);

	if (ret >= 0 && to != fd)
		forget(to);
	return ret;
}

int dup3(int fd, int to, int flags)
{
	int ret = REAL(dup3)(fd, to, flags);

	if (ret >= 0)
		forget(to);
	return ret;
}

int close_range(unsigned int lo, unsigned int hi, int flags)
{
	int ret = REAL(close_range)(lo, hi, flags);

	/* CLOSE_RANGE_CLOEXEC closes nothing now; exec starts afresh. */
	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && lo <= hi)
		dmabuf_fastsync_forget(lo, hi);
	return ret;
}

void closefrom(int lo)
{
	REAL(closefrom)(lo);
	if (lo >= 0)
		dmabuf_fastsync_forget((unsigned int)lo, ~0U);
}
