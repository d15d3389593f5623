// SPDX-License-Identifier: MIT
/*
 * DOC: open files: open, read, write, release
 *
 * Each open handle of a buffer is a shareable dma-buf fd.  Bytes are read
 * from and written to the buffer's memfd, so read(2), write(2), the file's
 * own mmap and the zero-copy mapping all see the same memory; with
 * passthrough the kernel serves them from the memfd itself (see
 * choose_path_locked()).  A write past the end fails with ENOSPC, as on a
 * fixed-size device.  Opens of .bufinfo/.stats take a snapshot of their
 * text (virtual.c renders it), and .sync_file's are fences.c's.
 *
 * Calls down to namespace.c, passthrough.c, fences.c, wait.c (a closed
 * handle stops wanting CPU access), virtual.c, limits.c and counters.c.
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

/* A handle of @inode for @uid, charged to it. */
int fs_file_open(struct fs *fs, struct fs_inode *inode,
		 const struct fuse_ctx *ctx, int flags, struct fs_file **out)
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

void fs_file_close(struct fs *fs, struct fs_file *file)
{
	fs_sync_release(fs, file);
	dmabuf_handle_release(file->h);
	fs_uncharge(fs, file->uid, FS_LIMIT_HANDLES);
	free(file);
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
	int ret = fs_charge_snapshot(fs, uid);

	if (ret)
		return ret;
	file = calloc(1, sizeof(*file));
	ret = file ? v->render(fs, ctx, &file->text, &file->text_len) : -ENOMEM;
	if (ret) {
		free(file);
		fs_uncharge_snapshot(fs, uid);
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
		/* Read without fs.lock by fs_reply_synced() (wait.c). */
		__atomic_store_n(&inode->backing_id, id < 0 ? -1 : id,
				 __ATOMIC_RELEASE);
		if (id < 0)
			return 0;
		fs_inode_fold_times_locked(inode,
					   false); /* writes from now on */
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

/*
 * A buffer without a name (anonymous, or unlinked while open) is reached
 * only through /proc/PID/fd: as for a kernel dma-buf, that open is ENXIO,
 * so its fds are all there is to share and a read-only fd never yields a
 * writable one.
 */
static int may_open_locked(const struct fs_inode *inode, uid_t uid)
{
	if (inode->name)
		return 0;
	fs_log_refusal(uid,
		       "buffer %llu: open refused (ENXIO): it has no name, and "
		       "a dma-buf is shared by passing its fd",
		       (unsigned long long)inode->ino);
	return -ENXIO;
}

/**
 * fs_handle_open_locked() - open a handle of buffer @inode, bound as it
 * must be served (choose_path_locked())
 * @fs: the file system, fs.lock held
 * @inode: the buffer
 * @ctx: who opens it (charged for the handle)
 * @fi: the open's; out: fh, direct_io, noflush
 * @backing_id: out: the passthrough backing id, or 0 when the daemon
 *              serves the handle
 *
 * A handle of a sized buffer has nothing to flush (only a handle that
 * writes an EMPTY buffer does: staging.c), so its close(2) costs one
 * request, not two.
 *
 * Return: 0 or -errno, with nothing opened.
 */
int fs_handle_open_locked(struct fs *fs, struct fs_inode *inode,
			  const struct fuse_ctx *ctx, struct fuse_file_info *fi,
			  int *backing_id)
{
	enum open_path path = OPEN_CACHED;
	struct fs_file *file = NULL;
	int ret = choose_path_locked(
		fs, inode, (fi->flags & O_ACCMODE) != O_RDONLY, &path);

	if (!ret)
		ret = fs_file_open(fs, inode, ctx, fi->flags, &file);
	if (ret)
		return ret;
	file->direct = path == OPEN_DIRECT;
	file->passthrough = path == OPEN_PASSTHROUGH;
	LIST_INSERT_HEAD(&inode->files, file, link);
	fi->fh = (uintptr_t)file;
	fi->direct_io = path == OPEN_DIRECT;
	fi->noflush = dmabuf_buffer_size(inode->buf) != 0;
	*backing_id = path == OPEN_PASSTHROUGH ? inode->backing_id : 0;
	return 0;
}

/**
 * fs_reply_opened() - answer OPEN, or CREATE with @e, for a handle made by
 * fs_handle_open_locked()
 * @req: the request
 * @e: the new entry for CREATE; NULL for OPEN
 * @fi: the handle's
 * @backing_id: as fs_handle_open_locked() gave it
 */
void fs_reply_opened(fuse_req_t req, const struct fuse_entry_param *e,
		     struct fuse_file_info *fi, int backing_id)
{
	if (backing_id > 0)
		fs_passthrough_reply_open(req, e, fi, backing_id);
	else if (e)
		fuse_reply_create(req, e, fi);
	else
		fuse_reply_open(req, fi); /* O_TRUNC ignored, as on a device */
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode;
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
		/* No node is a stream: lseek and pread say ESPIPE, as of
		 * the kernel's character devices and sync_files. */
		fi->nonseekable = 1;
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
	ret = inode ? may_open_locked(inode, fuse_req_ctx(req)->uid) : -ENOENT;
	if (!ret)
		ret = fs_handle_open_locked(fs, inode, fuse_req_ctx(req), fi,
					    &backing_id);
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fs_reply_opened(req, NULL, fi, backing_id);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
		fs_uncharge_snapshot(fs, file->uid);
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
	fs_stage_fix(fs, inode, file, 0); /* no FLUSH came (a killed writer) */
	fs_file_close(fs, file);
	pthread_mutex_lock(&fs->lock);
	fs_inode_maybe_free_locked(fs, inode);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	int ret = 0;

	fs_count(FS_OP_FLUSH);
	/* The memfd holds the bytes: nothing to flush, but at the close of
	 * the handle that wrote an EMPTY buffer what it wrote becomes the
	 * buffer, and close(2) says if it cannot (staging.c). */
	if (!fs_virtual_by_ino(ino) && !fs_devnode_ino(ino))
		ret = fs_stage_fix(fs_of(req), file->inode, file, 0);
	fuse_reply_err(req, -ret);
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
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

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
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
		fuse_reply_err(req, EINVAL); /* as the kernel's nodes */
		return;
	}
	buf = file->inode->buf;
	len = dmabuf_buffer_size(buf);
	if (!len && fs_stage_read(fs_of(req), file, req, size, off))
		return; /* what it wrote, not sized yet */
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

/* A write to @file's buffer.  Return: the bytes written, or -errno. */
static ssize_t write_buffer(struct fs *fs, struct fs_file *file,
			    struct fuse_bufvec *in, off_t off)
{
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct fs_inode *inode = file->inode;
	uint64_t len = dmabuf_buffer_size(inode->buf);
	int fd;

	if (!len) /* cp, cat >, tee: what it writes sizes the buffer */
		return fs_stage_write(fs, file, in, off);
	if ((uint64_t)off >= len) {
		dmabuf_log(
			LOG_DEBUG,
			"buffer %llu: write at %lld past its %llu bytes (ENOSPC)",
			(unsigned long long)inode->ino, (long long)off,
			(unsigned long long)len);
		return -ENOSPC;
	}
	if (dst.buf[0].size > len - (uint64_t)off)
		dst.buf[0].size = (size_t)(len - (uint64_t)off);
	fd = dmabuf_buffer_memfd(inode->buf, true);
	if (fd < 0 && fd != -EXDEV)
		return fd;
	if (!file->direct)
		__atomic_store_n(&inode->cached, true, __ATOMIC_RELAXED);
	return fd == -EXDEV ? write_copied(inode->buf, &dst, in, off)
			    : write_to_fd(fd, &dst, in, off);
}

void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		  off_t off, struct fuse_file_info *fi)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);
	ssize_t n;

	fs_count(FS_OP_WRITE);
	if (fs_devnode_ino(ino)) {
		fuse_reply_err(req, EINVAL); /* as /dev/dma_heap's nodes */
		return;
	}
	n = write_buffer(fs, file, in, off);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs_inode_fold_times_locked(file->inode, true); /* the daemon's write */
	fs_now(&file->inode->mtime);
	file->inode->ctime = file->inode->mtime;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_write(req, (size_t)n);
}

/**
 * fs_virtual_files_release_all() - free every open .bufinfo/.stats snapshot
 * @fs: the file system
 */
void fs_virtual_files_release_all(struct fs *fs)
{
	struct fs_file *file;

	while ((file = LIST_FIRST(&fs->virtual_files))) {
		LIST_REMOVE(file, link);
		free(file->text);
		free(file);
	}
}
