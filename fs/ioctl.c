// SPDX-License-Identifier: MIT
/*
 * DOC: ioctls, waiting and poll
 *
 * Ioctls arrive restricted: exactly _IOC_SIZE(cmd) bytes in and out, never a
 * pointer.  ioctl_decode() (decode.c) checks the size, every field and all
 * padding, or refuses with ENOTTY or EINVAL; each handler then calls the
 * object model and replies once.
 *
 * Some calls must wait for another client: a map stalled behind a migration,
 * CPU access behind a device that still owns the bytes.  A worker thread
 * never blocks on that.  The request is parked with an interrupt callback;
 * when the buffer changes, the notifier thread retries it and replies.  A
 * signal to the caller answers EINTR; a handle opened O_NONBLOCK gets EAGAIN
 * at once.
 *
 * After CPU access brackets and exports, the kernel's cached pages and
 * attributes of the file may be stale (zero-copy writers bypass them, an
 * export changes the size): those replies go out only after the notifier
 * thread invalidated the cache, so the caller's next read sees the truth.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "decode.h"
#include "fs.h"

static int refuse(unsigned int cmd, int err, const char *why)
{
	dmabuf_log(LOG_WARNING, "ioctl %#x refused (%s): %s", cmd,
		   strerror(err), why);
	return -err;
}

/*
 * ENOTTY: not an ioctl of this file.  Logged at debug level only: programs
 * probe for ioctls, and a flood of warnings would drown the real ones.
 */
static void not_tty(fuse_req_t req, unsigned int cmd, const char *why)
{
	dmabuf_log(LOG_DEBUG, "ioctl %#x refused (ENOTTY): %s", cmd, why);
	fuse_reply_err(req, ENOTTY);
}

/*
 * A heap's or udmabuf's ioctl creates an fd in the caller, which only the
 * compat layer can do: say so, once, for whoever runs a program without it.
 */
static void devnode_not_tty(fuse_req_t req, unsigned int cmd)
{
	static bool told;

	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		dmabuf_log(LOG_WARNING,
			   "ioctl %#x on a device node reached the daemon "
			   "(ENOTTY): run the program under `dmabufctl run` "
			   "(dmabuf-compat(7))",
			   cmd);
	fuse_reply_err(req, ENOTTY);
}

/*
 * Reply now, or after invalidating the file's cached pages if it has any.
 *
 * A buffer bound for passthrough has no page cache (its opens are all
 * passthrough; see choose_path_locked()), so it is answered at once.
 *
 * Also after any invalidation already under way: another bracket may have
 * taken the cached flag a moment ago, and until its invalidation is done
 * the kernel may still hold stale pages of this file, or dirty mmap pages
 * not yet written back.  The notifier answers in order, so queueing behind
 * it waits for that.  The hold on inval_inflight, taken before the flag,
 * makes sure a bracket that finds the flag clear also sees who cleared it.
 */
static void reply_synced(fuse_req_t req, struct fs_file *file, int ret,
			 const void *out, size_t len)
{
	struct fs_inode *inode = file->inode;
	struct fs *fs = fs_of(req);
	bool wait;

	/* Passthrough: no page cache behind any handle, nothing to drop. */
	if (!ret &&
	    __atomic_load_n(&inode->backing_id, __ATOMIC_ACQUIRE) <= 0) {
		__atomic_add_fetch(&fs->inval_inflight, 1, __ATOMIC_SEQ_CST);
		wait = __atomic_exchange_n(&inode->cached, false,
					   __ATOMIC_SEQ_CST) ||
		       __atomic_load_n(&fs->inval_inflight, __ATOMIC_SEQ_CST) >
			       1;
		if (wait)
			fs_reply_after_inval(fs, req, inode->ino, false, 0, out,
					     len);
		__atomic_sub_fetch(&fs->inval_inflight, 1, __ATOMIC_SEQ_CST);
		if (wait)
			return;
	}
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_ioctl(req, 0, out, len);
}

static void waiter_free(struct fs *fs, struct fs_waiter *w)
{
	fs_uncharge(fs, w->uid, FS_LIMIT_WAITERS);
	free(w);
}

/* Is @w (for @req) still parked?  Compares pointers, never follows one. */
static bool unpark_locked(struct fs *fs, struct fs_waiter *w, fuse_req_t req)
{
	struct fs_waiter *it;

	TAILQ_FOREACH (it, &fs->waiters, link)
		if (it == w && it->req == req) {
			TAILQ_REMOVE(&fs->waiters, w, link);
			return true;
		}
	return false;
}

/*
 * libfuse may call this while another thread answers the same request; the
 * one that takes the waiter off the list answers it.
 */
static void waiter_interrupted(fuse_req_t req, void *data)
{
	struct fs *fs = fs_of(req);
	bool mine;

	pthread_mutex_lock(&fs->lock);
	mine = unpark_locked(fs, data, req);
	pthread_mutex_unlock(&fs->lock);
	if (!mine)
		return;
	dmabuf_log(LOG_DEBUG, "waiting request interrupted (EINTR)");
	fuse_reply_err(req, EINTR);
	waiter_free(fs, data);
}

/* Park @w until its buffer changes. */
static void park(struct fs *fs, struct fs_waiter *w)
{
	struct dmabuf_buffer *buf = w->buf;
	fuse_req_t req = w->req;
	struct fs_waiter *it;

	pthread_mutex_lock(&fs->lock);
	TAILQ_INSERT_TAIL(&fs->waiters, w, link);
	pthread_mutex_unlock(&fs->lock);
	/* Calls waiter_interrupted() at once if a signal already came. */
	fuse_req_interrupt_func(req, waiter_interrupted, w);
	pthread_mutex_lock(&fs->lock);
	TAILQ_FOREACH (it, &fs->waiters, link)
		if (it == w && it->req == req)
			w->armed = true;
	pthread_mutex_unlock(&fs->lock);
	/* The buffer may have changed before the waiter was armed. */
	fs_retry_waiters(fs, buf);
}

static int retry(struct fs_waiter *w)
{
	if (w->kind == FS_WAIT_MAP)
		return dmabuf_handle_map(w->file->h, w->attach_id, w->dir,
					 &w->nents, &w->total);
	return dmabuf_handle_begin_cpu(w->file->h, w->off, w->len, w->dir);
}

static void answer(struct fs_waiter *w)
{
	struct dmabuf_map m = {.attach_id = w->attach_id,
			       .dir = w->dir,
			       .nents = w->nents,
			       .total_len = w->total};

	if (w->kind == FS_WAIT_MAP && !w->result)
		fuse_reply_ioctl(w->req, 0, &m, sizeof(m));
	else
		reply_synced(w->req, w->file, w->result, NULL, 0);
}

/**
 * fs_retry_waiters() - try again every request parked on @buf
 * @fs: the file system
 * @buf: a buffer that changed; NULL for every buffer (explicit fences tie
 *       buffers together)
 *
 * Called by the notifier thread, and once after parking.  A request whose
 * retry still says -EAGAIN stays parked; the others are answered after
 * fs.lock is dropped.
 */
void fs_retry_waiters(struct fs *fs, struct dmabuf_buffer *buf)
{
	TAILQ_HEAD(, fs_waiter) done = TAILQ_HEAD_INITIALIZER(done);
	struct fs_waiter *w, *next;

	pthread_mutex_lock(&fs->lock);
	TAILQ_FOREACH_SAFE (w, &fs->waiters, link, next) {
		if ((buf && w->buf != buf) || !w->armed)
			continue;
		w->result = retry(w);
		if (w->result == -EAGAIN)
			continue;
		TAILQ_REMOVE(&fs->waiters, w, link);
		TAILQ_INSERT_TAIL(&done, w, link);
	}
	pthread_mutex_unlock(&fs->lock);
	while ((w = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, w, link);
		answer(w);
		waiter_free(fs, w);
	}
}

/**
 * fs_fail_waiters() - answer every parked request with ENOTCONN at shutdown
 * @fs: the file system
 */
void fs_fail_waiters(struct fs *fs)
{
	TAILQ_HEAD(, fs_waiter) all = TAILQ_HEAD_INITIALIZER(all);
	struct fs_waiter *w;

	/* Taken off under fs.lock, answered without it (fs.h). */
	pthread_mutex_lock(&fs->lock);
	TAILQ_CONCAT(&all, &fs->waiters, link);
	pthread_mutex_unlock(&fs->lock);
	while ((w = TAILQ_FIRST(&all))) {
		TAILQ_REMOVE(&all, w, link);
		fuse_reply_err(w->req, ENOTCONN);
		waiter_free(fs, w);
	}
}

/* -EAGAIN from a call that may wait: park the request or say EAGAIN. */
static void wait_or_eagain(fuse_req_t req, struct fs_file *file,
			   const struct fs_waiter *tmpl)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct fs_waiter *w;
	int ret;

	if (file->flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	ret = fs_charge(fs_of(req), uid, FS_LIMIT_WAITERS);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		fs_uncharge(fs_of(req), uid, FS_LIMIT_WAITERS);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*w = *tmpl;
	w->uid = uid;
	w->req = req;
	w->file = file;
	w->buf = file->inode->buf;
	fs_count(FS_PARKED);
	park(fs_of(req), w);
}

/* ---- buffer handle ioctls ---- */

static void do_export(fuse_req_t req, struct fs_file *file,
		      const struct dmabuf_export *in)
{
	struct dmabuf_buffer *buf = file->inode->buf;
	struct dmabuf_export out = *in;
	int ret = 0;

	if (dmabuf_buffer_size(buf))
		ret = refuse(DMABUF_IOCTL_EXPORT, EPERM,
			     "buffer already sized");
	if (!ret && in->heap[0])
		ret = dmabuf_buffer_set_heap(buf, in->heap);
	if (!ret && in->name[0])
		ret = dmabuf_buffer_set_name(buf, in->name);
	if (!ret)
		ret = dmabuf_buffer_set_size(buf, in->size);
	if (!ret && (in->flags & DMABUF_EXPORT_ALLOC_NOW)) {
		int fd = dmabuf_buffer_memfd(buf, true);

		ret = fd < 0 ? fd : 0;
	}
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	out.ino = dmabuf_buffer_ino(buf);
	/* The size changed behind the kernel's cached attributes. */
	fs_reply_after_inval(fs_of(req), req, out.ino, true, 0, &out,
			     sizeof(out));
}

static int do_attach(struct fs_file *file, struct dmabuf_attach *a)
{
	uint64_t id;
	int ret = dmabuf_handle_attach(file->h, a->device, &id);

	a->attach_id = id;
	return ret;
}

static void do_map(fuse_req_t req, struct fs_file *file,
		   const struct dmabuf_map *in)
{
	struct dmabuf_map out = *in;
	uint64_t total = 0;
	struct fs_waiter tmpl = {.kind = FS_WAIT_MAP,
				 .cmd = DMABUF_IOCTL_MAP,
				 .attach_id = in->attach_id,
				 .dir = in->dir};
	int ret;

	ret = dmabuf_handle_map(file->h, in->attach_id, in->dir, &out.nents,
				&total);
	out.total_len = total;
	if (ret == -EAGAIN)
		wait_or_eagain(req, file, &tmpl);
	else if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_ioctl(req, 0, &out, sizeof(out));
}

static int do_get_sg(struct fs_file *file, struct dmabuf_get_sg *g)
{
	int n = dmabuf_handle_get_sg(file->h, g->attach_id, g->first, g->count,
				     g->entries, &g->nents);
	if (n < 0)
		return n;
	g->count = (uint32_t)n;
	return 0;
}

static void do_cpu_access(fuse_req_t req, struct fs_file *file,
			  unsigned int cmd, uint64_t off, uint64_t len,
			  uint32_t dir)
{
	struct fs_waiter tmpl = {.kind = FS_WAIT_BEGIN,
				 .cmd = cmd,
				 .dir = dir,
				 .off = off,
				 .len = len};
	bool end = cmd == DMABUF_IOCTL_END_CPU_ACCESS;
	int ret = end ? dmabuf_handle_end_cpu(file->h, off, len, dir)
		      : dmabuf_handle_begin_cpu(file->h, off, len, dir);

	if (ret == -EAGAIN && !end)
		wait_or_eagain(req, file, &tmpl);
	else
		reply_synced(req, file, ret, NULL, 0);
}

static void do_sync(fuse_req_t req, struct fs_file *file,
		    const struct dma_buf_sync *s)
{
	uint32_t dir = (uint32_t)(s->flags & DMA_BUF_SYNC_RW);

	do_cpu_access(req, file,
		      (s->flags & DMA_BUF_SYNC_END)
			      ? DMABUF_IOCTL_END_CPU_ACCESS
			      : DMABUF_IOCTL_BEGIN_CPU_ACCESS,
		      0, 0, dir);
}

static void reply_result(fuse_req_t req, int ret, const void *out, size_t len)
{
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_ioctl(req, 0, out, len);
}

static void buffer_ioctl(fuse_req_t req, struct fs_file *file, unsigned int cmd,
			 union ioctl_arg *a)
{
	switch (cmd) {
	case DMA_BUF_IOCTL_SYNC:
		do_sync(req, file, &a->sync);
		break;
	case DMABUF_IOCTL_EXPORT:
		do_export(req, file, &a->exp);
		break;
	case DMABUF_IOCTL_INFO:
		dmabuf_buffer_info(file->inode->buf, &a->info);
		reply_result(req, 0, &a->info, sizeof(a->info));
		break;
	case DMABUF_IOCTL_SET_NAME:
		reply_result(
			req,
			dmabuf_buffer_set_name(file->inode->buf, a->name.name),
			NULL, 0);
		break;
	case DMABUF_IOCTL_ATTACH:
		reply_result(req, do_attach(file, &a->attach), &a->attach,
			     sizeof(a->attach));
		break;
	case DMABUF_IOCTL_DETACH:
		reply_result(req,
			     dmabuf_handle_detach(file->h, a->ref.attach_id),
			     NULL, 0);
		break;
	case DMABUF_IOCTL_MAP:
		do_map(req, file, &a->map);
		break;
	case DMABUF_IOCTL_GET_SG:
		reply_result(req, do_get_sg(file, &a->sg), &a->sg,
			     sizeof(a->sg));
		break;
	case DMABUF_IOCTL_UNMAP:
		reply_result(req,
			     dmabuf_handle_unmap(file->h, a->ref.attach_id),
			     NULL, 0);
		break;
	case DMABUF_IOCTL_GET_TOKEN:
		reply_result(req, fs_zc_issue(fs_of(req), req, file, &a->token),
			     &a->token, sizeof(a->token));
		break;
	case DMABUF_IOCTL_FENCE_EXPORT:
		reply_result(req, fs_fence_export(fs_of(req), file, &a->fexp),
			     &a->fexp, sizeof(a->fexp));
		break;
	case DMABUF_IOCTL_FENCE_IMPORT:
		reply_result(req, fs_fence_import(fs_of(req), file, &a->fimp),
			     NULL, 0);
		break;
	default: /* BEGIN_CPU_ACCESS, END_CPU_ACCESS */
		do_cpu_access(req, file, cmd, a->cpu.offset, a->cpu.length,
			      a->cpu.flags);
	}
}

/* ---- root directory ioctls: the device registry ---- */

static int device_list(struct fs *fs, struct dmabuf_device_list *l)
{
	int n = dmabuf_core_device_list(fs->core, l->first, l->count,
					l->devices, &l->total);
	l->count = (uint32_t)n;
	return 0;
}

static int heap_info(struct fs *fs, struct dmabuf_heap_info *h)
{
	struct dmabuf_heap_stats st;
	int ret = dmabuf_heap_stats(fs->core, h->index, h->name, &st);
	h->capacity = st.capacity;
	h->used = st.used;
	h->largest_free = st.largest_free;
	return ret;
}

static void root_ioctl(fuse_req_t req, unsigned int cmd, union ioctl_arg *a)
{
	struct fs *fs = fs_of(req);
	uid_t uid = fuse_req_ctx(req)->uid;
	bool may_edit = uid == 0 || uid == fs->owner;

	switch (cmd) {
	case DMABUF_IOCTL_DEVICE_LIST:
		reply_result(req, device_list(fs, &a->list), &a->list,
			     sizeof(a->list));
		break;
	case DMABUF_IOCTL_HEAP_INFO:
		reply_result(req, heap_info(fs, &a->heap), &a->heap,
			     sizeof(a->heap));
		break;
	case DMABUF_IOCTL_DEVICE_ADD:
		reply_result(
			req,
			may_edit ? dmabuf_core_device_add(fs->core, &a->dev)
				 : refuse(cmd, EPERM, "not the mount's owner"),
			NULL, 0);
		break;
	default: /* DEVICE_REMOVE */
		reply_result(
			req,
			may_edit ? dmabuf_core_device_remove(fs->core,
							     a->name.name)
				 : refuse(cmd, EPERM, "not the mount's owner"),
			NULL, 0);
	}
}

/**
 * fs_ioctl() - FUSE ioctl entry point
 * @req: the request
 * @ino: the root (device registry) or a buffer
 * @cmd: the command
 * @arg: the caller's pointer (never followed)
 * @fi: the open file
 * @flags: FUSE_IOCTL_* flags
 * @in_buf: _IOC_SIZE(cmd) bytes for _IOC_WRITE commands
 * @in_bufsz: their number
 * @out_bufsz: room for _IOC_READ commands
 */
void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	      struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
	      size_t in_bufsz, size_t out_bufsz)
{
	enum ioctl_target target = IOCTL_TARGET_BUFFER;
	union ioctl_arg a;
	const char *why;
	int ret;

	(void)arg;
	fs_count(FS_OP_IOCTL);
	if (ino == FS_ROOT_INO)
		target = IOCTL_TARGET_ROOT;
	else if (ino == FS_SYNC_FILE_INO)
		target = IOCTL_TARGET_SYNC_FILE;
	else if (fs_virtual_by_ino(ino) || fs_devnode_ino(ino) ||
		 (flags & FUSE_IOCTL_DIR))
		target = IOCTL_TARGET_OTHER;
	ret = ioctl_decode(cmd, target, flags & FUSE_IOCTL_UNRESTRICTED, in_buf,
			   in_bufsz, out_bufsz, &a, &why);
	if (ret == -ENOTTY && fs_devnode_ino(ino))
		devnode_not_tty(req, cmd);
	else if (ret == -ENOTTY)
		not_tty(req, cmd, why);
	else if (ret)
		fuse_reply_err(req, -refuse(cmd, -ret, why));
	else if (target == IOCTL_TARGET_ROOT)
		root_ioctl(req, cmd, &a);
	else if (target == IOCTL_TARGET_SYNC_FILE)
		fs_sync_file_ioctl(req, fi, cmd, &a);
	else
		buffer_ioctl(req, (struct fs_file *)(uintptr_t)fi->fh, cmd, &a);
}

/**
 * fs_poll() - implicit-fence readiness of a buffer handle
 * @req: the request
 * @ino: the buffer
 * @fi: the open file
 * @ph: handle to notify when readiness may change, or NULL
 */
void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	     struct fuse_pollhandle *ph)
{
	struct fs_file *file = (struct fs_file *)(uintptr_t)fi->fh;
	struct fuse_pollhandle *old = NULL;
	struct fs *fs = fs_of(req);

	fs_count(FS_OP_POLL);
	if (ino == FS_SYNC_FILE_INO) {
		fs_sync_file_poll(req, fi, ph);
		return;
	}
	if (fs_virtual_by_ino(ino) || fs_devnode_ino(ino)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM);
		return;
	}
	if (ph) {
		pthread_mutex_lock(&fs->lock);
		old = file->ph;
		file->ph = ph;
		pthread_mutex_unlock(&fs->lock);
		if (old)
			fuse_pollhandle_destroy(old);
	}
	fuse_reply_poll(req, dmabuf_buffer_poll(file->inode->buf));
}
