// SPDX-License-Identifier: MIT
/*
 * DOC: the namespace: inodes, names and who may see them
 *
 * The mount root is one flat directory: each regular file is a buffer.
 * This file owns the two tables under fs.lock (inodes by number, named
 * inodes by name), an inode's life (published with its name, freed once no
 * name, lookup or open file refers to it), its attributes as stat(2) shows
 * them, and which buffers a uid may see in .bufinfo.
 *
 * It calls down only: the object model, limits.c (the buffer's account),
 * passthrough.c (the backing id an inode holds).  Request handlers live in
 * ops.c (entries), files.c (open files) and dir.c (listings).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"
#include "vec.h"

static int by_ino(const void *a, const void *b)
{
	const struct fs_inode *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int by_name(const void *a, const void *b)
{
	const struct fs_inode *x = a, *y = b;

	return strcmp(x->name, y->name);
}

struct fs_inode *fs_inode_get_locked(struct fs *fs, uint64_t ino)
{
	struct fs_inode key = {.ino = ino};
	struct fs_inode **found = tfind(&key, &fs->inodes, by_ino);

	return found ? *found : NULL;
}

struct fs_inode *fs_inode_by_name_locked(struct fs *fs, const char *name)
{
	struct fs_inode key = {.name = (char *)name};
	struct fs_inode **found = tfind(&key, &fs->names, by_name);

	return found ? *found : NULL;
}

void fs_name_drop_locked(struct fs *fs, struct fs_inode *inode)
{
	tdelete(inode, &fs->names, by_name);
	free(inode->name);
	inode->name = NULL;
	fs->nr_names--;
	dmabuf_buffer_unlink(inode->buf);
}

/**
 * fs_name_move_locked() - give a named inode a new, free name
 * @fs: the file system
 * @inode: the inode
 * @name: its new name, malloc'ed; owned by the inode from now on
 *
 * Return: 0, or -ENOMEM when the table has no room for the new name: then
 * the buffer has lost its name (unlinked), as after unlink(2).
 */
int fs_name_move_locked(struct fs *fs, struct fs_inode *inode, char *name)
{
	tdelete(inode, &fs->names, by_name);
	free(inode->name);
	inode->name = name;
	if (tsearch(inode, &fs->names, by_name))
		return 0;
	inode->name = NULL;
	free(name);
	fs->nr_names--;
	dmabuf_buffer_unlink(inode->buf);
	return -ENOMEM;
}

/* Free @inode once no name, lookup or open file refers to it. */
void fs_inode_maybe_free_locked(struct fs *fs, struct fs_inode *inode)
{
	if (inode->name || inode->nlookup || !LIST_EMPTY(&inode->files))
		return;
	tdelete(inode, &fs->inodes, by_ino);
	fs_stage_drop(fs, inode); /* none: its writer's release fixed it */
	if (inode->backing_id > 0)
		fs_passthrough_close(fs, inode->backing_id);
	dmabuf_buffer_put(inode->buf);
	fs_uncharge(fs, inode->creator, FS_LIMIT_BUFFERS);
	free(inode);
}

/*
 * The mtime of @inode's memfd when the kernel serves its writes
 * (passthrough): the daemon never sees them, the memfd's times do.
 * Return: false when there is none to tell.
 */
static bool backing_mtime(const struct fs_inode *inode, struct timespec *t)
{
	struct stat st;
	int fd;

	if (__atomic_load_n(&inode->backing_id, __ATOMIC_ACQUIRE) <= 0)
		return false;
	fd = dmabuf_buffer_backing(inode->buf); /* bound: it exists */
	if (fd < 0 || fstat(fd, &st))
		return false;
	*t = st.st_mtim;
	return true;
}

/* Has the kernel written @inode since the daemon last set its times? */
static bool written_behind(const struct fs_inode *inode, struct timespec *t)
{
	return backing_mtime(inode, t) &&
	       (t->tv_sec != inode->backing_mtime.tv_sec ||
		t->tv_nsec != inode->backing_mtime.tv_nsec);
}

/**
 * fs_inode_fold_times_locked() - make a passthrough write's time @inode's
 * @inode: the inode, under fs.lock
 * @written: take the time of a write the kernel served since the last call
 *           (false when the backing was just bound: nothing was written)
 *
 * Called when the backing is bound, and around the daemon's own setting of
 * times (utimes, a write it serves): from then on, a change of the memfd's
 * mtime is a write the kernel served, and stat(2) shows it
 * (fs_fill_attr()).
 */
void fs_inode_fold_times_locked(struct fs_inode *inode, bool written)
{
	struct timespec t;

	if (written && written_behind(inode, &t))
		inode->mtime = inode->ctime = t;
	if (backing_mtime(inode, &t))
		inode->backing_mtime = t;
}

/**
 * fs_fill_attr() - @inode's attributes as stat(2) shows them
 * @fs: the file system
 * @inode: the inode, or NULL for the root; under fs.lock
 * @st: out
 *
 * With passthrough the times of the last write come from the memfd, which
 * the kernel writes without asking the daemon: make(1), rsync -u and
 * ls -t see them as on any file.
 */
void fs_fill_attr(struct fs *fs, const struct fs_inode *inode, struct stat *st)
{
	struct timespec written;

	memset(st, 0, sizeof(*st));
	if (inode == NULL) { /* the root */
		st->st_ino = FS_ROOT_INO;
		st->st_mode = S_IFDIR | fs->root_mode;
		st->st_nlink = 3; /* ., .., and .heaps's .. */
		st->st_uid = fs->owner;
		st->st_gid = getgid();
		st->st_atim = st->st_mtim = st->st_ctim = fs->mount_time;
		return;
	}
	st->st_ino = inode->ino;
	st->st_mode = inode->mode;
	st->st_nlink = inode->name ? 1 : 0;
	st->st_uid = inode->uid;
	st->st_gid = inode->gid;
	st->st_size = (off_t)dmabuf_buffer_size(inode->buf);
	if (!st->st_size) /* what a handle wrote it so far */
		st->st_size = (off_t)__atomic_load_n(&inode->staged,
						     __ATOMIC_RELAXED);
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 1 << 20;
	st->st_atim = inode->atime;
	st->st_mtim = inode->mtime;
	st->st_ctim = inode->ctime;
	if (written_behind(inode, &written))
		st->st_mtim = st->st_ctim = written;
}

void fs_fill_virtual_attr(struct fs *fs, const struct fs_virtual *v,
			  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = v->ino;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = fs->owner;
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = fs->mount_time;
}

void fs_fill_entry(struct fs *fs, const struct fs_inode *inode,
		   struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = inode->ino;
	e->attr_timeout = FS_TIMEOUT;
	e->entry_timeout = FS_TIMEOUT;
	fs_fill_attr(fs, inode, &e->attr);
}

/*
 * Insert a new inode under its name (none for an anonymous buffer, made by
 * an allocation in .heaps/); -EEXIST if the name was taken meanwhile.
 */
int fs_inode_publish_locked(struct fs *fs, struct fs_inode *inode)
{
	if (inode->name && fs_inode_by_name_locked(fs, inode->name))
		return -EEXIST;
	if (inode->name && !tsearch(inode, &fs->names, by_name))
		return -ENOMEM;
	if (!tsearch(inode, &fs->inodes, by_ino)) {
		if (inode->name)
			tdelete(inode, &fs->names, by_name);
		return -ENOMEM;
	}
	if (inode->name)
		fs->nr_names++;
	inode->nlookup = 1;
	return 0;
}

/* ---- who may see which buffer in .bufinfo ---- */

/* A buffer's owner sees it, and whoever its mode lets read it. */
static bool may_see(const struct fs_inode *inode, const struct fuse_ctx *ctx)
{
	return inode->uid == ctx->uid || inode->creator == ctx->uid ||
	       (inode->mode & S_IROTH) ||
	       ((inode->mode & S_IRGRP) && inode->gid == ctx->gid);
}

struct visible {
	const struct fuse_ctx *ctx;
	uint64_t *inos;
	size_t n, cap;
	bool nomem;
};

static void visible_visit(const void *node, VISIT which, void *arg)
{
	const struct fs_inode *inode = *(const struct fs_inode *const *)node;
	struct visible *v = arg;

	if ((which != postorder && which != leaf) || !inode->buf ||
	    !may_see(inode, v->ctx) || v->nomem)
		return;
	if (vec_push(v->inos, v->n, v->cap, inode->ino))
		v->nomem = true;
}

/**
 * fs_visible_inos() - the buffers @ctx may see in .bufinfo
 * @fs: the file system
 * @ctx: the reader
 * @inos: out: their inode numbers, ascending; the caller frees them
 * @n: out: their number
 *
 * Named or not (an unlinked buffer still open, or one from the compat
 * layer), by the owner and mode bits of its inode.
 *
 * Return: 0 or -ENOMEM.
 */
int fs_visible_inos(struct fs *fs, const struct fuse_ctx *ctx, uint64_t **inos,
		    size_t *n)
{
	struct visible v = {.ctx = ctx};

	pthread_mutex_lock(&fs->lock);
	twalk_r(fs->inodes, visible_visit, &v); /* in inode order */
	pthread_mutex_unlock(&fs->lock);
	if (v.nomem) {
		free(v.inos);
		return -ENOMEM;
	}
	*inos = v.inos;
	*n = v.n;
	return 0;
}

/**
 * fs_buffer_info() - DMABUF_IOCTL_BUFFER_INFO: a buffer's info by inode
 * @fs: the file system
 * @ctx: who asks
 * @info: in: @ino; out: the rest, as DMABUF_IOCTL_INFO
 *
 * For the buffers that have no name, which cannot be opened (ENXIO), so
 * that dmabufctl can list them; the same buffers as .bufinfo shows @ctx.
 *
 * Return: 0, or -ENOENT for no such buffer or one @ctx may not see.
 */
int fs_buffer_info(struct fs *fs, const struct fuse_ctx *ctx,
		   struct dmabuf_info *info)
{
	struct fs_inode *inode;
	int ret = -ENOENT;

	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, info->ino);
	if (inode && inode->buf &&
	    (fs_sees_all(fs, ctx) || may_see(inode, ctx))) {
		dmabuf_buffer_info(inode->buf, info);
		ret = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static void free_nothing(void *node)
{
	(void)node; /* the inode tree owns the inodes */
}

static void free_inode(void *node)
{
	struct fs_inode *inode = node;
	struct fs_file *file;

	while ((file = LIST_FIRST(&inode->files))) {
		LIST_REMOVE(file, link);
		if (file->ph)
			fuse_pollhandle_destroy(file->ph);
		free(file); /* its handle goes with the core */
	}
	free(inode->name);
	free(inode);
}

/**
 * fs_namespace_release_all() - free every inode after the session ends
 * @fs: the file system
 *
 * With their open files: an unmount with files open delivers no releases,
 * and the core frees the buffers and handles afterwards.
 */
void fs_namespace_release_all(struct fs *fs)
{
	tdestroy(fs->names, free_nothing);
	fs->names = NULL;
	tdestroy(fs->inodes, free_inode);
	fs->inodes = NULL;
}
