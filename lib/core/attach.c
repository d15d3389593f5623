// SPDX-License-Identifier: MIT
/*
 * DOC: handles, attachments, device mappings, migration and revocation
 *
 * Attachments and device mappings belong to the handle that made them, and
 * a handle's release unmaps and detaches everything it owns: a client that
 * dies leaks nothing.
 *
 * A later attach the placement already meets is free; one it does not meet
 * reserves a new placement at once (so the move cannot fail later) and the
 * next map stalls with -EAGAIN until every current mapping is gone, then
 * the backing moves.  An attach that no placement of the heap could ever
 * meet fails with -EBUSY.
 *
 * Implicit fences: a live device mapping is a fence, a write fence when the
 * device writes (FROM_DEVICE, BIDIRECTIONAL) and a read fence otherwise
 * (dmabuf_fence_blocks_cpu() is the rule); dmabuf_buffer_revoke() ends them
 * as a device reset would.
 *
 * Calls buffer.c, placement.c, device.c, sg.c and fence.c.
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
	if (dma_dir_writes(att->dir))
		buf->write_fences--;
	else
		buf->read_fences--;
	buffer_changed_locked(buf);
}

/* A pending migration is no longer needed once the placement suits all. */
static void cancel_needless_migration_locked(struct dmabuf_buffer *buf)
{
	if (!buf->has_pending ||
	    !buffer_placement_suits_all_locked(buf, &buf->pl, NULL))
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
	buffer_unlock_notify(buf, true);
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
	int ret = buffer_allocate_for_locked(buf, dev, trial);

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
		return sg_iova_feasible(dev, buffer_placed_size(buf)) ? -EBUSY
								      : 0;
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
	buffer_unlock_notify(buf, ret == 0);
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
	struct dmabuf_handle *h;
	uint32_t dir;

	TAILQ_FOREACH (h, &att->buf->handles, link) {
		if (!handle_brackets_locked(h, &dir) ||
		    !fence_blocks_cpu(dma_dir_writes(att->dir), dir))
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
	ret = buffer_place_locked(buf);
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
	if (dma_dir_writes(dir))
		buf->write_fences++;
	else
		buf->read_fences++;
	/*
	 * Brackets in shared memory: set every slot's @slow, then read their
	 * counts.  A client adds to its count and then reads @slow, so a
	 * START either sees @slow and waits in the daemon, or its bracket is
	 * seen here and noted as a race -- never neither.
	 */
	cpu_slots_publish_locked(buf);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
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
	buffer_unlock_notify(buf, migrated);
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
	buffer_unlock_notify(buf, ret == 0);
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
	return fence_blocks_cpu(dma_dir_writes(att->dir), cpu_dir);
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
	buffer_unlock_notify(buf, n > 0);
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
