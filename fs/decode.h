/* SPDX-License-Identifier: MIT */
/*
 * DOC: ioctl decoding
 *
 * The checks every ioctl passes before anything acts on it, kept apart
 * from FUSE so a fuzzer can drive them directly (tests/fuzz/fuzz_ioctl.c).
 * Given the command, what it was sent to and the bytes that came with it,
 * ioctl_decode() either refuses it with the errno and the reason the
 * kernel's own dma-buf code would give, or returns a copy whose sizes,
 * flags, padding, output fields and strings are all known good.  What
 * depends on state (a buffer already sized, a handle's access mode, an
 * unknown device) is for the object model to say.
 */
#ifndef DMABUFFS_DECODE_H
#define DMABUFFS_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include <dmabuf/uapi.h>
#include <linux/sync_file.h>

/* Linux 6.6's SYNC_IOC_SET_DEADLINE, where <linux/sync_file.h> is older. */
#ifndef SYNC_IOC_SET_DEADLINE
struct sync_set_deadline {
	__u64 deadline_ns;
	__u64 pad;
};
#define SYNC_IOC_SET_DEADLINE _IOW(SYNC_IOC_MAGIC, 5, struct sync_set_deadline)
#endif

/* What an ioctl was sent to. */
enum ioctl_target {
	IOCTL_TARGET_ROOT, /* the mount's root: the device registry */
	IOCTL_TARGET_BUFFER, /* a buffer's handle */
	IOCTL_TARGET_SYNC_FILE, /* a <mount>/.sync_file handle */
	IOCTL_TARGET_OTHER, /* anything else: .bufinfo, .stats */
};

/* The payload of any of our ioctls. */
union ioctl_arg {
	struct dma_buf_sync sync;
	struct dmabuf_export exp;
	struct dmabuf_info info;
	struct dmabuf_name name;
	struct dmabuf_attach attach;
	struct dmabuf_attach_ref ref;
	struct dmabuf_map map;
	struct dmabuf_get_sg sg;
	struct dmabuf_cpu_access cpu;
	struct dmabuf_device_desc dev;
	struct dmabuf_device_list list;
	struct dmabuf_token token;
	struct dmabuf_heap_info heap;
	struct dmabuf_fence_export fexp;
	struct dmabuf_fence_import fimp;
	struct dmabuf_fence_bind fbind;
	struct dmabuf_fence_merge fmerge;
	struct dmabuf_fence_info finfo;
	struct dmabuf_revoke revoke;
	struct dmabuf_cpu_race race;
	struct dmabuf_sync_grant grant;
	struct sync_set_deadline deadline;
};

int ioctl_decode(unsigned int cmd, enum ioctl_target target, bool unrestricted,
		 const void *in, size_t in_size, size_t out_size,
		 union ioctl_arg *arg, const char **why);
int ioctl_row(unsigned int cmd);

#endif /* DMABUFFS_DECODE_H */
