// SPDX-License-Identifier: MIT
/*
 * DOC: virtual files and request counters
 *
 * The mount root holds two read-only files that are not buffers:
 * .bufinfo, the kernel's debugfs report, and .stats, the daemon's own
 * counters: FUSE requests by type, notifications sent, requests parked,
 * tokens issued, redeemed and refused, requests refused by a per-uid limit.
 * Each open takes a snapshot, so a reader sees one consistent text whatever its
 * read sizes.
 *
 * Counting is one relaxed atomic add per request: cheap next to a FUSE
 * round trip, and what the benchmarks use to report round trips per path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void fs_count(enum fs_counter c)
{
	__atomic_add_fetch(&counters[c], 1, __ATOMIC_RELAXED);
}

static uint64_t counter(enum fs_counter c)
{
	return __atomic_load_n(&counters[c], __ATOMIC_RELAXED);
}

static int render_stats(struct fs *fs, const struct fuse_ctx *ctx, char **text,
			size_t *len)
{
	uint64_t buffers, bytes, total = 0;
	FILE *f = open_memstream(text, len);
	int i;

	/* Counters and totals, as df(1) shows every user; uids: see below. */
	if (!f)
		return -ENOMEM;
	dmabuf_core_totals(fs->core, &buffers, &bytes);
	for (i = 0; i < FS_NR_REQUEST_COUNTERS; i++)
		total += counter((enum fs_counter)i);
	fprintf(f, "requests %llu\n", (unsigned long long)total);
	for (i = 0; i < FS_NR_COUNTERS; i++)
		fprintf(f, "%s %llu\n", counter_names[i],
			(unsigned long long)counter((enum fs_counter)i));
	fprintf(f, "buffers %llu\nbytes %llu\n", (unsigned long long)buffers,
		(unsigned long long)bytes);
	fprintf(f, "backing_ids %llu\n",
		(unsigned long long)(counter(FS_PT_BACKING_OPENED) -
				     counter(FS_PT_BACKING_CLOSED)));
	fprintf(f, "passthrough %s\n",
		fs_passthrough_enabled(fs) ? "on" : "off");
	if (!fs_passthrough_enabled(fs))
		fprintf(f, "passthrough_off_because %s\n",
			fs_passthrough_why_not(fs));
	for (i = 0; i < FS_NR_LIMITS; i++)
		fprintf(f, "%s %llu\n", fs_limit_name((enum fs_limit)i),
			(unsigned long long)fs->limits.max[i]);
	fs_limits_report(fs, ctx, f);
	return fclose(f) ? -ENOMEM : 0;
}

static int render_bufinfo(struct fs *fs, const struct fuse_ctx *ctx,
			  char **text, size_t *len)
{
	uint64_t *inos;
	size_t n;
	int ret;

	if (fs_sees_all(fs, ctx))
		return dmabuf_core_bufinfo(fs->core, NULL, 0, text, len);
	ret = fs_visible_inos(fs, ctx, &inos, &n);
	if (ret)
		return ret;
	ret = dmabuf_core_bufinfo(fs->core, inos, n, text, len);
	free(inos);
	return ret;
}

static const struct fs_virtual virtuals[] = {
	{".bufinfo", FS_VIRTUAL_INO_BASE, render_bufinfo},
	{".stats", FS_VIRTUAL_INO_BASE + 1, render_stats},
	{NULL, 0, NULL},
};

const struct fs_virtual *fs_virtual_by_ino(uint64_t ino)
{
	const struct fs_virtual *v;

	for (v = virtuals; v->name; v++)
		if (v->ino == ino)
			return v;
	return NULL;
}

const struct fs_virtual *fs_virtual_by_name(const char *name)
{
	const struct fs_virtual *v;

	for (v = virtuals; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

const struct fs_virtual *fs_virtual_first(void)
{
	return virtuals;
}
