// SPDX-License-Identifier: MIT
/*
 * DOC: the notifier thread
 *
 * Everything dmabuffs tells the kernel on its own initiative goes through
 * one thread: page-cache and attribute invalidations, poll wake-ups, and the
 * retries of parked requests.  Request handlers only queue work here, so no
 * handler ever waits inside the kernel on its own mount, and no notification
 * is sent while a lock that a handler needs is held.  The thread is joined
 * before the session is destroyed.
 */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fs.h"

static void enqueue(struct fs *fs, struct fs_event *ev)
{
	pthread_mutex_lock(&fs->ev_lock);
	TAILQ_INSERT_TAIL(&fs->events, ev, link);
	pthread_cond_signal(&fs->ev_cond);
	pthread_mutex_unlock(&fs->ev_lock);
}

/**
 * fs_core_changed() - the object model's notify hook
 * @arg: the file system
 * @buf: a buffer whose mappings, fences or placement changed
 *
 * Runs in whatever thread changed the buffer, without the core's lock.
 */
void fs_core_changed(void *arg, struct dmabuf_buffer *buf)
{
	struct fs_event *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		dmabuf_log(
			LOG_ERR,
			"notifier: out of memory; waiters of buffer %llu wake at the next change",
			(unsigned long long)dmabuf_buffer_ino(buf));
		return;
	}
	ev->kind = FS_EV_CHANGED;
	ev->buf = buf;
	ev->ino = dmabuf_buffer_ino(buf);
	dmabuf_buffer_get(buf);
	enqueue(arg, ev);
}

/**
 * fs_reply_after_inval() - answer an ioctl once the kernel's cache is fresh
 * @fs: the file system
 * @req: the ioctl request
 * @ino: the inode whose cache to drop
 * @attrs_only: drop attributes only (the size changed), not pages
 * @result: 0, or a negative errno to answer with
 * @reply: the ioctl's output (copied)
 * @reply_len: its size
 */
void fs_reply_after_inval(struct fs *fs, fuse_req_t req, uint64_t ino,
			  bool attrs_only, int result, const void *reply,
			  size_t reply_len)
{
	struct fs_event *ev = calloc(1, sizeof(*ev) + reply_len);

	if (!ev) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	__atomic_add_fetch(&fs->inval_inflight, 1, __ATOMIC_SEQ_CST);
	ev->kind = FS_EV_INVAL;
	ev->ino = ino;
	ev->attrs_only = attrs_only;
	ev->req = req;
	ev->result = result;
	ev->reply = reply_len ? ev + 1 : NULL;
	ev->reply_len = reply_len;
	if (reply_len)
		memcpy(ev->reply, reply, reply_len);
	enqueue(fs, ev);
}

/* Poll handles taken from their files, to notify without fs.lock. */
struct pollers {
	struct fuse_pollhandle **v;
	size_t n, cap;
};

static void take_pollers_of(struct fs_inode *inode, struct pollers *p)
{
	struct fuse_pollhandle **grown;
	struct fs_file *file;

	LIST_FOREACH (file, &inode->files, link) {
		if (!file->ph)
			continue;
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 16;
			grown = realloc(p->v, p->cap * sizeof(*p->v));
			if (!grown)
				return; /* the rest wake at the next change */
			p->v = grown;
		}
		p->v[p->n++] = file->ph;
		file->ph = NULL;
	}
}

static void take_pollers_visit(const void *node, VISIT which, void *arg)
{
	if (which == postorder || which == leaf)
		take_pollers_of(*(struct fs_inode *const *)node, arg);
}

static void notify_pollers(struct fuse_pollhandle **v, size_t n)
{
	size_t i;

	/* The kernel polls again and gets the new mask. */
	for (i = 0; i < n; i++) {
		fs_count(FS_EV_POLL_SENT);
		fuse_lowlevel_notify_poll(v[i]);
		fuse_pollhandle_destroy(v[i]);
	}
	free(v);
}

/*
 * Wake the pollers of inode @ino, or of every buffer and sync_file when
 * @all: with explicit fences in use, one buffer's mapping may be what
 * another buffer's imported fence or a sync_file waits for.
 */
static void wake_pollers(struct fs *fs, uint64_t ino, bool all)
{
	struct pollers p = {0};
	struct fs_inode *inode;
	struct fuse_pollhandle **sync;
	size_t n;

	pthread_mutex_lock(&fs->lock);
	if (all) {
		twalk_r(fs->inodes, take_pollers_visit, &p);
	} else {
		inode = fs_inode_get_locked(fs, ino);
		if (inode)
			take_pollers_of(inode, &p);
	}
	pthread_mutex_unlock(&fs->lock);
	notify_pollers(p.v, p.n);
	if (all) {
		n = fs_sync_file_take_pollhandles(fs, &sync);
		notify_pollers(sync, n);
	}
}

static void answer(struct fs_event *ev)
{
	if (ev->result)
		fuse_reply_err(ev->req, -ev->result);
	else
		fuse_reply_ioctl(ev->req, 0, ev->reply, ev->reply_len);
}

static void handle(struct fs *fs, struct fs_event *ev)
{
	bool all;
	int ret;

	switch (ev->kind) {
	case FS_EV_CHANGED:
		all = dmabuf_core_fences_in_use(fs->core);
		fs_retry_waiters(fs, all ? NULL : ev->buf);
		wake_pollers(fs, ev->ino, all);
		dmabuf_buffer_put(ev->buf);
		break;
	case FS_EV_INVAL:
		fs_count(FS_EV_INVAL_SENT);
		ret = fuse_lowlevel_notify_inval_inode(
			fs->se, ev->ino, ev->attrs_only ? -1 : 0, 0);
		if (ret && ret != -ENOENT)
			dmabuf_log(LOG_WARNING, "invalidating inode %llu: %s",
				   (unsigned long long)ev->ino, strerror(-ret));
		/* Done: a bracket that comes after the answer must not wait. */
		__atomic_sub_fetch(&fs->inval_inflight, 1, __ATOMIC_SEQ_CST);
		answer(ev);
		break;
	}
	free(ev);
}

static void *notifier_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_event *ev;

	pthread_mutex_lock(&fs->ev_lock);
	for (;;) {
		while (!fs->stop && TAILQ_EMPTY(&fs->events))
			pthread_cond_wait(&fs->ev_cond, &fs->ev_lock);
		ev = TAILQ_FIRST(&fs->events);
		if (!ev)
			break; /* stopping, queue drained */
		TAILQ_REMOVE(&fs->events, ev, link);
		pthread_mutex_unlock(&fs->ev_lock);
		handle(fs, ev);
		pthread_mutex_lock(&fs->ev_lock);
	}
	pthread_mutex_unlock(&fs->ev_lock);
	return NULL;
}

/**
 * fs_notifier_start() - start the notifier thread
 * @fs: the file system, with its session created
 *
 * Return: 0 or a positive errno.
 */
int fs_notifier_start(struct fs *fs)
{
	return pthread_create(&fs->notifier, NULL, notifier_main, fs);
}

/**
 * fs_notifier_stop() - drain the queue and join the thread
 * @fs: the file system
 */
void fs_notifier_stop(struct fs *fs)
{
	pthread_mutex_lock(&fs->ev_lock);
	fs->stop = true;
	pthread_cond_signal(&fs->ev_cond);
	pthread_mutex_unlock(&fs->ev_lock);
	pthread_join(fs->notifier, NULL);
}
