// SPDX-License-Identifier: MIT
/*
 * DOC: waiting, invalidation and the notifier thread
 *
 * One protocol, in one file: how a request that cannot be answered now is
 * answered later, and how an answer waits for the kernel's caches.
 *
 * Waiting.  Some calls must wait for another client: a map stalled behind a
 * migration, CPU access behind a device that still owns the bytes.  A
 * worker thread never blocks on that.  fs_wait_or_eagain() parks the
 * request (charged to its uid, FS_LIMIT_WAITERS) with an interrupt
 * callback; whenever the object model says a buffer changed
 * (fs_core_changed()), the notifier thread retries the parked requests of
 * that buffer and answers those that no longer say -EAGAIN.  A signal to
 * the caller answers EINTR; a handle opened O_NONBLOCK gets EAGAIN at once;
 * unmounting answers ENOTCONN (fs_fail_waiters()).
 *
 * Waits that do not park.  A poll(2) not yet ready and a handle whose
 * O_NONBLOCK STARTs keep getting EAGAIN wait too, in the caller's own
 * process: fs_want_cpu() notes them on the handle (fs.wanting), from the
 * first refusal for as long as they go on (a poll handle not yet woken,
 * or a refusal in the last WANT_GONE_MS).  Parked or not, a wait is logged
 * after a second and, past fence_timeout_ms, ends the fences of other uids
 * that it waits for (device mappings and imported fences) -- but only when
 * the waiting uid may revoke them by hand (fs_may_revoke(): the buffer's
 * owner, root, the mount's owner).  The timeout protects an owner against
 * others, never others against the owner: a reader's wait never revokes.
 *
 * Polling.  fs_poll_arm() registers a poll handle before the caller reads
 * readiness, for buffers and sync_files alike: a change after the check
 * finds the handle and wakes it, a change before it is seen by the check.
 *
 * Invalidation.  After a CPU bracket or an export, the kernel's cached
 * pages and attributes of the file may be stale (zero-copy writers bypass
 * them, an export changes the size).  fs_reply_synced() and
 * fs_reply_after_inval() send those answers only after the notifier thread
 * invalidated the cache, so the caller's next read sees the truth.
 * fs.inval_inflight counts invalidations queued and not yet sent: it is
 * raised here before queueing and lowered here once sent, nowhere else.
 *
 * The notifier thread.  Everything dmabuffs tells the kernel on its own
 * initiative goes through it: invalidations, poll wake-ups, and the retries
 * of parked requests.  Request handlers only queue work, so no handler ever
 * waits inside the kernel on its own mount, and no notification is sent
 * while a lock that a handler needs is held.  Events are handled in order,
 * which is what lets a bracket wait behind an invalidation already queued.
 * The thread is joined before the session is destroyed.
 */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "vec.h"

/*
 * For a test only: with DMABUFFS_TEST_POLL_PAUSE=PATH in the daemon's
 * environment, every poll creates PATH.armed once its handle is registered
 * and waits (at most 10 s) until the test removes it, which holds open the
 * window between registering and checking.
 */
static void test_poll_pause(void)
{
	const char *path = secure_getenv("DMABUFFS_TEST_POLL_PAUSE");
	char armed[4096];
	int i, fd;

	if (!path || snprintf(armed, sizeof(armed), "%s.armed", path) >=
			     (int)sizeof(armed))
		return;
	fd = open(armed, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	close(fd);
	for (i = 0; i < 10000 && access(armed, F_OK) == 0; i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
}

/**
 * fs_poll_arm() - register a poller; the caller checks readiness after
 * @fs: the file system
 * @slot: where the handle to notify is kept (fs.lock guards it)
 * @ph: the new handle from the poll request, or NULL
 *
 * The order is the kernel's (poll_wait() before reading the state): a
 * change the check misses happens after the handle is in @slot, where the
 * notifier finds it.  A handle replaced here is destroyed.
 */
void fs_poll_arm(struct fs *fs, struct fuse_pollhandle **slot,
		 struct fuse_pollhandle *ph)
{
	struct fuse_pollhandle *old;

	if (!ph)
		return;
	pthread_mutex_lock(&fs->lock);
	old = *slot;
	*slot = ph;
	pthread_mutex_unlock(&fs->lock);
	if (old)
		fuse_pollhandle_destroy(old);
	test_poll_pause();
}

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
 * fs_forget_entry() - have the kernel drop its entry @name in @dir, later
 * @fs: the file system
 * @dir: the directory's inode
 * @name: the entry
 *
 * For an allocation in .heaps/ (ops.c): CREATE gave the kernel an entry
 * that names nothing the next lookup will find.  Sent by the notifier,
 * after the reply, since a notification must not be written while the
 * request that made the entry is still being answered.  Best effort: a
 * stale entry costs the next lookup of that name one more request.
 */
void fs_forget_entry(struct fs *fs, uint64_t dir, const char *name)
{
	size_t len = strlen(name) + 1;
	struct fs_event *ev = calloc(1, sizeof(*ev) + len);

	if (!ev)
		return;
	ev->kind = FS_EV_FORGET_ENTRY;
	ev->ino = dir;
	memcpy(ev->name, name, len);
	enqueue(fs, ev);
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

/**
 * fs_reply_synced() - answer a CPU bracket once the kernel's cache is fresh
 * @req: the request, answered exactly once
 * @file: the handle it came through
 * @ret: 0, or a negative errno to answer with (then at once)
 * @out: the ioctl's output
 * @len: its size
 *
 * Reply now, or after invalidating the file's cached pages if it has any.
 *
 * A buffer bound for passthrough has no page cache (its opens are all
 * passthrough; see choose_path_locked(), files.c), so it is answered at once.
 *
 * Also after any invalidation already under way: another bracket may have
 * taken the cached flag a moment ago, and until its invalidation is done
 * the kernel may still hold stale pages of this file, or dirty mmap pages
 * not yet written back.  The notifier answers in order, so queueing behind
 * it waits for that.  The hold on inval_inflight, taken before the flag,
 * makes sure a bracket that finds the flag clear also sees who cleared it.
 */
void fs_reply_synced(fuse_req_t req, struct fs_file *file, int ret,
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
	/* The notifier watches the age of parked requests: wake it. */
	pthread_mutex_lock(&fs->ev_lock);
	pthread_cond_signal(&fs->ev_cond);
	pthread_mutex_unlock(&fs->ev_lock);
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

static void answer_waiter(struct fs_waiter *w)
{
	struct dmabuf_map m = {.attach_id = w->attach_id,
			       .dir = w->dir,
			       .nents = w->nents,
			       .total_len = w->total};

	if (w->kind == FS_WAIT_MAP && !w->result)
		fuse_reply_ioctl(w->req, 0, &m, sizeof(m));
	else
		fs_reply_synced(w->req, w->file, w->result, NULL, 0);
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
		answer_waiter(w);
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

/**
 * fs_wait_or_eagain() - park a request whose call said -EAGAIN
 * @req: the request, answered now (EAGAIN, a limit, ENOMEM) or when a retry
 *       of @tmpl succeeds or fails otherwise
 * @file: the handle it came through; O_NONBLOCK answers EAGAIN at once
 * @tmpl: what to retry: kind, command, direction and range or attachment
 */
void fs_wait_or_eagain(fuse_req_t req, struct fs_file *file,
		       const struct fs_waiter *tmpl)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct fs_waiter *w;
	int ret;

	if (file->flags & O_NONBLOCK) {
		if (tmpl->kind == FS_WAIT_BEGIN)
			fs_want_cpu(fs_of(req), file, fuse_req_ctx(req),
				    tmpl->dir);
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
	w->pid = fuse_req_ctx(req)->pid;
	clock_gettime(CLOCK_MONOTONIC, &w->since);
	w->told = false;
	w->req = req;
	w->file = file;
	w->buf = file->inode->buf;
	fs_count(FS_PARKED);
	park(fs_of(req), w);
}

/* ---- waits that last: logged after a second, bounded by fence_timeout_ms */

#define WAIT_TICK_MS 250
#define WAIT_LOG_MS 1000
/* An unparked wait not renewed for this long has ended. */
#define WANT_GONE_MS 1000

/**
 * fs_want_cpu() - a handle is refused CPU access, and does not park
 * @fs: the file system
 * @file: the handle
 * @ctx: who asked
 * @dir: DMA_BUF_SYNC_READ and/or WRITE: what it waits to do
 *
 * Called for a poll that asked to be woken and is not ready, and for an
 * O_NONBLOCK START answered EAGAIN.  The wait counts from the first such
 * refusal until the handle gets what it asked (fs_want_done()), is closed,
 * or stops asking.
 */
void fs_want_cpu(struct fs *fs, struct fs_file *file,
		 const struct fuse_ctx *ctx, uint32_t dir)
{
	struct fs_want *w = &file->want;
	bool first;

	pthread_mutex_lock(&fs->lock);
	first = !w->on;
	clock_gettime(CLOCK_MONOTONIC, &w->last);
	if (first) {
		*w = (struct fs_want){
			.on = true, .last = w->last, .since = w->last};
		LIST_INSERT_HEAD(&fs->wanting, file, want.link);
	}
	w->dir |= dir;
	w->uid = ctx->uid;
	w->pid = ctx->pid;
	pthread_mutex_unlock(&fs->lock);
	if (!first)
		return;
	/* The notifier ticks only while somebody waits: wake it. */
	pthread_mutex_lock(&fs->ev_lock);
	pthread_cond_signal(&fs->ev_cond);
	pthread_mutex_unlock(&fs->ev_lock);
}

/**
 * fs_want_done_locked() - @file no longer waits without parking
 * @file: the handle; fs.lock held
 */
void fs_want_done_locked(struct fs_file *file)
{
	if (!file->want.on)
		return;
	LIST_REMOVE(file, want.link);
	file->want.on = false;
}

/**
 * fs_want_done() - @file got the CPU access or readiness it asked for
 * @fs: the file system
 * @file: the handle
 */
void fs_want_done(struct fs *fs, struct fs_file *file)
{
	pthread_mutex_lock(&fs->lock);
	fs_want_done_locked(file);
	pthread_mutex_unlock(&fs->lock);
}

/* A wait to log or to end, parked (fs.waiters) or not (fs.wanting),
 * taken under fs.lock. */
struct overdue {
	struct dmabuf_buffer *buf; /* referenced */
	uint32_t dir;
	uid_t uid;
	pid_t pid;
	long waited_ms;
	bool log, revoke;
};

static long ms_since(const struct timespec *t, const struct timespec *now)
{
	return (long)(now->tv_sec - t->tv_sec) * 1000 +
	       (now->tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * Is a wait that began @ms ago, on a buffer owned by @owner, due to be
 * logged or ended?  Then note it.
 */
static bool overdue_locked(struct fs *fs, struct overdue *o, long ms,
			   uid_t owner, bool *told)
{
	o->waited_ms = ms;
	o->log = !*told && ms >= WAIT_LOG_MS;
	o->revoke = fs->fence_timeout_ms && ms >= (long)fs->fence_timeout_ms &&
		    fs_may_revoke(fs, o->uid, owner);
	if (!o->log && !o->revoke)
		return false;
	*told = *told || o->log;
	dmabuf_buffer_get(o->buf);
	return true;
}

static size_t take_overdue_locked(struct fs *fs, struct overdue *v, size_t max)
{
	struct fs_file *file, *next;
	struct timespec now;
	struct fs_waiter *w;
	struct fs_want *want;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	TAILQ_FOREACH (w, &fs->waiters, link) {
		if (w->kind != FS_WAIT_BEGIN || n == max)
			continue;
		v[n] = (struct overdue){.buf = w->buf,
					.dir = w->dir,
					.uid = w->uid,
					.pid = w->pid};
		n += overdue_locked(fs, &v[n], ms_since(&w->since, &now),
				    w->file->inode->uid, &w->told);
	}
	for (file = LIST_FIRST(&fs->wanting); file; file = next) {
		next = LIST_NEXT(file, want.link);
		want = &file->want;
		if (!file->ph && ms_since(&want->last, &now) >= WANT_GONE_MS) {
			fs_want_done_locked(file); /* it stopped asking */
			continue;
		}
		if (n == max)
			continue;
		v[n] = (struct overdue){.buf = file->inode->buf,
					.dir = want->dir,
					.uid = want->uid,
					.pid = want->pid};
		n += overdue_locked(fs, &v[n], ms_since(&want->since, &now),
				    file->inode->uid, &want->told);
	}
	return n;
}

/*
 * Say who a long wait waits for; past fence_timeout_ms, end the fences of
 * other uids that it waits for (dmabuf_buffer_revoke()) when the waiter may
 * revoke: nobody can stall a buffer's owner for ever, and a reader cannot
 * end the owner's mappings by waiting.  The waiter's own are never ended.
 */
static void handle_overdue(struct fs *fs)
{
	struct overdue v[32];
	char who[512];
	uid_t first;
	size_t n, i;
	int ended;

	pthread_mutex_lock(&fs->lock);
	n = take_overdue_locked(fs, v, sizeof(v) / sizeof(v[0]));
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < n; i++) {
		dmabuf_buffer_blockers(v[i].buf, v[i].dir, &first, who,
				       sizeof(who));
		if (v[i].log)
			dmabuf_log(
				LOG_WARNING,
				"uid %u pid %d has waited %ld ms for CPU "
				"access to buffer %llu: it waits for %s",
				(unsigned int)v[i].uid, (int)v[i].pid,
				v[i].waited_ms,
				(unsigned long long)dmabuf_buffer_ino(v[i].buf),
				who[0] ? who : "nothing any more");
		if (v[i].revoke) {
			ended = dmabuf_buffer_revoke(v[i].buf, v[i].dir,
						     v[i].uid, 0);
			if (ended)
				fs_count(FS_REVOKED);
		}
		dmabuf_buffer_put(v[i].buf);
	}
}

/* Does anybody wait?  Then the notifier ticks to watch their age. */
static bool any_parked(struct fs *fs)
{
	bool any;

	pthread_mutex_lock(&fs->lock);
	any = !TAILQ_EMPTY(&fs->waiters) || !LIST_EMPTY(&fs->wanting);
	pthread_mutex_unlock(&fs->lock);
	return any;
}

/* Poll handles taken from their files, to notify without fs.lock. */
struct pollers {
	struct fuse_pollhandle **v;
	size_t n, cap;
};

/*
 * Take the poll handle in @slot, if any, to notify.  Return: false when
 * there is no room: it stays armed and wakes at the next change.
 */
static bool take_poller(struct pollers *p, struct fuse_pollhandle **slot)
{
	if (*slot && vec_push(p->v, p->n, p->cap, *slot))
		return false;
	*slot = NULL;
	return true;
}

static void take_pollers_of(struct fs_inode *inode, struct pollers *p)
{
	struct fs_file *file;

	LIST_FOREACH (file, &inode->files, link)
		if (!take_poller(p, &file->ph))
			return;
}

/* Every waiting sync_file poller (fences.c's handles). */
static void take_sync_file_pollers(struct fs *fs, struct pollers *p)
{
	struct fs_sync_file *sf;

	LIST_FOREACH (sf, &fs->sync_files, link)
		if (!take_poller(p, &sf->ph))
			return;
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

	pthread_mutex_lock(&fs->lock);
	if (all) {
		twalk_r(fs->inodes, take_pollers_visit, &p);
		take_sync_file_pollers(fs, &p);
	} else {
		inode = fs_inode_get_locked(fs, ino);
		if (inode)
			take_pollers_of(inode, &p);
	}
	pthread_mutex_unlock(&fs->lock);
	notify_pollers(p.v, p.n);
}

static void answer_inval(struct fs_event *ev)
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
		answer_inval(ev);
		break;
	case FS_EV_FORGET_ENTRY:
		fuse_lowlevel_notify_inval_entry(fs->se, ev->ino, ev->name,
						 strlen(ev->name));
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
		while (!fs->stop && TAILQ_EMPTY(&fs->events)) {
			struct timespec tick;
			bool parked;

			pthread_mutex_unlock(&fs->ev_lock);
			parked = any_parked(fs);
			if (parked)
				handle_overdue(fs);
			pthread_mutex_lock(&fs->ev_lock);
			if (fs->stop || !TAILQ_EMPTY(&fs->events))
				break;
			if (!parked) {
				pthread_cond_wait(&fs->ev_cond, &fs->ev_lock);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &tick);
			tick.tv_nsec += WAIT_TICK_MS * 1000000L;
			tick.tv_sec += tick.tv_nsec / 1000000000L;
			tick.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&fs->ev_cond, &fs->ev_lock,
					       &tick);
		}
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
 * Return: 0 or -errno.
 */
int fs_notifier_start(struct fs *fs)
{
	return -pthread_create(&fs->notifier, NULL, notifier_main, fs);
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
