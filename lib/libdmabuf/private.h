/* SPDX-License-Identifier: MIT */
/*
 * DOC: what libdmabuf's files share, private to them
 *
 * libdmabuf is linked into programs, into the daemon and tools, and into
 * libdmabuf-compat.so, the LD_PRELOAD layer that exports libc's own names
 * (open, ioctl, mmap, close, sendmsg, ...).  Inside that layer a plain call
 * of one of them from libdmabuf would bind to the layer's interposer (the
 * preload comes first in the lookup), and the layer calls libdmabuf: the
 * two would call each other.  So libdmabuf makes its system calls through
 * the sys_*() below, which reach the next definition (libc's, or a
 * sanitizer runtime's), and tells the CPU-access sanitizer itself what it
 * did (xioctl(), sys_close()).
 */
#ifndef DMABUF_LIBDMABUF_PRIVATE_H
#define DMABUF_LIBDMABUF_PRIVATE_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "sanitizer.h"

#define sys_open(...) sys_opened(REAL(open)(__VA_ARGS__))
#define sys_fstat(...) REAL(fstat)(__VA_ARGS__)
#define sys_fstatfs(...) REAL(fstatfs)(__VA_ARGS__)
#define sys_fcntl(...) REAL(fcntl)(__VA_ARGS__)
#define sys_ftruncate(...) REAL(ftruncate)(__VA_ARGS__)
#define sys_ioctl(...) REAL(ioctl)(__VA_ARGS__)
#define sys_mmap(...) REAL(mmap)(__VA_ARGS__)
#define sys_munmap(...) REAL(munmap)(__VA_ARGS__)
#define sys_sendmsg(...) REAL(sendmsg)(__VA_ARGS__)
#define sys_recvmsg(...) REAL(recvmsg)(__VA_ARGS__)

/* fastsync.c: SYNC in shared memory (default visibility: see there) */

/**
 * struct dmabuf_fastsync_ref - a handle's slot, held with its fd
 * @slot: the slot in this process's mapping of its file; NULL: the ioctl
 * @cookie: the grant's
 * @size: the buffer's size
 * @file: index of the mapped file
 * @index: the slot's index in it
 */
struct dmabuf_fastsync_ref {
	struct dmabuf_sync_slot *slot;
	uint64_t cookie;
	uint64_t size;
	unsigned int file;
	unsigned int index;
};

int dmabuf_fastsync_ref_get(int fd, dev_t dev, struct dmabuf_fastsync_ref *ref);
int dmabuf_fastsync_ref_cpu(struct dmabuf_fastsync_ref *ref, bool end,
			    uint64_t off, uint64_t len, uint32_t dir);
int dmabuf_fastsync_sync(int fd, uint64_t flags);

/* fdtable.c: what each fd number is, for fastsync.c */
#define DMABUF_FDTABLE_FDS 4096 /* numbers it covers; above, the ioctl */
uint64_t dmabuf_fdtable_get(int fd);
void dmabuf_fdtable_set(int fd, uint64_t e);
bool (*dmabuf_fdtable_tracker(void))(int fd, dev_t *dev);
int dmabuf_fastsync_cpu(int fd, bool end, uint64_t off, uint64_t len,
			uint32_t dir);
void dmabuf_fastsync_forget(unsigned int lo, unsigned int hi);
void dmabuf_fastsync_track(bool (*is_buffer)(int fd, dev_t *dev));
void dmabuf_fastsync_adopt(int fd, dev_t dev, uint64_t ino);

/* An fd libdmabuf opened: what its number meant before is gone. */
static inline int sys_opened(int fd)
{
	if (fd >= 0)
		dmabuf_fastsync_forget((unsigned int)fd, (unsigned int)fd);
	return fd;
}

/* close(2), and the sanitizer and the fd table told, as the layer's would. */
static inline int sys_close(int fd)
{
	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_closing(fd);
	if (fd >= 0)
		dmabuf_fastsync_forget((unsigned int)fd, (unsigned int)fd);
	return REAL(close)(fd);
}

/* An ioctl, reported to the sanitizer (dmabuf-sanitizer(7)): -errno. */
static inline int xioctl(int fd, unsigned long cmd, void *arg)
{
	int err = sys_ioctl(fd, cmd, arg) ? errno : 0;

	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_ioctl(fd, cmd, arg, err);
	return -err;
}

/* A name for the uapi: -EINVAL when it does not fit with its NUL. */
static inline int copy_name(char dst[DMABUF_NAME_LEN], const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= DMABUF_NAME_LEN)
		return -EINVAL;
	memset(dst, 0, DMABUF_NAME_LEN);
	if (len)
		memcpy(dst, src, len);
	return 0;
}

/*
 * BEGIN_CPU_ACCESS or END_CPU_ACCESS of [@offset, @offset + @length): in
 * shared memory when it can (fastsync.c), else the ioctl.
 */
static inline int cpu_access(int fd, unsigned long cmd, uint64_t offset,
			     uint64_t length, uint32_t dir)
{
	struct dmabuf_cpu_access c = {
		.offset = offset, .length = length, .flags = dir};
	int ret = dmabuf_fastsync_cpu(fd, cmd == DMABUF_IOCTL_END_CPU_ACCESS,
				      offset, length, dir);

	return ret <= 0 ? ret : xioctl(fd, cmd, &c);
}

/* dmabuf.c */
__attribute__((visibility("hidden"))) int
dmabuf_export_mode(const char *mount, const char *name, const char *heap,
		   uint64_t size, const char *debug_name, unsigned int flags,
		   int accmode);

/* channel.c: the side channel, for dmabuf_export_memfds() */
__attribute__((visibility("hidden"))) int
dmabuf_channel_bind_runs(int fd, const struct dmabuf_memfd_run *runs,
			 unsigned int count);

/* redeem.c: the side channel's wire */

/*
 * A buffer's memory as the side channel answers it: one memfd, or runs of
 * the memfds it carried (a udmabuf).
 */
struct dmabuf_memory {
	struct dmabuf_redeem_reply reply;
	_Alignas(struct dmabuf_backing) char room
		[sizeof(struct dmabuf_backing) +
		 DMABUF_BACKING_MAX_RANGES *
			 sizeof(struct dmabuf_backing_range)];
	int fds[DMABUF_BACKING_MAX_FDS];
	unsigned int nr_fds;
};

/* One datagram lands in @reply and @room: they must touch. */
_Static_assert(offsetof(struct dmabuf_memory, room) ==
		       sizeof(struct dmabuf_redeem_reply),
	       "reply and runs are one message");

/* The runs that follow the reply (DMABUF_REPLY_RANGES), in @room. */
static inline const struct dmabuf_backing *
dmabuf_memory_runs(const struct dmabuf_memory *mem)
{
	return (const struct dmabuf_backing *)mem->room;
}

__attribute__((visibility("hidden"))) void
dmabuf_memory_close(struct dmabuf_memory *mem);
__attribute__((visibility("hidden"))) ssize_t
dmabuf_channel_recv(int sock, void *data, size_t len, int *fd);
__attribute__((visibility("hidden"))) int
dmabuf_channel_present(const struct dmabuf_token *tok, const void *msg,
		       size_t len, const int *fds, unsigned int nr_fds);
__attribute__((visibility("hidden"))) int
dmabuf_channel_redeem(int fd, uint32_t flags, int *sock,
		      struct dmabuf_memory *mem);
__attribute__((visibility("hidden"))) int
dmabuf_channel_sync_file(int fd, uint64_t *id, uint64_t *size);

#endif /* DMABUF_LIBDMABUF_PRIVATE_H */
