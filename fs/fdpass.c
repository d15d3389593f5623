// SPDX-License-Identifier: MIT
/*
 * DOC: descriptors in and out of the daemon
 *
 * Every descriptor the daemon hands a client is made by fs_fd_handout(),
 * for the memfd path (zerocopy.c) and a udmabuf's runs (udmabuf.c) alike:
 * a dup for a writable mapping, a read-only reopen otherwise, and never of
 * a file that another uid could reopen with more rights than the handle
 * has.
 *
 * Every descriptor a client sends is checked with fs_is_memfd() before
 * anything else is done with it; anything else goes to the reaper, the
 * only thread that closes such descriptors.  Their close may block (a FUSE
 * server that never answers FLUSH, a socket's linger, a tty draining), and
 * does so there, where it holds up nobody's request.  Each waits charged
 * to its sender's uid (FS_LIMIT_FDS) until it is closed.
 *
 * A second instance of the same thread, the closer, takes the memfds the
 * daemon lets go of when it may hold their last reference: a buffer's
 * memory when the buffer dies (the object model's close hook), a client's
 * memfds after a request.  That last close frees the pages (half a second
 * for 4 GiB), which no lock and no shared thread may wait for; and the
 * closer never queues behind a lingering socket of the reaper's.  What it
 * holds was charged while it was held, so it is not charged again.
 *
 * Calls down to limits.c only.  The reaper's lock is a leaf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "vec.h"

struct reaped {
	int fd;
	uid_t uid;
	bool charged;
};

/**
 * struct fs_reaper - a thread that closes descriptors off every request path
 * @fs: the file system, for the uids' accounts
 * @charge: charge each descriptor to its uid (FS_LIMIT_FDS) while queued
 * @thread: the thread
 * @lock: guards @fds, @nr, @cap and @stop; a leaf
 * @cond: signalled when @fds grows or @stop is set
 * @fds: descriptors to close, with the uid charged for each
 * @nr: their number
 * @cap: room in @fds
 * @stop: exit once @fds is empty
 */
struct fs_reaper {
	struct fs *fs;
	bool charge;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct reaped *fds;
	size_t nr, cap;
	bool stop;
};
/**
 * fs_fd_handout() - a descriptor of @fd's file for a client
 * @fd: the daemon's descriptor (a memfd)
 * @write: the client may write (its handle is open for reading and writing)
 *
 * The one function that makes descriptors for clients.  A read-only one is
 * a fresh open of the file for reading, so no fcntl() makes it writable;
 * and no descriptor is made of a file whose mode lets another uid reopen it
 * (through /proc/PID/fd/N a reopen is checked against the file's mode, not
 * the descriptor's): the daemon's memfds are 0600, and a udmabuf's are made
 * private to their owner when bound (udmabuf.c).
 *
 * Return: the new descriptor, close-on-exec; -EACCES for a file others may
 * reopen; -errno.
 */
int fs_fd_handout(int fd, bool write)
{
	char path[64];
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_mode & 077) {
		dmabuf_log(
			LOG_WARNING,
			"descriptor refused (EACCES): its file has mode %04o "
			"and uid %u, so other users could reopen it",
			(unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid);
		return -EACCES;
	}
	if (write) {
		ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ret = open(path, O_RDONLY | O_CLOEXEC);
	}
	return ret < 0 ? -errno : ret;
}

static void *reaper_main(void *arg)
{
	struct fs_reaper *rp = arg;
	struct reaped r;

	pthread_mutex_lock(&rp->lock);
	for (;;) {
		while (!rp->nr && !rp->stop)
			pthread_cond_wait(&rp->cond, &rp->lock);
		if (!rp->nr)
			break;
		r = rp->fds[--rp->nr];
		pthread_mutex_unlock(&rp->lock);
		close(r.fd);
		pthread_mutex_lock(&rp->lock);
		/* After a stop that gave up on us, fs may be gone. */
		if (r.charged && !rp->stop)
			fs_uncharge(rp->fs, r.uid, FS_LIMIT_FDS);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

/**
 * fs_reaper_take() - close @fd off every request's path
 * @rp: the reaper or the closer
 * @uid: the reaper: the sender, charged (FS_LIMIT_FDS) until it is closed
 * @fd: the descriptor; @rp owns it from now on
 *
 * Past its max_fds it is still taken (the daemon holds it already), and
 * the uid stays at its limit, so its next connection is refused.  With no
 * memory to queue it, the closer closes it at once (a memfd's close never
 * blocks); the reaper keeps it open and says so.
 */
void fs_reaper_take(struct fs_reaper *rp, uid_t uid, int fd)
{
	struct reaped r = {.fd = fd, .uid = uid};
	int ret;

	r.charged = rp->charge && fs_charge(rp->fs, uid, FS_LIMIT_FDS) == 0;
	pthread_mutex_lock(&rp->lock);
	ret = vec_push(rp->fds, rp->nr, rp->cap, r);
	if (!ret)
		pthread_cond_signal(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	if (!ret)
		return;
	if (!rp->charge) {
		close(fd);
		return;
	}
	/* Held, and so still charged. */
	dmabuf_log(LOG_ERR,
		   "zero-copy channel: out of memory: a descriptor "
		   "from uid %u stays open",
		   (unsigned int)uid);
}

/**
 * fs_reaper_start() - start the reaper, or the closer
 * @fs: the file system
 * @charge: the reaper (charges what it holds), not the closer
 * @out: the new thread's handle
 *
 * Return: 0, -ENOMEM or -errno of pthread_create(3).
 */
int fs_reaper_start(struct fs *fs, bool charge, struct fs_reaper **out)
{
	struct fs_reaper *rp = calloc(1, sizeof(*rp));
	int ret;

	if (!rp)
		return -ENOMEM;
	rp->fs = fs;
	rp->charge = charge;
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->cond, NULL);
	ret = -pthread_create(&rp->thread, NULL, reaper_main, rp);
	if (ret) {
		free(rp);
		return ret;
	}
	*out = rp;
	return 0;
}

/**
 * fs_reaper_stop() - close what is left and stop the reaper (or closer)
 * @rp: the reaper
 *
 * Return: false when a close it is in still blocks after a second: then it
 * keeps running, with its memory, and nothing of @rp->fs may be used by it.
 */
bool fs_reaper_stop(struct fs_reaper *rp)
{
	struct timespec until;

	pthread_mutex_lock(&rp->lock);
	rp->stop = true;
	pthread_cond_signal(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(rp->thread, NULL, &until)) {
		dmabuf_log(LOG_WARNING,
			   "zero-copy channel: a descriptor a client sent is "
			   "still closing; not waiting for it");
		return false;
	}
	free(rp->fds);
	pthread_mutex_destroy(&rp->lock);
	pthread_cond_destroy(&rp->cond);
	free(rp);
	return true;
}

/**
 * fs_close_later() - the object model's close hook: the closer closes @fd
 * @arg: the file system
 * @fd: a descriptor the core lets go of (a buffer's memfd, a udmabuf's)
 */
void fs_close_later(void *arg, int fd)
{
	fs_close_memfd(arg, fd);
}

/**
 * fs_close_memfd() - let go of a memfd whose last reference this may be
 * @fs: the file system
 * @fd: the memfd
 *
 * Through the closer while it runs; at once before it starts and after it
 * stopped, when nobody is left to wait.
 */
void fs_close_memfd(struct fs *fs, int fd)
{
	if (fs->closer)
		fs_reaper_take(fs->closer, 0, fd);
	else
		close(fd);
}
