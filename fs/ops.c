// SPDX-License-Identifier: MIT
/*
 * DOC: namespace operations: lookup, attributes, create, unlink, rename
 *
 * The mount root is one flat directory: each regular file is a buffer, and
 * .bufinfo/.stats are the virtual files of virtual.c.  Every handler here
 * decodes its request, calls a helper that returns -errno, and replies
 * exactly once.
 *
 * Files behave like a fixed-size device: a new file is EMPTY until
 * truncate(2) (or DMABUF_IOCTL_EXPORT) gives it its size, once; O_TRUNC at
 * open is ignored as block devices ignore it.
 *
 * Calls down to namespace.c, files.c (a create opens its first handle),
 * devnodes.c, virtual.c, limits.c and counters.c; the table of handlers is
 * dmabuffs.c's.
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

void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Handle O_TRUNC ourselves: a fixed-size buffer ignores it. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_IOCTL_DIR)
		conn->want |= FUSE_CAP_IOCTL_DIR;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* Always plus: a listing is usually followed by stat of each name. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~(unsigned int)FUSE_CAP_READDIRPLUS_AUTO;
	}
	conn->want &= ~(unsigned int)FUSE_CAP_WRITEBACK_CACHE;
	/* 1 MiB requests both ways: 128 KiB reads cost 8x the round trips. */
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
}

static void lookup_devnode(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {.attr_timeout = FS_TIMEOUT,
				     .entry_timeout = FS_TIMEOUT};
	int ret = fs_devnode_lookup(fs_of(req), parent, name, &e.attr);

	e.ino = e.attr.st_ino;
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

/*
 * The kernel lets FUSE names of up to 1024 bytes through; the mount says
 * (statfs f_namemax) and every call that takes a name answers 255.
 */
static int name_length_check(const char *name)
{
	return strnlen(name, NAME_MAX + 1) > NAME_MAX ? -ENAMETOOLONG : 0;
}

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fs_inode *inode;

	fs_count(FS_OP_LOOKUP);
	if (name_length_check(name)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (parent == FS_HEAPS_DIR_INO ||
	    (parent == FS_ROOT_INO && fs_devnode_name(name))) {
		lookup_devnode(req, parent, name);
		return;
	}
	if (parent != FS_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (fs_virtual_by_name(name)) {
		memset(&e, 0, sizeof(e));
		e.ino = fs_virtual_by_name(name)->ino;
		e.attr_timeout = e.entry_timeout = FS_TIMEOUT;
		fs_fill_virtual_attr(fs, fs_virtual_by_name(name), &e.attr);
		fuse_reply_entry(req, &e);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_by_name_locked(fs, name);
	if (inode) {
		inode->nlookup++;
		fs_fill_entry(fs, inode, &e);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!inode)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_entry(req, &e);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_inode *inode;

	if (ino == FS_ROOT_INO || fs_virtual_by_ino(ino) || fs_devnode_ino(ino))
		return;
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino);
	if (inode) {
		inode->nlookup -=
			nlookup < inode->nlookup ? nlookup : inode->nlookup;
		fs_inode_maybe_free_locked(fs, inode);
	}
	pthread_mutex_unlock(&fs->lock);
}

void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_count(FS_OP_FORGET);
	forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

void fs_forget_multi(fuse_req_t req, size_t count,
		     struct fuse_forget_data *forgets)
{
	size_t i;

	fs_count(FS_OP_FORGET);
	for (i = 0; i < count; i++)
		forget_one(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = NULL;
	struct stat st;

	(void)fi;
	fs_count(FS_OP_GETATTR);
	if (fs_virtual_by_ino(ino)) {
		fs_fill_virtual_attr(fs, fs_virtual_by_ino(ino), &st);
		fuse_reply_attr(req, &st, FS_TIMEOUT);
		return;
	}
	if (fs_devnode_ino(ino)) {
		int ret = fs_devnode_attr(fs, ino, &st);

		if (ret)
			fuse_reply_err(req, -ret);
		else
			fuse_reply_attr(req, &st, FS_TIMEOUT);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if (ino != FS_ROOT_INO)
		inode = fs_inode_get_locked(fs, ino);
	if (inode || ino == FS_ROOT_INO)
		fs_fill_attr(fs, inode, &st);
	pthread_mutex_unlock(&fs->lock);
	if (!inode && ino != FS_ROOT_INO)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

static void set_time(struct timespec *dst, const struct timespec *src,
		     bool to_now)
{
	if (to_now)
		fs_now(dst);
	else
		*dst = *src;
}

/*
 * A buffer is data, never a program: it keeps no set-user/group-ID bits,
 * so there is never one to clear on write (the kernel leaves that to us:
 * FUSE_HANDLE_KILLPRIV_V2, see passthrough.c).
 */
#define BUFFER_MODE_BITS 01777

/* chmod, chown, utimes: the kernel checked permission (default_permissions). */
static void apply_meta_locked(struct fs_inode *inode, const struct stat *attr,
			      int to_set)
{
	if (to_set & FUSE_SET_ATTR_MODE)
		inode->mode = (inode->mode & S_IFMT) |
			      (attr->st_mode & BUFFER_MODE_BITS);
	if (to_set & FUSE_SET_ATTR_UID)
		inode->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		inode->gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME)
		set_time(&inode->atime, &attr->st_atim,
			 to_set & FUSE_SET_ATTR_ATIME_NOW);
	if (to_set & FUSE_SET_ATTR_MTIME)
		set_time(&inode->mtime, &attr->st_mtim,
			 to_set & FUSE_SET_ATTR_MTIME_NOW);
	fs_now(&inode->ctime);
}

/*
 * A size set on a buffer a handle has written before it had one: those
 * bytes become the buffer, at that size (truncate after cat >); 0 drops
 * them.
 * Not under fs.lock: the staged memfd is the staging lock's.
 */
static int fix_staged(struct fs *fs, fuse_ino_t ino, uint64_t size)
{
	struct fs_inode *inode;

	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino); /* the kernel holds it */
	pthread_mutex_unlock(&fs->lock);
	if (!inode || !__atomic_load_n(&inode->staged, __ATOMIC_RELAXED))
		return 0;
	if (!size) {
		fs_stage_drop(fs, inode);
		return 0;
	}
	return fs_stage_fix(fs, inode, NULL, size);
}

void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode;
	struct stat st;
	int ret = 0;

	(void)fi;
	fs_count(FS_OP_SETATTR);
	if (ino == FS_ROOT_INO || fs_virtual_by_ino(ino) ||
	    fs_devnode_ino(ino)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE)
		ret = fix_staged(fs, ino, (uint64_t)attr->st_size);
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino);
	if (!inode)
		ret = -ENOENT;
	else if (!ret && (to_set & FUSE_SET_ATTR_SIZE))
		ret = dmabuf_buffer_set_size(inode->buf,
					     (uint64_t)attr->st_size);
	if (!ret) {
		fs_inode_fold_times_locked(inode, true);
		apply_meta_locked(inode, attr, to_set);
		fs_inode_fold_times_locked(inode,
					   false); /* the new times stand */
		fs_fill_attr(fs, inode, &st);
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* Can a buffer be called @name?  Not the name of a file of ours. */
static bool name_ok(const char *name)
{
	return !fs_virtual_by_name(name) && !fs_devnode_name(name);
}

/* A new, empty buffer named @name; NULL: anonymous, never named. */
static int new_inode(fuse_req_t req, const char *name, mode_t mode,
		     struct fs_inode **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fs *fs = fs_of(req);
	struct fs_inode *inode;
	int ret = fs_charge(fs, ctx->uid, FS_LIMIT_BUFFERS);

	if (ret)
		return ret;
	inode = calloc(1, sizeof(*inode));
	if (!inode) {
		ret = -ENOMEM;
		goto err_charged;
	}
	inode->name = name ? strdup(name) : NULL;
	ret = inode->name || !name ? dmabuf_buffer_create(fs->core, &inode->buf)
				   : -ENOMEM;
	if (ret)
		goto err_inode;
	inode->ino = dmabuf_buffer_ino(inode->buf);
	inode->mode = S_IFREG | (mode & BUFFER_MODE_BITS);
	inode->uid = ctx->uid;
	inode->gid = ctx->gid;
	inode->creator = ctx->uid;
	inode->staging_fd = -1;
	dmabuf_buffer_set_owner(inode->buf, ctx->uid);
	fs_now(&inode->atime);
	inode->mtime = inode->ctime = inode->atime;
	LIST_INIT(&inode->files);
	if (name)
		dmabuf_buffer_link(inode->buf);
	*out = inode;
	return 0;

err_inode:
	free(inode->name);
	free(inode);
err_charged:
	fs_uncharge(fs, ctx->uid, FS_LIMIT_BUFFERS);
	return ret;
}

static void discard_inode(struct fs *fs, struct fs_inode *inode)
{
	if (inode->name)
		dmabuf_buffer_unlink(inode->buf);
	dmabuf_buffer_put(inode->buf);
	fs_uncharge(fs, inode->creator, FS_LIMIT_BUFFERS);
	free(inode->name);
	free(inode);
}

static int make_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_entry_param *e,
		     struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode;
	struct fs_file *file = NULL;
	int ret;

	if (parent != FS_ROOT_INO)
		return parent == FS_HEAPS_DIR_INO ? -EPERM : -ENOTDIR;
	ret = name_length_check(name);
	if (ret)
		return ret;
	if (!name_ok(name))
		return -EEXIST;
	ret = new_inode(req, name, mode, &inode);
	if (ret)
		return ret;
	if (fi) {
		ret = fs_file_open(fs, inode, fuse_req_ctx(req), fi->flags,
				   &file);
		if (ret)
			goto err_inode;
		/* EMPTY: nothing to bind yet (see choose_path_locked()) */
		file->direct = fs_passthrough_enabled(fs);
		fi->direct_io = file->direct;
	}
	pthread_mutex_lock(&fs->lock);
	ret = fs_inode_publish_locked(fs, inode);
	if (!ret && file) {
		LIST_INSERT_HEAD(&inode->files, file, link);
		fi->fh = (uintptr_t)file;
	}
	if (!ret)
		fs_fill_entry(fs, inode, e);
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		goto err_file;
	return 0;

err_file:
	if (file)
		fs_file_close(fs, file);
err_inode:
	discard_inode(fs, inode);
	return ret;
}

/*
 * "HEAP@SIZE" (HEAP empty: the mount's default heap), perhaps followed by
 * ",TAG" that names nothing (a caller makes each name new, so that no
 * dentry of an earlier allocation is looked up twice): the size, and the
 * heap's name in @heap.  -EPERM for a name of another form, as for any
 * other file made in .heaps/.
 */
static int parse_allocation(const char *name, char heap[DMABUF_NAME_LEN],
			    uint64_t *size)
{
	const char *at = strchr(name, '@');
	char *end;

	if (!at || (size_t)(at - name) >= DMABUF_NAME_LEN || at[1] < '0' ||
	    at[1] > '9')
		return -EPERM;
	errno = 0;
	*size = strtoull(at + 1, &end, 10);
	if ((*end && (*end != ',' || !end[1])) || errno)
		return -EINVAL;
	memcpy(heap, name, (size_t)(at - name));
	heap[at - name] = '\0';
	return 0;
}

/*
 * open("<mount>/.heaps/HEAP@SIZE", O_CREAT) is DMA_HEAP_IOCTL_ALLOC in one
 * request: a buffer of SIZE bytes on HEAP that never has a name (mode
 * 0600, its creator's, as a kernel dma-buf), and its first handle, bound
 * to its memory like any open after sizing.  The entry is not cached and
 * is forgotten at once (fs_forget_entry()), so the next allocation of the
 * same size asks again.  Return: -errno, or 0 with *@backing_id as
 * fs_handle_open_locked() gives it.
 */
static int make_allocation(fuse_req_t req, const char *name,
			   struct fuse_entry_param *e,
			   struct fuse_file_info *fi, int *backing_id)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char heap[DMABUF_NAME_LEN];
	struct fs *fs = fs_of(req);
	struct fs_inode *inode;
	uint64_t size;
	int ret = parse_allocation(name, heap, &size);

	if (!ret)
		ret = new_inode(req, NULL, 0600, &inode);
	if (ret)
		return ret;
	ret = dmabuf_buffer_setup(inode->buf, heap[0] ? heap : NULL, size, 0,
				  NULL);
	if (ret)
		goto err_inode;
	pthread_mutex_lock(&fs->lock);
	ret = fs_inode_publish_locked(fs, inode);
	if (ret) {
		pthread_mutex_unlock(&fs->lock);
		goto err_inode;
	}
	ret = fs_handle_open_locked(fs, inode, ctx, fi, backing_id);
	if (ret) {
		inode->nlookup = 0; /* no entry given: nothing holds it */
		fs_inode_maybe_free_locked(fs, inode);
	} else {
		fs_fill_entry(fs, inode, e);
		e->entry_timeout = 0;
		/* Its SYNCs need not ask the daemon even once. */
		fs_sync_give_allocation(fs, ctx,
					(struct fs_file *)(uintptr_t)fi->fh);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;

err_inode:
	discard_inode(fs, inode);
	return ret;
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct fs *fs = fs_of(req);
	char entry[NAME_MAX + 1];
	int ret, backing_id = 0;

	fs_count(FS_OP_CREATE);
	if (parent == FS_HEAPS_DIR_INO) {
		ret = name_length_check(name);
		if (!ret)
			ret = make_allocation(req, name, &e, fi, &backing_id);
		if (ret) {
			fuse_reply_err(req, -ret);
			return;
		}
		/* The request and its name are gone once answered. */
		snprintf(entry, sizeof(entry), "%s", name);
		fs_reply_opened(req, &e, fi, backing_id);
		fs_forget_entry(fs, FS_HEAPS_DIR_INO, entry);
		return;
	}
	ret = make_file(req, parent, name, mode, &e, fi);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_create(req, &e, fi);
}

void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev)
{
	struct fuse_entry_param e;
	int ret = -EPERM;

	fs_count(FS_OP_MKNOD);
	(void)rdev;
	if (S_ISREG(mode))
		ret = make_file(req, parent, name, mode, &e, NULL);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

static void fs_not_permitted(fuse_req_t req)
{
	fs_count(FS_OP_REFUSED);
	fuse_reply_err(req, EPERM);
}

void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fs_not_permitted(req); /* one flat directory of buffers */
}

void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name)
{
	(void)link, (void)parent, (void)name;
	fs_not_permitted(req);
}

void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
	     const char *name)
{
	(void)ino, (void)parent;
	if (name_length_check(name)) /* as for every call that takes a name */
		fuse_reply_err(req, ENAMETOOLONG);
	else
		fs_not_permitted(req); /* a buffer has one name */
}

/* Helpers return -errno; the FUSE handler replies once. */
static int unlink_name(struct fs *fs, fuse_ino_t parent, const char *name)
{
	struct fs_inode *inode;
	int ret = name_length_check(name);

	if (ret)
		return ret;
	if (parent != FS_ROOT_INO || fs_virtual_by_name(name) ||
	    fs_devnode_name(name))
		return -EPERM;
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_by_name_locked(fs, name);
	if (!inode) {
		ret = -ENOENT;
	} else {
		fs_name_drop_locked(fs, inode);
		fs_now(&inode->ctime);
		fs_inode_maybe_free_locked(fs, inode);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_count(FS_OP_UNLINK);
	fuse_reply_err(req, -unlink_name(fs_of(req), parent, name));
}

static int rename_locked(struct fs *fs, const char *from, const char *to,
			 unsigned int flags)
{
	struct fs_inode *src = fs_inode_by_name_locked(fs, from);
	struct fs_inode *dst = fs_inode_by_name_locked(fs, to);
	char *name;

	if (!src)
		return -ENOENT;
	if (src == dst)
		return 0;
	if (dst && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	name = strdup(to);
	if (!name)
		return -ENOMEM;
	if (dst) {
		fs_name_drop_locked(fs, dst);
		fs_inode_maybe_free_locked(fs, dst);
	}
	fs_now(&src->ctime);
	return fs_name_move_locked(fs, src, name);
}

static int rename_name(struct fs *fs, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	int ret = name_length_check(name);

	if (!ret)
		ret = name_length_check(newname);
	if (ret)
		return ret;
	if (parent != FS_ROOT_INO || newparent != FS_ROOT_INO ||
	    !name_ok(name) || !name_ok(newname))
		return -EPERM;
	if (flags & ~(unsigned int)RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, WHITEOUT */
	pthread_mutex_lock(&fs->lock);
	ret = rename_locked(fs, name, newname, flags);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	fs_count(FS_OP_RENAME);
	fuse_reply_err(req, -rename_name(fs_of(req), parent, name, newparent,
					 newname, flags));
}

/* df(1): the heaps' capacity and use, in pages. */
void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct dmabuf_heap_stats st;
	char name[DMABUF_NAME_LEN];
	uint64_t cap = 0, used = 0, buffers, bytes;
	struct statvfs sv = {0};
	unsigned int i;

	fs_count(FS_OP_STATFS);
	(void)ino;
	for (i = 0; dmabuf_heap_stats(fs->core, i, name, &st) == 0; i++) {
		cap += st.capacity;
		used += st.used;
	}
	dmabuf_core_totals(fs->core, &buffers, &bytes);
	sv.f_bsize = sv.f_frsize = DMABUF_PAGE_SIZE;
	sv.f_blocks = cap / DMABUF_PAGE_SIZE;
	sv.f_bfree = sv.f_bavail = (cap - used) / DMABUF_PAGE_SIZE;
	sv.f_files = 1 << 20;
	sv.f_ffree = sv.f_favail =
		buffers < sv.f_files ? sv.f_files - buffers : 0;
	sv.f_namemax = NAME_MAX;
	fuse_reply_statfs(req, &sv);
}
