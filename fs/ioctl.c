// SPDX-License-Identifier: MIT
/*
 * DOC: ioctls and poll
 *
 * Ioctls arrive restricted: exactly _IOC_SIZE(cmd) bytes in and out, never a
 * pointer.  ioctl_decode() (decode.c) checks the size, every field and all
 * padding, or refuses with ENOTTY or EINVAL; the command's handler, from
 * the same row of FS_IOCTL_TABLE (ioctls.h), then calls the object model
 * and replies once.  Handlers whose call may wait (MAP, CPU access) park
 * the request, and those that change what the kernel caches answer after
 * it is invalidated: both through wait.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "decode.h"
#include "fs.h"
#include "ioctls.h"

static int refuse(fuse_req_t req, unsigned int cmd, int err, const char *why)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	fs_log_refusal(
		ctx->uid, "ioctl %#x from uid %u pid %d refused (%s): %s", cmd,
		(unsigned int)ctx->uid, (int)ctx->pid, strerror(err), why);
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
 * Any other number on a heap is EINVAL, as dma_heap_ioctl() answers a
 * number past its table (the compat layer answers the ALLOC, number 0).
 */
static void devnode_not_tty(fuse_req_t req, fuse_ino_t ino, unsigned int cmd)
{
	static bool told;

	if (fs_devnode_heap(ino) && _IOC_NR(cmd) != 0) {
		dmabuf_log(LOG_DEBUG, "ioctl %#x on a heap refused (EINVAL)",
			   cmd);
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		dmabuf_log(LOG_WARNING,
			   "ioctl %#x on a device node reached the daemon "
			   "(ENOTTY): run the program under `dmabufctl run` "
			   "(dmabuf-compat(7))",
			   cmd);
	fuse_reply_err(req, ENOTTY);
}

/**
 * fs_ioctl_reply() - answer a decoded ioctl with its result
 * @c: the call
 * @ret: 0, or a negative errno
 *
 * On success the payload goes back as the command's output, _IOC_SIZE(cmd)
 * bytes for an _IOC_READ command and none otherwise.
 */
void fs_ioctl_reply(struct fs_ioctl_call *c, int ret)
{
	if (ret)
		fuse_reply_err(c->req, -ret);
	else
		fuse_reply_ioctl(
			c->req, 0, c->a,
			_IOC_DIR(c->cmd) & _IOC_READ ? _IOC_SIZE(c->cmd) : 0);
}

static struct fs_file *file_of(const struct fs_ioctl_call *c)
{
	return (struct fs_file *)(uintptr_t)c->fi->fh;
}

static struct dmabuf_handle *handle_of(const struct fs_ioctl_call *c)
{
	return file_of(c)->h;
}

/* ---- buffer handle ioctls ---- */

static void do_export(struct fs_ioctl_call *c)
{
	struct dmabuf_buffer *buf = file_of(c)->inode->buf;
	struct dmabuf_export *e = &c->a->exp;
	int ret = dmabuf_buffer_setup(buf, e->heap, e->size, e->flags,
				      e->name[0] ? e->name : NULL);

	if (ret) {
		fuse_reply_err(c->req, -ret);
		return;
	}
	e->ino = dmabuf_buffer_ino(buf);
	/* The size changed behind the kernel's cached attributes. */
	fs_reply_after_inval(c->fs, c->req, e->ino, true, 0, e, sizeof(*e));
}

static void do_info(struct fs_ioctl_call *c)
{
	dmabuf_buffer_info(file_of(c)->inode->buf, &c->a->info);
	fs_ioctl_reply(c, 0);
}

static void do_set_name(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, dmabuf_buffer_set_name(file_of(c)->inode->buf,
						 c->a->name.name));
}

static void do_attach(struct fs_ioctl_call *c)
{
	uint64_t id;
	int ret = dmabuf_handle_attach(handle_of(c), c->a->attach.device, &id);

	c->a->attach.attach_id = id;
	fs_ioctl_reply(c, ret);
}

static void do_detach(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c,
		       dmabuf_handle_detach(handle_of(c), c->a->ref.attach_id));
}

static void do_map(struct fs_ioctl_call *c)
{
	struct dmabuf_map *m = &c->a->map;
	struct fs_waiter tmpl = {.kind = FS_WAIT_MAP,
				 .cmd = c->cmd,
				 .attach_id = m->attach_id,
				 .dir = m->dir};
	uint64_t total = 0;
	int ret = dmabuf_handle_map(handle_of(c), m->attach_id, m->dir,
				    &m->nents, &total);

	m->total_len = total;
	if (ret == -EAGAIN)
		fs_wait_or_eagain(c->req, file_of(c), &tmpl);
	else
		fs_ioctl_reply(c, ret);
}

static void do_get_sg(struct fs_ioctl_call *c)
{
	struct dmabuf_get_sg *g = &c->a->sg;
	int n = dmabuf_handle_get_sg(handle_of(c), g->attach_id, g->first,
				     g->count, g->entries, &g->nents);

	if (n >= 0)
		g->count = (uint32_t)n;
	fs_ioctl_reply(c, n < 0 ? n : 0);
}

static void do_unmap(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c,
		       dmabuf_handle_unmap(handle_of(c), c->a->ref.attach_id));
}

/* A START that must wait parks as a ranged BEGIN; an END never waits. */
static void cpu_access_reply(struct fs_ioctl_call *c, int ret,
			     const struct fs_waiter *tmpl)
{
	if (ret == -EAGAIN) {
		fs_wait_or_eagain(c->req, file_of(c), tmpl);
		return;
	}
	fs_want_done(c->fs, file_of(c)); /* not refused: no longer waits */
	fs_reply_synced(c->req, file_of(c), ret, NULL, 0);
}

static void do_cpu_access(struct fs_ioctl_call *c)
{
	const struct dmabuf_cpu_access *r = &c->a->cpu;
	struct fs_waiter tmpl = {.kind = FS_WAIT_BEGIN,
				 .cmd = c->cmd,
				 .dir = r->flags,
				 .off = r->offset,
				 .len = r->length};
	int ret = c->cmd == DMABUF_IOCTL_END_CPU_ACCESS
			  ? dmabuf_handle_end_cpu(handle_of(c), r->offset,
						  r->length, r->flags)
			  : dmabuf_handle_begin_cpu(handle_of(c), r->offset,
						    r->length, r->flags);

	cpu_access_reply(c, ret, &tmpl);
}

static void do_sync(struct fs_ioctl_call *c)
{
	uint64_t flags = c->a->sync.flags;
	struct fs_waiter tmpl = {.kind = FS_WAIT_BEGIN,
				 .cmd = c->cmd,
				 .dir = (uint32_t)(flags & DMA_BUF_SYNC_RW)};

	cpu_access_reply(c, dmabuf_handle_sync(handle_of(c), flags), &tmpl);
}

static void do_get_token(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_zc_issue(c->fs, fuse_req_ctx(c->req), file_of(c),
				      &c->a->token));
}

static void do_fence_export(struct fs_ioctl_call *c)
{
	int ret = fs_fence_export(c->fs, fuse_req_ctx(c->req), file_of(c),
				  &c->a->fexp);

	if (ret ==
	    -EINVAL) /* the object model's rule: dmabuf_cpu_dir_valid() */
		ret = refuse(c->req, c->cmd, EINVAL,
			     "flags must be READ and/or WRITE");
	fs_ioctl_reply(c, ret);
}

static void do_fence_import(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_fence_import(c->fs, fuse_req_ctx(c->req),
					  file_of(c), &c->a->fimp));
}

static struct fs_sync_file *sync_file_of(const struct fs_ioctl_call *c)
{
	return (struct fs_sync_file *)(uintptr_t)c->fi->fh;
}

static void do_fence_bind(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c,
		       fs_fence_bind(c->fs, sync_file_of(c), c->a->fbind.id));
}

static void do_fence_merge(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_fence_merge(c->fs, fuse_req_ctx(c->req)->uid,
					 sync_file_of(c), &c->a->fmerge));
}

static void do_fence_info(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_fence_info(c->fs, sync_file_of(c), &c->a->finfo));
}

static void do_deadline(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_fence_set_deadline(c->fs, sync_file_of(c),
						c->a->deadline.deadline_ns));
}

/* The buffer's owner, root and the mount's owner end others' fences. */
static void do_revoke(struct fs_ioctl_call *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(c->req);
	struct fs_inode *inode = file_of(c)->inode;
	struct dmabuf_revoke *r = &c->a->revoke;
	int n;

	if (!fs_may_revoke(c->fs, ctx->uid, inode->uid)) {
		fs_ioctl_reply(c, refuse(c->req, c->cmd, EPERM,
					 "not the buffer's owner"));
		return;
	}
	n = dmabuf_buffer_revoke(inode->buf, 0,
				 r->pid ? DMABUF_NO_OWNER : ctx->uid, r->pid);
	if (n)
		fs_count(FS_REVOKED);
	r->count = (uint32_t)n;
	fs_ioctl_reply(c, 0);
}

static void do_take_race(struct fs_ioctl_call *c)
{
	dmabuf_handle_take_race(handle_of(c), &c->a->race);
	fs_ioctl_reply(c, 0);
}

static void do_sync_slot(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(c, fs_sync_grant(c->fs, fuse_req_ctx(c->req), file_of(c),
					&c->a->grant));
}

/* ---- root directory ioctls: the device registry ---- */

static int may_edit_devices(struct fs_ioctl_call *c)
{
	uid_t uid = fuse_req_ctx(c->req)->uid;

	if (uid == 0 || uid == c->fs->owner)
		return 0;
	return refuse(c->req, c->cmd, EPERM, "not the mount's owner");
}

static void do_device_add(struct fs_ioctl_call *c)
{
	int ret = may_edit_devices(c);

	fs_ioctl_reply(
		c, ret ? ret : dmabuf_core_device_add(c->fs->core, &c->a->dev));
}

static void do_device_remove(struct fs_ioctl_call *c)
{
	int ret = may_edit_devices(c);

	fs_ioctl_reply(c, ret ? ret
			      : dmabuf_core_device_remove(c->fs->core,
							  c->a->name.name));
}

static void do_device_list(struct fs_ioctl_call *c)
{
	struct dmabuf_device_list *l = &c->a->list;
	int n = dmabuf_core_device_list(c->fs->core, l->first, l->count,
					l->devices, &l->total);

	l->count = (uint32_t)n;
	fs_ioctl_reply(c, 0);
}

static void do_heap_info(struct fs_ioctl_call *c)
{
	struct dmabuf_heap_info *h = &c->a->heap;
	struct dmabuf_heap_stats st;
	int ret = dmabuf_heap_stats(c->fs->core, h->index, h->name, &st);

	h->capacity = st.capacity;
	h->used = st.used;
	h->largest_free = st.largest_free;
	fs_ioctl_reply(c, ret);
}

static void do_buffer_info(struct fs_ioctl_call *c)
{
	fs_ioctl_reply(
		c, fs_buffer_info(c->fs, fuse_req_ctx(c->req), &c->a->info));
}

/* The handlers, in FS_IOCTL_TABLE's order: row i of decode.c's rules. */
#define HANDLER_ROW(cmd, target, check, handler) handler,
static fs_ioctl_fn *const handlers[] = {FS_IOCTL_TABLE(HANDLER_ROW)};

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
	struct fs_ioctl_call call = {
		.req = req, .fs = fs_of(req), .fi = fi, .cmd = cmd, .a = &a};
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
	/* A staging handle's first ioctl fixes what it wrote (staging.c). */
	if (!ret && target == IOCTL_TARGET_BUFFER) {
		ret = fs_stage_fix(call.fs, file_of(&call)->inode,
				   file_of(&call), 0);
		why = "what the handle wrote cannot become the buffer";
	}
	if (ret == -ENOTTY && fs_devnode_ino(ino))
		devnode_not_tty(req, ino, cmd);
	else if (ret == -ENOTTY)
		not_tty(req, cmd, why);
	else if (ret)
		fuse_reply_err(req, -refuse(req, cmd, -ret, why));
	else
		handlers[ioctl_row(cmd)](&call);
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
	struct fs *fs = fs_of(req);
	unsigned int mask, waits;

	fs_count(FS_OP_POLL);
	if (ino == FS_SYNC_FILE_INO) {
		fs_sync_file_poll(req, fi, ph);
		return;
	}
	if (fs_virtual_by_ino(ino) || fs_devnode_ino(ino)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		/* A device node, as a kernel file without poll: all ready. */
		fuse_reply_poll(req, fs_devnode_ino(ino)
					     ? POLLIN | POLLOUT | POLLRDNORM |
						       POLLWRNORM
					     : POLLIN | POLLRDNORM);
		return;
	}
	fs_poll_arm(fs, &file->ph, ph);
	mask = dmabuf_buffer_poll(file->inode->buf);
	/* A poll that will sleep for what is not ready is a wait (wait.c). */
	waits = fi->poll_events & ~mask & (POLLIN | POLLOUT);
	if (ph && waits)
		fs_want_cpu(fs, file, fuse_req_ctx(req),
			    (waits & POLLIN ? DMA_BUF_SYNC_READ : 0) |
				    (waits & POLLOUT ? DMA_BUF_SYNC_WRITE : 0));
	else if (!waits)
		fs_want_done(fs, file);
	fuse_reply_poll(req, mask);
}
