/* SPDX-License-Identifier: MIT */
/*
 * DOC: the side channel's state, shared by zerocopy.c and tokens.c
 *
 * Private to those two files: tokens.c issues, finds and drops tokens
 * (struct zc_token, under zc.lock); zerocopy.c runs the thread that serves
 * connections (struct zc_conn, the thread's own) and redeems tokens.
 */
#ifndef DMABUFFS_ZC_H
#define DMABUFFS_ZC_H

#include <sys/socket.h>
#include <time.h>

#include "fs.h"

#define MAX_TOKENS 4096

struct zc_token {
	uint8_t bytes[DMABUF_TOKEN_LEN];
	struct dmabuf_buffer *buf; /* one reference */
	bool write;
	bool backing; /* DMABUF_TOKEN_BACKING: binds memory, maps nothing */
	bool sync; /* DMABUF_TOKEN_SYNC: the uid's file of SYNC slots */
	uid_t uid;
	gid_t gid;
	pid_t tid; /* the thread that asked, as FUSE reports it */
	struct timespec expires;
	TAILQ_ENTRY(zc_token) link;
};

struct zc_conn {
	int fd;
	struct ucred cred;
	struct dmabuf_buffer *buf; /* a CPU-map reference once redeemed */
	struct timespec deadline; /* to present a token by */
	bool pending; /* on zc.pending: no token presented yet */
	LIST_ENTRY(zc_conn) link;
	TAILQ_ENTRY(zc_conn) pending_link;
};

/**
 * struct zc - the side channel
 * @fs: the file system (for its per-uid limits)
 * @listen_fd: the listening socket
 * @epoll_fd: what the thread waits on
 * @stop_fd: eventfd that tells the thread to exit
 * @kick_fd: timerfd armed at a first token's expiry, so that a thread
 *           asleep with no deadline wakes to drop it (off the request path:
 *           a token redeemed in time costs the thread no extra wake-up)
 * @addr: socket address as handed out ('@' for the abstract namespace)
 * @thread: the serving thread
 * @lock: guards @tokens and @nr_tokens (ioctl handlers issue, the thread
 *        redeems)
 * @tokens: outstanding tokens
 * @nr_tokens: their number
 * @conns: connections, touched by the thread only
 * @pending: connections that have presented no token yet, oldest first
 * @ttl_ms: how long a token stays valid, and a connection may stay silent
 * @resting: the listening socket is out of epoll until @rest_until
 * @rest_until: when accept() may be tried again
 * @reaper: closes what clients sent that is not a memfd (fdpass.c)
 */
struct zc {
	struct fs *fs;
	int listen_fd;
	int epoll_fd;
	int stop_fd;
	int kick_fd;
	char addr[DMABUF_SOCKET_LEN];
	pthread_t thread;
	pthread_mutex_t lock;
	TAILQ_HEAD(, zc_token) tokens;
	unsigned int nr_tokens;
	LIST_HEAD(, zc_conn) conns;
	TAILQ_HEAD(, zc_conn) pending;
	unsigned int ttl_ms;
	bool resting;
	struct timespec rest_until;
	struct fs_reaper *reaper;
};

/* Milliseconds from now until @t; 0 once it passed. */
static inline long ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(t->tv_sec - now.tv_sec) * 1000 +
	     (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static inline bool expired(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* @ms from now. */
static inline void deadline_in(struct timespec *t, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* tokens.c */
void zc_token_free(struct zc *zc, struct zc_token *t);
void zc_tokens_purge_locked(struct zc *zc);
struct zc_token *zc_token_take(struct zc *zc, const uint8_t *bytes);
int zc_token_check(const struct zc_token *t, const struct ucred *cred,
		   const char **why);

#endif /* DMABUFFS_ZC_H */
