// SPDX-License-Identifier: MIT
/*
 * DOC: explicit fences (sync_file)
 *
 * The implicit fences of a buffer are its live device mappings, each named
 * by the sequence number it got when mapped (dma_fence's seqno on one
 * timeline per core).  An explicit fence is a snapshot of some of them,
 * taken when a program asks (DMA_BUF_IOCTL_EXPORT_SYNC_FILE): for READ the
 * mappings in which a device writes, for WRITE all of them, as
 * dma_resv_usage_rw() orders them, plus the fences imported into the buffer
 * for that direction.  It signals when every mapping it names has ended;
 * one that ended because its handle was released (its process died) makes
 * the fence signal with an error, as a GPU reset does in the kernel.  A
 * fence of no mapping is signalled from the start (the kernel's stub
 * fence).  Merging two fences gives one that names both sets.
 *
 * Imported fences (DMA_BUF_IOCTL_IMPORT_SYNC_FILE) join a buffer's implicit
 * fences until they signal: a write import holds CPU readers and writers
 * off, a read import CPU writers, exactly as a device mapping would.
 *
 * Fences live in the core, under its lock, referenced by whoever holds
 * them (a sync_file handle, an import); a mapping's end settles the leaves
 * that name it.
 *
 * Bounds.  A fence's leaves are kept sorted by seq, without duplicates, and
 * only pending ones are copied into a new fence (export and merge drop
 * signalled leaves, as the kernel's dma_fence_unwrap_merge() does), so a
 * fence never names more leaves than there are live device mappings, and
 * export, merge and a mapping's end cost O(n log n) at most.  An import is
 * charged to the uid that made it (DMABUF_CHARGE_FENCES) until it signals
 * or is dropped; importing a fence already imported into the buffer is a
 * no-op, as dma_resv_add_fence() replaces a fence of the same context.
 *
 * Calls only the log; buffer.c, attach.c and cpu.c call it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "internal.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct dmabuf_fence *fence_new_locked(struct dmabuf_core *core,
					     unsigned int nr)
{
	struct dmabuf_fence *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->leaves = nr ? calloc(nr, sizeof(*f->leaves)) : NULL;
	if (nr && !f->leaves) {
		free(f);
		return NULL;
	}
	f->core = core;
	f->refs = 1;
	LIST_INSERT_HEAD(&core->fences, f, link);
	return f;
}

static void fence_put_locked(struct dmabuf_fence *f)
{
	if (--f->refs)
		return;
	LIST_REMOVE(f, link);
	free(f->leaves);
	free(f);
}

static bool leaf_pending(const struct dmabuf_fence_leaf *l)
{
	return l->status == 0;
}

/* Is @f signalled?  Its first error if any leaf failed. */
static int fence_status_locked(const struct dmabuf_fence *f)
{
	int error = 0;
	unsigned int i;

	for (i = 0; i < f->nr_leaves; i++) {
		if (leaf_pending(&f->leaves[i]))
			return 0;
		if (f->leaves[i].status < 0 && !error)
			error = f->leaves[i].status;
	}
	return error ? error : 1;
}

static int by_seq(const void *a, const void *b)
{
	const struct dmabuf_fence_leaf *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort @f's leaves by seq and drop duplicates: O(n log n). */
static void leaves_sort(struct dmabuf_fence *f)
{
	unsigned int i, n = 0;

	if (f->nr_leaves < 2)
		return;
	qsort(f->leaves, f->nr_leaves, sizeof(*f->leaves), by_seq);
	for (i = 0; i < f->nr_leaves; i++)
		if (!n || f->leaves[n - 1].seq != f->leaves[i].seq)
			f->leaves[n++] = f->leaves[i];
	f->nr_leaves = n;
}

/* Append @l to @f if it is still pending. */
static void add_pending(struct dmabuf_fence *f,
			const struct dmabuf_fence_leaf *l)
{
	if (leaf_pending(l))
		f->leaves[f->nr_leaves++] = *l;
}

static unsigned int count_candidates_locked(const struct dmabuf_buffer *buf)
{
	const struct dmabuf_attachment *att;
	const struct dmabuf_import *imp;
	unsigned int n = 0;

	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		n += att->mapped;
	TAILQ_FOREACH (imp, &buf->imports, link)
		n += imp->fence->nr_leaves;
	return n;
}

/**
 * dmabuf_fence_export() - a fence for @buf's current fences
 * @buf: the buffer
 * @flags: DMA_BUF_SYNC_READ (its writers) and/or WRITE (all)
 * @out: the fence, one reference for the caller
 *
 * Return: 0; -EINVAL for flags outside DMA_BUF_SYNC_RW or none; -ENOMEM.
 */
int dmabuf_fence_export(struct dmabuf_buffer *buf, uint32_t flags,
			struct dmabuf_fence **out)
{
	struct dmabuf_core *core = buf->core;
	struct dmabuf_attachment *att;
	struct dmabuf_import *imp;
	struct dmabuf_fence *f;
	unsigned int i;

	if (!dmabuf_cpu_dir_valid(flags))
		return -EINVAL;
	pthread_mutex_lock(&core->lock);
	f = fence_new_locked(core, count_candidates_locked(buf));
	if (!f) {
		pthread_mutex_unlock(&core->lock);
		return -ENOMEM;
	}
	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		if (att->mapped &&
		    fence_blocks_cpu(dma_dir_writes(att->dir), flags))
			add_pending(f, &(struct dmabuf_fence_leaf){
					       .seq = att->map_seq});
	TAILQ_FOREACH (imp, &buf->imports, link)
		if (fence_blocks_cpu(imp->write, flags))
			for (i = 0; i < imp->fence->nr_leaves; i++)
				add_pending(f, &imp->fence->leaves[i]);
	leaves_sort(f);
	pthread_mutex_unlock(&core->lock);
	*out = f;
	return 0;
}

/* Merge the pending leaves of sorted @a and @b into empty @f: O(n). */
static void merge_pending(struct dmabuf_fence *f, const struct dmabuf_fence *a,
			  const struct dmabuf_fence *b)
{
	const struct dmabuf_fence_leaf *l;
	unsigned int i = 0, j = 0;

	while (i < a->nr_leaves || j < b->nr_leaves) {
		if (j == b->nr_leaves ||
		    (i < a->nr_leaves && a->leaves[i].seq <= b->leaves[j].seq))
			l = &a->leaves[i++];
		else
			l = &b->leaves[j++];
		if (f->nr_leaves && f->leaves[f->nr_leaves - 1].seq == l->seq)
			continue; /* named by both */
		add_pending(f, l);
	}
}

/**
 * dmabuf_fence_merge() - a fence that signals when @a and @b both have
 * @a: a fence
 * @b: another (or the same)
 * @out: the new fence, one reference for the caller
 *
 * Leaves that have signalled are left out (a merge of signalled fences is
 * a signalled stub), so the result names at most the live mappings.
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_fence_merge(struct dmabuf_fence *a, struct dmabuf_fence *b,
		       struct dmabuf_fence **out)
{
	struct dmabuf_core *core = a->core;
	struct dmabuf_fence *f;

	pthread_mutex_lock(&core->lock);
	f = fence_new_locked(core, a->nr_leaves + b->nr_leaves);
	if (f)
		merge_pending(f, a, b);
	pthread_mutex_unlock(&core->lock);
	if (!f)
		return -ENOMEM;
	*out = f;
	return 0;
}

void dmabuf_fence_get(struct dmabuf_fence *f)
{
	pthread_mutex_lock(&f->core->lock);
	f->refs++;
	pthread_mutex_unlock(&f->core->lock);
}

void dmabuf_fence_put(struct dmabuf_fence *f)
{
	struct dmabuf_core *core = f->core;

	pthread_mutex_lock(&core->lock);
	fence_put_locked(f);
	pthread_mutex_unlock(&core->lock);
}

/**
 * dmabuf_fence_status() - as sync_file_info.status
 * @f: the fence
 *
 * Return: 1 signalled, 0 active, a negative errno when signalled with an
 * error (a mapping it waited for was torn down with its process).
 */
int dmabuf_fence_status(struct dmabuf_fence *f)
{
	int ret;

	pthread_mutex_lock(&f->core->lock);
	ret = fence_status_locked(f);
	pthread_mutex_unlock(&f->core->lock);
	return ret;
}

/**
 * dmabuf_fence_leaves() - the mappings @f waits for, as SYNC_IOC_FILE_INFO
 * @f: the fence
 * @first: index of the first to copy
 * @out: room for @max
 * @max: its size
 *
 * Return: how many leaves @f has in all (0 for a stub fence).
 */
unsigned int dmabuf_fence_leaves(struct dmabuf_fence *f, unsigned int first,
				 struct dmabuf_fence_leaf *out,
				 unsigned int max)
{
	unsigned int n, i;

	pthread_mutex_lock(&f->core->lock);
	n = f->nr_leaves;
	for (i = 0; first + i < n && i < max; i++)
		out[i] = f->leaves[first + i];
	pthread_mutex_unlock(&f->core->lock);
	return n;
}

static void import_free_locked(struct dmabuf_buffer *buf,
			       struct dmabuf_import *imp)
{
	TAILQ_REMOVE(&buf->imports, imp, link);
	buf->core->nr_imports--;
	uncharge_locked(buf->core, imp->owner, DMABUF_CHARGE_FENCES, NULL, 1);
	fence_put_locked(imp->fence);
	free(imp);
}

/**
 * dmabuf_buffer_import_fence() - add @f to @buf's implicit fences
 * @buf: the buffer
 * @f: the fence; the buffer takes its own reference
 * @write: a write fence (holds CPU readers too), else a read fence
 * @owner: the uid charged for the import (DMABUF_CHARGE_FENCES), and the
 *         one dmabuf_buffer_revoke() spares or names
 * @pid: the process that imported it, for logs
 *
 * A fence that @owner imported already is not added again: importing it for
 * writing makes the import a write fence.
 *
 * Return: 0; the charge hook's errno; -ENOMEM.
 */
int dmabuf_buffer_import_fence(struct dmabuf_buffer *buf,
			       struct dmabuf_fence *f, bool write, uid_t owner,
			       pid_t pid)
{
	struct dmabuf_core *core = buf->core;
	struct dmabuf_import *imp, *new = calloc(1, sizeof(*new));
	int ret = 0;

	if (!new)
		return -ENOMEM;
	pthread_mutex_lock(&core->lock);
	imports_prune_locked(buf, false);
	TAILQ_FOREACH (imp, &buf->imports, link)
		if (imp->fence == f && imp->owner == owner)
			break;
	if (imp)
		imp->write = imp->write || write;
	else
		ret = charge_locked(core, owner, DMABUF_CHARGE_FENCES, NULL, 1);
	if (!imp && !ret) {
		*new = (struct dmabuf_import){
			.fence = f, .write = write, .owner = owner, .pid = pid};
		f->refs++;
		TAILQ_INSERT_TAIL(&buf->imports, new, link);
		core->nr_imports++;
		new = NULL;
		cpu_slots_publish_locked(buf); /* STARTs wait for it now */
	}
	pthread_mutex_unlock(&core->lock);
	free(new);
	return ret;
}

/* Drop imports that have signalled; free them all when @all. */
void imports_prune_locked(struct dmabuf_buffer *buf, bool all)
{
	struct dmabuf_import *imp, *next;

	TAILQ_FOREACH_SAFE (imp, &buf->imports, link, next)
		if (all || fence_status_locked(imp->fence))
			import_free_locked(buf, imp);
}

/* Does import @imp hold off a CPU access in @cpu_dir (0: any)? */
static bool import_blocks(const struct dmabuf_import *imp, uint32_t cpu_dir)
{
	return fence_blocks_cpu(imp->write, cpu_dir);
}

/*
 * Drop the imports that hold off a CPU access in @cpu_dir (0: all), except
 * those @spare made (DMABUF_NO_OWNER: none) and, when @only is not 0, those
 * another process made; each is logged with who imported it.  Return: how
 * many.
 */
int imports_revoke_locked(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			  uid_t spare, pid_t only)
{
	struct dmabuf_import *imp, *next;
	int n = 0;

	imports_prune_locked(buf, false);
	TAILQ_FOREACH_SAFE (imp, &buf->imports, link, next) {
		if (!import_blocks(imp, cpu_dir) ||
		    (spare != DMABUF_NO_OWNER && imp->owner == spare) ||
		    (only && imp->pid != only))
			continue;
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: dropping the %s fence imported by uid "
			   "%u pid %d",
			   (unsigned long long)buf->ino,
			   imp->write ? "write" : "read",
			   (unsigned int)imp->owner, (int)imp->pid);
		import_free_locked(buf, imp);
		n++;
	}
	return n;
}

/*
 * Append to @text (@len, @used so far) the pending imports that hold off a
 * CPU access in @cpu_dir, with who made them.  Return: how many.
 */
int imports_describe_locked(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			    char *text, size_t len, size_t *used)
{
	struct dmabuf_import *imp;
	int n = 0, w;

	TAILQ_FOREACH (imp, &buf->imports, link) {
		if (fence_status_locked(imp->fence) ||
		    !import_blocks(imp, cpu_dir) || *used >= len)
			continue;
		w = snprintf(text + *used, len > *used ? len - *used : 0,
			     "%sa %s fence imported by uid %u pid %d",
			     *used ? ", " : "", imp->write ? "write" : "read",
			     (unsigned int)imp->owner, (int)imp->pid);
		if (w > 0)
			*used += (size_t)w;
		n++;
	}
	return n;
}

/*
 * Imported fences still pending on @buf that hold off CPU access in @dir
 * (DMA_BUF_SYNC_* bits): writers wait for all, readers for write imports.
 */
bool imports_block_locked(struct dmabuf_buffer *buf, uint32_t dir)
{
	struct dmabuf_import *imp;

	imports_prune_locked(buf, false);
	TAILQ_FOREACH (imp, &buf->imports, link)
		if (import_blocks(imp, dir))
			return true;
	return false;
}

/*
 * A device mapping named @seq ended: settle the leaves that name it,
 * with an error when its handle was released rather than unmapped.  Leaves
 * are sorted, so each fence costs one binary search.
 */
void fences_mapping_ended_locked(struct dmabuf_core *core, uint64_t seq,
				 bool torn_down)
{
	struct dmabuf_fence_leaf key = {.seq = seq}, *l;
	struct dmabuf_fence *f;
	uint64_t at = now_ns();

	LIST_FOREACH (f, &core->fences, link) {
		l = f->nr_leaves ? bsearch(&key, f->leaves, f->nr_leaves,
					   sizeof(key), by_seq)
				 : NULL;
		if (l && !l->status) {
			l->status = torn_down ? -ECANCELED : 1;
			l->timestamp_ns = at;
		}
	}
}

/** dmabuf_core_fences_in_use() - may a change wake waiters of other buffers? */
bool dmabuf_core_fences_in_use(struct dmabuf_core *core)
{
	bool ret;

	pthread_mutex_lock(&core->lock);
	ret = core->nr_imports > 0 || !LIST_EMPTY(&core->fences);
	pthread_mutex_unlock(&core->lock);
	return ret;
}
