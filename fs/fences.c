// SPDX-License-Identifier: MIT
/*
 * DOC: sync_file handles
 *
 * A sync_file is an fd that stands for an explicit fence (lib/core/fence.c):
 * it polls POLLIN once the fence signals, and answers SYNC_IOC_FILE_INFO and
 * SYNC_IOC_MERGE.  The kernel creates it in the caller; here the compat
 * layer does, in two steps the daemon can answer:
 *
 *  1. DMABUF_IOCTL_FENCE_EXPORT on a buffer handle (or FENCE_MERGE on a
 *     bound sync_file handle) makes a fence and names it by a random id.
 *     An id nobody binds within the token lifetime is dropped.
 *  2. The layer opens <mount>/.sync_file and binds the new handle to the id
 *     (DMABUF_IOCTL_FENCE_BIND).  From then on that handle is the
 *     sync_file: poll, FENCE_INFO, FENCE_MERGE, and the id that
 *     DMABUF_IOCTL_FENCE_IMPORT on a buffer names.
 *
 * Ids are 64 random bits, so only whoever was told one can name its fence.
 * The table of ids and every sync_file handle are under fs.lock.
 *
 * Accounts (FS_LIMIT_FENCES, EMFILE): an id is charged to the uid it was
 * made for until it is dropped, a .sync_file handle to the uid that opened
 * it until it is closed, and an import to its importer in the core
 * (DMABUF_CHARGE_FENCES).  Unclaimed ids wait on a queue in claim order, so
 * dropping the stale ones costs only what is dropped.
 *
 * Calls limits.c (charges), wait.c (poll arming) and the object model's
 * fences; ioctl.c and files.c call it.
 */
#include <errno.h>
#include <poll.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>

#include "decode.h"
#include "fs.h"

/* How long an id may wait for its handle (the layer binds it at once). */
#define FENCE_CLAIM_S 10

/**
 * struct fs_fence - a fence the daemon knows by id
 * @id: random, never 0
 * @fence: one reference
 * @handles: sync_file handles bound to it
 * @claim_by: CLOCK_MONOTONIC seconds by which a handle must bind it
 * @uid: the uid charged for it (FS_LIMIT_FENCES)
 * @unclaimed: on fs.unclaimed: no handle bound it yet
 * @name: what SYNC_IOC_FILE_INFO reports
 * @claim_link: entry in fs.unclaimed
 */
struct fs_fence {
	uint64_t id;
	struct dmabuf_fence *fence;
	unsigned int handles;
	time_t claim_by;
	uid_t uid;
	bool unclaimed;
	char name[DMABUF_NAME_LEN];
	TAILQ_ENTRY(fs_fence) claim_link;
};

static int by_id(const void *a, const void *b)
{
	const struct fs_fence *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct fs_fence *find_locked(struct fs *fs, uint64_t id)
{
	struct fs_fence key = {.id = id}, **found;

	found = tfind(&key, &fs->fences, by_id);
	return found ? *found : NULL;
}

static void drop_locked(struct fs *fs, struct fs_fence *ff)
{
	tdelete(ff, &fs->fences, by_id);
	if (ff->unclaimed)
		TAILQ_REMOVE(&fs->unclaimed, ff, claim_link);
	fs_uncharge(fs, ff->uid, FS_LIMIT_FENCES);
	dmabuf_fence_put(ff->fence);
	free(ff);
}

/* Ids handed out and never bound: a client that died between the steps. */
static void drop_unclaimed_locked(struct fs *fs)
{
	struct fs_fence *ff;
	time_t now = now_s();

	while ((ff = TAILQ_FIRST(&fs->unclaimed)) && ff->claim_by <= now)
		drop_locked(fs, ff);
}

/* Name @fence by a new id for @uid, unclaimed; takes the caller's reference. */
static int publish(struct fs *fs, uid_t uid, struct dmabuf_fence *fence,
		   const char *name, __u64 *id)
{
	struct fs_fence *ff = calloc(1, sizeof(*ff));
	int ret = ff ? 0 : -ENOMEM;

	while (!ret && !ff->id)
		if (getrandom(&ff->id, sizeof(ff->id), 0) != sizeof(ff->id))
			ret = -EAGAIN;
	if (!ret) {
		pthread_mutex_lock(&fs->lock);
		drop_unclaimed_locked(fs);
		pthread_mutex_unlock(&fs->lock);
		ret = fs_charge(fs, uid, FS_LIMIT_FENCES);
	}
	if (ret) {
		free(ff);
		dmabuf_fence_put(fence);
		return ret;
	}
	ff->fence = fence;
	ff->uid = uid;
	ff->claim_by = now_s() + FENCE_CLAIM_S;
	snprintf(ff->name, sizeof(ff->name), "%s", name);
	pthread_mutex_lock(&fs->lock);
	ret = tsearch(ff, &fs->fences, by_id) ? 0 : -ENOMEM;
	if (!ret) {
		ff->unclaimed = true;
		TAILQ_INSERT_TAIL(&fs->unclaimed, ff, claim_link);
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret) {
		fs_uncharge(fs, uid, FS_LIMIT_FENCES);
		dmabuf_fence_put(fence);
		free(ff);
		return ret;
	}
	*id = ff->id;
	return 0;
}

/**
 * fs_fence_export() - DMABUF_IOCTL_FENCE_EXPORT
 * @fs: the file system
 * @ctx: who asks (charged for the id)
 * @file: the buffer handle
 * @e: in: flags; out: the id
 *
 * Return: 0; -EINVAL for flags that are not READ and/or WRITE; -EMFILE past
 * max_fences; -errno.
 */
int fs_fence_export(struct fs *fs, const struct fuse_ctx *ctx,
		    struct fs_file *file, struct dmabuf_fence_export *e)
{
	struct dmabuf_fence *f;
	int ret = dmabuf_fence_export(file->inode->buf, e->flags, &f);

	return ret ? ret : publish(fs, ctx->uid, f, "", &e->id);
}

/**
 * fs_fence_import() - DMABUF_IOCTL_FENCE_IMPORT
 * @fs: the file system
 * @ctx: who asks: charged for the import, and named when it is dropped
 * @file: the buffer handle
 * @imp: the fence's id and the direction
 *
 * Importing a fence the caller's uid imported already is a no-op.
 *
 * Return: 0; -EINVAL for an id that names no fence; -EMFILE past
 * max_fences; -ENOMEM.
 */
int fs_fence_import(struct fs *fs, const struct fuse_ctx *ctx,
		    struct fs_file *file, const struct dmabuf_fence_import *imp)
{
	struct dmabuf_fence *f = NULL;
	struct fs_fence *ff;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ff = find_locked(fs, imp->id);
	if (ff) {
		f = ff->fence;
		dmabuf_fence_get(f);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!f) {
		fs_log_refusal(
			ctx->uid,
			"fence import refused (EINVAL): not a sync_file");
		return -EINVAL;
	}
	ret = dmabuf_buffer_import_fence(file->inode->buf, f,
					 imp->flags & DMA_BUF_SYNC_WRITE,
					 ctx->uid, ctx->pid);
	dmabuf_fence_put(f);
	return ret;
}

/**
 * fs_sync_file_open() - a new, unbound .sync_file handle
 * @fs: the file system
 * @uid: who opens it (charged until it is closed)
 * @fi: its file info (fh set here)
 *
 * Return: 0; -EMFILE past max_fences; -ENOMEM.
 */
int fs_sync_file_open(struct fs *fs, uid_t uid, struct fuse_file_info *fi)
{
	struct fs_sync_file *sf = calloc(1, sizeof(*sf));
	int ret = sf ? fs_charge(fs, uid, FS_LIMIT_FENCES) : -ENOMEM;

	if (ret) {
		free(sf);
		return ret;
	}
	sf->uid = uid;
	pthread_mutex_lock(&fs->lock);
	LIST_INSERT_HEAD(&fs->sync_files, sf, link);
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uintptr_t)sf;
	return 0;
}

/** fs_sync_file_release() - the last close of a .sync_file handle */
void fs_sync_file_release(struct fs *fs, struct fuse_file_info *fi)
{
	struct fs_sync_file *sf = (struct fs_sync_file *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&fs->lock);
	LIST_REMOVE(sf, link);
	if (sf->ff && !--sf->ff->handles)
		drop_locked(fs, sf->ff);
	pthread_mutex_unlock(&fs->lock);
	fs_uncharge(fs, sf->uid, FS_LIMIT_FENCES);
	if (sf->ph)
		fuse_pollhandle_destroy(sf->ph);
	free(sf);
}

/**
 * fs_fence_bind() - DMABUF_IOCTL_FENCE_BIND: point a .sync_file handle at
 * the fence named @id
 * @fs: the file system
 * @sf: the .sync_file handle
 * @id: the id FENCE_EXPORT or FENCE_MERGE returned
 *
 * Return: 0, -EBUSY when @sf is bound already, -ENOENT for an unknown id.
 */
int fs_fence_bind(struct fs *fs, struct fs_sync_file *sf, uint64_t id)
{
	struct fs_fence *ff;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	ff = find_locked(fs, id);
	if (sf->ff)
		ret = -EBUSY;
	else if (!ff)
		ret = -ENOENT;
	else {
		ff->handles++;
		sf->ff = ff;
		if (ff->unclaimed)
			TAILQ_REMOVE(&fs->unclaimed, ff, claim_link);
		ff->unclaimed = false;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* The bound fence of @sf, referenced; NULL if unbound. */
static struct dmabuf_fence *fence_of(struct fs *fs, struct fs_sync_file *sf,
				     char name[DMABUF_NAME_LEN], __u64 *id)
{
	struct dmabuf_fence *f = NULL;

	pthread_mutex_lock(&fs->lock);
	if (sf->ff) {
		f = sf->ff->fence;
		dmabuf_fence_get(f);
		if (name)
			memcpy(name, sf->ff->name, DMABUF_NAME_LEN);
		if (id)
			*id = sf->ff->id;
	}
	pthread_mutex_unlock(&fs->lock);
	return f;
}

/**
 * fs_fence_merge() - DMABUF_IOCTL_FENCE_MERGE (SYNC_IOC_MERGE)
 * @fs: the file system
 * @uid: who asks, charged for the new id
 * @sf: the .sync_file handle: one of the two fences
 * @m: in: the other fence's id and the new name; out: the new id
 *
 * Return: 0; -EINVAL for an unbound handle or unknown id; -EMFILE, -ENOMEM.
 */
int fs_fence_merge(struct fs *fs, uid_t uid, struct fs_sync_file *sf,
		   struct dmabuf_fence_merge *m)
{
	struct dmabuf_fence *a = fence_of(fs, sf, NULL, NULL), *b = NULL, *f;
	struct fs_fence *other;
	int ret = a ? 0 : -EINVAL;

	pthread_mutex_lock(&fs->lock);
	other = find_locked(fs, m->other);
	if (other) {
		b = other->fence;
		dmabuf_fence_get(b);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!ret && !b)
		ret = -EINVAL;
	if (!ret)
		ret = dmabuf_fence_merge(a, b, &f);
	if (!ret)
		ret = publish(fs, uid, f, m->name, &m->id);
	if (a)
		dmabuf_fence_put(a);
	if (b)
		dmabuf_fence_put(b);
	return ret;
}

/**
 * fs_fence_info() - DMABUF_IOCTL_FENCE_INFO (SYNC_IOC_FILE_INFO)
 * @fs: the file system
 * @sf: the .sync_file handle
 * @in: in: the page of leaves asked; out: status, name, id and the leaves
 *
 * Return: 0 or -EINVAL for an unbound handle.
 */
int fs_fence_info(struct fs *fs, struct fs_sync_file *sf,
		  struct dmabuf_fence_info *in)
{
	struct dmabuf_fence_leaf leaves[DMABUF_FENCE_PAGE];
	struct dmabuf_fence *f = fence_of(fs, sf, in->name, &in->id);
	unsigned int i, n;

	if (!f)
		return -EINVAL;
	in->status = dmabuf_fence_status(f);
	n = dmabuf_fence_leaves(f, in->first, leaves, in->count);
	dmabuf_fence_put(f);
	in->num_fences = n;
	in->count = in->first < n ? n - in->first : 0;
	if (in->count > DMABUF_FENCE_PAGE)
		in->count = DMABUF_FENCE_PAGE;
	memset(in->leaves, 0, sizeof(in->leaves));
	for (i = 0; i < in->count; i++)
		in->leaves[i] = (struct dmabuf_fence_leaf_info){
			.status = leaves[i].status,
			.seq = leaves[i].seq,
			.timestamp_ns = leaves[i].timestamp_ns};
	return 0;
}

/**
 * fs_fence_set_deadline() - SYNC_IOC_SET_DEADLINE
 * @fs: the file system
 * @sf: the .sync_file handle
 * @deadline_ns: when the waiter would like the fence signalled
 *
 * A hint, as in the kernel, where only drivers that can hasten a fence
 * act on it.  A fence here signals when device mappings end, which no
 * deadline can hasten, so it is accepted and nothing else.
 *
 * Return: 0, or -EINVAL for an unbound handle.
 */
int fs_fence_set_deadline(struct fs *fs, struct fs_sync_file *sf,
			  uint64_t deadline_ns)
{
	struct dmabuf_fence *f = fence_of(fs, sf, NULL, NULL);

	(void)deadline_ns;
	if (!f)
		return -EINVAL;
	dmabuf_fence_put(f);
	return 0;
}

/**
 * fs_sync_file_poll() - POLLIN once the fence has signalled
 * @req: the poll request
 * @fi: the .sync_file handle
 * @ph: handle to notify later, or NULL
 */
void fs_sync_file_poll(fuse_req_t req, struct fuse_file_info *fi,
		       struct fuse_pollhandle *ph)
{
	struct fs_sync_file *sf = (struct fs_sync_file *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);
	struct dmabuf_fence *f;
	unsigned int mask = 0;

	fs_poll_arm(fs, &sf->ph, ph); /* before the check: see there */
	f = fence_of(fs, sf, NULL, NULL);
	if (f) {
		mask = dmabuf_fence_status(f) ? POLLIN | POLLRDNORM : 0;
		dmabuf_fence_put(f);
	}
	fuse_reply_poll(req, mask);
}

/**
 * fs_fences_release_all() - at unmount: every id and sync_file handle
 * @fs: the file system
 */
static void free_fence(void *node)
{
	struct fs_fence *ff = node;

	dmabuf_fence_put(ff->fence);
	free(ff);
}

void fs_fences_release_all(struct fs *fs)
{
	struct fs_sync_file *sf;

	while ((sf = LIST_FIRST(&fs->sync_files))) {
		LIST_REMOVE(sf, link);
		fs_uncharge(fs, sf->uid, FS_LIMIT_FENCES);
		if (sf->ph)
			fuse_pollhandle_destroy(sf->ph);
		free(sf);
	}
	tdestroy(fs->fences, free_fence);
	fs->fences = NULL;
	TAILQ_INIT(&fs->unclaimed);
}
