// SPDX-License-Identifier: MIT
/*
 * DOC: CPU access: begin/end brackets and DMA_BUF_IOCTL_SYNC
 *
 * CPU reads wait for write fences, CPU writes for all fences, as
 * dma_resv_usage_rw() orders them (dmabuf_fence_blocks_cpu()); waiting is
 * the caller's (-EAGAIN).  The first bracket places the backing, and the
 * heap's begin/end_cpu_access ops keep its caches coherent.
 *
 * A handle may also hold brackets in shared memory (slots.c): a START
 * here publishes the slots again, as it may have placed the backing and
 * pruned signalled imports.
 *
 * Calls buffer.c, placement.c, fence.c and slots.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- CPU access ---- */

/* Validate a CPU-access range and direction; resolve length 0 to the end. */
static int cpu_range_locked(const struct dmabuf_buffer *buf, uint64_t off,
			    uint64_t *len, uint32_t dir)
{
	return dmabuf_cpu_range(buf->size, off, len, dir);
}

static int begin_locked(struct dmabuf_handle *h, uint64_t off, uint64_t len,
			uint32_t dir)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_heap *heap = buf->heap;
	int ret = cpu_range_locked(buf, off, &len, dir);

	if (ret)
		return ret;
	if ((dir & DMA_BUF_SYNC_WRITE) ? buf->nr_maps : buf->write_fences)
		return -EAGAIN; /* a device still owns the bytes */
	if (imports_block_locked(buf, dir))
		return -EAGAIN; /* an imported fence has not signalled */
	ret = buffer_place_locked(buf);
	if (ret)
		return ret;
	if (heap->ops->begin_cpu_access) {
		ret = heap->ops->begin_cpu_access(heap->priv, &buf->pl, off,
						  len, dir);
		if (ret)
			return ret;
	}
	if (!h->cpu_brackets++) {
		h->bracket_dir = 0;
		h->bracket_off = off;
		h->bracket_len = len;
		clock_gettime(CLOCK_MONOTONIC, &h->bracket_since);
	}
	h->bracket_dir |= dir;
	buf->cpu_brackets++;
	/* Placed, fences pruned: later STARTs may not need the daemon. */
	cpu_slots_publish_locked(buf);
	return 0;
}

/**
 * dmabuf_handle_begin_cpu() - prepare [@off, @off + @len) for the CPU
 * @h: the handle
 * @off: first byte
 * @len: bytes; 0 for up to the end
 * @dir: DMA_BUF_SYNC_READ and/or WRITE
 *
 * Reads wait for devices that write; writes wait for every device mapping.
 *
 * Return: 0; -EINVAL for a bad range or direction; -EAGAIN while a
 * conflicting device mapping is live; -ENOMEM/-EBUSY when the deferred
 * placement fails; or the heap's error (a failed swap-in, say).
 */
int dmabuf_handle_begin_cpu(struct dmabuf_handle *h, uint64_t off, uint64_t len,
			    uint32_t dir)
{
	struct dmabuf_buffer *buf = h->buf;
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = begin_locked(h, off, len, dir);
	pthread_mutex_unlock(&buf->core->lock);
	if (ret && ret != -EAGAIN)
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: begin_cpu_access refused: %s",
			   (unsigned long long)buf->ino, strerror(-ret));
	return ret;
}

/**
 * dmabuf_handle_end_cpu() - the CPU is done with a range
 * @h: the handle
 * @off: first byte
 * @len: bytes; 0 for up to the end
 * @dir: DMA_BUF_SYNC_READ and/or WRITE
 *
 * Always succeeds for a well-formed range: like the kernel, an END without a
 * START is allowed.
 *
 * Return: 0, or -EINVAL for a malformed range or direction.
 */
int dmabuf_handle_end_cpu(struct dmabuf_handle *h, uint64_t off, uint64_t len,
			  uint32_t dir)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_heap *heap = buf->heap;
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = cpu_range_locked(buf, off, &len, dir);
	if (!ret && buf->placed && heap->ops->end_cpu_access)
		heap->ops->end_cpu_access(heap->priv, &buf->pl, off, len, dir);
	if (!ret && h->cpu_brackets) {
		h->cpu_brackets--;
		buf->cpu_brackets--;
	}
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
}

/**
 * dmabuf_handle_take_race() - what raced @h's CPU brackets, and forget it
 * @h: the handle
 * @race: out: see struct dmabuf_cpu_race; count 0 when nothing did
 */
void dmabuf_handle_take_race(struct dmabuf_handle *h,
			     struct dmabuf_cpu_race *race)
{
	pthread_mutex_lock(&h->buf->core->lock);
	*race = h->race;
	memset(&h->race, 0, sizeof(h->race));
	pthread_mutex_unlock(&h->buf->core->lock);
}

/**
 * dmabuf_handle_sync() - DMA_BUF_IOCTL_SYNC with the kernel's rules
 * @h: the handle
 * @flags: struct dma_buf_sync.flags
 *
 * The one place the SYNC rules are written: the daemon's DMA_BUF_IOCTL_SYNC
 * calls it, as do the unit tests and the ioctl fuzzer.
 *
 * Return: 0; -EINVAL for flags outside DMA_BUF_SYNC_VALID_FLAGS_MASK or
 * without READ/WRITE; otherwise as dmabuf_handle_begin_cpu() (so -EAGAIN
 * only for a START) or dmabuf_handle_end_cpu() over the whole buffer.
 */
int dmabuf_handle_sync(struct dmabuf_handle *h, uint64_t flags)
{
	uint32_t dir = (uint32_t)(flags & DMA_BUF_SYNC_RW);

	if (!dmabuf_sync_flags_valid(flags)) {
		/* Debug level: programs probe for dma-bufs with bad flags. */
		dmabuf_log(LOG_DEBUG,
			   "buffer %llu: SYNC flags %#llx refused (EINVAL)",
			   (unsigned long long)h->buf->ino,
			   (unsigned long long)flags);
		return -EINVAL;
	}
	if (flags & DMA_BUF_SYNC_END)
		return dmabuf_handle_end_cpu(h, 0, 0, dir);
	return dmabuf_handle_begin_cpu(h, 0, 0, dir);
}

/**
 * buffers_free_all() - free every buffer, handle and attachment
 * @core: a core being torn down; nobody else uses it any more
 *
 * A daemon stopped while files are open never receives their releases, so
 * teardown cannot rely on them.
 */
