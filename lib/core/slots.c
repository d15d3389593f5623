// SPDX-License-Identifier: MIT
/*
 * DOC: brackets in shared memory, the object model's side
 *
 * A handle may have a slot (struct dmabuf_sync_slot, in a page its holder
 * maps; the file system hands them out, dmabuf-ioctl(2) has the protocol)
 * where its holder opens and closes CPU brackets without asking.  This
 * file keeps the daemon's side of it, in one place:
 *
 *  - the slot's @slow word says whether a START may skip the daemon now,
 *    and is published whenever that may have changed
 *    (cpu_slots_publish_locked(): from buffer_changed_locked(), a fence
 *    import, an ioctl START, and a device mapping before it reads the
 *    counts);
 *  - the slot's counts are merged into the handle's own wherever brackets
 *    are read (handle_brackets_locked(): race notes, .bufinfo), as hints:
 *    the daemon trusts nothing it reads there.
 *
 * A device mapping publishes @slow before it reads the counts (attach.c,
 * map_locked()); a client adds to its count and then reads @slow; so of a
 * START and a mapping racing, one always sees the other.
 *
 * Calls nothing of the object model's other files.
 */
#include <pthread.h>

#include "internal.h"

/*
 * May a START skip the daemon now?  Only when the ioctl would have nothing
 * to wait for and nothing to do: the backing placed, no device mapping, no
 * imported fence (signalled ones are pruned by the next ioctl START), and
 * a heap without cache maintenance.  A pending migration does not matter:
 * the CPU's bytes are the memfd's wherever the placement moves.
 */
static bool slot_start_allowed_locked(struct dmabuf_buffer *buf)
{
	const struct dmabuf_heap_ops *ops;

	if (!buf->placed || buf->nr_maps || !TAILQ_EMPTY(&buf->imports))
		return false;
	ops = buf->heap->ops;
	return !ops->begin_cpu_access && !ops->end_cpu_access;
}

/**
 * cpu_slots_publish_locked() - tell every slot of @buf whether a START may
 * skip the daemon
 * @buf: the buffer, core lock held
 *
 * Called after anything that may change slot_start_allowed_locked(); a
 * change that forbids it (a device mapping above all) must publish before
 * it takes effect.  Sequentially consistent stores: see map_locked().
 */
void cpu_slots_publish_locked(struct dmabuf_buffer *buf)
{
	uint32_t slow = !slot_start_allowed_locked(buf);
	struct dmabuf_handle *h;

	TAILQ_FOREACH (h, &buf->handles, link)
		if (h->slot)
			__atomic_store_n(&h->slot->slow, slow,
					 __ATOMIC_SEQ_CST);
}

/**
 * handle_brackets_locked() - the brackets @h holds, both kinds together
 * @h: the handle, core lock held
 * @dir: out: their directions (0 when none)
 *
 * Return: how many: the ioctl's plus those its slot counts (a READ|WRITE
 * bracket counts once; a count past DMABUF_SYNC_COUNT_MAX is a lie and
 * taken as that much).
 */
unsigned int handle_brackets_locked(const struct dmabuf_handle *h,
				    uint32_t *dir)
{
	uint32_t b =
		h->slot ? __atomic_load_n(&h->slot->brackets, __ATOMIC_SEQ_CST)
			: 0;
	unsigned int r = b & DMABUF_SYNC_COUNT_MASK;
	unsigned int w = (b >> 16) & DMABUF_SYNC_COUNT_MASK;

	r = r < DMABUF_SYNC_COUNT_MAX ? r : DMABUF_SYNC_COUNT_MAX;
	w = w < DMABUF_SYNC_COUNT_MAX ? w : DMABUF_SYNC_COUNT_MAX;
	*dir = (h->cpu_brackets ? h->bracket_dir : 0) |
	       (r ? DMA_BUF_SYNC_READ : 0) | (w ? DMA_BUF_SYNC_WRITE : 0);
	return h->cpu_brackets + (r > w ? r : w);
}

/**
 * dmabuf_handle_set_sync_slot() - give @h a slot for brackets in shared
 * memory, or take it back
 * @h: the handle
 * @slot: the slot (zeroed counts; the file system's memory, valid until it
 *        is taken back or @h is released), or NULL to take it back
 *
 * The slot's @slow is published at once.  A slot taken back is left with
 * @slow set; its counts are dropped with it.
 */
void dmabuf_handle_set_sync_slot(struct dmabuf_handle *h,
				 struct dmabuf_sync_slot *slot)
{
	struct dmabuf_buffer *buf = h->buf;

	pthread_mutex_lock(&buf->core->lock);
	if (h->slot)
		__atomic_store_n(&h->slot->slow, 1, __ATOMIC_SEQ_CST);
	h->slot = slot;
	if (slot)
		cpu_slots_publish_locked(buf);
	pthread_mutex_unlock(&buf->core->lock);
}
