// SPDX-License-Identifier: MIT
/*
 * DOC: FUSE passthrough
 *
 * With passthrough (Linux >= 6.9) the kernel binds an open FUSE file to a
 * backing file and serves read, write, splice and mmap from it without a
 * request to the daemon; mmap maps the backing file's own pages.  Here the
 * backing file is the buffer's memfd, so every view of a buffer (file
 * mappings, read/write, zero-copy mappings, in any process) is the same
 * memory, byte for byte, at every moment.
 *
 * libfuse 3.14 has no API for it, so this file speaks the protocol
 * extension itself, and is the only one that knows how:
 *
 *  - fs_passthrough_setup() installs custom io hooks on the session fd
 *    between fuse_session_mount() and the loop.  The read hook notes the
 *    kernel's INIT request (did it offer FUSE_PASSTHROUGH?); the writev hook
 *    finds libfuse's INIT reply by its unique id and accepts: FUSE_INIT_EXT,
 *    FUSE_PASSTHROUGH in flags2, max_stack_depth 1 (a memfd is on a
 *    depth-0 file system).  The splice hooks are plain splice(2), so
 *    libfuse keeps splicing; nothing ever uses SPLICE_F_MOVE on a buffer's
 *    pages.
 *  - The same reply also takes FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14
 *    cannot ask for: without it every write(2) to a file asks the daemon
 *    for its security.capability xattr first (file_remove_privs()), one
 *    round trip per write that passthrough would otherwise not pay.  With
 *    it the server clears set-id bits itself; buffers never have any (see
 *    ops.c), so there is nothing to clear.  This is negotiated in every
 *    mode: the plain path's writes gain from it too.
 *  - fs_passthrough_open() registers a memfd with FUSE_DEV_IOC_BACKING_OPEN
 *    and returns its backing id; fs_passthrough_reply_open() answers OPEN
 *    with FOPEN_PASSTHROUGH and that id in a hand-built fuse_open_out, sent
 *    through fuse_reply_iov() (thread-safe: nothing of libfuse's is patched).
 *  - fs_passthrough_close() drops a backing id when its inode dies.
 *
 * Modes (-o passthrough=): "auto" uses it when the kernel offers it and the
 * daemon has CAP_SYS_ADMIN in the initial user namespace (which
 * BACKING_OPEN needs: full capabilities inside a user namespace are not
 * enough), "on" refuses to run without it, "off" never negotiates it.  Which
 * buffers take it, and when, is files.c's business; this file only says whether
 * the mount can.
 *
 * Calls counters.c only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"

/*
 * Bookworm's <linux/fuse.h> (6.1) and libfuse 3.14's copy of it predate
 * passthrough: the names it needs, defined once, here.
 */
#define PT_FUSE_INIT 26 /* opcode */
#define PT_INIT_EXT (1U << 30) /* fuse_init_in/out.flags */
#define PT_FLAGS2_PASSTHROUGH (1U << 5) /* FUSE_PASSTHROUGH, bit 37 */
#define PT_FOPEN_PASSTHROUGH (1U << 7)
#define PT_FOPEN_NOFLUSH (1U << 5) /* FOPEN_NOFLUSH (5.16) */
#define PT_WRITEBACK_CACHE (1U << 16)
#define PT_HANDLE_KILLPRIV_V2 (1U << 28)
#define PT_MAX_STACK_DEPTH 1

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_DEV_IOC_MAGIC 229
#define PT_DEV_IOC_BACKING_OPEN _IOW(PT_DEV_IOC_MAGIC, 1, struct pt_backing_map)
#define PT_DEV_IOC_BACKING_CLOSE _IOW(PT_DEV_IOC_MAGIC, 2, uint32_t)

/* The wire layout of what the hooks look at (struct fuse_in_header etc.). */
struct pt_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};

struct pt_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct pt_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

/* struct fuse_init_out up to max_stack_depth; the kernel's is 64 bytes. */
struct pt_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
};

struct pt_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

_Static_assert(sizeof(struct pt_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct pt_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct pt_init_out) == 40, "fuse_init_out prefix");
_Static_assert(sizeof(struct pt_open_out) == 16, "fuse_open_out");

/**
 * fs_passthrough_parse_mode() - "auto", "on" or "off"
 * @text: the option's value
 * @mode: out
 *
 * Return: 0, or -EINVAL for anything else.
 */
int fs_passthrough_parse_mode(const char *text, enum fs_passthrough_mode *mode)
{
	static const char *const names[] = {"auto", "on", "off"};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(text, names[i])) {
			*mode = (enum fs_passthrough_mode)i;
			return 0;
		}
	return -EINVAL;
}

/* CAP_SYS_ADMIN in the effective set, as /proc says. */
static bool have_sys_admin(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	if (f)
		fclose(f);
	return caps & (1ULL << 21);
}

/*
 * Is the daemon in the initial user namespace?  Its uid_map is the identity
 * over every uid there, and nowhere else.
 */
static bool in_initial_userns(void)
{
	unsigned long long inside, outside, count;
	FILE *f = fopen("/proc/self/uid_map", "re");
	int n = f ? fscanf(f, "%llu %llu %llu", &inside, &outside, &count) : 0;

	if (f)
		fclose(f);
	return n == 3 && inside == 0 && outside == 0 && count == 4294967295ULL;
}

/* Why the daemon may not ask for passthrough, or NULL when it may. */
static const char *lacks_privilege(void)
{
	if (!have_sys_admin())
		return "the daemon lacks CAP_SYS_ADMIN";
	if (!in_initial_userns())
		return "the daemon runs in a user namespace (the kernel wants "
		       "CAP_SYS_ADMIN in the initial one)";
	return NULL;
}

static void note_init_request(struct fs_passthrough *pt, const void *buf,
			      ssize_t n)
{
	const struct pt_in_header *h = buf;
	struct pt_init_in in;

	if (n < (ssize_t)(sizeof(*h) + sizeof(in)) || h->opcode != PT_FUSE_INIT)
		return;
	memcpy(&in, (const char *)buf + sizeof(*h), sizeof(in));
	pt->offered =
		(in.flags & PT_INIT_EXT) && (in.flags2 & PT_FLAGS2_PASSTHROUGH);
	pt->killpriv_v2 = in.flags & PT_HANDLE_KILLPRIV_V2;
	__atomic_store_n(&pt->init_unique, h->unique, __ATOMIC_RELEASE);
}

/* The session's userdata, which libfuse hands the hooks, is the fs. */
static ssize_t pt_read(int fd, void *buf, size_t len, void *userdata)
{
	struct fs_passthrough *pt = &((struct fs *)userdata)->pt;
	ssize_t n = read(fd, buf, len);

	if (n > 0 && !__atomic_load_n(&pt->init_unique, __ATOMIC_ACQUIRE))
		note_init_request(pt, buf, n);
	return n;
}

/* libfuse's INIT reply, on its way out: accept passthrough if offered. */
static void patch_init_reply(struct fs_passthrough *pt, struct iovec *iov,
			     int count)
{
	struct pt_out_header *h = iov[0].iov_base;
	struct pt_init_out *out;

	if (count < 2 || iov[0].iov_len < sizeof(*h) || h->error ||
	    iov[1].iov_len < sizeof(*out))
		return;
	out = iov[1].iov_base;
	if (pt->killpriv_v2)
		out->flags |= PT_HANDLE_KILLPRIV_V2;
	if (!pt->want)
		return; /* why_not says why since setup */
	if (!pt->offered) {
		__atomic_store_n(&pt->why_not, "the kernel does not offer it",
				 __ATOMIC_RELEASE);
	} else if (out->flags & PT_WRITEBACK_CACHE) {
		/* Never: fs_init() turns it off. */
		__atomic_store_n(&pt->why_not, "writeback caching is on",
				 __ATOMIC_RELEASE);
	} else {
		out->flags |= PT_INIT_EXT;
		out->flags2 |= PT_FLAGS2_PASSTHROUGH;
		out->max_stack_depth = PT_MAX_STACK_DEPTH;
		__atomic_store_n(&pt->enabled, true, __ATOMIC_RELEASE);
	}
}

static void init_done(struct fs *fs)
{
	struct fs_passthrough *pt = &fs->pt;

	if (pt->enabled) {
		dmabuf_log(LOG_INFO, "passthrough on: the kernel serves "
				     "buffer bytes from their memfds");
		return;
	}
	if (pt->mode == FS_PASSTHROUGH_ON) {
		dmabuf_log(LOG_ERR, "passthrough=on, but %s; unmounting",
			   pt->why_not);
		fuse_session_exit(fs->se);
		return;
	}
	dmabuf_log(LOG_INFO, "passthrough off: %s", pt->why_not);
}

static ssize_t pt_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct fs *fs = userdata;
	uint64_t unique =
		__atomic_load_n(&fs->pt.init_unique, __ATOMIC_ACQUIRE);
	const struct pt_out_header *h = iov[0].iov_base;
	bool is_init = unique && unique != UINT64_MAX && count > 0 &&
		       iov[0].iov_len >= sizeof(*h) && h->unique == unique;
	ssize_t n;

	if (is_init)
		patch_init_reply(&fs->pt, iov, count);
	n = writev(fd, iov, count);
	if (is_init) {
		/* Later replies with this id are not INIT's. */
		__atomic_store_n(&fs->pt.init_unique, UINT64_MAX,
				 __ATOMIC_RELEASE);
		init_done(fs);
	}
	return n;
}

static ssize_t pt_splice(int fdin, off_t *offin, int fdout, off_t *offout,
			 size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	/* libfuse asks for SPLICE_F_MOVE only where the daemon allows it. */
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io pt_io = {
	.writev = pt_writev,
	.read = pt_read,
	.splice_receive = pt_splice,
	.splice_send = pt_splice,
};

/**
 * fs_passthrough_setup() - offer passthrough on a mounted session
 * @fs: the file system, after fuse_session_mount(), before the loop
 * @mode: what -o passthrough= asked for
 *
 * The hooks go in whatever @mode says (see FUSE_HANDLE_KILLPRIV_V2 above);
 * passthrough itself is only asked for when @mode and the daemon's
 * privileges allow.
 *
 * Return: 0 (passthrough may or may not follow at INIT), or -EPERM when
 * @mode is "on" and the daemon lacks CAP_SYS_ADMIN in the initial user
 * namespace, or what fuse_session_custom_io() returns.
 */
int fs_passthrough_setup(struct fs *fs, enum fs_passthrough_mode mode)
{
	struct fs_passthrough *pt = &fs->pt;
	int ret;

	pt->mode = mode;
	pt->want = false;
	if (mode == FS_PASSTHROUGH_OFF) {
		pt->why_not = "passthrough=off";
	} else if ((pt->why_not = lacks_privilege())) {
		if (mode == FS_PASSTHROUGH_ON) {
			dmabuf_log(LOG_ERR, "passthrough=on, but %s",
				   pt->why_not);
			return -EPERM;
		}
	} else {
		pt->why_not = "the kernel has not answered INIT";
		pt->want = true;
	}
	ret = fuse_session_custom_io(fs->se, &pt_io, fuse_session_fd(fs->se));
	if (ret)
		dmabuf_log(LOG_ERR, "cannot hook the session's INIT: %s",
			   strerror(-ret));
	return ret;
}

/** fs_passthrough_enabled() - did INIT turn passthrough on for @fs? */
bool fs_passthrough_enabled(struct fs *fs)
{
	return __atomic_load_n(&fs->pt.enabled, __ATOMIC_ACQUIRE);
}

/** fs_passthrough_why_not() - why @fs does not use it; NULL when it does */
const char *fs_passthrough_why_not(struct fs *fs)
{
	return fs_passthrough_enabled(fs)
		       ? NULL
		       : __atomic_load_n(&fs->pt.why_not, __ATOMIC_ACQUIRE);
}

/**
 * fs_passthrough_open() - register @fd as a backing file
 * @fs: the file system
 * @fd: the buffer's memfd (the kernel keeps its own reference)
 * @ino: the inode, for the log
 *
 * May be called with fs.lock held: BACKING_OPEN does no I/O on the mount.
 *
 * Return: a backing id (> 0), or -errno; the caller then takes the plain
 * path for that buffer.
 */
int fs_passthrough_open(struct fs *fs, int fd, uint64_t ino)
{
	struct pt_backing_map map = {.fd = fd};
	int id = ioctl(fuse_session_fd(fs->se), PT_DEV_IOC_BACKING_OPEN, &map);

	if (id > 0) {
		fs_count(FS_PT_BACKING_OPENED);
		return id;
	}
	id = id < 0 ? -errno : -EIO;
	fs_count(FS_PT_BACKING_REFUSED);
	dmabuf_log(LOG_WARNING,
		   "buffer %llu: no passthrough (%s); it takes the plain path",
		   (unsigned long long)ino, strerror(-id));
	return id;
}

/**
 * fs_passthrough_close() - drop a backing id
 * @fs: the file system
 * @id: what fs_passthrough_open() returned
 *
 * Files still open on it keep their own reference in the kernel.
 */
void fs_passthrough_close(struct fs *fs, int id)
{
	uint32_t arg = (uint32_t)id;

	if (ioctl(fuse_session_fd(fs->se), PT_DEV_IOC_BACKING_CLOSE, &arg))
		dmabuf_log(LOG_WARNING, "closing backing id %d: %s", id,
			   strerror(errno));
	else
		fs_count(FS_PT_BACKING_CLOSED);
}

/* What libfuse's fuse_reply_entry() sends for @e, built by hand. */
static void fill_entry_out(struct fuse_entry_out *out,
			   const struct fuse_entry_param *e)
{
	const struct stat *st = &e->attr;

	memset(out, 0, sizeof(*out));
	out->nodeid = e->ino;
	out->generation = e->generation;
	out->entry_valid = (uint64_t)e->entry_timeout;
	out->entry_valid_nsec =
		(uint32_t)((e->entry_timeout - (double)out->entry_valid) * 1e9);
	out->attr_valid = (uint64_t)e->attr_timeout;
	out->attr_valid_nsec =
		(uint32_t)((e->attr_timeout - (double)out->attr_valid) * 1e9);
	out->attr.ino = st->st_ino;
	out->attr.size = (uint64_t)st->st_size;
	out->attr.blocks = (uint64_t)st->st_blocks;
	out->attr.atime = (uint64_t)st->st_atim.tv_sec;
	out->attr.mtime = (uint64_t)st->st_mtim.tv_sec;
	out->attr.ctime = (uint64_t)st->st_ctim.tv_sec;
	out->attr.atimensec = (uint32_t)st->st_atim.tv_nsec;
	out->attr.mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	out->attr.ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	out->attr.mode = st->st_mode;
	out->attr.nlink = (uint32_t)st->st_nlink;
	out->attr.uid = st->st_uid;
	out->attr.gid = st->st_gid;
	out->attr.rdev = (uint32_t)st->st_rdev;
	out->attr.blksize = (uint32_t)st->st_blksize;
}

/**
 * fs_passthrough_reply_open() - answer OPEN, or CREATE, bound to a backing
 * file
 * @req: the OPEN or CREATE request
 * @e: CREATE's new entry; NULL for OPEN
 * @fi: its file info (fh, noflush; direct_io and keep_cache must be off)
 * @backing_id: from fs_passthrough_open()
 *
 * Return: what fuse_reply_iov() returns.
 */
int fs_passthrough_reply_open(fuse_req_t req, const struct fuse_entry_param *e,
			      const struct fuse_file_info *fi, int backing_id)
{
	struct pt_open_out out = {.fh = fi->fh,
				  .open_flags =
					  PT_FOPEN_PASSTHROUGH |
					  (fi->noflush ? PT_FOPEN_NOFLUSH : 0),
				  .backing_id = backing_id};
	struct fuse_entry_out entry;
	struct iovec iov[2] = {{.iov_base = &entry, .iov_len = sizeof(entry)},
			       {.iov_base = &out, .iov_len = sizeof(out)}};

	if (!e)
		return fuse_reply_iov(req, iov + 1, 1);
	fill_entry_out(&entry, e);
	return fuse_reply_iov(req, iov, 2);
}
