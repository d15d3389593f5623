/* SPDX-License-Identifier: MIT */
/*
 * DOC: the compat layer's rules, for its unit tests
 *
 * libdmabuf-compat.so exports libc's names (open, ioctl, ...); these are
 * the functions behind them that carry the kernel's rules, callable
 * directly.  See compat.c and dmabuf-compat(7).
 */
#ifndef DMABUF_COMPAT_H
#define DMABUF_COMPAT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <dmabuf/uapi.h>

#include "../libdmabuf/sanitizer.h"

/* The kernel's O_LARGEFILE, which glibc defines as 0 on 64-bit targets. */
#if defined(__aarch64__) || defined(__arm__)
#define KERNEL_O_LARGEFILE 0400000
#elif defined(__powerpc__)
#define KERNEL_O_LARGEFILE 0200000
#else
#define KERNEL_O_LARGEFILE 0100000
#endif

/* -1 with errno @err: the way an interposer fails, as libc's call. */
static inline int compat_fail(int err)
{
	errno = err;
	return -1;
}

/* views.c */

/**
 * struct compat_view - a buffer's memfds the layer mapped itself
 * @start: the first byte mapped
 * @end: past the last
 * @off: the buffer's offset at @start
 * @dev: the buffer's st_dev
 * @ino: the buffer's st_ino
 * @name: its name, as last seen
 */
struct compat_view {
	uintptr_t start, end;
	uint64_t off;
	dev_t dev;
	ino_t ino;
	char name[DMABUF_NAME_LEN + 1];
};

void compat_view_add(const struct compat_view *v);
void compat_view_unmapped(void *addr, size_t len);
void compat_view_moved(void *from, void *to, size_t to_len);
void compat_view_renamed(dev_t dev, ino_t ino, const char *name);
int compat_view_of(uintptr_t lo, uintptr_t hi, struct compat_view *out);

/* fds.c */
enum compat_kind {
	COMPAT_NOT_OURS,
	COMPAT_BUFFER,
	COMPAT_HEAP, /* .heaps/<heap>: /dev/dma_heap/<heap> */
	COMPAT_UDMABUF, /* .udmabuf: /dev/udmabuf */
	COMPAT_SYNC_FILE,
	COMPAT_NODE, /* the root, .heaps/, .bufinfo, .stats */
};

bool compat_armed(void);
const char *compat_mount(void);
enum compat_kind compat_kind_of(dev_t dev, ino_t ino, mode_t mode);
enum compat_kind compat_fd_kind(int fd, struct stat *st);
bool compat_ours(int fd, char *node, size_t len);
int compat_opened(int fd);
mode_t compat_kernel_mode(dev_t dev, ino_t ino, mode_t mode, bool of_fd);

int compat_kernel_statfs(int fd, struct statfs64 *f, bool *handled);
void compat_statfs_narrow(const struct statfs64 *from, struct statfs *to);

/* procfd.c */
const char *compat_proc_pid(const char *path, pid_t *pid);
ssize_t compat_proc_readlink(const char *path, char *buf, size_t len,
			     bool *handled);
int compat_proc_open(const char *path, int flags, bool *handled);

/* procmaps.c */
int compat_maps_open(const char *path, int flags, bool *handled);

/* paths.c */
const char *compat_redirect(const char *path, char *buf, size_t len);

/* compat.c */
int compat_heap_alloc(const char *heap, unsigned long req, void *arg);
int compat_set_name(int fd, const void *user);
int compat_udmabuf_create(unsigned long req, const void *arg);
int compat_export_sync_file(int fd, void *arg);
int compat_import_sync_file(int fd, const void *arg);
int compat_sync_merge(int fd, void *arg);
int compat_sync_file_info(int fd, void *arg);

#endif /* DMABUF_COMPAT_H */
