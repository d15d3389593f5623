// SPDX-License-Identifier: MIT
/*
 * DOC: the zero-copy side channel
 *
 * FUSE ioctls cannot carry file descriptors, so a client that wants the
 * buffer's memory mapped directly gets it over a Unix socket.  The open
 * handle is the capability: DMABUF_IOCTL_GET_TOKEN issues a random,
 * single-use, short-lived token bound to the buffer, the handle's access
 * mode and the caller's uid, gid and process.  The client connects to the
 * daemon's SOCK_SEQPACKET socket and presents the token; the daemon checks
 * it against SO_PEERCRED and answers with the memfd (SCM_RIGHTS), read-only
 * unless the token allows writing.
 *
 * The connection then stays open for as long as the client keeps the memory
 * mapped: it is the mapping's reference on the buffer, as a live mmap holds
 * a dma-buf in the kernel.  Closing it, or dying, drops the reference.
 *
 * The same channel carries fds the other way for udmabuf: a token asked
 * with DMABUF_TOKEN_BACKING on an EMPTY buffer is presented together with
 * the client's memfds and the runs of them that become the buffer's memory
 * (udmabuf.c checks and binds them); the connection then closes.  And a
 * mapping of such a buffer is answered with those runs and memfds.
 *
 * A DMABUF_TOKEN_SYNC token is answered with the uid's file of SYNC slots
 * (syncslots.c), read-write; the connection then closes.
 *
 * One thread serves the socket with epoll; it never blocks on a client (all
 * sockets are non-blocking and each message is one datagram).  Nor on a
 * descriptor a client sent: each is checked to be a memfd (F_GET_SEALS,
 * which asks no file system) before anything else is done with it, and
 * anything else -- a socket with SO_LINGER, a file on a FUSE mount whose
 * server never answers FLUSH, a tty -- is refused and handed to the reaper
 * thread, the only one that closes such descriptors, charged to the
 * sender's uid (FS_LIMIT_FDS) until it has.  When accept() fails for want
 * of descriptors or memory, the listening socket rests for a while instead
 * of waking the thread again at once.
 *
 * Every descriptor handed to a client is made by fs_fd_handout(): a dup for
 * a writable mapping, a read-only reopen otherwise, and never of a file
 * that another uid could reopen with more rights than the handle has.
 *
 * Limits: tokens are charged to the asking uid until redeemed or expired
 * (expired ones are dropped on time, by this thread), connections to the
 * connecting uid as handles and as daemon descriptors.  A connection that
 * presents no token within the token lifetime is closed, so silent clients
 * cannot pile up.
 *
 * Calls tokens.c, fdpass.c, udmabuf.c, limits.c, counters.c and
 * libdmabuf's SCM_RIGHTS framing (fdmsg.h); dmabuffs.c starts and stops
 * it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdmsg.h"
#include "zc.h"

#define DEFAULT_TOKEN_TTL_MS 5000
#define ACCEPT_REST_MS 100 /* after accept() ran out of descriptors */

/*
 * One datagram: @r, then @extra_len bytes of @extra (a struct
 * dmabuf_backing), carrying @nr_fds descriptors.
 */
static int send_msg(int fd, const struct dmabuf_redeem_reply *r,
		    const void *extra, size_t extra_len, const int *fds,
		    unsigned int nr_fds)
{
	struct iovec iov[2] = {{(void *)r, sizeof(*r)},
			       {(void *)extra, extra_len}};
	ssize_t n = dmabuf_fdmsg_send(fd, iov, extra_len ? 2 : 1, fds, nr_fds);

	if (n < 0)
		return (int)n;
	return n == (ssize_t)(sizeof(*r) + extra_len) ? 0 : -EMSGSIZE;
}

static int send_reply(int fd, const struct dmabuf_redeem_reply *r, int memfd)
{
	return send_msg(fd, r, NULL, 0, &memfd, memfd >= 0);
}

/**
 * struct zc_msg - a request as received
 * @in: the redeem request
 * @bytes: it and what may follow (struct dmabuf_backing)
 * @len: bytes received
 * @fds: descriptors received, owned until closed or passed on; memfds
 *       only (recv_request() reaps anything else)
 * @nr_fds: their number
 * @foreign: something other than a memfd came, and was reaped
 */
struct zc_msg {
	union {
		struct dmabuf_redeem in;
		char bytes[sizeof(struct dmabuf_redeem) +
			   sizeof(struct dmabuf_backing) +
			   DMABUF_BACKING_MAX_RANGES *
				   sizeof(struct dmabuf_backing_range)];
	};
	size_t len;
	int fds[DMABUF_BACKING_MAX_FDS];
	unsigned int nr_fds;
	bool foreign;
};

/* Let go of the memfds that came with @m: a client may have sent its last
 * reference, and freeing the pages is the closer's, not this thread's. */
static void msg_close_fds(struct zc *zc, struct zc_msg *m)
{
	while (m->nr_fds)
		fs_reaper_take(zc->fs->closer, 0, m->fds[--m->nr_fds]);
}

/*
 * Keep the memfds among what came with @m; hand anything else to the
 * reaper before it is looked at in any other way.
 */
static void sort_fds(struct zc *zc, uid_t uid, struct zc_msg *m)
{
	unsigned int i, n = 0;

	m->foreign = false;
	for (i = 0; i < m->nr_fds; i++) {
		if (fs_is_memfd(m->fds[i])) {
			m->fds[n++] = m->fds[i];
			continue;
		}
		m->foreign = true;
		fs_reaper_take(zc->reaper, uid, m->fds[i]);
	}
	m->nr_fds = n;
}

/* Receive one request; -EAGAIN when there was none after all. */
static int recv_request(struct zc *zc, struct zc_conn *conn, struct zc_msg *m)
{
	int truncated;
	ssize_t n = dmabuf_fdmsg_recv(
		conn->fd, m->bytes, sizeof(m->bytes), MSG_DONTWAIT, m->fds,
		DMABUF_BACKING_MAX_FDS, &m->nr_fds, &truncated);

	if (n < 0)
		return (int)n;
	sort_fds(zc, conn->cred.uid, m);
	m->len = (size_t)n;
	if (truncated) {
		msg_close_fds(zc, m);
		return -EMSGSIZE;
	}
	return m->foreign ? -EBADF : 0;
}

/* The memfd to hand out; -EXDEV for a udmabuf's runs. */
static int memfd_for(struct dmabuf_buffer *buf, bool write)
{
	int fd = dmabuf_buffer_memfd(buf, true);

	return fd < 0 ? fd : fs_fd_handout(fd, write);
}

/* A mapping of a udmabuf: its runs and their memfds. */
static int send_ranges(struct zc_conn *conn, struct dmabuf_redeem_reply *r,
		       bool write)
{
	static __thread union {
		struct dmabuf_backing b;
		char bytes[sizeof(struct dmabuf_backing) +
			   DMABUF_BACKING_MAX_RANGES *
				   sizeof(struct dmabuf_backing_range)];
	} out;
	int fds[DMABUF_BACKING_MAX_FDS];
	unsigned int nr_fds, i;
	size_t len;
	int ret = fs_udmabuf_describe(conn->buf, write, &out.b, &len, fds,
				      &nr_fds);

	if (ret)
		return ret;
	r->flags |= DMABUF_REPLY_RANGES;
	ret = send_msg(conn->fd, r, &out, len, fds, nr_fds);
	for (i = 0; i < nr_fds; i++)
		close(fds[i]);
	return ret;
}

/* A mapping token: answer with the memory; the connection stays open. */
static int redeem_mapping(struct zc *zc, struct zc_conn *conn,
			  struct zc_token *t)
{
	struct dmabuf_redeem_reply reply = {0};
	struct dmabuf_info info;
	int memfd = memfd_for(t->buf, t->write);

	if (memfd < 0 && memfd != -EXDEV)
		return memfd;
	dmabuf_buffer_info(t->buf, &info);
	reply = (struct dmabuf_redeem_reply){
		.flags = t->write ? DMABUF_TOKEN_WRITE : 0,
		.size = info.size,
		.map_size = DMABUF_PAGE_ALIGN(info.size),
		.ino = info.ino};
	fs_count(FS_TOKENS_REDEEMED);
	dmabuf_buffer_cpu_map_get(t->buf);
	conn->buf = t->buf;
	conn->pending = false;
	TAILQ_REMOVE(&zc->pending, conn, pending_link);
	if (memfd == -EXDEV)
		return send_ranges(conn, &reply, t->write);
	send_reply(conn->fd, &reply, memfd);
	close(memfd);
	return 0;
}

/* A backing token: bind the memfds that came with it, and answer. */
static int redeem_backing(struct zc *zc, struct zc_conn *conn,
			  struct zc_token *t, struct zc_msg *m)
{
	struct dmabuf_redeem_reply reply = {0};
	int ret = fs_udmabuf_bind(t->buf, m->bytes + sizeof(m->in),
				  m->len - sizeof(m->in), m->fds, m->nr_fds);

	msg_close_fds(zc, m); /* the buffer keeps duplicates of its own */
	if (ret)
		return ret;
	fs_count(FS_TOKENS_REDEEMED);
	reply.size = dmabuf_buffer_size(t->buf);
	reply.map_size = reply.size;
	reply.ino = dmabuf_buffer_ino(t->buf);
	send_reply(conn->fd, &reply, -1);
	return 0;
}

/* A sync token: the uid's file of SYNC slots; the connection then ends. */
static int redeem_sync(struct zc_conn *conn, struct fs *fs)
{
	struct dmabuf_redeem_reply reply = {.flags = DMABUF_TOKEN_SYNC};
	uint64_t id;
	int fd = fs_sync_file_fd(fs, conn->cred.uid, &id);

	if (fd < 0)
		return fd;
	reply.ino = id;
	fs_count(FS_TOKENS_REDEEMED);
	reply.size = reply.map_size = fs_sync_file_size();
	send_reply(conn->fd, &reply, fd);
	close(fd);
	return 0;
}

/*
 * Serve a connection's request.  Return: whether to keep the connection (a
 * live mapping, or nothing received yet); a refusal, or a backing token
 * whose memory was bound, ends it.
 */
static bool redeem(struct zc *zc, struct zc_conn *conn)
{
	static __thread struct zc_msg m;
	struct dmabuf_redeem_reply reply = {0};
	const char *why = "malformed request";
	struct zc_token *t = NULL;
	int ret = recv_request(zc, conn, &m);

	if (ret == -EAGAIN)
		return true; /* spurious wake-up */
	if (ret == -EBADF)
		why = "a descriptor that is not a memfd came with it";
	if (ret || m.len < sizeof(m.in) ||
	    m.in.version != DMABUF_REDEEM_VERSION || m.in.flags) {
		ret = -EINVAL; /* udmabuf(4) says EINVAL for a non-memfd */
		goto refuse;
	}
	t = zc_token_take(zc, m.in.token);
	ret = zc_token_check(t, &conn->cred, &why);
	if (!ret && t->backing) {
		ret = redeem_backing(zc, conn, t, &m);
		why = "its memory was refused";
	} else if (!ret && t->sync && !m.nr_fds && m.len == sizeof(m.in)) {
		ret = redeem_sync(conn, zc->fs);
		why = "the uid has no file of SYNC slots";
	} else if (!ret && (m.nr_fds || m.len != sizeof(m.in))) {
		ret = -EINVAL; /* only a backing token brings anything */
	} else if (!ret) {
		ret = redeem_mapping(zc, conn, t);
		why = "no memory to hand out";
	}
	if (t)
		zc_token_free(zc, t);
	if (!ret) /* a mapping lives on with it; a bound backing is done */
		return conn->buf != NULL;
refuse:
	msg_close_fds(zc, &m);
	fs_count(FS_TOKENS_REFUSED);
	fs_log_refusal(conn->cred.uid,
		       "zero-copy token from uid %u pid %d refused (%s): %s",
		       (unsigned int)conn->cred.uid, (int)conn->cred.pid,
		       strerror(-ret), why);
	reply.status = ret;
	send_reply(conn->fd, &reply, -1);
	return false;
}

/*
 * Close a client's socket without letting what it still holds block this
 * thread.  Shut down first, so nothing more can arrive, then read what did
 * arrive with room for its descriptors: a socket closed with messages
 * queued would drop their descriptors here, and the last close of, say, a
 * lingering TCP socket blocks the thread that drops it.  What is read goes
 * through recv_request(), so foreign descriptors reach the reaper.  Also,
 * a Unix socket closed with unread data resets its peer, which would then
 * never read an answer just sent.
 */
static void drain_and_close(struct zc *zc, int fd, uid_t uid)
{
	static __thread struct zc_msg m;
	struct zc_conn peer = {.fd = fd, .cred.uid = uid};
	int i, ret;

	shutdown(fd, SHUT_RDWR);
	for (i = 0; i < 64; i++) {
		ret = recv_request(zc, &peer, &m);
		msg_close_fds(zc, &m);
		if (ret == -EAGAIN || (ret == 0 && !m.len))
			break;
	}
	close(fd);
}

static void conn_close(struct zc *zc, struct zc_conn *conn)
{
	LIST_REMOVE(conn, link);
	if (conn->pending)
		TAILQ_REMOVE(&zc->pending, conn, pending_link);
	if (conn->buf)
		dmabuf_buffer_cpu_map_put(conn->buf);
	fs_uncharge(zc->fs, conn->cred.uid, FS_LIMIT_HANDLES);
	fs_uncharge(zc->fs, conn->cred.uid, FS_LIMIT_FDS);
	drain_and_close(zc, conn->fd, conn->cred.uid);
	free(conn);
}

/*
 * Answer a connection refused before its request, and close it.  The
 * client's send fails (EPIPE) or was dropped; its receive queue holds the
 * answer.
 */
static void refuse_conn(struct zc *zc, int fd, uid_t uid, int status)
{
	struct dmabuf_redeem_reply reply = {.status = status};

	send_reply(fd, &reply, -1);
	drain_and_close(zc, fd, uid);
}

/* A connection is charged to its peer's uid, as a handle is. */
static struct zc_conn *conn_new(struct zc *zc, int fd)
{
	socklen_t len = sizeof(struct ucred);
	struct zc_conn *conn = calloc(1, sizeof(*conn));
	int ret = -ENOMEM;

	if (!conn)
		goto refuse;
	ret = -EPROTO;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &conn->cred, &len))
		goto refuse;
	ret = fs_charge(zc->fs, conn->cred.uid, FS_LIMIT_HANDLES);
	if (ret)
		goto refuse;
	ret = fs_charge(zc->fs, conn->cred.uid, FS_LIMIT_FDS);
	if (ret) {
		fs_uncharge(zc->fs, conn->cred.uid, FS_LIMIT_HANDLES);
		goto refuse;
	}
	conn->fd = fd;
	conn->pending = true;
	deadline_in(&conn->deadline, zc->ttl_ms);
	LIST_INSERT_HEAD(&zc->conns, conn, link);
	TAILQ_INSERT_TAIL(&zc->pending, conn, pending_link);
	return conn;

refuse:
	fs_count(FS_TOKENS_REFUSED);
	refuse_conn(zc, fd, conn ? conn->cred.uid : (uid_t)-1, ret);
	free(conn);
	return NULL;
}

/* Close connections that stayed silent past their deadline. */
static void expire_pending(struct zc *zc)
{
	struct zc_conn *conn;

	while ((conn = TAILQ_FIRST(&zc->pending)) && expired(&conn->deadline)) {
		fs_log_refusal(
			conn->cred.uid,
			"zero-copy connection from uid %u pid %d closed: "
			"no token within %u ms",
			(unsigned int)conn->cred.uid, (int)conn->cred.pid,
			zc->ttl_ms);
		conn_close(zc, conn);
	}
}

/* How long epoll may sleep: until the oldest silent connection's deadline. */
/*
 * How long epoll may sleep: until the oldest silent connection's deadline,
 * the oldest token's expiry, or the end of the listening socket's rest.
 */
static int next_timeout(struct zc *zc)
{
	struct zc_conn *conn = TAILQ_FIRST(&zc->pending);
	struct zc_token *t;
	long ms = conn ? ms_until(&conn->deadline) : -1, m;

	pthread_mutex_lock(&zc->lock);
	t = TAILQ_FIRST(
		&zc->tokens); /* one lifetime: the first expires first */
	m = t ? ms_until(&t->expires) : -1;
	pthread_mutex_unlock(&zc->lock);
	if (m >= 0 && (ms < 0 || m < ms))
		ms = m;
	m = zc->resting ? ms_until(&zc->rest_until) : -1;
	if (m >= 0 && (ms < 0 || m < ms))
		ms = m;
	return ms < 0 ? -1 : (int)ms + 1;
}

/* Take the listening socket out of epoll for ACCEPT_REST_MS, or back in. */
static void rest_listener(struct zc *zc, bool rest)
{
	struct epoll_event ev = {.events = rest ? 0 : EPOLLIN,
				 .data.ptr = &zc->listen_fd};

	if (epoll_ctl(zc->epoll_fd, EPOLL_CTL_MOD, zc->listen_fd, &ev))
		return;
	zc->resting = rest;
	if (rest)
		deadline_in(&zc->rest_until, ACCEPT_REST_MS);
}

/* Work due by the clock: silent connections, expired tokens, the rest. */
static void tick(struct zc *zc)
{
	expire_pending(zc);
	pthread_mutex_lock(&zc->lock);
	zc_tokens_purge_locked(zc);
	pthread_mutex_unlock(&zc->lock);
	if (zc->resting && expired(&zc->rest_until))
		rest_listener(zc, false);
}

static void accept_all(struct zc *zc)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	struct zc_conn *conn;
	int fd;

	while ((fd = accept4(zc->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		conn = conn_new(zc, fd);
		if (!conn)
			continue; /* answered and closed */
		ev.data.ptr = conn;
		if (epoll_ctl(zc->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
			conn_close(zc, conn);
	}
	if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
		return;
	/* Out of descriptors or memory: the socket stays readable, so
	 * waking again at once would spin; rest instead. */
	fs_log_refusal((uid_t)-1,
		       "zero-copy channel: accept: %s; not accepting for %d ms",
		       strerror(errno), ACCEPT_REST_MS);
	rest_listener(zc, true);
}

/* A redeemed connection only ever closes; anything else is a protocol error. */
static void serve_conn(struct zc *zc, struct zc_conn *conn, uint32_t events)
{
	char byte;

	if (!conn->buf && (events & EPOLLIN)) {
		if (!redeem(zc, conn))
			conn_close(zc, conn);
		return;
	}
	if ((events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) ||
	    recv(conn->fd, &byte, 1, MSG_DONTWAIT) >= 0)
		conn_close(zc, conn);
}

static void *zc_main(void *arg)
{
	struct zc *zc = arg;
	struct epoll_event evs[32];
	int n, i;

	for (;;) {
		n = epoll_wait(zc->epoll_fd, evs, 32, next_timeout(zc));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &zc->stop_fd)
				return NULL;
			if (evs[i].data.ptr == &zc->kick_fd) {
				uint64_t ticks;

				if (read(zc->kick_fd, &ticks, sizeof(ticks)) <
				    0)
					ticks = 0; /* tick() below all the same
						    */
				continue;
			}
			if (evs[i].data.ptr == &zc->listen_fd)
				accept_all(zc);
			else
				serve_conn(zc, evs[i].data.ptr, evs[i].events);
		}
		/*
		 * Only after the batch: evs[] may still name a connection
		 * that this would free.
		 */
		tick(zc);
	}
	dmabuf_log(LOG_ERR, "zero-copy channel stopped: %s", strerror(errno));
	return NULL;
}

static int zc_listen(struct zc *zc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint32_t nonce;
	socklen_t len;

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		nonce = (uint32_t)getpid();
	snprintf(zc->addr, sizeof(zc->addr), "@dmabuffs-%d-%08x", (int)getpid(),
		 nonce);
	/* Abstract namespace: no file to leave behind; tokens guard it. */
	memcpy(sa.sun_path + 1, zc->addr + 1, strlen(zc->addr) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(zc->addr));
	zc->listen_fd = socket(
		AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (zc->listen_fd < 0)
		return -errno;
	if (bind(zc->listen_fd, (struct sockaddr *)&sa, len) ||
	    listen(zc->listen_fd, 128))
		return -errno;
	return 0;
}

static int watch(struct zc *zc, int fd, void *ptr)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};

	return epoll_ctl(zc->epoll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void zc_close_fds(struct zc *zc)
{
	if (zc->listen_fd >= 0)
		close(zc->listen_fd);
	if (zc->epoll_fd >= 0)
		close(zc->epoll_fd);
	if (zc->stop_fd >= 0)
		close(zc->stop_fd);
	if (zc->kick_fd >= 0)
		close(zc->kick_fd);
}

/**
 * fs_zc_start() - open the side channel and start its thread
 * @fs: the file system
 * @token_ttl_ms: token lifetime; 0 for the default (5 s)
 *
 * Return: 0 or a negative errno.
 */
int fs_zc_start(struct fs *fs, unsigned int token_ttl_ms)
{
	struct zc *zc = calloc(1, sizeof(*zc));
	int ret;

	if (!zc)
		return -ENOMEM;
	zc->fs = fs;
	zc->ttl_ms = token_ttl_ms ? token_ttl_ms : DEFAULT_TOKEN_TTL_MS;
	pthread_mutex_init(&zc->lock, NULL);
	TAILQ_INIT(&zc->tokens);
	LIST_INIT(&zc->conns);
	TAILQ_INIT(&zc->pending);
	zc->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	zc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	zc->kick_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	zc->listen_fd = -1;
	ret = zc->epoll_fd < 0 || zc->stop_fd < 0 || zc->kick_fd < 0
		      ? -errno
		      : zc_listen(zc);
	if (!ret)
		ret = watch(zc, zc->listen_fd, &zc->listen_fd);
	if (!ret)
		ret = watch(zc, zc->stop_fd, &zc->stop_fd);
	if (!ret)
		ret = watch(zc, zc->kick_fd, &zc->kick_fd);
	if (!ret)
		ret = fs_reaper_start(fs, true, &zc->reaper);
	if (!ret) {
		ret = -pthread_create(&zc->thread, NULL, zc_main, zc);
		if (ret)
			fs_reaper_stop(zc->reaper);
	}
	if (ret) {
		zc_close_fds(zc);
		free(zc);
		return ret;
	}
	fs->zc = zc;
	return 0;
}

/**
 * fs_zc_stop() - stop the thread, drop every token and connection
 * @fs: the file system
 *
 * Clients keep what they mapped: the memory outlives the daemon.
 */
void fs_zc_stop(struct fs *fs)
{
	struct zc *zc = fs->zc;
	uint64_t one = 1;
	struct zc_token *t;

	if (!zc)
		return;
	if (write(zc->stop_fd, &one, sizeof(one)) != sizeof(one))
		dmabuf_log(LOG_ERR, "cannot stop the zero-copy thread");
	pthread_join(zc->thread, NULL);
	while (!LIST_EMPTY(&zc->conns))
		conn_close(zc, LIST_FIRST(&zc->conns));
	while ((t = TAILQ_FIRST(&zc->tokens))) {
		TAILQ_REMOVE(&zc->tokens, t, link);
		zc_token_free(zc, t);
	}
	zc_close_fds(zc);
	fs->zc = NULL;
	if (!fs_reaper_stop(zc->reaper))
		return; /* the reaper still uses it; the process is ending */
	pthread_mutex_destroy(&zc->lock);
	free(zc);
}
