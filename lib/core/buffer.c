// SPDX-License-Identifier: MIT
/*
 * DOC: buffers, handles, attachments and CPU access
 *
 * A buffer is the struct dma_buf: a fixed size, an exporting heap, a debug
 * name, and a backing placed lazily.  Its reference count is its open
 * handles, its directory entry and its live CPU mappings (plus short-lived
 * references callers take); the last put releases the backing to its heap,
 * so an unlinked buffer lives exactly as long as its fds and mappings.
 *
 * Attachments and device mappings belong to the handle that made them, and
 * a handle's release unmaps and detaches everything it owns: a client that
 * dies leaks nothing.
 *
 * Negotiation follows the dma-buf model of deferred allocation.  The backing
 * is placed at the first device map or CPU access, suiting every device
 * attached at that moment: the heap gets one combined request (see
 * constraints_intersect()) and the result is checked against each device on
 * its own terms.  A later attach
 * the placement already meets is free; one it does not meet reserves a new
 * placement at once (so the move cannot fail later) and the next map stalls
 * with -EAGAIN until every current mapping is gone, then the backing moves.
 * An attach that no placement of the heap could ever meet fails with -EBUSY.
 * The bytes live in the buffer's memfd and move with it, so CPU mappings stay
 * valid across a migration.
 *
 * Implicit fences: a live device mapping is a fence, a write fence when the
 * device writes (FROM_DEVICE, BIDIRECTIONAL) and a read fence otherwise.
 * CPU reads wait for write fences, CPU writes for all fences, as
 * dma_resv_usage_rw() orders them; waiting is the caller's (-EAGAIN).
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

/* Largest buffer accepted at all: 1 PiB keeps page rounding from wrapping. */
#define DMABUF_MAX_SIZE (1ULL << 50)

static uint64_t placed_size(const struct dmabuf_buffer *buf)
{
	return DMABUF_PAGE_ALIGN(buf->size);
}

static void buffer_changed_locked(struct dmabuf_buffer *buf)
{
	buf->seq++;
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
static unsigned int ranges_fds(const struct dmabuf_memfd_range *r,
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

static void ranges_close(struct dmabuf_memfd_range *r, unsigned int n)
{
	int fds[DMABUF_BACKING_MAX_RANGES];
	unsigned int i, k = ranges_fds(r, n, fds);

	for (i = 0; i < k; i++)
		close(fds[i]);
}

/* The exp_name: the heap's, or udmabuf's for memory bound from outside. */
const char *buffer_exp_name_locked(const struct dmabuf_buffer *buf)
{
	if (buf->exp_name[0])
		return buf->exp_name;
	return buf->heap ? buf->heap->ops->name : NULL;
}

static void buffer_free_locked(struct dmabuf_buffer *buf)
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
	if (buf->memfd >= 0)
		close(buf->memfd);
	if (buf->nr_ranges)
		uncharge_locked(core, buf->owner, DMABUF_CHARGE_FDS, NULL,
				buf->nr_range_fds);
	ranges_close(buf->ranges, buf->nr_ranges);
	free(buf->ranges);
	imports_prune_locked(buf, true);
	dmabuf_log(LOG_DEBUG, "buffer %llu released",
		   (unsigned long long)buf->ino);
	free(buf);
}

static void put_locked(struct dmabuf_buffer *buf)
{
	if (--buf->refs == 0)
		buffer_free_locked(buf);
}

/*
 * Drop the lock; when @changed, tell the notify hook.  The reference taken
 * here keeps @buf alive while the hook runs without the lock.
 */
static void unlock_notify(struct dmabuf_buffer *buf, bool changed)
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

static int set_heap_locked(struct dmabuf_buffer *buf, const char *name)
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
	ret = set_heap_locked(buf, heap);
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

static int set_size_locked(struct dmabuf_buffer *buf, uint64_t size)
{
	int ret;

	if (buf->size)
		return buf->size == size ? 0 : -EPERM;
	if (size == 0 || size > DMABUF_MAX_SIZE)
		return -EINVAL;
	if (!buf->heap) {
		ret = set_heap_locked(buf, buf->core->default_heap);
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
	ret = set_size_locked(buf, size);
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

static int place_locked(struct dmabuf_buffer *buf);

static int setup_locked(struct dmabuf_buffer *buf, const char *heap,
			uint64_t size, uint64_t flags, const char *name)
{
	struct dmabuf_heap *old_heap = buf->heap;
	int ret;

	if (buf->size)
		return -EPERM;
	ret = heap && *heap ? set_heap_locked(buf, heap) : 0;
	if (!ret)
		ret = set_size_locked(buf, size);
	if (!ret && (flags & DMABUF_EXPORT_ALLOC_NOW)) {
		ret = place_locked(buf);
		if (ret) { /* as the kernel's: a failed export leaves nothing */
			buf->core->bytes -= buf->size;
			buf->size = 0;
		}
	}
	if (ret) {
		buf->heap = old_heap;
		return ret;
	}
	if (name)
		memcpy(buf->name, name, sizeof(buf->name));
	return 0;
}

/**
 * dmabuf_buffer_setup() - export an EMPTY buffer: heap, size, name, placement
 * @buf: the buffer
 * @heap: heap name, or NULL/"" for the one it has (else the default heap)
 * @size: bytes
 * @flags: DMABUF_EXPORT_* flags
 * @name: debug name, or NULL
 *
 * One step under the core lock, so that two exports racing on one file
 * cannot both pass the checks, and the size is checked against the heap
 * the buffer ends up on.  On failure the buffer is as it was.
 *
 * Return: 0; -EINVAL for unknown flags, a name too long, size 0 or absurd;
 * -EPERM when already sized; -ENODEV for an unknown heap; -EFBIG beyond the
 * heap's capacity; what placement returns for DMABUF_EXPORT_ALLOC_NOW.
 */
int dmabuf_buffer_setup(struct dmabuf_buffer *buf, const char *heap,
			uint64_t size, uint64_t flags, const char *name)
{
	char copy[DMABUF_NAME_LEN];
	int ret = -EINVAL;

	if (flags & ~DMABUF_EXPORT_VALID_FLAGS)
		dmabuf_log(LOG_WARNING, "buffer %llu: unknown export flags",
			   (unsigned long long)buf->ino);
	else if (name && name_copy(copy, name))
		dmabuf_log(LOG_WARNING, "buffer %llu: name too long (EINVAL)",
			   (unsigned long long)buf->ino);
	else
		ret = 0;
	if (ret)
		return ret;
	pthread_mutex_lock(&buf->core->lock);
	ret = setup_locked(buf, heap, size, flags, name ? copy : NULL);
	pthread_mutex_unlock(&buf->core->lock);
	if (ret == -EPERM || ret == -EINVAL)
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: export of %llu bytes refused (%s)",
			   (unsigned long long)buf->ino,
			   (unsigned long long)size, strerror(-ret));
	return ret;
}

/**
 * dmabuf_buffer_export() - create and export a buffer in one call
 * @core: the core
 * @heap: heap name, or NULL/"" for the default heap
 * @size: bytes
 * @flags: DMABUF_EXPORT_* flags
 * @name: debug name, or NULL
 * @out: the buffer, holding one reference for the caller
 *
 * Return: 0, or what dmabuf_buffer_create() and dmabuf_buffer_setup()
 * return; a failed export leaves no buffer.
 */
int dmabuf_buffer_export(struct dmabuf_core *core, const char *heap,
			 uint64_t size, uint64_t flags, const char *name,
			 struct dmabuf_buffer **out)
{
	struct dmabuf_buffer *buf;
	int ret = dmabuf_buffer_create(core, &buf);

	if (ret)
		return ret;
	ret = dmabuf_buffer_setup(buf, heap, size, flags, name);
	if (ret) {
		dmabuf_buffer_put(buf);
		return ret;
	}
	*out = buf;
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

	pthread_mutex_lock(&core->lock);
	put_locked(buf);
	pthread_mutex_unlock(&core->lock);
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

	pthread_mutex_lock(&core->lock);
	if (buf->linked) {
		buf->linked = false;
		put_locked(buf);
	}
	pthread_mutex_unlock(&core->lock);
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

const char *dmabuf_state_name(uint32_t state)
{
	static const char *const names[] = {"empty", "exported", "allocated",
					    "migrating"};

	return state < 4 ? names[state] : "unknown";
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

static int memfd_make(struct dmabuf_buffer *buf)
{
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "dmabuf:%llu",
		 (unsigned long long)buf->ino);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/*
	 * Exactly the buffer's size: a passthrough file reads to the memfd's
	 * end, so `cat` must stop where the buffer does.  Sealed so that
	 * nobody who receives it (or writes through the file) can grow or
	 * shrink it; mode 0600 so that a read-only copy handed to another user
	 * cannot be reopened writable through /proc/PID/fd.
	 */
	if (fchmod(fd, 0600) || ftruncate(fd, (off_t)buf->size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	buf->memfd = fd;
	return 0;
}

/* The combined placement request of the attached physical-address devices. */
static void union_constraints_locked(const struct dmabuf_buffer *buf,
				     struct dmabuf_constraints *c)
{
	struct dmabuf_attachment *att;

	constraints_init(c);
	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		if (!(att->dev->desc.flags & DMABUF_DEVICE_IOMMU))
			constraints_intersect(c, &att->dev->c);
}

/*
 * Does @pl suit every attached device that sees physical addresses, and
 * @extra (if not NULL), each on its own terms?
 */
static bool placement_suits_all_locked(const struct dmabuf_buffer *buf,
				       const struct dmabuf_placement *pl,
				       const struct dmabuf_device *extra)
{
	const struct dmabuf_attachment *att;

	if (extra && !(extra->desc.flags & DMABUF_DEVICE_IOMMU) &&
	    sg_check_placement(pl, &extra->c))
		return false;
	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		if (!(att->dev->desc.flags & DMABUF_DEVICE_IOMMU) &&
		    sg_check_placement(pl, &att->dev->c))
			return false;
	return true;
}

/* Ask the heap for a placement that suits every device; -EINVAL if none. */
static int allocate_for_locked(struct dmabuf_buffer *buf,
			       const struct dmabuf_device *extra,
			       struct dmabuf_placement *pl)
{
	struct dmabuf_heap *heap = buf->heap;
	struct dmabuf_constraints c;
	int ret;

	union_constraints_locked(buf, &c);
	if (extra && !(extra->desc.flags & DMABUF_DEVICE_IOMMU))
		constraints_intersect(&c, &extra->c);
	memset(pl, 0, sizeof(*pl));
	ret = heap->ops->allocate(heap->priv, placed_size(buf), &c, pl);
	if (ret)
		return ret;
	if (!placement_suits_all_locked(buf, pl, extra)) {
		heap->ops->release(heap->priv, pl);
		return -EINVAL;
	}
	return 0;
}

/* Deferred allocation: place the backing for the devices attached now. */
static int place_locked(struct dmabuf_buffer *buf)
{
	struct dmabuf_heap *heap = buf->heap;
	int ret;

	if (buf->placed)
		return 0;
	if (!buf->size)
		return -EINVAL;
	/* As memcg charges the allocating process: the buffer's creator. */
	ret = charge_locked(buf->core, buf->owner, DMABUF_CHARGE_BYTES,
			    heap->ops->name, placed_size(buf));
	if (ret)
		return ret;
	ret = allocate_for_locked(buf, NULL, &buf->pl);
	if (ret) {
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: heap %s cannot place %llu bytes: %s",
			   (unsigned long long)buf->ino, heap->ops->name,
			   (unsigned long long)buf->size, strerror(-ret));
		ret = ret == -EINVAL ? -EBUSY : ret;
		goto err_uncharge;
	}
	if (buf->memfd < 0 && !buf->nr_ranges) {
		ret = memfd_make(buf);
		if (ret) {
			heap->ops->release(heap->priv, &buf->pl);
			dmabuf_log(LOG_ERR, "buffer %llu: memfd: %s",
				   (unsigned long long)buf->ino,
				   strerror(-ret));
			goto err_uncharge;
		}
	}
	buf->placed = true;
	buf->charged = buf->owner == DMABUF_NO_OWNER ? 0 : placed_size(buf);
	return 0;

err_uncharge:
	uncharge_locked(buf->core, buf->owner, DMABUF_CHARGE_BYTES,
			heap->ops->name, placed_size(buf));
	return ret;
}

/**
 * dmabuf_buffer_backing() - the memfd that will hold @buf's bytes, unplaced
 * @buf: a sized buffer
 *
 * For a view of the bytes that the daemon does not mediate (FUSE
 * passthrough): the memfd exists from here on, placement stays deferred to
 * the first device map or CPU bracket.  Its pages are sparse until written;
 * pages written through such a view are charged by the kernel to the
 * writer's memory cgroup, and to the heap once the buffer is placed.  The fd
 * stays owned by the buffer.
 *
 * Return: the fd; -EINVAL while the buffer is EMPTY; -EXDEV when its bytes
 * are ranges of other memfds (a udmabuf: see dmabuf_buffer_ranges()); or
 * -errno from memfd_create().
 */
int dmabuf_buffer_backing(struct dmabuf_buffer *buf)
{
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = buf->size ? 0 : -EINVAL;
	if (!ret && buf->nr_ranges)
		ret = -EXDEV;
	if (!ret && buf->memfd < 0)
		ret = memfd_make(buf);
	if (!ret)
		ret = buf->memfd;
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
}

/**
 * dmabuf_buffer_memfd() - the memfd that holds @buf's bytes
 * @buf: the buffer
 * @allocate: place the backing if it is not placed yet
 *
 * The fd stays owned by the buffer; dup it to keep it.
 *
 * Return: the fd; -ENODATA when not placed and !@allocate; -EXDEV when the
 * bytes are ranges of other memfds (dmabuf_buffer_ranges()); or what
 * placement returns.
 */
int dmabuf_buffer_memfd(struct dmabuf_buffer *buf, bool allocate)
{
	int ret = -ENODATA;

	pthread_mutex_lock(&buf->core->lock);
	if (allocate)
		ret = place_locked(buf);
	if (buf->placed)
		ret = buf->nr_ranges ? -EXDEV : buf->memfd;
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
}

/**
 * dmabuf_buffer_bind_memfds() - make an EMPTY buffer of other memfds' pages
 * @buf: an EMPTY buffer with no heap chosen
 * @ranges: the runs, in buffer order; the fds pass to @buf on success (runs
 *          of one memfd share one fd, which the buffer closes once)
 * @count: 1 to DMABUF_BACKING_MAX_RANGES
 *
 * The udmabuf model: the buffer's bytes are the pages of @ranges, no copy;
 * its size is their sum and never changes.  It is placed at once (the
 * kernel pins a udmabuf's pages at creation) in the system heap's address
 * space, the memory being ordinary pages, and reports "udmabuf" as its
 * exporter.  The memfds' own rules (shmem or hugetlbfs, seals, sizes) are
 * the caller's to check: this is the object model's part.
 *
 * The buffer's owner is charged one DMABUF_CHARGE_FDS per distinct fd for
 * as long as the buffer keeps them.
 *
 * Return: 0; -EPERM for a buffer already sized or given a heap; -EINVAL for
 * a bad count, an unaligned or empty range, or a sum past the size limit;
 * -EFBIG, the charge hook's errno or a placement error; -ENOMEM.
 */
int dmabuf_buffer_bind_memfds(struct dmabuf_buffer *buf,
			      struct dmabuf_memfd_range *ranges,
			      unsigned int count)
{
	int fds[DMABUF_BACKING_MAX_RANGES];
	struct dmabuf_memfd_range *copy;
	unsigned int i, nr_fds;
	uint64_t total = 0;
	int ret;

	if (!count || count > DMABUF_BACKING_MAX_RANGES)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (!ranges[i].size || ranges[i].offset % DMABUF_PAGE_SIZE ||
		    ranges[i].size % DMABUF_PAGE_SIZE ||
		    ranges[i].size > DMABUF_MAX_SIZE - total)
			return -EINVAL;
		total += ranges[i].size;
	}
	copy = malloc(count * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, ranges, count * sizeof(*copy));
	nr_fds = ranges_fds(copy, count, fds);
	pthread_mutex_lock(&buf->core->lock);
	ret = buf->size || buf->heap ? -EPERM : 0;
	if (!ret)
		ret = charge_locked(buf->core, buf->owner, DMABUF_CHARGE_FDS,
				    NULL, nr_fds);
	if (!ret) {
		/* Ordinary pages: placed where the system heap places. */
		buf->heap = heap_find_locked(buf->core, "system");
		ret = buf->heap ? set_size_locked(buf, total) : -ENODEV;
		if (ret) {
			buf->heap = NULL;
			uncharge_locked(buf->core, buf->owner,
					DMABUF_CHARGE_FDS, NULL, nr_fds);
		}
	}
	if (!ret) {
		buf->ranges = copy;
		buf->nr_ranges = count;
		buf->nr_range_fds = nr_fds;
		name_copy(buf->exp_name, DMABUF_UDMABUF_EXP_NAME);
		ret = place_locked(buf);
		if (ret) {
			uncharge_locked(buf->core, buf->owner,
					DMABUF_CHARGE_FDS, NULL, nr_fds);
			buf->ranges = NULL;
			buf->nr_ranges = 0;
			buf->exp_name[0] = '\0';
			buf->core->bytes -= total;
			buf->size = 0;
			buf->heap = NULL;
		}
	}
	pthread_mutex_unlock(&buf->core->lock);
	if (ret)
		free(copy);
	return ret;
}

/**
 * dmabuf_buffer_ranges() - the memfd runs of a udmabuf
 * @buf: the buffer
 * @out: room for @max runs; the fds stay the buffer's
 * @max: its size
 *
 * Return: the number of runs (which may exceed @max: only @max are
 * written), or 0 for a buffer with its own memfd.
 */
int dmabuf_buffer_ranges(struct dmabuf_buffer *buf,
			 struct dmabuf_memfd_range *out, unsigned int max)
{
	unsigned int n;

	pthread_mutex_lock(&buf->core->lock);
	n = buf->nr_ranges;
	if (max)
		memcpy(out, buf->ranges, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&buf->core->lock);
	return (int)n;
}

/*
 * Copy between @mem and the buffer's bytes [@off, @off + @len), run by run,
 * with the lock dropped: the runs are fixed for the buffer's life and the
 * caller holds a reference.  Returns bytes copied or -errno.
 */
static ssize_t ranges_io(struct dmabuf_buffer *buf, char *mem, size_t len,
			 uint64_t off, bool write)
{
	struct dmabuf_memfd_range *r = buf->ranges;
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < buf->nr_ranges && done < len; i++) {
		uint64_t chunk;
		ssize_t n;

		if (off >= r[i].size) {
			off -= r[i].size;
			continue;
		}
		chunk = r[i].size - off < len - done ? r[i].size - off
						     : len - done;
		n = write ? pwrite(r[i].fd, mem + done, chunk,
				   (off_t)(r[i].offset + off))
			  : pread(r[i].fd, mem + done, chunk,
				  (off_t)(r[i].offset + off));
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)n;
		if ((uint64_t)n < chunk)
			break;
		off = 0;
	}
	return (ssize_t)done;
}

/**
 * dmabuf_buffer_pread() - read a placed buffer's bytes, whatever holds them
 * @buf: the buffer (own memfd or udmabuf runs)
 * @dst: destination
 * @len: bytes
 * @off: offset in the buffer
 *
 * Return: bytes read (short at the end), or -errno; -ENODATA when the
 * buffer has no memory yet.
 */
ssize_t dmabuf_buffer_pread(struct dmabuf_buffer *buf, void *dst, size_t len,
			    uint64_t off)
{
	int fd = dmabuf_buffer_memfd(buf, false);
	ssize_t n;

	if (fd == -EXDEV)
		return ranges_io(buf, dst, len, off, false);
	if (fd < 0)
		return fd;
	n = pread(fd, dst, len, (off_t)off);
	return n < 0 ? -errno : n;
}

/**
 * dmabuf_buffer_pwrite() - write a buffer's bytes, placing it first
 * @buf: the buffer
 * @src: source
 * @len: bytes
 * @off: offset in the buffer
 *
 * Return: bytes written, or -errno.
 */
ssize_t dmabuf_buffer_pwrite(struct dmabuf_buffer *buf, const void *src,
			     size_t len, uint64_t off)
{
	int fd = dmabuf_buffer_memfd(buf, true);
	ssize_t n;

	if (fd == -EXDEV)
		return ranges_io(buf, (char *)src, len, off, true);
	if (fd < 0)
		return fd;
	n = pwrite(fd, src, len, (off_t)off);
	return n < 0 ? -errno : n;
}

/** dmabuf_buffer_cpu_map_get() - a CPU mapping of the memfd now holds @buf */
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

	pthread_mutex_lock(&core->lock);
	buf->cpu_maps--;
	put_locked(buf);
	pthread_mutex_unlock(&core->lock);
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

/* ---- handles ---- */

/**
 * dmabuf_handle_open() - a new open handle (the shareable fd) of @buf
 * @buf: the buffer
 * @flags: open(2) flags, kept for the access mode
 * @out: the handle
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_handle_open(struct dmabuf_buffer *buf, int flags,
		       struct dmabuf_handle **out)
{
	struct dmabuf_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->buf = buf;
	h->flags = flags;
	h->owner = DMABUF_NO_OWNER;
	h->next_attach_id = 1;
	TAILQ_INIT(&h->attachments);
	pthread_mutex_lock(&buf->core->lock);
	buf->refs++;
	TAILQ_INSERT_TAIL(&buf->handles, h, link);
	pthread_mutex_unlock(&buf->core->lock);
	*out = h;
	return 0;
}

/**
 * dmabuf_handle_set_owner() - whom the handle's attachments and device
 * mappings are charged to (struct dmabuf_accounting), and who opened it
 * @h: a handle with no attachment yet
 * @owner: a uid, or DMABUF_NO_OWNER
 * @pid: the process that opened it, for logs and dmabuf_buffer_revoke()
 */
void dmabuf_handle_set_owner(struct dmabuf_handle *h, uid_t owner, pid_t pid)
{
	pthread_mutex_lock(&h->buf->core->lock);
	h->owner = owner;
	h->pid = pid;
	pthread_mutex_unlock(&h->buf->core->lock);
}

/**
 * dmabuf_buffer_set_owner() - whom the buffer's placement is charged to
 * @buf: a buffer not placed yet
 * @owner: a uid (its creator, as memcg charges the allocating process), or
 *         DMABUF_NO_OWNER
 */
void dmabuf_buffer_set_owner(struct dmabuf_buffer *buf, uid_t owner)
{
	pthread_mutex_lock(&buf->core->lock);
	if (!buf->placed)
		buf->owner = owner;
	pthread_mutex_unlock(&buf->core->lock);
}

struct dmabuf_buffer *dmabuf_handle_buffer(struct dmabuf_handle *h)
{
	return h->buf;
}

/*
 * End a device mapping.  @torn_down: its handle went away with the mapping
 * live (a killed process), which explicit fences report as an error.
 */
static void unmap_locked(struct dmabuf_attachment *att, bool torn_down)
{
	struct dmabuf_buffer *buf = att->buf;
	struct dmabuf_heap *heap = buf->heap;

	heap->ops->unmap_dma_buf(heap->priv, att->dev, &att->sgt);
	fences_mapping_ended_locked(buf->core, att->map_seq, torn_down);
	uncharge_locked(buf->core, att->handle->owner, DMABUF_CHARGE_MAPPINGS,
			NULL, 1);
	att->mapped = false;
	buf->nr_maps--;
	if (att->dir == DMABUF_DIR_TO_DEVICE)
		buf->read_fences--;
	else
		buf->write_fences--;
	buffer_changed_locked(buf);
}

/* A pending migration is no longer needed once the placement suits all. */
static void cancel_needless_migration_locked(struct dmabuf_buffer *buf)
{
	if (!buf->has_pending ||
	    !placement_suits_all_locked(buf, &buf->pl, NULL))
		return;
	buf->heap->ops->release(buf->heap->priv, &buf->pending);
	buf->has_pending = false;
	buffer_changed_locked(buf);
}

static void detach_locked(struct dmabuf_attachment *att)
{
	struct dmabuf_buffer *buf = att->buf;

	TAILQ_REMOVE(&buf->attachments, att, buf_link);
	TAILQ_REMOVE(&att->handle->attachments, att, handle_link);
	uncharge_locked(buf->core, att->handle->owner,
			DMABUF_CHARGE_ATTACHMENTS, NULL, 1);
	att->dev->users--;
	free(att);
	cancel_needless_migration_locked(buf);
}

/**
 * dmabuf_handle_release() - the last copy of a handle is closed
 * @h: the handle; freed
 *
 * Unmaps and detaches everything @h made, forgets its CPU brackets, wakes
 * waiters and drops its reference on the buffer.
 */
void dmabuf_handle_release(struct dmabuf_handle *h)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	unsigned int n = 0;

	pthread_mutex_lock(&buf->core->lock);
	while ((att = TAILQ_FIRST(&h->attachments))) {
		if (att->mapped)
			unmap_locked(att, true);
		detach_locked(att);
		n++;
	}
	buf->cpu_brackets -= h->cpu_brackets;
	TAILQ_REMOVE(&buf->handles, h, link);
	buffer_changed_locked(buf);
	if (n)
		dmabuf_log(
			LOG_INFO,
			"buffer %llu: a handle closed with %u attachment(s); "
			"detached them, as dma_buf_detach() at release",
			(unsigned long long)buf->ino, n);
	free(h);
	unlock_notify(buf, true);
	dmabuf_buffer_put(buf);
}

/* ---- attachments and device mappings ---- */

static struct dmabuf_attachment *find_attachment(struct dmabuf_handle *h,
						 uint64_t id)
{
	struct dmabuf_attachment *att;

	TAILQ_FOREACH (att, &h->attachments, handle_link)
		if (att->id == id)
			return att;
	return NULL;
}

/* A placement of @buf for its devices plus @dev, or -EBUSY if none can be. */
static int negotiate_locked(struct dmabuf_buffer *buf,
			    const struct dmabuf_device *dev,
			    struct dmabuf_placement *trial)
{
	int ret = allocate_for_locked(buf, dev, trial);

	return ret == -EINVAL ? -EBUSY : ret;
}

/* Check @dev against the backing (or its planned move); plan a move. */
static int admit_device_locked(struct dmabuf_buffer *buf,
			       const struct dmabuf_device *dev)
{
	struct dmabuf_heap *heap = buf->heap;
	struct dmabuf_placement trial;
	const struct dmabuf_placement *target;
	int ret;

	if (dev->desc.flags & DMABUF_DEVICE_IOMMU)
		return sg_iova_feasible(dev, placed_size(buf)) ? -EBUSY : 0;
	target = buf->has_pending ? &buf->pending
		 : buf->placed	  ? &buf->pl
				  : NULL;
	if (target && !sg_check_placement(target, &dev->c))
		return 0;
	ret = negotiate_locked(buf, dev, &trial);
	if (ret == -ENOMEM && !buf->placed)
		return 0; /* room may be free by the first map */
	if (ret)
		return ret;
	if (!buf->placed) {
		heap->ops->release(heap->priv, &trial);
		return 0;
	}
	if (buf->has_pending)
		heap->ops->release(heap->priv, &buf->pending);
	buf->pending = trial;
	buf->has_pending = true;
	dmabuf_log(
		LOG_INFO,
		"buffer %llu: '%s' needs a move; next map waits for %u mappings",
		(unsigned long long)buf->ino, dev->desc.name, buf->nr_maps);
	return 0;
}

static int attach_locked(struct dmabuf_handle *h, const char *device,
			 uint64_t *attach_id)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	struct dmabuf_device *dev;
	int ret;

	dev = device_find_locked(buf->core, device);
	if (!dev)
		return -ENODEV;
	if (!buf->size)
		return -EINVAL;
	ret = admit_device_locked(buf, dev);
	if (ret)
		return ret;
	ret = charge_locked(buf->core, h->owner, DMABUF_CHARGE_ATTACHMENTS,
			    NULL, 1);
	if (ret)
		return ret;
	att = calloc(1, sizeof(*att));
	if (!att) {
		uncharge_locked(buf->core, h->owner, DMABUF_CHARGE_ATTACHMENTS,
				NULL, 1);
		return -ENOMEM;
	}
	att->id = h->next_attach_id++;
	att->dev = dev;
	att->handle = h;
	att->buf = buf;
	dev->users++;
	TAILQ_INSERT_TAIL(&buf->attachments, att, buf_link);
	TAILQ_INSERT_TAIL(&h->attachments, att, handle_link);
	*attach_id = att->id;
	return 0;
}

/**
 * dmabuf_handle_attach() - attach a device to the handle's buffer
 * (dma_buf_attach)
 * @h: the handle that will own the attachment
 * @device: device name
 * @attach_id: out: the attachment's id within @h
 *
 * Return: 0; -ENODEV for an unknown device; -EINVAL for an unsized buffer;
 * -EBUSY when no placement of the buffer's heap could meet the device
 * together with those already attached; -ENOMEM when a needed move finds
 * no room.
 */
int dmabuf_handle_attach(struct dmabuf_handle *h, const char *device,
			 uint64_t *attach_id)
{
	struct dmabuf_buffer *buf = h->buf;
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	ret = attach_locked(h, device, attach_id);
	pthread_mutex_unlock(&buf->core->lock);
	if (ret)
		dmabuf_log(
			LOG_WARNING, "buffer %llu: attach '%.31s' refused: %s",
			(unsigned long long)buf->ino, device, strerror(-ret));
	return ret;
}

/**
 * dmabuf_handle_detach() - detach (dma_buf_detach)
 * @h: the owning handle
 * @attach_id: the attachment
 *
 * Return: 0; -EINVAL for an id @h does not own; -EBUSY while mapped.
 */
int dmabuf_handle_detach(struct dmabuf_handle *h, uint64_t attach_id)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	int ret = 0;

	pthread_mutex_lock(&buf->core->lock);
	att = find_attachment(h, attach_id);
	if (!att)
		ret = -EINVAL;
	else if (att->mapped)
		ret = -EBUSY;
	else
		detach_locked(att);
	unlock_notify(buf, ret == 0);
	if (ret)
		dmabuf_log(LOG_WARNING, "buffer %llu: detach %llu refused: %s",
			   (unsigned long long)buf->ino,
			   (unsigned long long)attach_id, strerror(-ret));
	return ret;
}

static void migrate_locked(struct dmabuf_buffer *buf)
{
	struct dmabuf_heap *heap = buf->heap;
	uint64_t from = buf->pl.chunks[0].addr;

	heap->ops->release(heap->priv, &buf->pl);
	buf->pl = buf->pending;
	buf->has_pending = false;
	buf->migrations++;
	buffer_changed_locked(buf);
	dmabuf_log(LOG_INFO, "buffer %llu: migrated from %#llx to %#llx",
		   (unsigned long long)buf->ino, (unsigned long long)from,
		   (unsigned long long)buf->pl.chunks[0].addr);
}

/*
 * A START waits for the device mappings it conflicts with, but nothing
 * stops a device from mapping while the CPU holds a bracket (nor does the
 * kernel).  Such a mapping races the bracket: note it on each handle whose
 * bracket it conflicts with, for DMABUF_IOCTL_TAKE_RACE (the sanitizer
 * asks at every END), and log it once per note.
 */
static void note_races_locked(const struct dmabuf_attachment *att)
{
	static const char *const dir_names[] = {"BIDIRECTIONAL", "TO_DEVICE",
						"FROM_DEVICE"};
	bool device_writes = att->dir != DMABUF_DIR_TO_DEVICE;
	struct dmabuf_handle *h;

	TAILQ_FOREACH (h, &att->buf->handles, link) {
		if (!h->cpu_brackets ||
		    !(device_writes || (h->bracket_dir & DMA_BUF_SYNC_WRITE)))
			continue;
		if (!h->race.count++)
			dmabuf_log(LOG_NOTICE,
				   "buffer %llu: device %s mapped it %s while "
				   "pid %d holds a CPU bracket: they race",
				   (unsigned long long)att->buf->ino,
				   att->dev->desc.name, dir_names[att->dir],
				   (int)h->pid);
		h->race.dir = att->dir;
		h->race.pid = att->handle->pid;
		h->race.uid = att->handle->owner;
		snprintf(h->race.device, sizeof(h->race.device), "%s",
			 att->dev->desc.name);
	}
}

static int map_locked(struct dmabuf_attachment *att, uint32_t dir)
{
	struct dmabuf_buffer *buf = att->buf;
	struct dmabuf_heap *heap = buf->heap;
	int ret;

	if (buf->has_pending) {
		if (buf->nr_maps)
			return -EAGAIN; /* the move waits for mappings to end */
		migrate_locked(buf);
	}
	ret = place_locked(buf);
	if (ret)
		return ret;
	att->revoked = false;
	ret = charge_locked(buf->core, att->handle->owner,
			    DMABUF_CHARGE_MAPPINGS, NULL, 1);
	if (ret)
		return ret;
	ret = heap->ops->map_dma_buf(heap->priv, &buf->pl, att->dev, dir,
				     &att->sgt);
	if (ret) {
		uncharge_locked(buf->core, att->handle->owner,
				DMABUF_CHARGE_MAPPINGS, NULL, 1);
		return ret;
	}
	att->mapped = true;
	att->dir = dir;
	att->map_seq = ++buf->core->next_fence_seq;
	buf->nr_maps++;
	if (dir == DMABUF_DIR_TO_DEVICE)
		buf->read_fences++;
	else
		buf->write_fences++;
	note_races_locked(att);
	return 0;
}

/*
 * The file's mode holds for devices too: a device that writes the buffer
 * needs a handle open for writing, one that reads it a handle open for
 * reading.  Otherwise a reader could change bytes through a device.
 */
static bool dir_allowed(const struct dmabuf_handle *h, uint32_t dir)
{
	int acc = h->flags & O_ACCMODE;

	if (dir != DMABUF_DIR_TO_DEVICE && acc == O_RDONLY)
		return false;
	return dir == DMABUF_DIR_FROM_DEVICE || acc != O_WRONLY;
}

/**
 * dmabuf_handle_map() - map an attachment (dma_buf_map_attachment)
 * @h: the owning handle
 * @attach_id: the attachment
 * @dir: DMABUF_DIR_*
 * @nents: out: entries of the sg table
 * @total_len: out: bytes it covers
 *
 * Places the backing on first use.  While a migration is pending and any
 * mapping is live the map cannot proceed: -EAGAIN, retry once the buffer
 * changed (dmabuf_buffer_wait() or the notify hook).
 *
 * Return: 0; -EINVAL for a bad id, direction or an unsized buffer; -EACCES
 * when @h's access mode forbids @dir (see dir_allowed()); -EBUSY when
 * already mapped or the placement cannot meet the device; -EAGAIN; -ENOMEM.
 */
int dmabuf_handle_map(struct dmabuf_handle *h, uint64_t attach_id, uint32_t dir,
		      uint32_t *nents, uint64_t *total_len)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	bool migrated;
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	migrated = buf->has_pending;
	att = find_attachment(h, attach_id);
	if (!att || dir > DMABUF_DIR_FROM_DEVICE)
		ret = -EINVAL;
	else if (!dir_allowed(h, dir))
		ret = -EACCES;
	else if (att->mapped)
		ret = -EBUSY;
	else
		ret = map_locked(att, dir);
	if (!ret) {
		*nents = att->sgt.nents;
		*total_len = buf->pl.size;
	}
	migrated = migrated && !buf->has_pending;
	unlock_notify(buf, migrated);
	if (ret && ret != -EAGAIN)
		dmabuf_log(LOG_WARNING, "buffer %llu: map %llu refused: %s",
			   (unsigned long long)buf->ino,
			   (unsigned long long)attach_id, strerror(-ret));
	return ret;
}

/**
 * dmabuf_handle_get_sg() - copy part of a mapped attachment's sg table
 * @h: the owning handle
 * @attach_id: a mapped attachment
 * @first: first entry wanted
 * @count: room in @entries
 * @entries: out
 * @nents: out: entries in the whole table
 *
 * Return: entries copied (0 when @first is the end), or -EINVAL.
 */
int dmabuf_handle_get_sg(struct dmabuf_handle *h, uint64_t attach_id,
			 uint32_t first, uint32_t count,
			 struct dmabuf_sg_entry *entries, uint32_t *nents)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	int ret = -EINVAL;

	pthread_mutex_lock(&buf->core->lock);
	att = find_attachment(h, attach_id);
	if (att && att->revoked)
		ret = -EIO;
	if (att && att->mapped && first <= att->sgt.nents) {
		if (count > att->sgt.nents - first)
			count = att->sgt.nents - first;
		memcpy(entries, att->sgt.entries + first,
		       count * sizeof(*entries));
		*nents = att->sgt.nents;
		ret = (int)count;
	}
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
}

/**
 * dmabuf_handle_unmap() - unmap (dma_buf_unmap_attachment); signals its fence
 * @h: the owning handle
 * @attach_id: a mapped attachment
 *
 * Return: 0; -EIO, once, for a mapping that was revoked
 * (dmabuf_buffer_revoke()); -EINVAL when not a mapped attachment of @h.
 */
int dmabuf_handle_unmap(struct dmabuf_handle *h, uint64_t attach_id)
{
	struct dmabuf_buffer *buf = h->buf;
	struct dmabuf_attachment *att;
	int ret = 0;

	pthread_mutex_lock(&buf->core->lock);
	att = find_attachment(h, attach_id);
	if (att && att->revoked) {
		att->revoked = false; /* told once; it may be mapped again */
		ret = -EIO;
	} else if (!att || !att->mapped) {
		ret = -EINVAL;
	} else {
		unmap_locked(att, false);
	}
	unlock_notify(buf, ret == 0);
	if (ret == -EINVAL)
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: unmap %llu refused: not mapped",
			   (unsigned long long)buf->ino,
			   (unsigned long long)attach_id);
	return ret;
}

/* ---- fences that outlive their welcome ---- */

/* Does the device mapping @att keep a CPU access of @cpu_dir waiting? */
static bool blocks(const struct dmabuf_attachment *att, uint32_t cpu_dir)
{
	if (!att->mapped)
		return false;
	/* As begin_locked(): writers wait for every mapping, readers for
	 * mappings the device writes through. */
	return !cpu_dir || (cpu_dir & DMA_BUF_SYNC_WRITE) ||
	       att->dir != DMABUF_DIR_TO_DEVICE;
}

static bool spared(const struct dmabuf_attachment *att, uid_t spare, pid_t only)
{
	const struct dmabuf_handle *h = att->handle;

	return (spare != DMABUF_NO_OWNER && h->owner == spare) ||
	       (only && h->pid != only);
}

/**
 * dmabuf_buffer_revoke() - end the fences that hold a buffer: device
 *                          mappings and imported fences
 * @buf: the buffer
 * @cpu_dir: end only those a CPU access in this direction waits for
 *           (DMA_BUF_SYNC_READ/WRITE); 0 for all
 * @spare: leave the mappings of handles this uid opened; DMABUF_NO_OWNER to
 *         spare none
 * @only: end only the mappings of handles this process opened; 0 for any
 *
 * The kernel bounds a fence with timeouts and driver resets; here a
 * mapping's fences end as if its device had been reset: they signal with
 * an error (explicit fences report -ECANCELED), the waiters go on, and the
 * holder learns at its next use of the mapping (unmap or get_sg: -EIO).
 * An imported fence (dmabuf_buffer_import_fence()) is dropped from the
 * buffer; the sync_file it came from is not touched.
 *
 * Return: how many mappings and imports were ended.
 */
int dmabuf_buffer_revoke(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			 uid_t spare, pid_t only)
{
	struct dmabuf_attachment *att;
	int n = 0;

	pthread_mutex_lock(&buf->core->lock);
	TAILQ_FOREACH (att, &buf->attachments, buf_link) {
		if (!blocks(att, cpu_dir) || spared(att, spare, only))
			continue;
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: revoking %s's mapping held by uid %u "
			   "pid %d",
			   (unsigned long long)buf->ino, att->dev->desc.name,
			   (unsigned int)att->handle->owner,
			   (int)att->handle->pid);
		unmap_locked(att, true);
		att->revoked = true;
		n++;
	}
	n += imports_revoke_locked(buf, cpu_dir, spare, only);
	unlock_notify(buf, n > 0);
	return n;
}

/**
 * dmabuf_buffer_blockers() - who a CPU access in @cpu_dir waits for
 * @buf: the buffer
 * @cpu_dir: DMA_BUF_SYNC_READ and/or WRITE
 * @first_uid: out: the owner of the first blocking mapping, or
 *             DMABUF_NO_OWNER when none blocks
 * @text: out: e.g. "gpu0 (device reads, uid 1000 pid 42)" or "a write fence
 *        imported by uid 1000 pid 42", "" when none
 * @len: its room
 *
 * Return: how many device mappings and imported fences it waits for.
 */
int dmabuf_buffer_blockers(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			   uid_t *first_uid, char *text, size_t len)
{
	struct dmabuf_attachment *att;
	size_t used = 0;
	int n = 0, w;

	*first_uid = DMABUF_NO_OWNER;
	if (len)
		text[0] = '\0';
	pthread_mutex_lock(&buf->core->lock);
	TAILQ_FOREACH (att, &buf->attachments, buf_link) {
		if (!blocks(att, cpu_dir))
			continue;
		if (!n++)
			*first_uid = att->handle->owner;
		w = snprintf(text + used, len > used ? len - used : 0,
			     "%s%s (device %s, uid %u pid %d)",
			     n > 1 ? ", " : "", att->dev->desc.name,
			     att->dir == DMABUF_DIR_TO_DEVICE ? "reads"
							      : "writes",
			     (unsigned int)att->handle->owner,
			     (int)att->handle->pid);
		if (w > 0)
			used += (size_t)w;
	}
	n += imports_describe_locked(buf, cpu_dir, text, len, &used);
	pthread_mutex_unlock(&buf->core->lock);
	return n;
}

/* ---- CPU access ---- */

/* Validate a CPU-access range and direction; resolve length 0 to the end. */
static int cpu_range_locked(const struct dmabuf_buffer *buf, uint64_t off,
			    uint64_t *len, uint32_t dir)
{
	if (!dir || (dir & ~(uint32_t)DMA_BUF_SYNC_RW) || !buf->size ||
	    off >= buf->size)
		return -EINVAL;
	if (!*len)
		*len = buf->size - off;
	if (*len > buf->size - off)
		return -EINVAL;
	return 0;
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
	ret = place_locked(buf);
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

	if ((flags & ~(uint64_t)DMA_BUF_SYNC_VALID_FLAGS_MASK) || !dir) {
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
void buffers_free_all(struct dmabuf_core *core)
{
	struct dmabuf_buffer *buf;
	struct dmabuf_handle *h;

	pthread_mutex_lock(&core->lock);
	while ((buf = TAILQ_FIRST(&core->buffers))) {
		while ((h = TAILQ_FIRST(&buf->handles))) {
			struct dmabuf_attachment *att;

			while ((att = TAILQ_FIRST(&h->attachments))) {
				if (att->mapped)
					unmap_locked(att, true);
				detach_locked(att);
			}
			TAILQ_REMOVE(&buf->handles, h, link);
			free(h);
		}
		buffer_free_locked(buf);
	}
	pthread_mutex_unlock(&core->lock);
}
