/* SPDX-License-Identifier: MIT */
/*
 * DOC: the ioctl table
 *
 * Every ioctl dmabuffs answers, one row each: the command, the file it is
 * sent to, the check of its fields and the handler that carries it out.
 * decode.c expands the rows into its decoding rules and ioctl.c into its
 * dispatch, both from this one list, so a new ioctl is one row here (plus
 * its check and its handler): a row without a handler does not compile,
 * and no command reaches a handler that is not its own.
 *
 * A check (decode.c) sees only the payload and says what is malformed in
 * it; NULL when the payload's shape is all there is to check, or when the
 * rule belongs to the object model (SYNC flags, export sizes) and is
 * written there once.  A handler (struct fs_ioctl_call, fs.h) answers the
 * request exactly once.
 */
#ifndef DMABUFFS_IOCTLS_H
#define DMABUFFS_IOCTLS_H

/* ROW(command, target, check, handler); target: enum ioctl_target's suffix */
#define FS_IOCTL_TABLE(ROW)                                                    \
	ROW(DMA_BUF_IOCTL_SYNC, BUFFER, NULL, do_sync)                         \
	ROW(DMABUF_IOCTL_EXPORT, BUFFER, check_export, do_export)              \
	ROW(DMABUF_IOCTL_INFO, BUFFER, NULL, do_info)                          \
	ROW(DMABUF_IOCTL_SET_NAME, BUFFER, check_name, do_set_name)            \
	ROW(DMABUF_IOCTL_ATTACH, BUFFER, check_attach, do_attach)              \
	ROW(DMABUF_IOCTL_DETACH, BUFFER, NULL, do_detach)                      \
	ROW(DMABUF_IOCTL_MAP, BUFFER, check_map, do_map)                       \
	ROW(DMABUF_IOCTL_GET_SG, BUFFER, check_get_sg, do_get_sg)              \
	ROW(DMABUF_IOCTL_UNMAP, BUFFER, NULL, do_unmap)                        \
	ROW(DMABUF_IOCTL_BEGIN_CPU_ACCESS, BUFFER, check_cpu, do_cpu_access)   \
	ROW(DMABUF_IOCTL_END_CPU_ACCESS, BUFFER, check_cpu, do_cpu_access)     \
	ROW(DMABUF_IOCTL_GET_TOKEN, BUFFER, check_token, do_get_token)         \
	ROW(DMABUF_IOCTL_FENCE_EXPORT, BUFFER, check_fence_export,             \
	    do_fence_export)                                                   \
	ROW(DMABUF_IOCTL_FENCE_IMPORT, BUFFER, check_fence_import,             \
	    do_fence_import)                                                   \
	ROW(DMABUF_IOCTL_REVOKE, BUFFER, check_revoke, do_revoke)              \
	ROW(DMABUF_IOCTL_TAKE_RACE, BUFFER, NULL, do_take_race)                \
	ROW(DMABUF_IOCTL_SYNC_SLOT, BUFFER, NULL, do_sync_slot)                \
	ROW(DMABUF_IOCTL_FENCE_BIND, SYNC_FILE, NULL, do_fence_bind)           \
	ROW(DMABUF_IOCTL_FENCE_MERGE, SYNC_FILE, check_fence_merge,            \
	    do_fence_merge)                                                    \
	ROW(DMABUF_IOCTL_FENCE_INFO, SYNC_FILE, check_fence_info,              \
	    do_fence_info)                                                     \
	ROW(SYNC_IOC_SET_DEADLINE, SYNC_FILE, check_deadline, do_deadline)     \
	/* DEVICE_ADD's description is checked by the core, with reasons. */   \
	ROW(DMABUF_IOCTL_DEVICE_ADD, ROOT, NULL, do_device_add)                \
	ROW(DMABUF_IOCTL_DEVICE_REMOVE, ROOT, check_name, do_device_remove)    \
	ROW(DMABUF_IOCTL_DEVICE_LIST, ROOT, check_device_list, do_device_list) \
	ROW(DMABUF_IOCTL_HEAP_INFO, ROOT, check_heap_info, do_heap_info)       \
	ROW(DMABUF_IOCTL_BUFFER_INFO, ROOT, NULL, do_buffer_info)

#endif /* DMABUFFS_IOCTLS_H */
