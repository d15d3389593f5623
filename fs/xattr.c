// SPDX-License-Identifier: MIT
/*
 * DOC: extended attributes
 *
 * Each buffer describes itself in user.dmabuf.* attributes, so
 * `getfattr -d` shows its heap, debug name, state, attached devices,
 * mappings, fences, open handles, placement and whether the kernel serves
 * its bytes itself (passthrough: on, off, or pending until the first open
 * after export decides).  Two are writable:
 * user.dmabuf.heap (only before the backing is placed and no device is
 * attached) and user.dmabuf.name (the debug name, as DMA_BUF_SET_NAME).
 *
 * Only the user namespace exists here: a name outside user.* (an ACL, a
 * security label) is EOPNOTSUPP on every node, as on a file system without
 * them, so ls -l and cp -a, which remember that answer per file system,
 * stop asking: one round trip per file and attribute less.
 *
 * Calls namespace.c, passthrough.c, counters.c and the object model.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"

#define XATTR_PREFIX "user.dmabuf."
#define USER_PREFIX "user."

/* Outside user.*: a namespace the file system does not have. */
static bool foreign_name(const char *name)
{
	return strncmp(name, USER_PREFIX, strlen(USER_PREFIX)) != 0;
}

static const char *const xattr_names[] = {
	"heap",	     "name",	    "state",	 "attachments",
	"maps",	     "fences",	    "handles",	 "cpu_maps",
	"placement", "passthrough", "waits_for",
};

#define NR_XATTRS (sizeof(xattr_names) / sizeof(*xattr_names))

/* @ino's buffer, referenced; its passthrough state in @pt if not NULL. */
static struct dmabuf_buffer *buffer_of(struct fs *fs, fuse_ino_t ino,
				       const char **pt)
{
	struct dmabuf_buffer *buf = NULL;
	struct fs_inode *inode;

	pthread_mutex_lock(&fs->lock);
	inode = fs_inode_get_locked(fs, ino);
	if (inode) {
		buf = inode->buf;
		dmabuf_buffer_get(buf);
		if (pt)
			*pt = !fs_passthrough_enabled(fs) ? "off"
			      : inode->backing_id > 0	  ? "on"
			      : inode->backing_id < 0	  ? "off"
							  : "pending";
	}
	pthread_mutex_unlock(&fs->lock);
	return buf;
}

/* The value of attribute @key of @buf; -ENODATA for an unknown key. */
static int xattr_value(struct dmabuf_buffer *buf, const char *pt,
		       const char *key, char *out, size_t len)
{
	struct dmabuf_info i;

	dmabuf_buffer_info(buf, &i);
	if (!strcmp(key, "heap"))
		return snprintf(out, len, "%s", i.heap);
	if (!strcmp(key, "name"))
		return snprintf(out, len, "%s", i.name);
	if (!strcmp(key, "state"))
		return snprintf(out, len, "%s", dmabuf_state_name(i.state));
	if (!strcmp(key, "attachments"))
		return dmabuf_buffer_attachment_names(buf, out, len);
	if (!strcmp(key, "maps"))
		return snprintf(out, len, "%u", i.maps);
	if (!strcmp(key, "fences"))
		return snprintf(out, len, "write=%u read=%u", i.write_fences,
				i.read_fences);
	if (!strcmp(key, "handles"))
		return snprintf(out, len, "%u", i.handles);
	if (!strcmp(key, "cpu_maps"))
		return snprintf(out, len, "%u", i.cpu_maps);
	if (!strcmp(key, "placement"))
		return i.nr_chunks ? snprintf(out, len, "chunks=%u first=%#llx",
					      i.nr_chunks,
					      (unsigned long long)i.phys_addr)
				   : snprintf(out, len, "none");
	if (!strcmp(key, "passthrough"))
		return snprintf(out, len, "%s", pt);
	if (!strcmp(key, "waits_for")) { /* what a CPU write would wait for */
		uid_t first;

		if (!dmabuf_buffer_blockers(buf, DMA_BUF_SYNC_WRITE, &first,
					    out, len))
			return snprintf(out, len, "nothing");
		return (int)strnlen(out, len);
	}
	return -ENODATA;
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const char *pt = "off";
	struct dmabuf_buffer *buf = buffer_of(fs_of(req), ino, &pt);
	char value[1024];
	int len = -ENODATA;
	fs_count(FS_OP_XATTR);

	if (foreign_name(name))
		len = -EOPNOTSUPP;
	else if (buf && !strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
		len = xattr_value(buf, pt, name + strlen(XATTR_PREFIX), value,
				  sizeof(value));
	if (buf)
		dmabuf_buffer_put(buf);
	if (len >= (int)sizeof(value))
		len = sizeof(value) - 1; /* a very long device list, cut */
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if (size < (size_t)len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, (size_t)len);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct dmabuf_buffer *buf = buffer_of(fs_of(req), ino, NULL);
	char list[512];
	size_t len = 0, i;
	fs_count(FS_OP_XATTR);

	if (buf) {
		for (i = 0; i < NR_XATTRS; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", XATTR_PREFIX,
						xattr_names[i]) +
			       1;
		dmabuf_buffer_put(buf);
	}
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, len);
}

static int set_key(struct dmabuf_buffer *buf, const char *key,
		   const char *value, size_t size)
{
	char copy[DMABUF_NAME_LEN];

	if (strcmp(key, "heap") && strcmp(key, "name"))
		return -EPERM; /* the others describe state: read-only */
	if (size >= sizeof(copy))
		return -EINVAL;
	memcpy(copy, value, size);
	copy[size] = '\0';
	if (!strcmp(key, "heap"))
		return dmabuf_buffer_set_heap(buf, copy);
	return dmabuf_buffer_set_name(buf, copy);
}

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags)
{
	struct dmabuf_buffer *buf = buffer_of(fs_of(req), ino, NULL);
	int ret = -EOPNOTSUPP;
	fs_count(FS_OP_XATTR);

	(void)flags;
	if (foreign_name(name))
		ret = -EOPNOTSUPP;
	else if (!buf)
		ret = ino == FS_ROOT_INO ? -ENOTSUP : -EPERM;
	else if (!strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
		ret = set_key(buf, name + strlen(XATTR_PREFIX), value, size);
	if (buf)
		dmabuf_buffer_put(buf);
	fuse_reply_err(req, -ret);
}

void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct dmabuf_buffer *buf = buffer_of(fs_of(req), ino, NULL);
	int ret = -ENODATA;
	fs_count(FS_OP_XATTR);

	if (foreign_name(name))
		ret = -EOPNOTSUPP;
	else if (buf && !strcmp(name, XATTR_PREFIX "name"))
		ret = dmabuf_buffer_set_name(buf, "");
	else if (buf && !strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
		ret = -EPERM;
	if (buf)
		dmabuf_buffer_put(buf);
	fuse_reply_err(req, -ret);
}
