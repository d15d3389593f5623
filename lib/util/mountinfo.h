/* SPDX-License-Identifier: MIT */
/*
 * DOC: reading /proc/self/mountinfo, the one parser
 *
 * The daemon (is a dmabuffs mounted here already? which bdi is ours?) and
 * dmabufctl (which mount is the working directory in?) read the mount
 * table through dmabuf_mountinfo_next(), in lib/libdmabuf/text.c.  The
 * kernel writes a space, tab, newline and backslash in a path as \040,
 * \011, \012 and \134 (show_mountinfo(), mangle()): they are decoded, so a
 * mount point with a space in it is found.
 */
#ifndef DMABUF_MOUNTINFO_H
#define DMABUF_MOUNTINFO_H

#include <limits.h>
#include <stdio.h>

/**
 * struct dmabuf_mountinfo - one line of mountinfo, the fields we use
 * @major: the mount's device major
 * @minor: its minor
 * @mount_point: decoded
 * @fstype: e.g. "fuse.dmabuffs"
 */
struct dmabuf_mountinfo {
	unsigned int major, minor;
	char mount_point[PATH_MAX];
	char fstype[64];
};

/**
 * dmabuf_mountinfo_next() - the next mount of @f
 * @f: /proc/self/mountinfo (or a file in its format), open for reading
 * @m: out: the mount
 *
 * Lines it cannot read (too long, malformed) are skipped.
 *
 * Return: 1 with @m filled, 0 at the end of @f.
 */
__attribute__((visibility("hidden"))) int
dmabuf_mountinfo_next(FILE *f, struct dmabuf_mountinfo *m);

#endif /* DMABUF_MOUNTINFO_H */
