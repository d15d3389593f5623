// SPDX-License-Identifier: MIT
/*
 * DOC: per-user limits
 *
 * With allow_other, one daemon serves every user of the machine, so no
 * single uid may use up what the others need.  Each uid is charged for
 * what it holds in the daemon:
 *
 *  - buffers it created (charged to the creator until the buffer is freed,
 *    whoever owns the file later): EDQUOT, as a disk quota would say;
 *  - handles: every open file of the mount (buffers, directory listings,
 *    .bufinfo and .stats snapshots) and every zero-copy connection, each of
 *    which keeps a file descriptor or a snapshot in the daemon: EMFILE;
 *  - requests parked waiting on a buffer: EAGAIN, as fork(2) says when
 *    RLIMIT_NPROC is reached;
 *  - zero-copy tokens issued and not yet redeemed: EAGAIN; they expire
 *    after token_ttl_ms;
 *  - snapshots: open directory listings and .bufinfo/.stats texts, which
 *    hold a copy as large as the namespace, counted as handles too: EMFILE.
 *
 * Root is counted too: the limits are mount options, 0 lifts one.  A
 * refusal is logged once per uid and kind until that uid frees something,
 * so a client hammering its limit cannot flood the log.
 *
 * The table is a tsearch(3) tree of uids with a lock of its own, taken
 * last: it is charged from FUSE workers, the notifier and the zero-copy
 * thread, with or without fs.lock held.
 */
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fs.h"

struct uid_usage {
	uid_t uid;
	unsigned int held[FS_NR_LIMITS];
	bool logged[FS_NR_LIMITS];
};

static const struct {
	const char *what;
	int err;
} limit_info[FS_NR_LIMITS] = {
	[FS_LIMIT_BUFFERS] = {"buffers", EDQUOT},
	[FS_LIMIT_HANDLES] = {"handles", EMFILE},
	[FS_LIMIT_WAITERS] = {"waiting requests", EAGAIN},
	[FS_LIMIT_TOKENS] = {"zero-copy tokens", EAGAIN},
	[FS_LIMIT_SNAPSHOTS] = {"snapshots", EMFILE},
};

static int by_uid(const void *a, const void *b)
{
	uid_t x = ((const struct uid_usage *)a)->uid;
	uid_t y = ((const struct uid_usage *)b)->uid;

	return x < y ? -1 : x > y;
}

/**
 * fs_limits_init() - set up the table
 * @lim: the table
 * @max: per-uid maximum of each kind, 0 for none (the defaults are the
 *       mount options', dmabuffs.c)
 */
void fs_limits_init(struct fs_limits *lim, const unsigned int max[FS_NR_LIMITS])
{
	int i;

	memset(lim, 0, sizeof(*lim));
	pthread_mutex_init(&lim->lock, NULL);
	for (i = 0; i < FS_NR_LIMITS; i++)
		lim->max[i] = max[i];
}

/**
 * fs_limits_destroy() - free the table
 * @lim: the table
 */
void fs_limits_destroy(struct fs_limits *lim)
{
	tdestroy(lim->uids, free);
	lim->uids = NULL;
	pthread_mutex_destroy(&lim->lock);
}

static struct uid_usage *usage_locked(struct fs_limits *lim, uid_t uid,
				      bool create)
{
	struct uid_usage key = {.uid = uid}, *u, **node;

	node = tfind(&key, &lim->uids, by_uid);
	if (node || !create)
		return node ? *node : NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	if (!tsearch(u, &lim->uids, by_uid)) {
		free(u);
		return NULL;
	}
	return u;
}

/**
 * fs_charge() - count one more object of kind @what against @uid
 * @fs: the file system
 * @uid: who asks
 * @what: what for
 *
 * Return: 0, or the kind's errno (negative) when @uid is at its limit, or
 * -ENOMEM.  Every 0 must be matched by one fs_uncharge().
 */
int fs_charge(struct fs *fs, uid_t uid, enum fs_limit what)
{
	struct fs_limits *lim = &fs->limits;
	struct uid_usage *u;
	bool log = false;
	int ret = 0;

	pthread_mutex_lock(&lim->lock);
	u = usage_locked(lim, uid, true);
	if (!u) {
		ret = -ENOMEM;
	} else if (lim->max[what] && u->held[what] >= lim->max[what]) {
		ret = -limit_info[what].err;
		log = !u->logged[what];
		u->logged[what] = true;
	} else {
		u->held[what]++;
	}
	pthread_mutex_unlock(&lim->lock);
	if (ret == -ENOMEM)
		dmabuf_log(LOG_WARNING, "uid %u: cannot count %s (ENOMEM)",
			   (unsigned int)uid, limit_info[what].what);
	if (log)
		dmabuf_log(LOG_WARNING,
			   "uid %u reached its limit of %u %s (%s); refusing "
			   "more until it frees some",
			   (unsigned int)uid, lim->max[what],
			   limit_info[what].what, strerror(-ret));
	if (ret)
		fs_count(FS_LIMIT_REFUSED);
	return ret;
}

/**
 * fs_uncharge() - count one object of kind @what less against @uid
 * @fs: the file system
 * @uid: whom fs_charge() charged
 * @what: for what
 */
void fs_uncharge(struct fs *fs, uid_t uid, enum fs_limit what)
{
	struct fs_limits *lim = &fs->limits;
	struct uid_usage *u;
	int i;

	pthread_mutex_lock(&lim->lock);
	u = usage_locked(lim, uid, false);
	if (u && u->held[what]) {
		u->held[what]--;
		u->logged[what] = false;
		for (i = 0; i < FS_NR_LIMITS && !u->held[i]; i++)
			;
		if (i == FS_NR_LIMITS) {
			tdelete(u, &lim->uids, by_uid);
			free(u);
		}
	}
	pthread_mutex_unlock(&lim->lock);
}

/**
 * fs_limit_name() - the mount option that sets a limit
 * @what: the kind
 *
 * Return: e.g. "max_buffers".
 */
const char *fs_limit_name(enum fs_limit what)
{
	static const char *const names[FS_NR_LIMITS] = {
		[FS_LIMIT_BUFFERS] = "max_buffers",
		[FS_LIMIT_HANDLES] = "max_handles",
		[FS_LIMIT_WAITERS] = "max_waiters",
		[FS_LIMIT_TOKENS] = "max_tokens",
		[FS_LIMIT_SNAPSHOTS] = "max_snapshots",
	};

	return names[what];
}
