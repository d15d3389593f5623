// SPDX-License-Identifier: MIT
/*
 * DOC: placement: where a buffer's bytes live
 *
 * Negotiation follows the dma-buf model of deferred allocation.  The backing
 * is placed at the first device map or CPU access, suiting every device
 * attached at that moment: the heap gets one combined request (see
 * constraints_intersect()) and the result is checked against each device on
 * its own terms.  The bytes live in the buffer's memfd and move with it, so
 * CPU mappings stay valid across a migration (attach.c decides when one is
 * due).
 *
 * A udmabuf's bytes are runs of memfds a client bound
 * (dmabuf_buffer_bind_memfds()); reads and writes of the file go through
 * them here.  Export (dmabuf_buffer_setup()) sets heap and size and places
 * at once when asked.
 *
 * Calls buffer.c, heap.c and sg.c; attach.c and cpu.c call it.
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

static int setup_locked(struct dmabuf_buffer *buf, const char *heap,
			uint64_t size, uint64_t flags, const char *name)
{
	struct dmabuf_heap *old_heap = buf->heap;
	int ret;

	if (buf->size)
		return -EPERM;
	ret = heap && *heap ? buffer_set_heap_locked(buf, heap) : 0;
	if (!ret)
		ret = buffer_set_size_locked(buf, size);
	if (!ret && (flags & DMABUF_EXPORT_ALLOC_NOW)) {
		ret = buffer_place_locked(buf);
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

/*
 * Make @fd the memory of @buf, as every buffer's memfd is: exactly the
 * buffer's size (a passthrough file reads to the memfd's end, so `cat`
 * must stop where the buffer does); sealed, so that nobody who receives it
 * (or writes through the file) can grow or shrink it; mode 0600, so that a
 * read-only copy handed to another user cannot be reopened writable
 * through /proc/PID/fd.  Return: 0, or -errno with @fd untouched but open.
 */
static int memfd_fit_locked(struct dmabuf_buffer *buf, int fd)
{
	if (fchmod(fd, 0600) || ftruncate(fd, (off_t)buf->size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		return -errno;
	buf->memfd = fd;
	return 0;
}

static int memfd_make(struct dmabuf_buffer *buf)
{
	char name[48];
	int fd, ret;

	snprintf(name, sizeof(name), "dmabuf:%llu",
		 (unsigned long long)buf->ino);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	ret = memfd_fit_locked(buf, fd);
	if (ret)
		close(fd);
	return ret;
}

/**
 * dmabuf_buffer_adopt_memfd() - bytes written before the size was set
 * @buf: a sized buffer with no memory yet (not a udmabuf)
 * @fd: a memfd made with MFD_ALLOW_SEALING and not sealed, holding the
 *      buffer's first bytes (the daemon's staging of a creating handle's
 *      writes); cut or grown to the buffer's size
 *
 * The memfd becomes the buffer's memory, sealed as any buffer's: no copy.
 * Placement stays deferred, as for any buffer.  On success the buffer owns
 * @fd; on failure the caller still does.
 *
 * Return: 0; -EBUSY when the buffer has memory already; -EINVAL when it
 * has no size; -errno of sealing.
 */
int dmabuf_buffer_adopt_memfd(struct dmabuf_buffer *buf, int fd)
{
	int ret;

	pthread_mutex_lock(&buf->core->lock);
	if (!buf->size)
		ret = -EINVAL;
	else if (buf->memfd >= 0 || buf->nr_ranges)
		ret = -EBUSY;
	else
		ret = memfd_fit_locked(buf, fd);
	pthread_mutex_unlock(&buf->core->lock);
	return ret;
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
bool buffer_placement_suits_all_locked(const struct dmabuf_buffer *buf,
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
int buffer_allocate_for_locked(struct dmabuf_buffer *buf,
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
	ret = heap->ops->allocate(heap->priv, buffer_placed_size(buf), &c, pl);
	if (ret)
		return ret;
	if (!buffer_placement_suits_all_locked(buf, pl, extra)) {
		heap->ops->release(heap->priv, pl);
		return -EINVAL;
	}
	return 0;
}

/* Deferred allocation: place the backing for the devices attached now. */
int buffer_place_locked(struct dmabuf_buffer *buf)
{
	struct dmabuf_heap *heap = buf->heap;
	int ret;

	if (buf->placed)
		return 0;
	if (!buf->size)
		return -EINVAL;
	/* As memcg charges the allocating process: the buffer's creator. */
	ret = charge_locked(buf->core, buf->owner, DMABUF_CHARGE_BYTES,
			    heap->ops->name, buffer_placed_size(buf));
	if (ret)
		return ret;
	ret = buffer_allocate_for_locked(buf, NULL, &buf->pl);
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
	buf->charged =
		buf->owner == DMABUF_NO_OWNER ? 0 : buffer_placed_size(buf);
	return 0;

err_uncharge:
	uncharge_locked(buf->core, buf->owner, DMABUF_CHARGE_BYTES,
			heap->ops->name, buffer_placed_size(buf));
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
		ret = buffer_place_locked(buf);
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
	nr_fds = buffer_ranges_fds(copy, count, fds);
	pthread_mutex_lock(&buf->core->lock);
	ret = buf->size || buf->heap ? -EPERM : 0;
	if (!ret)
		ret = charge_locked(buf->core, buf->owner, DMABUF_CHARGE_FDS,
				    NULL, nr_fds);
	if (!ret) {
		/* Ordinary pages: placed where the system heap places. */
		buf->heap = heap_find_locked(buf->core, "system");
		ret = buf->heap ? buffer_set_size_locked(buf, total) : -ENODEV;
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
		ret = buffer_place_locked(buf);
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
