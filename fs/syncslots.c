// SPDX-License-Identifier: MIT
/*
 * DOC: SYNC in shared memory: the uids' slot files
 *
 * An uncontended CPU bracket needs no arbiter, so a client may open and
 * close it in shared memory instead of asking (dmabuf-ioctl(2),
 * DMABUF_IOCTL_SYNC_SLOT, has the protocol; lib/core/cpu.c the daemon's
 * side of each slot).  This file hands the slots out.
 *
 * Each uid that asks gets one file of FS_SYNC_SLOTS slots: a memfd the
 * daemon creates, sizes, seals (no shrinking, no growing) and maps, and
 * hands to that uid's processes, read-write, over the side channel
 * (DMABUF_TOKEN_SYNC).  A uid writes only its own file, so what it
 * scribbles there concerns its own handles; and the daemon only ever
 * reads counts from it, as hints (handle_brackets_locked()).  A file
 * lives as long as the daemon and is charged to its uid as one daemon
 * descriptor (FS_LIMIT_FDS); its memory is a megabyte at most, touched
 * a page at a time as slots are used.
 *
 * A slot is given to a handle on the first DMABUF_IOCTL_SYNC_SLOT of the
 * uid that opened it, when the handle's bytes are in no page cache of the
 * kernel (a passthrough handle, or a udmabuf's, which nothing caches): a
 * cached handle's SYNC must invalidate the cache (wait.c), which only the
 * ioctl does.  An allocation (O_CREAT in .heaps/, ops.c) gets its slot
 * with it, placed where the allocating process finds it by the buffer's
 * inode number (struct dmabuf_sync_slot, @ino), so that an allocate-map-
 * SYNC-close cycle asks the daemon nothing for its SYNCs.  The slot is freed
 * when the handle is released, killed holder included: taken back from the
 * object model first (its @slow set), then its cookie cleared, so a stale user
 * sees it is no longer its own.
 *
 * fs.sync_lock guards the files, their bitmaps and every file's slot; it
 * is a leaf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"

#define FS_SYNC_FILE_SIZE (FS_SYNC_SLOTS * sizeof(struct dmabuf_sync_slot))

/**
 * struct fs_sync_area - one uid's file of slots
 * @uid: its owner
 * @id: its id (grant and token answers name it)
 * @memfd: the file
 * @slots: the daemon's mapping of it
 * @used: slots given out
 * @next: where the search for a free slot starts
 * @taken: which slots are given out
 * @link: entry in fs.sync_areas
 */
struct fs_sync_area {
	uid_t uid;
	uint64_t id;
	int memfd;
	struct dmabuf_sync_slot *slots;
	uint32_t used;
	uint32_t next;
	uint64_t taken[FS_SYNC_SLOTS / 64];
	LIST_ENTRY(fs_sync_area) link;
};

static struct fs_sync_area *area_find_locked(struct fs *fs, uid_t uid)
{
	struct fs_sync_area *a;

	LIST_FOREACH (a, &fs->sync_areas, link)
		if (a->uid == uid)
			return a;
	return NULL;
}

static void area_free(struct fs_sync_area *a)
{
	munmap(a->slots, FS_SYNC_FILE_SIZE);
	close(a->memfd);
	free(a);
}

/* A new, sealed, mapped file of slots for @uid, charged to it. */
static int area_new(struct fs *fs, uid_t uid, struct fs_sync_area **out)
{
	struct fs_sync_area *a;
	int ret = fs_charge(fs, uid, FS_LIMIT_FDS);

	if (ret) /* fs_charge() logged it, once a second at most */
		return ret;
	ret = -ENOMEM;
	a = calloc(1, sizeof(*a));
	if (!a)
		goto err_charged;
	a->uid = uid;
	a->memfd =
		memfd_create("dmabuffs-sync", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (a->memfd < 0 || fchmod(a->memfd, 0600) ||
	    ftruncate(a->memfd, FS_SYNC_FILE_SIZE) ||
	    fcntl(a->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto err_fd;
	a->slots = mmap(NULL, FS_SYNC_FILE_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, a->memfd, 0);
	if (a->slots == MAP_FAILED)
		goto err_fd;
	*out = a;
	return 0;

err_fd:
	ret = -errno;
	if (a->memfd >= 0)
		close(a->memfd);
	free(a);
err_charged:
	fs_uncharge(fs, uid, FS_LIMIT_FDS);
	fs_log_refusal(uid,
		       "uid %u: no file of SYNC slots (%s): SYNC takes "
		       "the ioctl",
		       (unsigned int)uid, strerror(-ret));
	return ret;
}

/* @uid's file, made on first use; fs.sync_lock not held. */
static int area_of(struct fs *fs, uid_t uid, struct fs_sync_area **out)
{
	struct fs_sync_area *a, *made = NULL;
	int ret;

	pthread_mutex_lock(&fs->sync_lock);
	a = area_find_locked(fs, uid);
	pthread_mutex_unlock(&fs->sync_lock);
	if (!a) {
		ret = area_new(fs, uid, &made);
		if (ret)
			return ret;
		pthread_mutex_lock(&fs->sync_lock);
		a = area_find_locked(fs, uid); /* another thread's, perhaps */
		if (!a) {
			made->id = ++fs->sync_ids;
			LIST_INSERT_HEAD(&fs->sync_areas, made, link);
			a = made;
			made = NULL;
		}
		pthread_mutex_unlock(&fs->sync_lock);
		if (made) {
			area_free(made);
			fs_uncharge(fs, uid, FS_LIMIT_FDS);
		}
	}
	*out = a;
	return 0;
}

/*
 * A free slot of @a among @tries from @from, taken; -ENOSPC when there is
 * none.
 */
static int slot_take_locked(struct fs_sync_area *a, uint32_t from,
			    uint32_t tries)
{
	uint32_t i, n;

	for (n = 0; n < tries; n++) {
		i = (from + n) % FS_SYNC_SLOTS;
		if (a->taken[i / 64] & (1ULL << (i % 64)))
			continue;
		a->taken[i / 64] |= 1ULL << (i % 64);
		a->used++;
		a->next = i + 1;
		return (int)i;
	}
	return -ENOSPC;
}

/*
 * Give @file slot @i of @a (taken): @slow set until the object model
 * publishes, no brackets, a new cookie.
 */
static void slot_give_locked(struct fs *fs, struct fs_sync_area *a, uint32_t i,
			     struct fs_file *file, uint64_t size, uint64_t ino)
{
	struct dmabuf_sync_slot *slot = &a->slots[i];

	file->sync_area = a;
	file->sync_slot = i;
	__atomic_store_n(&slot->slow, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&slot->brackets, 0, __ATOMIC_SEQ_CST);
	slot->size = size;
	__atomic_store_n(&slot->ino, ino, __ATOMIC_SEQ_CST);
	__atomic_store_n(&slot->cookie, ++fs->sync_cookies, __ATOMIC_SEQ_CST);
}

/* Why @file may not have a slot, as an errno; 0 when it may. */
static int may_grant(struct fs *fs, const struct fuse_ctx *ctx,
		     const struct fs_file *file)
{
	if (!fs->sync_fast)
		return -EOPNOTSUPP;
	if (ctx->uid != file->uid)
		return -EPERM; /* a passed handle: its own uid's file only */
	if (!file->passthrough &&
	    dmabuf_buffer_ranges(file->inode->buf, NULL, 0) <= 0)
		return -EOPNOTSUPP; /* its bytes may be in the page cache */
	return 0;
}

/**
 * fs_sync_grant() - DMABUF_IOCTL_SYNC_SLOT: a slot for @file's brackets
 * @fs: the file system
 * @ctx: the caller
 * @file: the buffer handle asking
 * @g: out: the grant
 *
 * Return: 0; -EOPNOTSUPP (sync_fast=off, or a handle served through the
 * page cache); -EPERM (not the uid that opened the handle); -ENOSPC (the
 * uid's slots are all in use); -EMFILE (its first file is over max_fds);
 * -ENOMEM.
 */
int fs_sync_grant(struct fs *fs, const struct fuse_ctx *ctx,
		  struct fs_file *file, struct dmabuf_sync_grant *g)
{
	uint64_t size = dmabuf_buffer_size(file->inode->buf);
	struct dmabuf_sync_slot *slot = NULL;
	struct fs_sync_area *a;
	int ret = may_grant(fs, ctx, file);

	if (!ret)
		ret = area_of(fs, ctx->uid, &a);
	if (ret)
		return ret;
	pthread_mutex_lock(&fs->sync_lock);
	if (!file->sync_area) {
		ret = slot_take_locked(a, a->next, FS_SYNC_SLOTS);
		if (ret >= 0) {
			slot_give_locked(fs, a, (uint32_t)ret, file, size, 0);
			slot = &a->slots[ret];
			ret = 0;
		}
	}
	if (!ret)
		*g = (struct dmabuf_sync_grant){
			.file = a->id,
			.cookie = a->slots[file->sync_slot].cookie,
			.slot = file->sync_slot,
			.nr_slots = FS_SYNC_SLOTS,
			.size = size};
	pthread_mutex_unlock(&fs->sync_lock);
	if (ret == -ENOSPC)
		fs_log_refusal(ctx->uid,
			       "uid %u: all %u SYNC slots in use; SYNC takes "
			       "the ioctl",
			       (unsigned int)ctx->uid, FS_SYNC_SLOTS);
	if (slot) /* publishes @slow: clear if a START may skip the daemon */
		dmabuf_handle_set_sync_slot(file->h, slot);
	return ret;
}

/**
 * fs_sync_give_allocation() - a slot for the first handle of an allocation
 * @fs: the file system
 * @ctx: the allocating caller
 * @file: the new handle (fs.lock held; not yet answered)
 *
 * Placed among the DMABUF_SYNC_PROBE slots from the buffer's inode number
 * modulo FS_SYNC_SLOTS, with @ino set, where the allocating process looks
 * (libdmabuf's fastsync.c).  Nothing is refused: without a free slot
 * there, or anything else a grant needs, the handle asks later as any.
 */
void fs_sync_give_allocation(struct fs *fs, const struct fuse_ctx *ctx,
			     struct fs_file *file)
{
	uint64_t ino = file->inode->ino;
	uint64_t size = dmabuf_buffer_size(file->inode->buf);
	struct fs_sync_area *a;
	int i;

	if (may_grant(fs, ctx, file) || area_of(fs, ctx->uid, &a))
		return;
	pthread_mutex_lock(&fs->sync_lock);
	i = slot_take_locked(a, (uint32_t)(ino % FS_SYNC_SLOTS),
			     DMABUF_SYNC_PROBE);
	if (i >= 0)
		slot_give_locked(fs, a, (uint32_t)i, file, size, ino);
	pthread_mutex_unlock(&fs->sync_lock);
	if (i >= 0)
		dmabuf_handle_set_sync_slot(file->h, &a->slots[i]);
}

/**
 * fs_sync_release() - free @file's slot, if it has one
 * @fs: the file system
 * @file: a handle being released; its object-model handle still open
 */
void fs_sync_release(struct fs *fs, struct fs_file *file)
{
	struct fs_sync_area *a = file->sync_area;
	uint32_t i = file->sync_slot;

	if (!a)
		return;
	dmabuf_handle_set_sync_slot(file->h, NULL); /* @slow stays set */
	pthread_mutex_lock(&fs->sync_lock);
	__atomic_store_n(&a->slots[i].cookie, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&a->slots[i].ino, 0, __ATOMIC_SEQ_CST);
	a->taken[i / 64] &= ~(1ULL << (i % 64));
	a->used--;
	file->sync_area = NULL;
	pthread_mutex_unlock(&fs->sync_lock);
}

/**
 * fs_sync_file_fd() - @uid's file of slots, for the side channel
 * @fs: the file system
 * @uid: the uid that redeemed a DMABUF_TOKEN_SYNC token
 * @id: out: the file's id
 *
 * Return: a read-write descriptor (fs_fd_handout()), or -EOPNOTSUPP when
 * @uid has no file (it was never granted a slot), or -errno.
 */
int fs_sync_file_fd(struct fs *fs, uid_t uid, uint64_t *id)
{
	struct fs_sync_area *a;
	int ret = -EOPNOTSUPP;

	pthread_mutex_lock(&fs->sync_lock);
	a = area_find_locked(fs, uid);
	if (a) {
		*id = a->id;
		ret = fs_fd_handout(a->memfd, true);
	}
	pthread_mutex_unlock(&fs->sync_lock);
	return ret;
}

/* Bytes of a file of slots, as the side channel answers it. */
uint64_t fs_sync_file_size(void)
{
	return FS_SYNC_FILE_SIZE;
}

/**
 * fs_sync_areas_free() - unmap and close every file of slots
 * @fs: the file system, after every handle is gone (the core freed)
 */
void fs_sync_areas_free(struct fs *fs)
{
	struct fs_sync_area *a;

	while ((a = LIST_FIRST(&fs->sync_areas))) {
		LIST_REMOVE(a, link);
		area_free(a);
	}
}
