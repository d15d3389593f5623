// SPDX-License-Identifier: MIT
/*
 * DOC: side-channel tokens
 *
 * DMABUF_IOCTL_GET_TOKEN issues a random, single-use, short-lived token
 * bound to the buffer, the handle's access mode and the caller's uid, gid
 * and process; the side channel's thread (zerocopy.c) takes it when a
 * client presents it, and checks it against the connection's SO_PEERCRED.
 * Tokens are charged to the asking uid (FS_LIMIT_TOKENS) until redeemed or
 * expired, and at most MAX_TOKENS are outstanding in all.
 *
 * Calls down to limits.c and counters.c only; the list is under zc.lock.
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

#include "zc.h"

/* Drop @t: its buffer reference, its charge, its secret. */
void zc_token_free(struct zc *zc, struct zc_token *t)
{
	dmabuf_buffer_put(t->buf);
	fs_uncharge(zc->fs, t->uid, FS_LIMIT_TOKENS);
	explicit_bzero(t->bytes, sizeof(t->bytes));
	free(t);
}

/* Drop every expired token; under zc.lock. */
void zc_tokens_purge_locked(struct zc *zc)
{
	struct zc_token *t, *next;

	TAILQ_FOREACH_SAFE (t, &zc->tokens, link, next) {
		if (!expired(&t->expires))
			continue;
		TAILQ_REMOVE(&zc->tokens, t, link);
		zc->nr_tokens--;
		zc_token_free(zc, t);
	}
}

/*
 * Is thread @tid part of process @pid?  FUSE names the calling thread, the
 * socket's SO_PEERCRED its process; they are equal for a main thread, so
 * /proc is read only for tokens asked by other threads.
 */
static bool thread_of(pid_t tid, pid_t pid)
{
	char path[64];

	if (tid == pid)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	return access(path, F_OK) == 0;
}

/**
 * fs_zc_issue() - DMABUF_IOCTL_GET_TOKEN
 * @fs: the file system
 * @ctx: the ioctl's caller (uid, gid, and the thread that asked)
 * @file: the handle asking
 * @tok: in: flags; out: the token and where to redeem it
 *
 * Return: 0; -EINVAL for an unsized buffer; -EACCES for a writable token on
 * a read-only handle; -EAGAIN when the caller's uid holds its limit of
 * tokens; -ENOSPC when too many tokens are outstanding in all; -ENOMEM or a
 * placement error.
 */
int fs_zc_issue(struct fs *fs, const struct fuse_ctx *ctx, struct fs_file *file,
		struct dmabuf_token *tok)
{
	struct zc *zc = fs->zc;
	struct zc_token *t;
	bool write = tok->flags & DMABUF_TOKEN_WRITE;
	bool backing = tok->flags & DMABUF_TOKEN_BACKING;
	bool sync = tok->flags & DMABUF_TOKEN_SYNC;
	struct itimerspec when = {0};
	bool kick = false;
	int ret;

	if (sync) /* the uid's own file: any handle of its will do */
		goto issue;

	/*
	 * ioctl_decode() refused unknown flags.  A mapping is always
	 * readable; a writable one needs O_RDWR.
	 */
	if ((file->flags & O_ACCMODE) == O_WRONLY ||
	    (write && (file->flags & O_ACCMODE) != O_RDWR)) {
		fs_log_refusal(
			ctx->uid,
			"token refused (EACCES): %s mapping asked on a handle opened %s",
			write ? "writable" : "readable",
			(file->flags & O_ACCMODE) == O_RDONLY ? "read-only"
							      : "write-only");
		return -EACCES;
	}
	if (backing && ((file->flags & O_ACCMODE) != O_RDWR ||
			dmabuf_buffer_size(file->inode->buf))) {
		fs_log_refusal(
			ctx->uid,
			"backing token refused (EPERM): the buffer must be "
			"empty and the handle open for reading and writing");
		return -EPERM;
	}
	ret = backing ? 0 : dmabuf_buffer_memfd(file->inode->buf, true);
	if (ret < 0 && ret != -EXDEV)
		return ret;
issue:
	/* Expired tokens first: they no longer count against anyone. */
	pthread_mutex_lock(&zc->lock);
	zc_tokens_purge_locked(zc);
	pthread_mutex_unlock(&zc->lock);
	ret = fs_charge(fs, ctx->uid, FS_LIMIT_TOKENS);
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t) {
		fs_uncharge(fs, ctx->uid, FS_LIMIT_TOKENS);
		return -ENOMEM;
	}
	t->uid = ctx->uid;
	t->buf = file->inode->buf;
	dmabuf_buffer_get(t->buf);
	if (getrandom(t->bytes, sizeof(t->bytes), 0) != sizeof(t->bytes)) {
		zc_token_free(zc, t);
		return -EAGAIN;
	}
	t->write = write;
	t->backing = backing;
	t->sync = sync;
	t->gid = ctx->gid;
	t->tid = ctx->pid;
	deadline_in(&t->expires, zc->ttl_ms);
	pthread_mutex_lock(&zc->lock);
	if (zc->nr_tokens >= MAX_TOKENS) {
		ret = -ENOSPC;
	} else {
		TAILQ_INSERT_TAIL(&zc->tokens, t, link);
		kick = !zc->nr_tokens++; /* the thread may sleep for ever */
		when.it_value = t->expires; /* t is the thread's once listed */
	}
	pthread_mutex_unlock(&zc->lock);
	if (kick) /* the thread may sleep with no deadline: give it one */
		timerfd_settime(zc->kick_fd, TFD_TIMER_ABSTIME, &when, NULL);
	if (ret) {
		dmabuf_log(LOG_WARNING,
			   "token refused (ENOSPC): %u outstanding",
			   MAX_TOKENS);
		zc_token_free(zc, t);
		return ret;
	}
	fs_count(FS_TOKENS_ISSUED);
	memcpy(tok->token, t->bytes, sizeof(t->bytes));
	tok->ttl_ms = zc->ttl_ms;
	memcpy(tok->socket, zc->addr, sizeof(tok->socket));
	return 0;
}

/* Constant-time comparison: a guess learns nothing from the timing. */
static bool same_token(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < DMABUF_TOKEN_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* Take the token named @bytes off the list: a token is used once. */
struct zc_token *zc_token_take(struct zc *zc, const uint8_t *bytes)
{
	struct zc_token *t, *found = NULL;

	pthread_mutex_lock(&zc->lock);
	TAILQ_FOREACH (t, &zc->tokens, link)
		if (same_token(t->bytes, bytes)) {
			found = t;
			TAILQ_REMOVE(&zc->tokens, t, link);
			zc->nr_tokens--;
			break;
		}
	pthread_mutex_unlock(&zc->lock);
	return found;
}

/* May @cred redeem @t?  -EACCES or -ETIMEDOUT with @why, else 0. */
int zc_token_check(const struct zc_token *t, const struct ucred *cred,
		   const char **why)
{
	int ret = -EACCES;

	if (!t)
		*why = "unknown or already used";
	else if (expired(&t->expires))
		*why = "expired", ret = -ETIMEDOUT;
	else if (t->uid != cred->uid || t->gid != cred->gid)
		*why = "presented by another user";
	else if (!thread_of(t->tid, cred->pid))
		*why = "presented by another process";
	else
		ret = 0;
	return ret;
}
