// SPDX-License-Identifier: MIT
/*
 * DOC: the daemon's counters
 *
 * What .stats reports (virtual.c): FUSE requests by type, notifications
 * sent, requests parked, tokens issued, redeemed and refused, requests
 * refused by a per-uid limit, passthrough backing ids.  Counting is one
 * relaxed atomic add: cheap next to a FUSE round trip, and what the
 * benchmarks use to report round trips per path.
 *
 * A leaf: every file of the daemon may count, and this one calls nothing.
 */
#include "fs.h"

static const char *const counter_names[FS_NR_COUNTERS] = {
	[FS_OP_LOOKUP] = "lookup",
	[FS_OP_FORGET] = "forget",
	[FS_OP_GETATTR] = "getattr",
	[FS_OP_SETATTR] = "setattr",
	[FS_OP_CREATE] = "create",
	[FS_OP_MKNOD] = "mknod",
	[FS_OP_UNLINK] = "unlink",
	[FS_OP_RENAME] = "rename",
	[FS_OP_OPEN] = "open",
	[FS_OP_READ] = "read",
	[FS_OP_WRITE] = "write",
	[FS_OP_FLUSH] = "flush",
	[FS_OP_FSYNC] = "fsync",
	[FS_OP_RELEASE] = "release",
	[FS_OP_OPENDIR] = "opendir",
	[FS_OP_READDIR] = "readdir",
	[FS_OP_RELEASEDIR] = "releasedir",
	[FS_OP_STATFS] = "statfs",
	[FS_OP_IOCTL] = "ioctl",
	[FS_OP_POLL] = "poll",
	[FS_OP_XATTR] = "xattr",
	[FS_OP_REFUSED] = "refused_namespace_ops",
	[FS_EV_INVAL_SENT] = "notify_inval",
	[FS_EV_POLL_SENT] = "notify_poll",
	[FS_PARKED] = "parked_requests",
	[FS_TOKENS_ISSUED] = "tokens_issued",
	[FS_TOKENS_REDEEMED] = "tokens_redeemed",
	[FS_TOKENS_REFUSED] = "tokens_refused",
	[FS_LIMIT_REFUSED] = "refused_over_limit",
	[FS_PT_BACKING_OPENED] = "backing_opened",
	[FS_PT_BACKING_CLOSED] = "backing_closed",
	[FS_PT_BACKING_REFUSED] = "backing_refused",
	[FS_REVOKED] = "revocations",
};

static uint64_t counters[FS_NR_COUNTERS];

/** fs_count() - count one event of @c */
void fs_count(enum fs_counter c)
{
	__atomic_add_fetch(&counters[c], 1, __ATOMIC_RELAXED);
}

/** fs_counter() - a counter's value now */
uint64_t fs_counter(enum fs_counter c)
{
	return __atomic_load_n(&counters[c], __ATOMIC_RELAXED);
}

/** fs_counter_name() - a counter's name in .stats */
const char *fs_counter_name(enum fs_counter c)
{
	return counter_names[c];
}
