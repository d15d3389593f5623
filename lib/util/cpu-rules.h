/* SPDX-License-Identifier: MIT */
/*
 * DOC: the rules of a CPU bracket, for the daemon and its clients alike
 *
 * What makes a SYNC's flags or a bracket's direction and range valid is
 * written here once: the object model (lib/core/cpu.c) enforces it on the
 * ioctl path, and libdmabuf's shared-memory brackets (fastsync.c) apply
 * the same rule before they skip the daemon, so both paths answer a bad
 * call with the same EINVAL.  Headers only: no FUSE, no core state.
 */
#ifndef DMABUF_CPU_RULES_H
#define DMABUF_CPU_RULES_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <dmabuf/uapi.h>

/**
 * dmabuf_cpu_dir_valid() - is @dir a CPU direction?
 * @dir: DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE, nothing else
 *
 * The one check of the direction of SYNC, CPU-access brackets, fence export
 * and fence import: the ioctl decoder and the object model both call it.
 */
static inline bool dmabuf_cpu_dir_valid(uint32_t dir)
{
	return (dir & DMA_BUF_SYNC_RW) && !(dir & ~(uint32_t)DMA_BUF_SYNC_RW);
}

/**
 * dmabuf_sync_flags_valid() - DMA_BUF_IOCTL_SYNC's flags rule
 * @flags: struct dma_buf_sync.flags
 *
 * Return: whether @flags has no bit outside DMA_BUF_SYNC_VALID_FLAGS_MASK
 * and at least one of READ and WRITE (the kernel's EINVAL otherwise).
 */
static inline bool dmabuf_sync_flags_valid(uint64_t flags)
{
	return !(flags & ~(uint64_t)DMA_BUF_SYNC_VALID_FLAGS_MASK) &&
	       (flags & DMA_BUF_SYNC_RW);
}

/**
 * dmabuf_cpu_range() - check a bracket's range; resolve length 0
 * @size: the buffer's size (0 while EMPTY)
 * @off: first byte
 * @len: in: bytes, 0 for up to the end; out: bytes
 * @dir: the bracket's direction
 *
 * Return: 0, or -EINVAL for a bad direction, an unsized buffer or a range
 * outside the buffer.
 */
static inline int dmabuf_cpu_range(uint64_t size, uint64_t off, uint64_t *len,
				   uint32_t dir)
{
	if (!dmabuf_cpu_dir_valid(dir) || !size || off >= size)
		return -EINVAL;
	if (!*len)
		*len = size - off;
	return *len > size - off ? -EINVAL : 0;
}

#endif /* DMABUF_CPU_RULES_H */
