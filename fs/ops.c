// SPDX-License-Identifier: MIT
/*
 * DOC: namespace and data operations
 *
 * The mount root is one flat directory: each regular file is a buffer, each
 * open handle of it is a shareable dma-buf fd, and .bufinfo is the kernel's
 * debugfs report.  Every handler decodes its request, calls the object
 * model, and replies exactly once.
 *
 * Files behave like a fixed-size device: a new file is EMPTY until
 * truncate(2) (or DMABUF_IOCTL_EXPORT) gives it its size, once; O_TRUNC at
 * open is ignored as block devices ignore it; a write past the end fails
 * with ENOSPC.  Bytes are read from and written to the buffer's memfd, so
 * read(2), write(2), the file's own mmap and the zero-copy mapping all see
 * the same memory.
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

/* Zeros served for buffers whose backing is not placed yet. */
static const char zero_page[1 << 20];

#define READ_CHUNK (1u << 20)
/*
 * libfuse splices a reply only if it fits its pipe, which it grows to
 * pipe-max-size (1 MiB): 512 KiB plus the header fits, 1 MiB does not.
 */
#define SPLICE_MAX (512u << 10)

static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;

static void read_buf_key_init(void)
{
	pthread_key_create(&read_buf_key, free);
}

/*
 * For reads too large to splice: a reply buffer per worker thread, kept
 * for its life.  libfuse's own fallback allocates a fresh buffer per READ,
 * an mmap/munmap and 256 page faults per MiB.
 */
static char *thread_read_buf(void)
{
	char *buf;

	pthread_once(&read_buf_once, read_buf_key_init);
	buf = pthread_getspecific(read_buf_key);
	if (!buf) {
		buf = malloc(READ_CHUNK);
		if (buf)
			pthread_setspecific(read_buf_key, buf);
	}
	return buf;
}

struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

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

static struct fs_inode *find_name_locked(struct fs *fs, const char *name)
{
	struct fs_inode key = {.name = (char *)name};
	struct fs_inode **found = tfind(&key, &fs->names, by_name);

	return found ? *found : NULL;
}

static void drop_name_locked(struct fs *fs, struct fs_inode *inode)
{
	tdelete(inode, &fs->names, by_name);
	free(inode->name);
	inode->name = NULL;
	fs->nr_names--;
	dmabuf_buffer_unlink(inode->buf);
}

/* Free @inode once no name, lookup or open file refers to it. */
static void inode_maybe_free_locked(struct fs *fs, struct fs_inode *inode)
{
	if (inode->name || inode->nlookup || !LIST_EMPTY(&inode->files))
		return;
	tdelete(inode, &fs->inodes, by_ino);
	if (inode->backing_id > 0)
		fs_passthrough_close(fs, inode->backing_id);
	dmabuf_buffer_put(inode->buf);
	fs_uncharge(fs, inode->creator, FS_LIMIT_BUFFERS);
	free(inode);
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void fill_attr(struct fs *fs, const struct fs_inode *inode,
		      struct stat *st)
{
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
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 1 << 20;
	st->st_atim = inode->atime;
	st->st_mtim = inode->mtime;
	st->st_ctim = inode->ctime;
}

static void fill_virtual_attr(struct fs *fs, const struct fs_virtual *v,
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

static void fill_entry(struct fs *fs, const struct fs_inode *inode,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = inode->ino;
	e->attr_timeout = FS_TIMEOUT;
	e->entry_timeout = FS_TIMEOUT;
	fill_attr(fs, inode, &e->attr);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
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
		fuse_reply_err(req, ret < 0 ? -ret : ENOENT);
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

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
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
		fill_virtual_attr(fs, fs_virtual_by_name(name), &e.attr);
		fuse_reply_entry(req, &e);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	inode = find_name_locked(fs, name);
	if (inode) {
		inode->nlookup++;
		fill_entry(fs, inode, &e);
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
		inode_maybe_free_locked(fs, inode);
	}
	pthread_mutex_unlock(&fs->lock);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_count(FS_OP_FORGET);
	forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	size_t i;

	fs_count(FS_OP_FORGET);
	for (i = 0; i < count; i++)
		forget_one(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = NULL;
	struct stat st;

	(void)fi;
	fs_count(FS_OP_GETATTR);
	if (fs_virtual_by_ino(ino)) {
		fill_virtual_attr(fs, fs_virtual_by_ino(ino), &st);
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
		fill_attr(fs, inode, &st);
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
		now(dst);
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
	now(&inode->ctime);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
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
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino);
	if (!inode)
		ret = -ENOENT;
	else if (to_set & FUSE_SET_ATTR_SIZE)
		ret = dmabuf_buffer_set_size(inode->buf,
					     (uint64_t)attr->st_size);
	if (!ret) {
		apply_meta_locked(inode, attr, to_set);
		fill_attr(fs, inode, &st);
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

/* A new, empty buffer named @name. */
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
	inode->name = strdup(name);
	ret = inode->name ? dmabuf_buffer_create(fs->core, &inode->buf)
			  : -ENOMEM;
	if (ret)
		goto err_inode;
	inode->ino = dmabuf_buffer_ino(inode->buf);
	inode->mode = S_IFREG | (mode & BUFFER_MODE_BITS);
	inode->uid = ctx->uid;
	inode->gid = ctx->gid;
	inode->creator = ctx->uid;
	dmabuf_buffer_set_owner(inode->buf, ctx->uid);
	now(&inode->atime);
	inode->mtime = inode->ctime = inode->atime;
	LIST_INIT(&inode->files);
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

/* Insert a new inode under its name; -EEXIST if taken meanwhile. */
static int publish_locked(struct fs *fs, struct fs_inode *inode)
{
	if (find_name_locked(fs, inode->name))
		return -EEXIST;
	if (!tsearch(inode, &fs->names, by_name))
		return -ENOMEM;
	if (!tsearch(inode, &fs->inodes, by_ino)) {
		tdelete(inode, &fs->names, by_name);
		return -ENOMEM;
	}
	fs->nr_names++;
	inode->nlookup = 1;
	return 0;
}

static void discard_inode(struct fs *fs, struct fs_inode *inode)
{
	dmabuf_buffer_unlink(inode->buf);
	dmabuf_buffer_put(inode->buf);
	fs_uncharge(fs, inode->creator, FS_LIMIT_BUFFERS);
	free(inode->name);
	free(inode);
}

/* A handle of @inode for @uid, charged to it. */
static int open_file(struct fs *fs, struct fs_inode *inode,
		     const struct fuse_ctx *ctx, int flags,
		     struct fs_file **out)
{
	uid_t uid = ctx->uid;
	struct fs_file *file;
	int ret = fs_charge(fs, uid, FS_LIMIT_HANDLES);

	if (ret)
		return ret;
	file = calloc(1, sizeof(*file));
	if (!file) {
		ret = -ENOMEM;
		goto err_charged;
	}
	ret = dmabuf_handle_open(inode->buf, flags, &file->h);
	if (ret)
		goto err_file;
	/* Its attachments and device mappings are charged as it is. */
	dmabuf_handle_set_owner(file->h, uid, ctx->pid);
	file->inode = inode;
	file->flags = flags;
	file->uid = uid;
	*out = file;
	return 0;

err_file:
	free(file);
err_charged:
	fs_uncharge(fs, uid, FS_LIMIT_HANDLES);
	return ret;
}

static void close_file(struct fs *fs, struct fs_file *file)
{
	dmabuf_handle_release(file->h);
	fs_uncharge(fs, file->uid, FS_LIMIT_HANDLES);
	free(file);
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
		ret = open_file(fs, inode, fuse_req_ctx(req), fi->flags, &file);
		if (ret)
			goto err_inode;
		/* EMPTY: nothing to bind yet (see choose_path_locked()) */
		file->direct = fs_passthrough_enabled(fs);
		fi->direct_io = file->direct;
	}
	pthread_mutex_lock(&fs->lock);
	ret = publish_locked(fs, inode);
	if (!ret && file) {
		LIST_INSERT_HEAD(&inode->files, file, link);
		fi->fh = (uintptr_t)file;
	}
	if (!ret)
		fill_entry(fs, inode, e);
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		goto err_file;
	return 0;

err_file:
	if (file)
		close_file(fs, file);
err_inode:
	discard_inode(fs, inode);
	return ret;
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int ret = make_file(req, parent, name, mode, &e, fi);

	fs_count(FS_OP_CREATE);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_create(req, &e, fi);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
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

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fs_not_permitted(req); /* one flat directory of buffers */
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link, (void)parent, (void)name;
	fs_not_permitted(req);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
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
	inode = find_name_locked(fs, name);
	if (!inode) {
		ret = -ENOENT;
	} else {
		drop_name_locked(fs, inode);
		now(&inode->ctime);
		inode_maybe_free_locked(fs, inode);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_count(FS_OP_UNLINK);
	fuse_reply_err(req, -unlink_name(fs_of(req), parent, name));
}

static int rename_locked(struct fs *fs, const char *from, const char *to,
			 unsigned int flags)
{
	struct fs_inode *src = find_name_locked(fs, from);
	struct fs_inode *dst = find_name_locked(fs, to);
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
		drop_name_locked(fs, dst);
		inode_maybe_free_locked(fs, dst);
	}
	tdelete(src, &fs->names, by_name);
	free(src->name);
	src->name = name;
	if (!tsearch(src, &fs->names, by_name)) {
		/* No memory for the new node: the buffer loses its name. */
		src->name = NULL;
		free(name);
		fs->nr_names--;
		dmabuf_buffer_unlink(src->buf);
		return -ENOMEM;
	}
	now(&src->ctime);
	return 0;
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

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	fs_count(FS_OP_RENAME);
	fuse_reply_err(req, -rename_name(fs_of(req), parent, name, newparent,
					 newname, flags));
}

/*
 * A directory listing or a .bufinfo/.stats text is a handle that also holds
 * a copy the size of the namespace: counted twice, so that opening many
 * cannot take the daemon's memory.
 */
static int charge_snapshot(struct fs *fs, uid_t uid)
{
	int ret = fs_charge(fs, uid, FS_LIMIT_HANDLES);

	if (ret)
		return ret;
	ret = fs_charge(fs, uid, FS_LIMIT_SNAPSHOTS);
	if (ret)
		fs_uncharge(fs, uid, FS_LIMIT_HANDLES);
	return ret;
}

static void uncharge_snapshot(struct fs *fs, uid_t uid)
{
	fs_uncharge(fs, uid, FS_LIMIT_SNAPSHOTS);
	fs_uncharge(fs, uid, FS_LIMIT_HANDLES);
}

static void snapshot_put(struct fs_file *file)
{
	if (__atomic_sub_fetch(&file->text_refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(file->text);
	free(file);
}

static int open_virtual(struct fs *fs, const struct fs_virtual *v,
			const struct fuse_ctx *ctx, struct fuse_file_info *fi)
{
	uid_t uid = ctx->uid;
	struct fs_file *file;
	int ret = charge_snapshot(fs, uid);

	if (ret)
		return ret;
	file = calloc(1, sizeof(*file));
	ret = file ? v->render(fs, ctx, &file->text, &file->text_len) : -ENOMEM;
	if (ret) {
		free(file);
		uncharge_snapshot(fs, uid);
		return ret;
	}
	file->uid = uid;
	file->text_refs = 1;
	pthread_mutex_lock(&fs->lock);
	LIST_INSERT_HEAD(&fs->virtual_files, file, link);
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uintptr_t)file;
	fi->direct_io = 1; /* a snapshot whose size stat(2) cannot know */
	return 0;
}

/* How an open of a buffer is served. */
enum open_path {
	OPEN_CACHED, /* the daemon, through the kernel's page cache */
	OPEN_DIRECT, /* the daemon, uncached (FOPEN_DIRECT_IO) */
	OPEN_PASSTHROUGH, /* the kernel, from the memfd (FOPEN_PASSTHROUGH) */
};

/*
 * With passthrough on, an open of a sized buffer is bound to its memfd.
 * The kernel refuses (EIO) to mix passthrough and page-cache opens of one
 * inode, so the choice is made once per buffer, at its first open after
 * sizing, and kept: a buffer whose memfd the kernel will not take
 * (BACKING_OPEN fails) takes the cached path for the rest of its life.
 *
 * An EMPTY buffer has no size and so no backing to bind: its opens (the
 * creating one, above all) are served by the daemon uncached, which never
 * conflicts with passthrough opens made after the export.
 *
 * Binding a read-only open does not place the backing: placement stays
 * deferred to the first device map or CPU bracket (SYNC START,
 * BEGIN_CPU_ACCESS), which a correct program takes before it touches the
 * bytes.  Binding an open for writing places it first, as the first write
 * would on the plain path: the kernel lets such a handle fill every page
 * without asking the daemon, so the bytes are charged to the buffer's
 * owner (max_bytes) and taken from its heap (df) before it may, and the
 * open fails with what placement says (EDQUOT, ENOSPC, ENOMEM).  The memfd
 * exists from the first open on and is the same file after placement and
 * migration, so bytes written before either stay where they are.
 */
static int choose_path_locked(struct fs *fs, struct fs_inode *inode, bool write,
			      enum open_path *path)
{
	struct dmabuf_buffer *buf = inode->buf;
	int fd, id, ret;

	*path = OPEN_CACHED;
	if (dmabuf_buffer_ranges(buf, NULL, 0) > 0) {
		/* A udmabuf: the program writes it through its own mapping at
		 * any moment, so nothing may cache it (dmabuf-compat(7)). */
		*path = OPEN_DIRECT;
		return 0;
	}
	if (!fs_passthrough_enabled(fs) || inode->backing_id < 0)
		return 0;
	if (!dmabuf_buffer_size(buf)) {
		*path = OPEN_DIRECT;
		return 0;
	}
	if (!inode->backing_id) {
		fd = dmabuf_buffer_backing(buf);
		if (fd < 0)
			return fd;
		id = fs_passthrough_open(fs, fd, inode->ino);
		/* Read without fs.lock by reply_synced() (ioctl.c). */
		__atomic_store_n(&inode->backing_id, id < 0 ? -1 : id,
				 __ATOMIC_RELEASE);
		if (id < 0)
			return 0;
	}
	ret = write ? dmabuf_buffer_memfd(buf, true) : 0;
	if (ret < 0) {
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: open for writing refused (%s): its "
			   "bytes cannot be placed",
			   (unsigned long long)inode->ino, strerror(-ret));
		return ret;
	}
	*path = OPEN_PASSTHROUGH;
	return 0;
}

static void reply_open(fuse_req_t req, struct fuse_file_info *fi,
		       enum open_path path, int backing_id)
{
	if (path == OPEN_PASSTHROUGH) {
		fs_passthrough_reply_open(req, fi, backing_id);
		return;
	}
	fi->direct_io = path == OPEN_DIRECT;
	fuse_reply_open(req, fi); /* O_TRUNC ignored, as on a device */
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	enum open_path path = OPEN_CACHED;
	struct fs_inode *inode;
	struct fs_file *file = NULL;
	int ret, backing_id = 0;

	fs_count(FS_OP_OPEN);
	if (fs_virtual_by_ino(ino)) {
		ret = (fi->flags & O_ACCMODE) == O_RDONLY
			      ? open_virtual(fs, fs_virtual_by_ino(ino),
					     fuse_req_ctx(req), fi)
			      : -EACCES;
		if (ret)
			fuse_reply_err(req, -ret);
		else
			fuse_reply_open(req, fi);
		return;
	}
	if (fs_devnode_ino(ino)) {
		fi->fh = 0; /* nothing to keep: the inode says which node */
		fi->direct_io = 1;
		ret = ino == FS_SYNC_FILE_INO
			      ? fs_sync_file_open(fs, fuse_req_ctx(req)->uid,
						  fi)
			      : 0;
		if (ret)
			fuse_reply_err(req, -ret);
		else
			fuse_reply_open(req, fi);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino);
	ret = inode ? choose_path_locked(fs, inode,
					 (fi->flags & O_ACCMODE) != O_RDONLY,
					 &path)
		    : -ENOENT;
	if (!ret)
		ret = open_file(fs, inode, fuse_req_ctx(req), fi->flags, &file);
	if (!ret) {
		file->direct = path == OPEN_DIRECT;
		backing_id = inode->backing_id;
		LIST_INSERT_HEAD(&inode->files, file, link);
		fi->fh = (uintptr_t)file;
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		reply_open(req, fi, path, backing_id);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);
	struct fuse_pollhandle *ph;
	struct fs_inode *inode;

	fs_count(FS_OP_RELEASE);
	if (fs_devnode_ino(ino)) {
		if (ino == FS_SYNC_FILE_INO)
			fs_sync_file_release(fs, fi);
		fuse_reply_err(req, 0);
		return;
	}
	if (fs_virtual_by_ino(ino)) {
		pthread_mutex_lock(&fs->lock);
		LIST_REMOVE(file, link);
		pthread_mutex_unlock(&fs->lock);
		uncharge_snapshot(fs, file->uid);
		snapshot_put(file);
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	LIST_REMOVE(file, link);
	fs_want_done_locked(file);
	ph = file->ph;
	pthread_mutex_unlock(&fs->lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* Unmaps and detaches what the handle left, waking waiters. */
	inode = file->inode;
	close_file(fs, file);
	pthread_mutex_lock(&fs->lock);
	inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fs_count(FS_OP_FLUSH);
	/* The memfd holds the bytes: nothing to flush. */
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fs_count(FS_OP_FSYNC);
	fuse_reply_err(req, 0);
}

static void read_snapshot(fuse_req_t req, struct fs_file *file, size_t size,
			  off_t off)
{
	if ((size_t)off >= file->text_len)
		size = 0;
	else if (size > file->text_len - (size_t)off)
		size = file->text_len - (size_t)off;
	__atomic_add_fetch(&file->text_refs, 1, __ATOMIC_RELAXED);
	fuse_reply_buf(req, file->text + (size ? off : 0), size);
	snapshot_put(file);
}

/* A read through a per-thread buffer: too large to splice, or a udmabuf. */
static void read_copied(fuse_req_t req, struct dmabuf_buffer *buf, size_t size,
			off_t off)
{
	char *out = thread_read_buf();
	ssize_t n;

	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = dmabuf_buffer_pread(buf, out, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, out, (size_t)n);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	struct dmabuf_buffer *buf;
	uint64_t len;
	int fd;

	fs_count(FS_OP_READ);
	if (fs_virtual_by_ino(ino)) {
		read_snapshot(req, file, size, off);
		return;
	}
	if (fs_devnode_ino(ino)) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	buf = file->inode->buf;
	len = dmabuf_buffer_size(buf);
	if ((uint64_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (uint64_t)off)
		size = (size_t)(len - (uint64_t)off);
	if (size > READ_CHUNK)
		size = READ_CHUNK; /* a short read, as the kernel allows */
	if (!file->direct)
		__atomic_store_n(&file->inode->cached, true, __ATOMIC_RELAXED);
	fd = dmabuf_buffer_memfd(buf, false);
	if (fd == -EXDEV) { /* a udmabuf: runs of other memfds */
		read_copied(req, buf, size, off);
		return;
	}
	if (fd < 0) { /* not placed yet: zeros, without placing it */
		fuse_reply_buf(req, zero_page,
			       size < sizeof(zero_page) ? size
							: sizeof(zero_page));
		return;
	}
	if (size <= SPLICE_MAX) {
		/* memfd -> pipe -> page cache; no SPLICE_MOVE: the pages are
		 * the buffer's own and must not be stolen. */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, 0);
		return;
	}
	read_copied(req, buf, size, off);
}

static ssize_t write_to_fd(int fd, struct fuse_bufvec *dst,
			   struct fuse_bufvec *in, off_t off)
{
	dst->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	dst->buf[0].fd = fd;
	dst->buf[0].pos = off;
	return fuse_buf_copy(dst, in, 0);
}

/* A udmabuf's runs: through a per-thread buffer (max_write, 1 MiB). */
static ssize_t write_copied(struct dmabuf_buffer *buf, struct fuse_bufvec *dst,
			    struct fuse_bufvec *in, off_t off)
{
	char *mem = thread_read_buf();
	ssize_t n;

	if (!mem)
		return -ENOMEM;
	if (dst->buf[0].size > READ_CHUNK)
		dst->buf[0].size = READ_CHUNK;
	dst->buf[0].mem = mem;
	n = fuse_buf_copy(dst, in, 0);
	return n < 0 ? n : dmabuf_buffer_pwrite(buf, mem, (size_t)n, off);
}

static void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
			 off_t off, struct fuse_file_info *fi)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct fs_inode *inode;
	uint64_t len;
	ssize_t n;
	int fd;

	fs_count(FS_OP_WRITE);
	if (fs_devnode_ino(ino)) {
		fuse_reply_err(req, EINVAL); /* as /dev/dma_heap's nodes */
		return;
	}
	inode = file->inode;
	len = dmabuf_buffer_size(inode->buf);
	if ((uint64_t)off >= len) {
		dmabuf_log(
			LOG_DEBUG,
			"buffer %llu: write at %lld past its %llu bytes (ENOSPC)",
			(unsigned long long)inode->ino, (long long)off,
			(unsigned long long)len);
		fuse_reply_err(req, ENOSPC);
		return;
	}
	if (dst.buf[0].size > len - (uint64_t)off)
		dst.buf[0].size = (size_t)(len - (uint64_t)off);
	fd = dmabuf_buffer_memfd(inode->buf, true);
	if (fd < 0 && fd != -EXDEV) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (!file->direct)
		__atomic_store_n(&inode->cached, true, __ATOMIC_RELAXED);
	n = fd == -EXDEV ? write_copied(inode->buf, &dst, in, off)
			 : write_to_fd(fd, &dst, in, off);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	pthread_mutex_lock(&fs_of(req)->lock);
	now(&inode->mtime);
	inode->ctime = inode->mtime;
	pthread_mutex_unlock(&fs_of(req)->lock);
	fuse_reply_write(req, (size_t)n);
}

/* ---- directory ---- */

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
	uid_t uid; /* charged for it (charge_snapshot()) */
	LIST_ENTRY(dir_snapshot) link; /* in fs.dirs while open */
};

static void snapshot_add(struct dir_snapshot *snap, const char *name,
			 uint64_t ino, mode_t mode)
{
	if (snap->failed)
		return;
	if (snap->nr == snap->cap) {
		size_t cap = snap->cap ? snap->cap * 2 : 64;
		struct dir_entry *grown =
			realloc(snap->entries, cap * sizeof(*grown));

		if (!grown) {
			snap->failed = true;
			return;
		}
		snap->entries = grown;
		snap->cap = cap;
	}
	snap->entries[snap->nr].name = strdup(name);
	snap->entries[snap->nr].ino = ino;
	snap->entries[snap->nr].mode = mode;
	if (!snap->entries[snap->nr].name)
		snap->failed = true;
	else
		snap->nr++;
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
	uint64_t *grown;

	if ((which != postorder && which != leaf) || !inode->buf ||
	    !may_see(inode, v->ctx) || v->nomem)
		return;
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		grown = realloc(v->inos, v->cap * sizeof(*grown));
		if (!grown) {
			v->nomem = true;
			return;
		}
		v->inos = grown;
	}
	v->inos[v->n++] = inode->ino;
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

static void snapshot_free(struct dir_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr; i++)
		free(snap->entries[i].name);
	free(snap->entries);
	free(snap);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
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
	ret = charge_snapshot(fs, fuse_req_ctx(req)->uid);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		uncharge_snapshot(fs, fuse_req_ctx(req)->uid);
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
		uncharge_snapshot(fs, snap->uid);
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
		fill_attr(fs, NULL, &e.attr); /* . and ..: no lookup counted */
		return fuse_add_direntry_plus(req, out, room, d->name, &e,
					      next);
	}
	if (v) {
		fill_virtual_attr(fs, v, &e.attr);
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
		fill_attr(fs, inode, &e.attr);
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

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	read_dir(req, size, off, fi, false);
}

/* ls -l without a LOOKUP per name: attributes come with the entries. */
static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	read_dir(req, size, off, fi, true);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dir_snapshot *snap = (struct dir_snapshot *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);

	(void)ino;
	fs_count(FS_OP_RELEASEDIR);
	pthread_mutex_lock(&fs->lock);
	LIST_REMOVE(snap, link);
	pthread_mutex_unlock(&fs->lock);
	uncharge_snapshot(fs, snap->uid);
	snapshot_free(snap);
	fuse_reply_err(req, 0);
}

/* df(1): the heaps' capacity and use, in pages. */
static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
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
 * fs_release_all() - forget every inode and open file after the session ends
 * @fs: the file system
 *
 * An unmount with files open delivers no releases: open directories and
 * virtual files are freed here, and the core frees the buffers and handles
 * afterwards.
 */
void fs_release_all(struct fs *fs)
{
	struct dir_snapshot *snap;
	struct fs_file *file;

	while ((snap = LIST_FIRST(&fs->dirs))) {
		LIST_REMOVE(snap, link);
		snapshot_free(snap);
	}
	while ((file = LIST_FIRST(&fs->virtual_files))) {
		LIST_REMOVE(file, link);
		free(file->text);
		free(file);
	}
	tdestroy(fs->names, free_nothing);
	fs->names = NULL;
	tdestroy(fs->inodes, free_inode);
	fs->inodes = NULL;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.symlink = fs_symlink,
	.link = fs_link,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.create = fs_create,
	.open = fs_open,
	.read = fs_read,
	.write_buf = fs_write_buf,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
	.ioctl = fs_ioctl,
	.poll = fs_poll,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
};
