// SPDX-License-Identifier: MIT
/*
 * DOC: a new buffer sized by what is written into it
 *
 * `cp FILE /run/dmabuf/new`, `cat FILE > new`, `tee new`: the shell
 * creates the file and writes into it, with no size given first.  The first
 * handle that writes an EMPTY buffer (the one that created it, as a rule)
 * stages what it writes in a memfd of its own, growing as a file does; the
 * buffer takes the size of what was written, and the memfd becomes its
 * memory with no copy (dmabuf_buffer_adopt_memfd()), when that handle is
 * flushed or closed, at its first ioctl (SYNC, EXPORT, ATTACH, ...), or
 * when the buffer is truncated to a size.  Another handle writing
 * meanwhile gets EBUSY.  From then on the size is fixed, as every buffer's.
 * When the size cannot be set (past the heap's capacity, say), the flush or
 * close says so and the buffer stays EMPTY.
 *
 * The staged bytes are charged to the writer's uid (max_bytes) and bounded
 * by the default heap's capacity (EFBIG), so a staging memfd cannot take
 * more than the buffer could.  Each write is copied into the memfd under
 * fs.staging_lock, a lock of its own that fs.lock is never taken under, so
 * the namespace waits for no copy.
 *
 * Calls limits.c and the object model; files.c, ops.c and ioctl.c call it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"

/* The default heap's capacity: what one buffer may hold at most. */
static uint64_t capacity(struct fs *fs)
{
	const char *heap = dmabuf_core_default_heap(fs->core);
	struct dmabuf_heap_stats st;
	char name[DMABUF_NAME_LEN];
	unsigned int i;

	for (i = 0; dmabuf_heap_stats(fs->core, i, name, &st) == 0; i++)
		if (!strcmp(name, heap))
			return st.capacity ? st.capacity : UINT64_MAX;
	return 0;
}

/* Grow the staged size to @end, charging @uid; under staging_lock. */
static int grow_locked(struct fs *fs, struct fs_inode *inode, uid_t uid,
		       uint64_t end)
{
	uint64_t staged = inode->staged;
	int ret;

	if (end <= staged)
		return 0;
	if (end > capacity(fs)) {
		fs_log_refusal(uid,
			       "buffer %llu: a write to %llu bytes refused "
			       "(EFBIG): past its heap's capacity",
			       (unsigned long long)inode->ino,
			       (unsigned long long)end);
		return -EFBIG;
	}
	ret = fs_charge_n(fs, uid, FS_LIMIT_BYTES, end - staged);
	if (ret)
		return ret;
	inode->staging_uid = uid;
	__atomic_store_n(&inode->staged, end, __ATOMIC_RELAXED);
	return 0;
}

/* Give back what staging took; under staging_lock. */
static void drop_locked(struct fs *fs, struct fs_inode *inode)
{
	if (inode->staging_fd >= 0)
		fs_close_memfd(fs, inode->staging_fd);
	inode->staging_fd = -1;
	if (inode->staged)
		fs_uncharge_n(fs, inode->staging_uid, FS_LIMIT_BYTES,
			      inode->staged);
	__atomic_store_n(&inode->staged, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&inode->stager, NULL, __ATOMIC_RELEASE);
}

/**
 * fs_stage_write() - a write to an EMPTY buffer
 * @fs: the file system
 * @file: the writing handle, charged for the staged bytes
 * @in: the bytes
 * @off: where
 *
 * Return: the bytes written, or -errno: EBUSY while another handle stages,
 * EFBIG past the default heap's capacity, EDQUOT past the writer's
 * max_bytes, ENOMEM.
 */
ssize_t fs_stage_write(struct fs *fs, struct fs_file *file,
		       struct fuse_bufvec *in, off_t off)
{
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct fs_inode *inode = file->inode;
	ssize_t n;
	int ret;

	if (off < 0 || (uint64_t)off > UINT64_MAX - dst.buf[0].size)
		return -EFBIG;
	pthread_mutex_lock(&fs->staging_lock);
	if (inode->stager && inode->stager != file) {
		fs_log_refusal(file->uid,
			       "buffer %llu: a write refused (EBUSY): another "
			       "handle is writing it before its size is set",
			       (unsigned long long)inode->ino);
		n = -EBUSY;
		goto out;
	}
	__atomic_store_n(&inode->stager, file, __ATOMIC_RELEASE);
	if (inode->staging_fd < 0) {
		inode->staging_fd = memfd_create(
			"dmabuf-staging", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (inode->staging_fd < 0 || fchmod(inode->staging_fd, 0600)) {
			n = -errno;
			drop_locked(fs, inode);
			goto out;
		}
	}
	ret = grow_locked(fs, inode, file->uid,
			  (uint64_t)off + dst.buf[0].size);
	if (ret) {
		n = ret;
		goto out;
	}
	dst.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	dst.buf[0].fd = inode->staging_fd;
	dst.buf[0].pos = off;
	n = fuse_buf_copy(&dst, in, 0);
out:
	pthread_mutex_unlock(&fs->staging_lock);
	return n;
}

/**
 * fs_stage_read() - the staging handle reads back what it wrote
 * @fs: the file system
 * @file: the reading handle
 * @req: the READ request, answered here exactly once when it returns true
 * @size: bytes asked
 * @off: from where
 *
 * Return: false, with @req not answered, when @file stages nothing: other
 * handles read from the buffer, which has no bytes before its size is set.
 */
bool fs_stage_read(struct fs *fs, struct fs_file *file, fuse_req_t req,
		   size_t size, off_t off)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	struct fs_inode *inode = file->inode;

	pthread_mutex_lock(&fs->staging_lock);
	if (inode->stager != file) {
		pthread_mutex_unlock(&fs->staging_lock);
		return false;
	}
	if (inode->staging_fd >= 0 && off >= 0 &&
	    (uint64_t)off < inode->staged) {
		bv.buf[0].size = size < inode->staged - (uint64_t)off
					 ? size
					 : inode->staged - (uint64_t)off;
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = inode->staging_fd;
		bv.buf[0].pos = off;
	}
	fuse_reply_data(req, &bv, 0);
	pthread_mutex_unlock(&fs->staging_lock);
	return true;
}

/**
 * fs_stage_fix() - the staged bytes become the buffer, its size fixed
 * @fs: the file system
 * @inode: the buffer's inode
 * @file: only if this handle is the one staging (its flush, release or
 *        first ioctl); NULL for whoever it is (a truncate to a size)
 * @size: the size to take; 0 for what was written
 *
 * Nothing staged: nothing to do.  A size larger than what was written
 * reads as zeros past it, a smaller one cuts it (truncate(1) after the
 * writes).  Failing, the staged bytes are dropped (and the buffer stays
 * EMPTY when its size could not be set).
 *
 * The buffer is placed then, as a write to a sized buffer places it.
 *
 * Return: 0, or what dmabuf_buffer_set_size() says (EFBIG, EINVAL), or
 * -errno of sealing the memory, or of placing it (EDQUOT, ENOSPC).
 */
int fs_stage_fix(struct fs *fs, struct fs_inode *inode,
		 const struct fs_file *file, uint64_t size)
{
	int ret = 0;

	/* Every ioctl asks: most buffers never stage, and pay no lock. */
	if (!__atomic_load_n(&inode->stager, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&fs->staging_lock);
	if (!inode->stager || (file && inode->stager != file))
		goto out;
	if (inode->staging_fd < 0) {
		drop_locked(fs, inode);
		goto out;
	}
	if (!size)
		size = inode->staged;
	if (!size) { /* its writes all failed: nothing to become */
		drop_locked(fs, inode);
		goto out;
	}
	ret = dmabuf_buffer_set_size(inode->buf, size);
	if (!ret)
		ret = dmabuf_buffer_adopt_memfd(inode->buf, inode->staging_fd);
	if (!ret)
		inode->staging_fd = -1; /* the buffer's now */
	drop_locked(fs, inode); /* uncharged before placement charges it */
	if (!ret) { /* placed, as the write would have placed it */
		ret = dmabuf_buffer_memfd(inode->buf, true);
		ret = ret < 0 ? ret : 0;
	}
	if (ret)
		dmabuf_log(LOG_WARNING,
			   "buffer %llu: %llu bytes written at its creation "
			   "could not become it (%s)",
			   (unsigned long long)inode->ino,
			   (unsigned long long)size, strerror(-ret));
out:
	pthread_mutex_unlock(&fs->staging_lock);
	return ret;
}

/**
 * fs_stage_drop() - an inode dies with bytes staged and never fixed
 * @fs: the file system
 * @inode: the inode
 */
void fs_stage_drop(struct fs *fs, struct fs_inode *inode)
{
	pthread_mutex_lock(&fs->staging_lock);
	drop_locked(fs, inode);
	pthread_mutex_unlock(&fs->staging_lock);
}
