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
 *    hold a copy as large as the namespace, counted as handles too: EMFILE;
 *  - attachments and device mappings, charged to whoever opened the handle
 *    they are made through (the core's accounting hook): EDQUOT;
 *  - bytes: a buffer's placement, charged to the uid that created it for as
 *    long as it is placed (as memcg charges the allocating process), in
 *    all heaps together and on the cma heap alone: EDQUOT;
 *  - fences: fence ids it was given (FENCE_EXPORT, FENCE_MERGE) until they
 *    are dropped, fences it imported into a buffer until they signal or are
 *    dropped, and its open .sync_file handles: EMFILE;
 *  - daemon descriptors: what the daemon keeps open for it besides its
 *    buffers' own memory: zero-copy connections, the memfds of its
 *    udmabufs (one per distinct memfd), and descriptors it sent that wait
 *    to be closed off the side channel's thread (zerocopy.c): EMFILE.
 *
 * Root is counted too: the limits are mount options, 0 lifts one.  A
 * refusal is logged once per uid and kind until that uid frees something,
 * so a client hammering its limit cannot flood the log.
 *
 * Log lines are a resource too: every refusal of a client's request (a
 * malformed ioctl, a side-channel message) goes through fs_log_refusal(),
 * at most one line a second per uid, the next saying how many were left
 * out.
 *
 * The table is a tsearch(3) tree of uids with a lock of its own, taken
 * last: it is charged from FUSE workers, the notifier and the zero-copy
 * thread, with or without fs.lock held.
 *
 * Calls counters.c only; every file charges through it.
 */
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "fs.h"

struct uid_usage {
	uid_t uid;
	uint64_t held[FS_NR_LIMITS];
	bool logged[FS_NR_LIMITS];
};

/* What each limit counts, its errno, and its mount option. */
static const struct {
	const char *what;
	int err;
	const char *key;
	const char *option;
} limit_info[FS_NR_LIMITS] = {
	[FS_LIMIT_BUFFERS] = {"buffers", EDQUOT, "buffers", "max_buffers"},
	[FS_LIMIT_HANDLES] = {"handles", EMFILE, "handles", "max_handles"},
	[FS_LIMIT_WAITERS] = {"waiting requests", EAGAIN, "waiters",
			      "max_waiters"},
	[FS_LIMIT_TOKENS] = {"zero-copy tokens", EAGAIN, "tokens",
			     "max_tokens"},
	[FS_LIMIT_SNAPSHOTS] = {"snapshots", EMFILE, "snapshots",
				"max_snapshots"},
	[FS_LIMIT_ATTACHMENTS] = {"attachments", EDQUOT, "attachments",
				  "max_attachments"},
	[FS_LIMIT_MAPPINGS] = {"device mappings", EDQUOT, "mappings",
			       "max_mappings"},
	[FS_LIMIT_BYTES] = {"bytes", EDQUOT, "bytes", "max_bytes"},
	[FS_LIMIT_CMA_BYTES] = {"bytes on the cma heap", EDQUOT, "cma_bytes",
				"cma_max_bytes"},
	[FS_LIMIT_FENCES] = {"fences", EMFILE, "fences", "max_fences"},
	[FS_LIMIT_FDS] = {"daemon descriptors", EMFILE, "fds", "max_fds"},
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
void fs_limits_init(struct fs_limits *lim, const uint64_t max[FS_NR_LIMITS])
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
 * fs_charge_n() - count @n more units of kind @what against @uid
 * @fs: the file system
 * @uid: who asks
 * @what: what for
 * @n: how many (bytes for FS_LIMIT_BYTES, else objects)
 *
 * Return: 0, or the kind's errno (negative) when @uid would pass its limit,
 * or -ENOMEM.  Every 0 must be matched by one fs_uncharge_n() of @n.
 */
int fs_charge_n(struct fs *fs, uid_t uid, enum fs_limit what, uint64_t n)
{
	struct fs_limits *lim = &fs->limits;
	struct uid_usage *u;
	bool log = false;
	int ret = 0;

	pthread_mutex_lock(&lim->lock);
	u = usage_locked(lim, uid, true);
	if (!u) {
		ret = -ENOMEM;
	} else if (lim->max[what] && (u->held[what] >= lim->max[what] ||
				      n > lim->max[what] - u->held[what])) {
		ret = -limit_info[what].err;
		log = !u->logged[what];
		u->logged[what] = true;
	} else {
		u->held[what] += n;
	}
	pthread_mutex_unlock(&lim->lock);
	if (ret == -ENOMEM)
		dmabuf_log(LOG_WARNING, "uid %u: cannot count %s (ENOMEM)",
			   (unsigned int)uid, limit_info[what].what);
	if (log)
		dmabuf_log(LOG_WARNING,
			   "uid %u reached its limit of %llu %s (%s); refusing "
			   "more until it frees some",
			   (unsigned int)uid,
			   (unsigned long long)lim->max[what],
			   limit_info[what].what, strerror(-ret));
	if (ret)
		fs_count(FS_LIMIT_REFUSED);
	return ret;
}

/**
 * fs_charge() - count one more object of kind @what against @uid
 * @fs: the file system
 * @uid: who asks
 * @what: what for
 *
 * Return: as fs_charge_n().
 */
int fs_charge(struct fs *fs, uid_t uid, enum fs_limit what)
{
	return fs_charge_n(fs, uid, what, 1);
}

/**
 * fs_uncharge_n() - count @n units of kind @what less against @uid
 * @fs: the file system
 * @uid: whom fs_charge_n() charged
 * @what: for what
 * @n: as charged
 */
void fs_uncharge_n(struct fs *fs, uid_t uid, enum fs_limit what, uint64_t n)
{
	struct fs_limits *lim = &fs->limits;
	struct uid_usage *u;
	int i;

	pthread_mutex_lock(&lim->lock);
	u = usage_locked(lim, uid, false);
	if (u) {
		u->held[what] -= n < u->held[what] ? n : u->held[what];
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
 * fs_uncharge() - count one object of kind @what less against @uid
 * @fs: the file system
 * @uid: whom fs_charge() charged
 * @what: for what
 */
void fs_uncharge(struct fs *fs, uid_t uid, enum fs_limit what)
{
	fs_uncharge_n(fs, uid, what, 1);
}

/* The core's charges, as limits of ours. */
static enum fs_limit limit_of(enum dmabuf_charge what)
{
	static const enum fs_limit limit[] = {
		[DMABUF_CHARGE_ATTACHMENTS] = FS_LIMIT_ATTACHMENTS,
		[DMABUF_CHARGE_MAPPINGS] = FS_LIMIT_MAPPINGS,
		[DMABUF_CHARGE_BYTES] = FS_LIMIT_BYTES,
		[DMABUF_CHARGE_FENCES] = FS_LIMIT_FENCES,
		[DMABUF_CHARGE_FDS] = FS_LIMIT_FDS,
	};

	return limit[what];
}

static bool on_cma(enum dmabuf_charge what, const char *heap)
{
	return what == DMABUF_CHARGE_BYTES && heap && !strcmp(heap, "cma");
}

static int acct_charge(void *arg, uid_t owner, enum dmabuf_charge what,
		       const char *heap, uint64_t n)
{
	int ret = fs_charge_n(arg, owner, limit_of(what), n);

	if (ret || !on_cma(what, heap))
		return ret;
	ret = fs_charge_n(arg, owner, FS_LIMIT_CMA_BYTES, n);
	if (ret)
		fs_uncharge_n(arg, owner, FS_LIMIT_BYTES, n);
	return ret;
}

static void acct_uncharge(void *arg, uid_t owner, enum dmabuf_charge what,
			  const char *heap, uint64_t n)
{
	fs_uncharge_n(arg, owner, limit_of(what), n);
	if (on_cma(what, heap))
		fs_uncharge_n(arg, owner, FS_LIMIT_CMA_BYTES, n);
}

/*
 * The core's accounting hooks (dmabuf_core_set_accounting()), called with
 * the core's lock held: the limits' lock comes after it.
 */
const struct dmabuf_accounting fs_accounting = {
	.charge = acct_charge,
	.uncharge = acct_uncharge,
};

struct report {
	FILE *f;
	const struct fuse_ctx *ctx;
	bool all;
};

static void report_visit(const void *node, VISIT which, void *arg)
{
	const struct uid_usage *u = *(const struct uid_usage *const *)node;
	struct report *r = arg;
	int i;

	if ((which != postorder && which != leaf) ||
	    (!r->all && u->uid != r->ctx->uid))
		return;
	fprintf(r->f, "uid %u", (unsigned int)u->uid);
	for (i = 0; i < FS_NR_LIMITS; i++)
		fprintf(r->f, " %s=%llu", limit_info[i].key,
			(unsigned long long)u->held[i]);
	fputc('\n', r->f);
}

/**
 * fs_limits_report() - what each uid holds, for .stats
 * @fs: the file system
 * @ctx: the reader: root and the mount's owner see every uid, others their
 *       own
 * @f: where to write "uid U buffers=N handles=N ... bytes=N" lines
 */
void fs_limits_report(struct fs *fs, const struct fuse_ctx *ctx, FILE *f)
{
	struct report r = {f, ctx, fs_sees_all(fs, ctx)};

	pthread_mutex_lock(&fs->limits.lock);
	twalk_r(fs->limits.uids, report_visit, &r);
	pthread_mutex_unlock(&fs->limits.lock);
}

/**
 * fs_limit_name() - the mount option that sets a limit
 * @what: the kind
 *
 * Return: e.g. "max_buffers".
 */
const char *fs_limit_name(enum fs_limit what)
{
	return limit_info[what].option;
}

#define LOG_SLOTS 64 /* uids whose refusals are rate-limited apart */

/* Per uid (hashed): the second of its last line, and lines left out since. */
static struct log_slot {
	uid_t uid;
	time_t second;
	unsigned int unlogged;
} log_slots[LOG_SLOTS];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/**
 * fs_log_refusal() - log a refusal of @uid's request, rate-limited
 * @uid: whose request it was
 * @fmt: printf format of the line
 *
 * Any local user can send malformed requests as fast as it likes; the log
 * must not be its weapon.  One line a second per uid (uids hashed into
 * LOG_SLOTS slots); the next line says how many were not logged.  Takes a
 * leaf lock of its own: callable under any other.
 */
void fs_log_refusal(uid_t uid, const char *fmt, ...)
{
	struct log_slot *slot = &log_slots[uid % LOG_SLOTS];
	unsigned int unlogged = 0;
	struct timespec now;
	char line[256];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&log_lock);
	if (slot->uid == uid && slot->second == now.tv_sec) {
		slot->unlogged++;
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (slot->uid == uid)
		unlogged = slot->unlogged;
	*slot = (struct log_slot){.uid = uid, .second = now.tv_sec};
	pthread_mutex_unlock(&log_lock);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (unlogged)
		dmabuf_log(LOG_WARNING,
			   "%s (and %u more from uid %u not logged)", line,
			   unlogged, (unsigned int)uid);
	else
		dmabuf_log(LOG_WARNING, "%s", line);
}

/**
 * fs_charge_snapshot() - charge an open listing or .bufinfo/.stats text
 * @fs: the file system
 * @uid: who opens it
 *
 * Such a handle also holds a copy the size of the namespace: counted as a
 * handle and as a snapshot, so that opening many cannot take the daemon's
 * memory.
 *
 * Return: 0 or -EMFILE.
 */
int fs_charge_snapshot(struct fs *fs, uid_t uid)
{
	int ret = fs_charge(fs, uid, FS_LIMIT_HANDLES);

	if (ret)
		return ret;
	ret = fs_charge(fs, uid, FS_LIMIT_SNAPSHOTS);
	if (ret)
		fs_uncharge(fs, uid, FS_LIMIT_HANDLES);
	return ret;
}

/** fs_uncharge_snapshot() - undo fs_charge_snapshot() */
void fs_uncharge_snapshot(struct fs *fs, uid_t uid)
{
	fs_uncharge(fs, uid, FS_LIMIT_SNAPSHOTS);
	fs_uncharge(fs, uid, FS_LIMIT_HANDLES);
}
