// SPDX-License-Identifier: MIT
/*
 * DOC: buffers: life, size, name, state
 *
 * A buffer is the struct dma_buf: a fixed size, an exporting heap, a debug
 * name, and a backing placed lazily (placement.c).  Its reference count is
 * its open handles, its directory entry and its live CPU mappings (plus
 * short-lived references callers take); the last put releases the backing
 * to its heap, so an unlinked buffer lives exactly as long as its fds and
 * mappings.
 *
 * This file is the bottom of the object model's buffer files: it owns the
 * reference count, the notify hook's call (buffer_unlock_notify()), the
 * sequence number waiters watch, the size and heap rules, and what
 * dmabuf_buffer_info() reports.  placement.c, attach.c and cpu.c build on
 * it; it calls only heap.c, fence.c (imports die with the buffer) and the
 * accounting hook.
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

void buffer_changed_locked(struct dmabuf_buffer *buf)
{
	buf->seq++;
	cpu_slots_publish_locked(buf); /* what a START may skip changed too */
	pthread_cond_broadcast(&buf->core->changed);
}

static int by_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/*
 * The distinct fds of @n runs (runs of one memfd share its fd), sorted,
 * into @fds (room for @n).  Return: how many.
 */
unsigned int buffer_ranges_fds(const struct dmabuf_memfd_range *r,
			       unsigned int n, int *fds)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		fds[i] = r[i].fd;
	qsort(fds, n, sizeof(*fds), by_fd);
	for (i = 0; i < n; i++)
		if (!k || fds[k - 1] != fds[i])
			fds[k++] = fds[i];
	return k;
}

/* Let go of @fd: the close hook taken at retirement, or close(2). */
static void close_later(const struct dmabuf_buffer *buf, int fd)
{
	if (buf->close_fd)
		buf->close_fd(buf->close_arg, fd);
	else
		close(fd);
}

static void ranges_close(const struct dmabuf_buffer *buf)
{
	int fds[DMABUF_BACKING_MAX_RANGES];
	unsigned int i, k = buffer_ranges_fds(buf->ranges, buf->nr_ranges, fds);

	for (i = 0; i < k; i++)
		close_later(buf, fds[i]);
}

/* The exp_name: the heap's, or udmabuf's for memory bound from outside. */
const char *buffer_exp_name_locked(const struct dmabuf_buffer *buf)
{
	if (buf->exp_name[0])
		return buf->exp_name;
	return buf->heap ? buf->heap->ops->name : NULL;
}

/*
 * Take @buf, whose last reference went, out of the core: its heap pages go
 * back and its accounts are settled, under core.lock.  What may take long
 * is left for buffer_destroy(), after the lock.
 */
static void buffer_retire_locked(struct dmabuf_buffer *buf)
{
	struct dmabuf_core *core = buf->core;
	struct dmabuf_heap *heap = buf->heap;

	TAILQ_REMOVE(&core->buffers, buf, link);
	core->nr_buffers--;
	core->bytes -= buf->size;
	if (buf->has_pending)
		heap->ops->release(heap->priv, &buf->pending);
	if (buf->placed)
		heap->ops->release(heap->priv, &buf->pl);
	if (buf->charged)
		uncharge_locked(core, buf->owner, DMABUF_CHARGE_BYTES,
				heap->ops->name, buf->charged);
	if (buf->nr_ranges)
		uncharge_locked(core, buf->owner, DMABUF_CHARGE_FDS, NULL,
				buf->nr_range_fds);
	imports_prune_locked(buf, true);
	buf->close_fd = core->close_fd; /* for buffer_destroy(), unlocked */
	buf->close_arg = core->close_arg;
}

/*
 * Close what a retired @buf held and free it, without core.lock: the last
 * close of a memfd frees its pages, a second for some GiB, and nobody else
 * may wait for that.
 */
static void buffer_destroy(struct dmabuf_buffer *buf)
{
	if (buf->memfd >= 0)
		close_later(buf, buf->memfd);
	ranges_close(buf);
	free(buf->ranges);
	dmabuf_log(LOG_DEBUG, "buffer %llu released",
		   (unsigned long long)buf->ino);
	free(buf);
}

/* At teardown, with core.lock and no close hook: nobody is left to wait. */
void buffer_free_locked(struct dmabuf_buffer *buf)
{
	buffer_retire_locked(buf);
	buf->close_fd = NULL;
	buffer_destroy(buf);
}

/*
 * Drop a reference.  Return: whether it was the last: the caller calls
 * buffer_destroy() once it has dropped core.lock.
 */
static bool put_locked(struct dmabuf_buffer *buf)
{
	if (--buf->refs)
		return false;
	buffer_retire_locked(buf);
	return true;
}

/*
 * Drop the lock; when @changed, tell the notify hook.  The reference taken
 * here keeps @buf alive while the hook runs without the lock.
 */
void buffer_unlock_notify(struct dmabuf_buffer *buf, bool changed)
{
	struct dmabuf_core *core = buf->core;

	if (!changed || !core->notify) {
		pthread_mutex_unlock(&core->lock);
		return;
	}
	buf->refs++;
	pthread_mutex_unlock(&core->lock);
	core->notify(core->notify_arg, buf);
	dmabuf_buffer_put(buf);
}

/**
 * dmabuf_buffer_create() - make an empty buffer (no heap chosen, no size)
 * @core: the core
 * @out: the buffer, holding one reference for the caller
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_buffer_create(struct dmabuf_core *core, struct dmabuf_buffer **out)
{
	struct dmabuf_buffer *buf = calloc(1, sizeof(*buf));

	if (!buf)
		return -ENOMEM;
	buf->core = core;
	buf->refs = 1;
	buf->memfd = -1;
	buf->owner = DMABUF_NO_OWNER;
	TAILQ_INIT(&buf->attachments);
	TAILQ_INIT(&buf->handles);
	TAILQ_INIT(&buf->imports);
	pthread_mutex_lock(&core->lock);
	buf->ino = core->next_ino++;
	TAILQ_INSERT_TAIL(&core->buffers, buf, link);
	core->nr_buffers++;
	pthread_mutex_unlock(&core->lock);
	*out = buf;
	return 0;
}

int buffer_set_heap_locked(struct dmabuf_buffer *buf, const char *name)
{
	struct dmabuf_heap *heap = heap_find_locked(buf->core, name);

	if (!heap) {
		dmabuf_log(LOG_WARNING, "buffer %llu: no heap '%.31s' (ENODEV)",
			   (unsigned long long)buf->ino, name);
		return -ENODEV;
	}
	if (buf->heap == heap)
		return 0;
	/*
	 * The size was checked against this heap's capacity: another heap
	 * would bypass it.  A dma-buf's exporter is fixed at export.
	 */
	if (buf->size) {
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: heap fixed once sized (EPERM)",
			   (unsigned long long)buf->ino);
		return -EPERM;
	}
	if (buf->placed || !TAILQ_EMPTY(&buf->attachments)) {
		dmabuf_log(
			LOG_WARNING,
			"buffer %llu: heap fixed once attached or placed (EBUSY)",
			(unsigned long long)buf->ino);
		return -EBUSY;
	}
	buf->heap = heap;
	return 0;
}

/**
 * dmabuf_buffer_set_heap() - choose the exporting heap before placement
 * @buf: the buffer
 * @heap: heap name
 *
 * Return: 0 (also for the heap it already has); -ENODEV for an unknown heap;
 * -EPERM once sized; -EBUSY once devices are attached.
 */
int dmabuf_buffer_set_heap(struct dmabuf_buffer *buf, const char *heap)
{
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = buffer_set_heap_locked(buf, heap);
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
}

static int check_capacity(struct dmabuf_buffer *buf, uint64_t size)
{
	struct dmabuf_heap_stats st = {0};

	if (buf->heap->ops->stats)
		buf->heap->ops->stats(buf->heap->priv, &st);
	if (st.capacity && DMABUF_PAGE_ALIGN(size) > st.capacity) {
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: %llu bytes exceed heap %s (EFBIG)",
			   (unsigned long long)buf->ino,
			   (unsigned long long)size, buf->heap->ops->name);
		return -EFBIG;
	}
	return 0;
}

int buffer_set_size_locked(struct dmabuf_buffer *buf, uint64_t size)
{
	int ret;

	if (buf->size)
		return buf->size == size ? 0 : -EPERM;
	if (size == 0 || size > DMABUF_MAX_SIZE)
		return -EINVAL;
	if (!buf->heap) {
		ret = buffer_set_heap_locked(buf, buf->core->default_heap);
		if (ret)
			return ret;
	}
	ret = check_capacity(buf, size);
	if (ret)
		return ret;
	buf->size = size;
	buf->core->bytes += size;
	return 0;
}

/**
 * dmabuf_buffer_set_size() - export: fix the size, once
 * @buf: the buffer
 * @size: bytes
 *
 * The size of a dma-buf never changes.  Setting the size it already has is
 * a no-op; any other size after the first is -EPERM.  A buffer without a
 * heap gets the core's default heap here.
 *
 * Return: 0; -EPERM; -EINVAL for 0 or absurd sizes; -EFBIG beyond the
 * heap's capacity; -ENODEV when the default heap is missing.
 */
int dmabuf_buffer_set_size(struct dmabuf_buffer *buf, uint64_t size)
{
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = buffer_set_size_locked(buf, size);
	pthread_mutex_unlock(&buf->core->lock);
	if (ret == -EPERM || ret == -EINVAL)
		dmabuf_log(
			LOG_WARNING,
			"buffer %llu: size %llu refused (%s): sizes are fixed at export",
			(unsigned long long)buf->ino, (unsigned long long)size,
			strerror(-ret));
	return ret;
}

/**
 * dmabuf_buffer_set_name() - set the debug name (DMA_BUF_SET_NAME)
 * @buf: the buffer
 * @name: at most DMABUF_NAME_LEN - 1 bytes
 *
 * Return: 0, or -EINVAL when too long.
 */
int dmabuf_buffer_set_name(struct dmabuf_buffer *buf, const char *name)
{
	char copy[DMABUF_NAME_LEN];

	if (name_copy(copy, name)) {
		dmabuf_log(LOG_WARNING, "buffer %llu: name too long (EINVAL)",
			   (unsigned long long)buf->ino);
		return -EINVAL;
	}
	pthread_mutex_lock(&buf->core->lock);
	memcpy(buf->name, copy, sizeof(copy));
	pthread_mutex_unlock(&buf->core->lock);
	return 0;
}

void dmabuf_buffer_get(struct dmabuf_buffer *buf)
{
	pthread_mutex_lock(&buf->core->lock);
	buf->refs++;
	pthread_mutex_unlock(&buf->core->lock);
}

void dmabuf_buffer_put(struct dmabuf_buffer *buf)
{
	struct dmabuf_core *core = buf->core;
	bool last;

	pthread_mutex_lock(&core->lock);
	last = put_locked(buf);
	pthread_mutex_unlock(&core->lock);
	if (last)
		buffer_destroy(buf);
}

/** dmabuf_buffer_link() - a directory entry now names @buf (one reference) */
void dmabuf_buffer_link(struct dmabuf_buffer *buf)
{
	pthread_mutex_lock(&buf->core->lock);
	if (!buf->linked) {
		buf->linked = true;
		buf->refs++;
	}
	pthread_mutex_unlock(&buf->core->lock);
}

/** dmabuf_buffer_unlink() - the name is gone; the buffer lives on its fds */
void dmabuf_buffer_unlink(struct dmabuf_buffer *buf)
{
	struct dmabuf_core *core = buf->core;
	bool last = false;

	pthread_mutex_lock(&core->lock);
	if (buf->linked) {
		buf->linked = false;
		last = put_locked(buf);
	}
	pthread_mutex_unlock(&core->lock);
	if (last)
		buffer_destroy(buf);
}

uint64_t dmabuf_buffer_ino(const struct dmabuf_buffer *buf)
{
	return buf->ino; /* immutable */
}

uint64_t dmabuf_buffer_size(struct dmabuf_buffer *buf)
{
	uint64_t size;

	pthread_mutex_lock(&buf->core->lock);
	size = buf->size;
	pthread_mutex_unlock(&buf->core->lock);
	return size;
}

static uint32_t state_locked(const struct dmabuf_buffer *buf)
{
	if (!buf->size)
		return DMABUF_STATE_EMPTY;
	if (buf->has_pending)
		return DMABUF_STATE_MIGRATING;
	return buf->placed ? DMABUF_STATE_ALLOCATED : DMABUF_STATE_EXPORTED;
}

/**
 * dmabuf_buffer_info() - a snapshot of @buf for DMABUF_IOCTL_INFO
 * @buf: the buffer
 * @info: out
 */
void dmabuf_buffer_info(struct dmabuf_buffer *buf, struct dmabuf_info *info)
{
	struct dmabuf_attachment *att;
	struct dmabuf_handle *h;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&buf->core->lock);
	info->size = buf->size;
	info->ino = buf->ino;
	info->state = state_locked(buf);
	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		info->attachments++;
	TAILQ_FOREACH (h, &buf->handles, link)
		info->handles++;
	info->maps = buf->nr_maps;
	info->cpu_maps = buf->cpu_maps;
	info->write_fences = buf->write_fences;
	info->read_fences = buf->read_fences;
	if (buf->placed) {
		info->nr_chunks = buf->pl.nr_chunks;
		info->phys_addr = buf->pl.chunks[0].addr;
	}
	if (buffer_exp_name_locked(buf))
		name_copy(info->heap, buffer_exp_name_locked(buf));
	memcpy(info->name, buf->name, sizeof(info->name));
	pthread_mutex_unlock(&buf->core->lock);
}

/**
 * dmabuf_buffer_attachment_names() - "dev,dev,..." of @buf's attachments
 * @buf: the buffer
 * @out: destination
 * @len: its size
 *
 * Return: the length the full list needs, without the NUL (like snprintf).
 */
int dmabuf_buffer_attachment_names(struct dmabuf_buffer *buf, char *out,
				   size_t len)
{
	struct dmabuf_attachment *att;
	size_t used = 0;

	if (len)
		out[0] = '\0';
	pthread_mutex_lock(&buf->core->lock);
	TAILQ_FOREACH (att, &buf->attachments, buf_link) {
		int n = snprintf(used < len ? out + used : NULL,
				 used < len ? len - used : 0, "%s%s",
				 used ? "," : "", att->dev->desc.name);

		used += (size_t)n;
	}
	pthread_mutex_unlock(&buf->core->lock);
	return (int)used;
}

void dmabuf_buffer_cpu_map_get(struct dmabuf_buffer *buf)
{
	pthread_mutex_lock(&buf->core->lock);
	buf->refs++;
	buf->cpu_maps++;
	pthread_mutex_unlock(&buf->core->lock);
}

/** dmabuf_buffer_cpu_map_put() - that CPU mapping is gone */
void dmabuf_buffer_cpu_map_put(struct dmabuf_buffer *buf)
{
	struct dmabuf_core *core = buf->core;
	bool last;

	pthread_mutex_lock(&core->lock);
	buf->cpu_maps--;
	last = put_locked(buf);
	pthread_mutex_unlock(&core->lock);
	if (last)
		buffer_destroy(buf);
}

/**
 * dmabuf_buffer_poll() - implicit-fence readiness, as poll() on a dma-buf
 * @buf: the buffer
 *
 * Return: POLLIN when no device writes it, POLLOUT when no device maps it.
 */
uint32_t dmabuf_buffer_poll(struct dmabuf_buffer *buf)
{
	uint32_t mask = 0;

	pthread_mutex_lock(&buf->core->lock);
	if (!buf->write_fences && !imports_block_locked(buf, DMA_BUF_SYNC_READ))
		mask |= POLLIN | POLLRDNORM;
	if (!buf->nr_maps && !imports_block_locked(buf, DMA_BUF_SYNC_WRITE))
		mask |= POLLOUT | POLLWRNORM;
	pthread_mutex_unlock(&buf->core->lock);
	return mask;
}

/** dmabuf_buffer_seq() - @buf's change counter, to pass to dmabuf_buffer_wait()
 */
uint64_t dmabuf_buffer_seq(struct dmabuf_buffer *buf)
{
	uint64_t seq;

	pthread_mutex_lock(&buf->core->lock);
	seq = buf->seq;
	pthread_mutex_unlock(&buf->core->lock);
	return seq;
}

/**
 * dmabuf_buffer_wait() - block until @buf changes after @seq
 * @buf: the buffer
 * @seq: dmabuf_buffer_seq() read before the call that returned -EAGAIN
 * @timeout_ms: bound; negative waits forever
 *
 * For blocking callers (tests, tools); the daemon never blocks and uses the
 * notify hook instead.
 *
 * Return: 0 once changed, -ETIMEDOUT.
 */
int dmabuf_buffer_wait(struct dmabuf_buffer *buf, uint64_t seq, int timeout_ms)
{
	struct dmabuf_core *core = buf->core;
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&core->lock);
	while (buf->seq == seq && !ret) {
		if (timeout_ms < 0)
			pthread_cond_wait(&core->changed, &core->lock);
		else if (pthread_cond_timedwait(&core->changed, &core->lock,
						&deadline) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&core->lock);
	return ret;
}

void dmabuf_buffer_set_owner(struct dmabuf_buffer *buf, uid_t owner)
{
	pthread_mutex_lock(&buf->core->lock);
	if (!buf->placed)
		buf->owner = owner;
	pthread_mutex_unlock(&buf->core->lock);
}
