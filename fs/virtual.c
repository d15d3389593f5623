// SPDX-License-Identifier: MIT
/*
 * DOC: virtual files
 *
 * The mount root holds two read-only files that are not buffers:
 * .bufinfo, the kernel's debugfs report, and .stats, the daemon's own
 * counters (counters.c), totals and limits.  Each open takes a snapshot
 * (files.c), so a reader sees one consistent text whatever its read sizes;
 * this file only renders the text and says which names and inode numbers
 * are virtual.
 *
 * At the top of the daemon's files: it reads namespace.c (who may see
 * which buffer), limits.c, passthrough.c and counters.c, and nothing calls
 * back into it but the request handlers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

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
		total += fs_counter((enum fs_counter)i);
	fprintf(f, "requests %llu\n", (unsigned long long)total);
	for (i = 0; i < FS_NR_COUNTERS; i++)
		fprintf(f, "%s %llu\n", fs_counter_name((enum fs_counter)i),
			(unsigned long long)fs_counter((enum fs_counter)i));
	fprintf(f, "buffers %llu\nbytes %llu\n", (unsigned long long)buffers,
		(unsigned long long)bytes);
	fprintf(f, "backing_ids %llu\n",
		(unsigned long long)(fs_counter(FS_PT_BACKING_OPENED) -
				     fs_counter(FS_PT_BACKING_CLOSED)));
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
