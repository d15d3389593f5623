// SPDX-License-Identifier: MIT
/*
 * DOC: libdmabuf-compat, the kernel's dma-buf uapi for unmodified programs
 *
 * Loaded with LD_PRELOAD (dmabufctl run does that), this library gives a
 * dynamically linked program the kernel's /dev/dma_heap and /dev/udmabuf,
 * served by a dmabuffs mount ($DMABUF_MOUNT, else /run/dmabuf).  It does
 * two things and no more:
 *
 *  - Paths: /dev/dma_heap and /dev/udmabuf are the mount's (paths.c, which
 *    this file builds on; it calls nothing here).
 *  - Ioctls that a FUSE daemon cannot answer: DMA_HEAP_IOCTL_ALLOC, which
 *    must create an fd in the caller, and DMA_BUF_SET_NAME_A/B, which pass
 *    a pointer.  They are carried out here with libdmabuf, on fds that are
 *    open files of the mount; on any other fd (a real kernel device, stdin,
 *    -1) the call goes to the kernel as it was made.
 *
 * An fd is known by the open file itself (fstat(2): the mount's device;
 * /proc/self/fd: which node), never by its number, so dup(2), close(2) of
 * one copy, fork(2) and fds received over SCM_RIGHTS all keep working.
 * Everything else a program does with a buffer fd (mmap, DMA_BUF_IOCTL_SYNC,
 * poll, lseek, close) goes straight to the file system: with passthrough,
 * mmap is the buffer's memory itself.
 */
/* This file defines mmap() and friends: no fortified inline versions. */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
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

#include "../libdmabuf/private.h"
#include "compat.h"

#define UDMABUF_LIST_MAX DMABUF_BACKING_MAX_RANGES /* the kernel's limit */

/* ---- the ioctls ---- */

/*
 * copy_from_user(): read the program's memory as the kernel would, EFAULT
 * for an address it cannot read instead of a crash.
 */
static int copy_from_user(void *dst, const void *user, size_t len)
{
	struct iovec local = {dst, len};
	struct iovec remote = {(void *)user, len};

	return syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1,
		       0) == (long)len
		       ? 0
		       : -EFAULT;
}

/* copy_to_user(): write the program's memory, EFAULT where it cannot. */
static int copy_to_user(void *user, const void *src, size_t len)
{
	struct iovec local = {(void *)src, len};
	struct iovec remote = {user, len};

	return syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1,
		       0) == (long)len
		       ? 0
		       : -EFAULT;
}

/**
 * compat_heap_alloc() - DMA_HEAP_IOCTL_ALLOC, as drivers/dma-buf/dma-heap.c
 * @heap: the heap's name
 * @req: the ioctl number the program used (its size may differ from ours)
 * @arg: the program's struct dma_heap_allocation_data
 *
 * The common prefix of the program's struct and ours is used, the rest of
 * ours is zero; only @fd is written back.  The buffer is anonymous: it
 * lives exactly as long as its fds and mappings, as the kernel's do, and
 * shows in .bufinfo and dmabufctl who.
 *
 * Return: 0, or -errno as the kernel's: EINVAL for a zero length, fd not 0,
 * unknown fd_flags or any heap_flags; ENOMEM when the heap has no room.
 */
int compat_heap_alloc(const char *heap, unsigned long req, void *arg)
{
	struct dma_heap_allocation_data d = {0};
	size_t size = _IOC_SIZE(req) < sizeof(d) ? _IOC_SIZE(req) : sizeof(d);
	unsigned long long len;
	struct stat st;
	int fd;

	if (copy_from_user(&d, arg, size))
		return -EFAULT;
	if (d.fd || (d.fd_flags & ~(unsigned int)(O_ACCMODE | O_CLOEXEC)) ||
	    d.heap_flags)
		return -EINVAL;
	len = DMABUF_PAGE_ALIGN(d.len);
	if (!len)
		return -EINVAL; /* 0, or so large that rounding wrapped */
	fd = dmabuf_export_mode(compat_mount(), NULL, heap, len, NULL, 0,
				(int)(d.fd_flags & O_ACCMODE));
	if (fd == -EFBIG || fd == -ENOSPC)
		fd = -ENOMEM; /* what a kernel heap says */
	if (fd < 0)
		return fd;
	if (!REAL(fstat)(fd, &st)) /* its slot came with it */
		dmabuf_fastsync_adopt(fd, st.st_dev, st.st_ino);
	if (!(d.fd_flags & O_CLOEXEC) && fcntl(fd, F_SETFD, 0)) {
		close(fd);
		return -errno;
	}
	d.fd = (__u32)fd;
	if (copy_to_user(arg, &d, size)) {
		close(fd);
		return -EFAULT;
	}
	return 0;
}

/*
 * Copy the program's string as the kernel's strndup_user() does: EFAULT
 * for memory it cannot read, EINVAL when no NUL comes within @len bytes.
 * A byte at a time, so that a string just before unmapped memory reads.
 */
static int copy_user_string(const void *user, char *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (copy_from_user(out + i, (const char *)user + i, 1))
			return -EFAULT;
		if (!out[i])
			return 0;
	}
	return -EINVAL;
}

/**
 * compat_set_name() - DMA_BUF_SET_NAME_A/B: the name behind a pointer
 * @fd: a buffer fd of the mount
 * @user: the program's string
 *
 * Return: 0; -EINVAL for 32 bytes or more with the NUL; -EFAULT.
 */
int compat_set_name(int fd, const void *user)
{
	char name[DMA_BUF_NAME_LEN];
	struct stat st;
	int ret = copy_user_string(user, name, sizeof(name));

	if (!ret)
		ret = dmabuf_set_name(fd, name);
	if (!ret && !REAL(fstat)(fd, &st))
		compat_view_renamed(st.st_dev, st.st_ino, name);
	return ret;
}

/*
 * The runs of a UDMABUF_CREATE or UDMABUF_CREATE_LIST request, with the
 * kernel's checks of what only the caller's process can check (its fds,
 * its memory, the flags and the count); the memfds' own rules are the
 * daemon's (fs/udmabuf.c).
 */
static int udmabuf_runs(unsigned long req, const void *arg,
			struct dmabuf_memfd_run *runs, unsigned int *count,
			unsigned int *flags)
{
	static __thread struct udmabuf_create_item items[UDMABUF_LIST_MAX];
	struct udmabuf_create_list head;
	struct udmabuf_create one;
	unsigned int i;
	int ret;

	if (req == UDMABUF_CREATE) {
		ret = copy_from_user(&one, arg, sizeof(one));
		if (ret)
			return ret;
		head.flags = one.flags;
		head.count = 1;
		items[0] = (struct udmabuf_create_item){.memfd = one.memfd,
							.offset = one.offset,
							.size = one.size};
	} else {
		ret = copy_from_user(&head, arg, sizeof(head));
		if (ret)
			return ret;
		if (head.count > UDMABUF_LIST_MAX)
			return -EINVAL; /* the kernel's list_limit */
		ret = copy_from_user(items, (const char *)arg + sizeof(head),
				     head.count * sizeof(items[0]));
		if (ret)
			return ret;
	}
	if (!head.count)
		return -EINVAL; /* other flags than CLOEXEC are ignored, as 6.12
				 */
	for (i = 0; i < head.count; i++) {
		/* No such fd, or not shmem or hugetlbfs: 6.12's EBADFD. */
		if (fcntl((int)items[i].memfd, F_GET_SEALS) < 0)
			return -EBADFD;
		runs[i] =
			(struct dmabuf_memfd_run){.memfd = (int)items[i].memfd,
						  .offset = items[i].offset,
						  .size = items[i].size};
	}
	*count = head.count;
	*flags = head.flags;
	return 0;
}

/**
 * compat_udmabuf_create() - UDMABUF_CREATE and UDMABUF_CREATE_LIST
 * @req: which
 * @arg: the program's struct
 *
 * The new buffer's memory is the program's memfd pages themselves
 * (dmabuf_export_memfds()); like the kernel's, it is anonymous and its fd
 * is the ioctl's value.
 *
 * Return: the fd, or -errno as Linux 6.12's: EBADFD for an fd that is no
 * file of shmem or hugetlbfs; EINVAL (count, alignment, seals, a run past
 * the memfd's end); EFAULT.
 */
int compat_udmabuf_create(unsigned long req, const void *arg)
{
	static __thread struct dmabuf_memfd_run runs[UDMABUF_LIST_MAX];
	unsigned int count, flags;
	int fd = udmabuf_runs(req, arg, runs, &count, &flags);

	if (fd)
		return fd;
	fd = dmabuf_export_memfds(compat_mount(), NULL, runs, count);
	if (fd == -E2BIG)
		fd = -EINVAL; /* too many distinct memfds for one message */
	if (fd >= 0 && !(flags & UDMABUF_FLAGS_CLOEXEC) &&
	    fcntl(fd, F_SETFD, 0))
		return -errno;
	return fd;
}

/* ---- sync_file ---- */

/* A new sync_file fd (O_CLOEXEC, as the kernel's) for fence @id. */
static int open_sync_file(__u64 id)
{
	struct dmabuf_fence_bind b = {.id = id};
	char path[PATH_MAX + 16];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/.sync_file", compat_mount());
	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC); /* as the kernel's */
	if (fd < 0)
		return -errno;
	if (REAL(ioctl)(fd, DMABUF_IOCTL_FENCE_BIND, &b)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Is @fd one of our sync_files?  Its fence's state in @info. */
static bool our_sync_file(int fd, struct dmabuf_fence_info *info, __u32 first)
{
	if (compat_fd_kind(fd, NULL) != COMPAT_SYNC_FILE)
		return false;
	memset(info, 0, sizeof(*info));
	info->first = first;
	info->count = DMABUF_FENCE_PAGE;
	return REAL(ioctl)(fd, DMABUF_IOCTL_FENCE_INFO, info) == 0;
}

/**
 * compat_export_sync_file() - DMA_BUF_IOCTL_EXPORT_SYNC_FILE
 * @fd: a buffer fd of the mount
 * @arg: the program's struct dma_buf_export_sync_file
 *
 * Return: 0 with the new fd in @arg, or -errno (EINVAL for flags).
 */
int compat_export_sync_file(int fd, void *arg)
{
	struct dma_buf_export_sync_file x;
	struct dmabuf_fence_export e = {0};
	int ret = copy_from_user(&x, arg, sizeof(x));

	if (ret)
		return ret;
	e.flags = x.flags;
	if (REAL(ioctl)(fd, DMABUF_IOCTL_FENCE_EXPORT, &e))
		return -errno;
	x.fd = open_sync_file(e.id);
	if (x.fd < 0)
		return x.fd;
	ret = copy_to_user(arg, &x, sizeof(x));
	if (ret)
		close(x.fd);
	return ret;
}

/**
 * compat_import_sync_file() - DMA_BUF_IOCTL_IMPORT_SYNC_FILE
 * @fd: a buffer fd of the mount
 * @arg: the program's struct dma_buf_import_sync_file
 *
 * Return: 0, or -errno: EINVAL for flags or an fd that is not one of our
 * sync_files.
 */
int compat_import_sync_file(int fd, const void *arg)
{
	struct dma_buf_import_sync_file x;
	struct dmabuf_fence_import imp = {0};
	struct dmabuf_fence_info info;
	int ret = copy_from_user(&x, arg, sizeof(x));

	if (ret)
		return ret;
	if (!our_sync_file(x.fd, &info, 0))
		return -EINVAL;
	imp.flags = x.flags;
	imp.id = info.id;
	return REAL(ioctl)(fd, DMABUF_IOCTL_FENCE_IMPORT, &imp) ? -errno : 0;
}

/**
 * compat_sync_merge() - SYNC_IOC_MERGE on one of our sync_files
 * @fd: the sync_file
 * @arg: the program's struct sync_merge_data
 *
 * Return: 0 with the new fd in @arg; -EINVAL for flags or pad; -ENOENT
 * when fd2 is not a sync_file, as the kernel says.
 */
int compat_sync_merge(int fd, void *arg)
{
	struct dmabuf_fence_merge m = {0};
	struct dmabuf_fence_info other;
	struct sync_merge_data d;
	int ret = copy_from_user(&d, arg, sizeof(d));

	if (ret)
		return ret;
	if (d.flags || d.pad)
		return -EINVAL;
	if (!our_sync_file(d.fd2, &other, 0))
		return -ENOENT;
	m.other = other.id;
	memcpy(m.name, d.name, sizeof(m.name));
	m.name[sizeof(m.name) - 1] = '\0';
	if (REAL(ioctl)(fd, DMABUF_IOCTL_FENCE_MERGE, &m))
		return -errno;
	d.fence = open_sync_file(m.id);
	if (d.fence < 0)
		return d.fence;
	ret = copy_to_user(arg, &d, sizeof(d));
	if (ret)
		close(d.fence);
	return ret;
}

/* One leaf as struct sync_fence_info; a fence of none reports the stub. */
static void fill_fence_info(struct sync_fence_info *out,
			    const struct dmabuf_fence_leaf_info *leaf)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->obj_name, sizeof(out->obj_name), "%s",
		 leaf ? "dmabuffs-mappings" : "stub");
	snprintf(out->driver_name, sizeof(out->driver_name), "%s",
		 leaf ? "dmabuffs" : "stub");
	out->status = leaf ? leaf->status : 1;
	out->timestamp_ns = leaf ? leaf->timestamp_ns : 0;
}

/**
 * compat_sync_file_info() - SYNC_IOC_FILE_INFO on one of our sync_files
 * @fd: the sync_file
 * @arg: the program's struct sync_file_info
 *
 * With num_fences 0 only the count, name and status are answered;
 * otherwise num_fences must hold them all and sync_fence_info point to as
 * many struct sync_fence_info.
 *
 * Return: 0; -EINVAL for flags, pad or too small an array; -EFAULT.
 */
int compat_sync_file_info(int fd, void *arg)
{
	struct dmabuf_fence_info page;
	struct sync_fence_info one;
	struct sync_file_info info;
	__u32 n, i;
	int ret = copy_from_user(&info, arg, sizeof(info));

	if (ret)
		return ret;
	if (info.flags || info.pad)
		return -EINVAL;
	if (!our_sync_file(fd, &page, 0))
		return -EINVAL;
	n = page.num_fences ? page.num_fences : 1; /* the stub */
	if (info.num_fences && info.num_fences < n)
		return -EINVAL;
	for (i = 0; info.num_fences && i < n; i++) {
		if (i && i % DMABUF_FENCE_PAGE == 0 &&
		    !our_sync_file(fd, &page, i))
			return -EIO;
		fill_fence_info(&one,
				page.num_fences
					? &page.leaves[i % DMABUF_FENCE_PAGE]
					: NULL);
		ret = copy_to_user((char *)(uintptr_t)info.sync_fence_info +
					   i * sizeof(one),
				   &one, sizeof(one));
		if (ret)
			return ret;
	}
	memcpy(info.name, page.name, sizeof(info.name));
	if (!info.name[0]) /* unnamed: the kernel's "driver-timeline0-0" */
		snprintf(info.name, sizeof(info.name), "%s",
			 page.num_fences ? "dmabuffs-dmabuffs-mappings0-0"
					 : "stub-stub0-0");
	info.status = page.status;
	info.num_fences = n;
	return copy_to_user(arg, &info, sizeof(info));
}

/* Which of our ioctls @req is; 0 for none (the kernel's business). */
enum compat_ioctl {
	NOT_OURS,
	HEAP_ALLOC,
	SET_NAME,
	UDMABUF,
	EXPORT_SYNC_FILE,
	IMPORT_SYNC_FILE,
	SYNC_MERGE,
	SYNC_INFO,
	VFS_GENERIC,
};

static enum compat_ioctl classify(unsigned long req)
{
	if (_IOC_TYPE(req) == DMA_HEAP_IOC_MAGIC && _IOC_NR(req) == 0)
		return HEAP_ALLOC; /* any size: older and newer structs */
	if (req == DMA_BUF_SET_NAME_A || req == DMA_BUF_SET_NAME_B)
		return SET_NAME;
	if (req == UDMABUF_CREATE || req == UDMABUF_CREATE_LIST)
		return UDMABUF;
	if (req == DMA_BUF_IOCTL_EXPORT_SYNC_FILE)
		return EXPORT_SYNC_FILE;
	if (req == DMA_BUF_IOCTL_IMPORT_SYNC_FILE)
		return IMPORT_SYNC_FILE;
	if (req == SYNC_IOC_MERGE)
		return SYNC_MERGE;
	if (req == SYNC_IOC_FILE_INFO)
		return SYNC_INFO;
	if (req == FIONREAD || req == FIOQSIZE || req == FS_IOC_GETFLAGS ||
	    req == FS_IOC_SETFLAGS || req == FS_IOC_FSGETXATTR ||
	    req == FS_IOC_FSSETXATTR)
		return VFS_GENERIC;
	return NOT_OURS;
}

/*
 * The VFS answers FIONREAD, FIOQSIZE and the inode flags of a regular
 * file itself, as of the mount's files; of a kernel dma-buf, sync_file or
 * device node, which are none, FIOQSIZE is ENOTTY and the others are the
 * file's own ioctls: unknown, so ENOTTY, or for a heap, whose every
 * number but 0 is EINVAL, EINVAL.
 */
static int vfs_generic(int fd, unsigned long req, bool *handled)
{
	enum compat_kind kind = compat_fd_kind(fd, NULL);

	*handled = kind != COMPAT_NOT_OURS && kind != COMPAT_NODE;
	if (req != FIOQSIZE && kind == COMPAT_HEAP)
		return -EINVAL;
	return -ENOTTY;
}

static int compat_ioctl(int fd, unsigned long req, void *arg, bool *handled)
{
	char node[PATH_MAX];

	*handled = false;
	switch (classify(req)) {
	case HEAP_ALLOC:
		if (compat_fd_kind(fd, NULL) != COMPAT_HEAP ||
		    !compat_ours(fd, node, sizeof(node)) ||
		    strncmp(node, "/.heaps/", 8))
			return 0; /* not a heap of ours: the kernel's */
		*handled = true;
		return compat_heap_alloc(node + 8, req, arg);
	case SET_NAME:
		if (!compat_ours(fd, NULL, 0))
			return 0;
		*handled = true;
		return compat_set_name(fd, arg);
	case UDMABUF:
		if (compat_fd_kind(fd, NULL) != COMPAT_UDMABUF)
			return 0;
		*handled = true;
		return compat_udmabuf_create(req, arg);
	case EXPORT_SYNC_FILE:
	case IMPORT_SYNC_FILE:
		if (!compat_ours(fd, NULL, 0))
			return 0;
		*handled = true;
		return classify(req) == EXPORT_SYNC_FILE
			       ? compat_export_sync_file(fd, arg)
			       : compat_import_sync_file(fd, arg);
	case SYNC_MERGE:
	case SYNC_INFO:
		if (compat_fd_kind(fd, NULL) != COMPAT_SYNC_FILE)
			return 0;
		*handled = true;
		return classify(req) == SYNC_MERGE
			       ? compat_sync_merge(fd, arg)
			       : compat_sync_file_info(fd, arg);
	case VFS_GENERIC:
		return vfs_generic(fd, req, handled);
	default:
		return 0;
	}
}

/*
 * DMA_BUF_IOCTL_SYNC in shared memory when the fd has a slot
 * (libdmabuf's fastsync.c): 0 done, 1 for the ioctl.  An argument that
 * cannot be a pointer to the program's memory goes to the ioctl, for the
 * kernel's EFAULT.
 */
static int fast_sync(int fd, const struct dma_buf_sync *arg)
{
	if ((uintptr_t)arg < 4096 ||
	    (uintptr_t)arg % _Alignof(struct dma_buf_sync))
		return 1;
	return dmabuf_fastsync_sync(fd, arg->flags);
}

int ioctl(int fd, unsigned long req, ...)
{
	bool handled;
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == DMA_BUF_IOCTL_SYNC && fast_sync(fd, arg) == 0)
		return 0;
	ret = compat_ioctl(fd, req, arg, &handled);
	if (handled)
		return ret < 0 ? compat_fail(-ret) : ret;
	ret = REAL(ioctl)(fd, req, arg);
	if (dmabuf_sanitizer_enabled() && compat_ours(fd, NULL, 0))
		dmabuf_sanitizer_ioctl(fd, req, arg, ret ? errno : 0);
	return ret;
}

/* ---- mmap ---- */

/*
 * The kernel's rules for mapping a dma-buf, before the file system sees the
 * call: MAP_SHARED only (heaps and udmabuf alike, on 6.12), and nothing
 * past the buffer's end, which a file would allow up to a SIGBUS.
 * Return: 0 or the errno.
 */
static int map_refused(size_t len, int flags, off_t off, const struct stat *st)
{
	unsigned long long pages =
		(len + DMABUF_PAGE_SIZE - 1) / DMABUF_PAGE_SIZE;

	if ((flags & MAP_TYPE) != MAP_SHARED &&
	    (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return EINVAL;
	/* A buffer's last page maps whole, as its memory has it. */
	if (off < 0 ||
	    (unsigned long long)off / DMABUF_PAGE_SIZE + pages >
		    DMABUF_PAGE_ALIGN((unsigned long long)st->st_size) /
			    DMABUF_PAGE_SIZE)
		return EINVAL;
	return 0;
}

/* A view of the buffer's memfds: maps and fdinfo show it as a dma-buf's. */
static void note_view(int fd, void *p, size_t len, off_t off,
		      const struct stat *st)
{
	struct compat_view v = {.start = (uintptr_t)p,
				.end = (uintptr_t)p + len,
				.off = (uint64_t)off,
				.dev = st->st_dev,
				.ino = st->st_ino};
	struct dmabuf_info info = {0};

	if (!dmabuf_info(fd, &info))
		snprintf(v.name, sizeof(v.name), "%.*s", (int)sizeof(info.name),
			 info.name);
	compat_view_add(&v);
}

/*
 * A buffer file mmap(2) cannot map says ENODEV: a udmabuf made of runs of
 * memfds, or a handle opened before its buffer was sized on a passthrough
 * mount.  Map its memory itself instead.
 */
static void *map_buffer(void *addr, size_t len, int prot, int flags, int fd,
			off_t off, const struct stat *st)
{
	int err = map_refused(len, flags, off, st);
	void *p;

	if (err) {
		errno = err;
		return MAP_FAILED;
	}
	p = REAL(mmap)(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED && errno == ENODEV) {
		p = dmabuf_map_memory(fd, addr, len, prot, flags, off);
		if (p != MAP_FAILED)
			note_view(fd, p, len, off, st);
	}
	if (p != MAP_FAILED && dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_mapped(p, len, prot, fd, off);
	return p;
}

/* Every mapping but a buffer's is the kernel's, at the cost of an fstat. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct stat st;

	if (fd >= 0 && !(flags & MAP_ANONYMOUS) &&
	    compat_fd_kind(fd, &st) == COMPAT_BUFFER)
		return map_buffer(addr, len, prot, flags, fd, off, &st);
	return REAL(mmap)(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	int ret;

	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_unmapping(addr, len);
	ret = REAL(munmap)(addr, len);
	if (!ret)
		compat_view_unmapped(addr, len);
	return ret;
}

/* A watched mapping is watched where mremap(2) moves it. */
void *mremap(void *from, size_t from_len, size_t to_len, int flags, ...)
{
	void *to = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	p = REAL(mremap)(from, from_len, to_len, flags, to);
	if (p != MAP_FAILED)
		compat_view_moved(from, p, to_len);
	if (p != MAP_FAILED && dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_moved(from, from_len, p, to_len);
	return p;
}

/* ---- signals, for the sanitizer ---- */

/*
 * With the sanitizer on, a SIGSEGV handler the program installs is kept
 * for the faults that are not the sanitizer's, and the sanitizer's stays
 * in place.  signal(3) too: glibc's does not go through sigaction().
 */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig == SIGSEGV && dmabuf_sanitizer_keeps_sigsegv(act, old))
		return 0;
	return REAL(sigaction)(sig, act, old);
}

sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = {.sa_handler = handler, .sa_flags = SA_RESTART},
			 old;

	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (sig != SIGSEGV || !dmabuf_sanitizer_keeps_sigsegv(&act, &old))
		return REAL(signal)(sig, handler);
	return old.sa_handler; /* shares its storage with sa_sigaction */
}
