// SPDX-License-Identifier: MIT
/*
 * DOC: directory listings
 *
 * An opendir(3) takes a snapshot of the names (and, in .heaps/, of the
 * heaps' nodes), charged as a handle and a snapshot, so a listing reads the
 * same whatever the buffers do meanwhile.  READDIRPLUS hands each entry's
 * attributes with it: ls -l costs no LOOKUP per name.
 *
 * Calls down to namespace.c, devnodes.c, virtual.c, limits.c, counters.c.
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

struct dir_entry {
	char *name;
	uint64_t ino;
	mode_t mode;
};

struct dir_snapshot {
	struct dir_entry *entries;
	size_t nr;
	size_t cap;
	bool failed;
	uid_t uid; /* charged for it (fs_charge_snapshot()) */
	LIST_ENTRY(dir_snapshot) link; /* in fs.dirs while open */
};

static void snapshot_add(struct dir_snapshot *snap, const char *name,
			 uint64_t ino, mode_t mode)
{
	struct dir_entry d = {.name = strdup(name), .ino = ino, .mode = mode};

	if (snap->failed || !d.name ||
	    vec_push(snap->entries, snap->nr, snap->cap, d)) {
		free(d.name);
		snap->failed = true;
	}
}

static void snapshot_add_cb(void *arg, const char *name, uint64_t ino,
			    mode_t mode)
{
	snapshot_add(arg, name, ino, mode);
}

static void snapshot_visit(const void *node, VISIT which, void *arg)
{
	const struct fs_inode *inode = *(const struct fs_inode *const *)node;

	if (which == postorder || which == leaf)
		snapshot_add(arg, inode->name, inode->ino, inode->mode);
}

static void snapshot_free(struct dir_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr; i++)
		free(snap->entries[i].name);
	free(snap->entries);
	free(snap);
}

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	const struct fs_virtual *v;
	struct dir_snapshot *snap;
	int ret;

	fs_count(FS_OP_OPENDIR);
	if (ino != FS_ROOT_INO && ino != FS_HEAPS_DIR_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	ret = fs_charge_snapshot(fs, fuse_req_ctx(req)->uid);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		fs_uncharge_snapshot(fs, fuse_req_ctx(req)->uid);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	snap->uid = fuse_req_ctx(req)->uid;
	if (ino == FS_ROOT_INO) {
		snapshot_add(snap, ".", FS_ROOT_INO, S_IFDIR);
		snapshot_add(snap, "..", FS_ROOT_INO, S_IFDIR);
		for (v = fs_virtual_first(); v->name; v++)
			snapshot_add(snap, v->name, v->ino, S_IFREG);
	}
	fs_devnode_list(fs, ino, snapshot_add_cb, snap);
	if (ino == FS_ROOT_INO) {
		pthread_mutex_lock(&fs->lock);
		twalk_r(fs->names, snapshot_visit, snap);
		pthread_mutex_unlock(&fs->lock);
	}
	if (snap->failed) {
		fs_uncharge_snapshot(fs, snap->uid);
		snapshot_free(snap);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	LIST_INSERT_HEAD(&fs->dirs, snap, link);
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uintptr_t)snap;
	fuse_reply_open(req, fi);
}

/* A READDIRPLUS entry: full attributes, and one lookup for the kernel. */
static size_t add_entry_plus(fuse_req_t req, char *out, size_t room,
			     const struct dir_entry *d, off_t next)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e = {.ino = d->ino,
				     .attr_timeout = FS_TIMEOUT,
				     .entry_timeout = FS_TIMEOUT};
	const struct fs_virtual *v = fs_virtual_by_ino(d->ino);
	struct fs_inode *inode = NULL;
	size_t n;

	if (d->ino == FS_ROOT_INO) {
		fs_fill_attr(fs, NULL,
			     &e.attr); /* . and ..: no lookup counted */
		return fuse_add_direntry_plus(req, out, room, d->name, &e,
					      next);
	}
	if (v) {
		fs_fill_virtual_attr(fs, v, &e.attr);
		return fuse_add_direntry_plus(req, out, room, d->name, &e,
					      next);
	}
	if (fs_devnode_ino(d->ino)) {
		if (fs_devnode_attr(fs, d->ino, &e.attr))
			e.ino = 0;
		return fuse_add_direntry_plus(req, out, room, d->name, &e,
					      next);
	}
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, d->ino);
	if (inode)
		fs_fill_attr(fs, inode, &e.attr);
	else
		e.ino = 0; /* unlinked since opendir: a plain entry */
	n = fuse_add_direntry_plus(req, out, room, d->name, &e, next);
	if (inode && n <= room)
		inode->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static void read_dir(fuse_req_t req, size_t size, off_t off,
		     struct fuse_file_info *fi, bool plus)
{
	struct dir_snapshot *snap = (struct dir_snapshot *)(uintptr_t)fi->fh;
	char *out = malloc(size);
	size_t used = 0, i, n;

	fs_count(FS_OP_READDIR);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = (size_t)off; i < snap->nr; i++) {
		const struct dir_entry *d = &snap->entries[i];
		struct stat st = {.st_ino = d->ino, .st_mode = d->mode};

		n = plus ? add_entry_plus(req, out + used, size - used, d,
					  (off_t)(i + 1))
			 : fuse_add_direntry(req, out + used, size - used,
					     d->name, &st, (off_t)(i + 1));
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, out, used);
	free(out);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	(void)ino;
	read_dir(req, size, off, fi, false);
}

/* ls -l without a LOOKUP per name: attributes come with the entries. */
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	read_dir(req, size, off, fi, true);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_snapshot *snap = (struct dir_snapshot *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);

	(void)ino;
	fs_count(FS_OP_RELEASEDIR);
	pthread_mutex_lock(&fs->lock);
	LIST_REMOVE(snap, link);
	pthread_mutex_unlock(&fs->lock);
	fs_uncharge_snapshot(fs, snap->uid);
	snapshot_free(snap);
	fuse_reply_err(req, 0);
}

/**
 * fs_dirs_release_all() - free every open directory snapshot
 * @fs: the file system
 */
void fs_dirs_release_all(struct fs *fs)
{
	struct dir_snapshot *snap;

	while ((snap = LIST_FIRST(&fs->dirs))) {
		LIST_REMOVE(snap, link);
		snapshot_free(snap);
	}
}
