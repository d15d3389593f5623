/* SPDX-License-Identifier: MIT */
/*
 * DOC: dmabuffs internals
 *
 * The FUSE front end: inodes and open files of the mount, the parked
 * requests that wait for a buffer to change, and the notifier thread.
 *
 * Lock order of the whole daemon.  A lock on the left may be held while
 * taking one on its right, never the reverse:
 *
 *	libfuse's request lock -> fs.lock -> fs.staging_lock -> core.lock
 *		-> fs.limits.lock
 *	zc->lock -> core.lock -> fs.limits.lock
 *	fs.ev_lock, the reapers' locks, the refusal log's lock,
 *	fs.sync_lock: leaves
 *
 * - libfuse's request lock (struct fuse_req.lock) is held while libfuse
 *   calls an interrupt callback, and waiter_interrupted() (wait.c) takes
 *   fs.lock under it.  So nothing may call fuse_req_interrupt_func() or
 *   answer a request (fuse_reply_*(), which takes libfuse's session lock)
 *   while holding fs.lock: requests are taken off a list under it and
 *   answered after it is dropped.
 * - fs.lock guards the namespace (names, inodes, open files, poll handles,
 *   parked requests, sync_file fences).  No notification is sent to the
 *   kernel while it is held: cache and poll notifications go through the
 *   notifier thread's queue (wait.c).  Two ioctls on /dev/fuse are: the
 *   passthrough backing id of an inode is opened (FUSE_DEV_IOC_BACKING_OPEN,
 *   choose_path_locked() in files.c) and closed (BACKING_CLOSE, when the
 *   inode is freed) under it, so that no open can see an inode between
 *   "has no id" and "has one".  Neither waits on a FUSE request: the kernel
 *   answers them from the connection's own table.
 * - fs.staging_lock (staging.c) guards the bytes handles write
 *   before their buffers have a size; each write's copy into its memfd runs
 *   under it, not under fs.lock.
 * - core.lock (struct dmabuf_core.lock, lib/core) is the object model's one
 *   lock; the heap ops run under it (include/dmabuf/heap.h) and take no
 *   lock of ours.  The core calls the notify hook, fs_core_changed(),
 *   without it.
 * - zc->lock (zerocopy.c) guards the side channel's tokens; an expiring
 *   token drops its buffer reference (core.lock) and its uid's charge
 *   (fs.limits.lock) under it.
 * - fs.limits.lock is taken after any other lock, and nothing under it.
 * - fs.ev_lock guards the notifier's queue; nothing is taken under it.
 * - The refusal log's lock (limits.c), the locks of the reaper and the
 *   closer (fdpass.c) and fs.sync_lock (syncslots.c) are leaves: nothing
 *   is taken under them.
 *
 * Ownership and accounts, the contract every request path keeps
 * (dmabuffs(8) SECURITY has the table):
 *
 * - Everything the daemon keeps for a client -- buffer, handle, parked
 *   request, token, connection, attachment, mapping, placed bytes, fence
 *   id, imported fence, .sync_file handle, a descriptor it keeps or was
 *   sent -- has an owner uid and is charged to it through fs_charge*()
 *   (limits.c; the core's objects through its accounting hook) against a
 *   limit, and is uncharged on the one path that releases it.
 * - Every descriptor handed to a client is made by fs_fd_handout()
 *   (fdpass.c): no more rights than the asking handle, of a file no
 *   other uid can reopen.  Every descriptor a client sends is checked to be
 *   a memfd before anything else; anything else is closed by the reaper.
 * - Every wait another uid can cause is bounded by fence_timeout_ms, and
 *   only on behalf of a uid that may revoke (fs_may_revoke()).
 * - Nothing long (quadratic work, I/O, the close of a client's file, the
 *   last close of a memfd, which frees its pages) runs under fs.lock or
 *   core.lock, or on a thread every user shares: such closes go to the
 *   reaper or the closer (fdpass.c).
 * - A refusal is logged through fs_log_refusal(): once a second per uid.
 */
#ifndef DMABUFFS_FS_H
#define DMABUFFS_FS_H

#define FUSE_USE_VERSION 35
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/queue.h>
#include <time.h>

/* glibc's <sys/queue.h> lacks the BSD _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head);            \
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif

#include "dmabuf-core.h"

#define FS_ROOT_INO FUSE_ROOT_ID
/* Virtual files (.bufinfo, .stats) take inode numbers from here up. */
#define FS_VIRTUAL_INO_BASE DMABUF_INO_NODE
#define FS_TIMEOUT 1.0
/* The compat layer's device nodes (devnodes.c): numbers in <dmabuf/uapi.h> */
#define FS_HEAPS_DIR_INO DMABUF_INO_HEAPS_DIR
#define FS_UDMABUF_INO DMABUF_INO_UDMABUF
#define FS_SYNC_FILE_INO DMABUF_INO_SYNC_FILE
#define FS_HEAP_INO_BASE DMABUF_INO_HEAP_BASE
#define FS_MAX_HEAP_NODES DMABUF_INO_MAX_HEAPS

struct fs_file;
struct fs_fence;
struct fs_sync_file;
struct zc;
union ioctl_arg;
struct dir_snapshot;

/**
 * struct fs_inode - one buffer as the kernel sees it
 * @ino: inode number (the buffer's)
 * @buf: the buffer; one reference held while this inode exists
 * @name: directory entry, NULL once unlinked
 * @nlookup: the kernel's lookup count
 * @mode: type and permission bits
 * @uid: owner
 * @gid: group
 * @creator: the uid charged for the buffer (FS_LIMIT_BUFFERS)
 * @atime: access time
 * @mtime: modification time
 * @ctime: change time
 * @cached: the kernel's page cache may hold pages of this file
 * @backing_id: passthrough: 0 until the first open after sizing decides,
 *              then the backing id (> 0) every open of it is bound to, or
 *              -1 when it takes the plain path for the rest of its life
 * @backing_mtime: passthrough: the memfd's mtime when the daemon last set
 *                 the times; the kernel moves it on every write it serves
 * @stager: the handle writing this EMPTY buffer, NULL for none (staging.c;
 *          under fs.staging_lock)
 * @staging_fd: what it wrote, -1 for none
 * @staged: its size, also read without the lock (stat(2))
 * @staging_uid: the uid charged for it (FS_LIMIT_BYTES)
 * @files: open files
 */
struct fs_inode {
	uint64_t ino;
	struct dmabuf_buffer *buf;
	char *name;
	uint64_t nlookup;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uid_t creator;
	struct timespec atime, mtime, ctime;
	bool cached;
	int backing_id;
	struct timespec backing_mtime;
	const struct fs_file *stager;
	int staging_fd;
	uint64_t staged;
	uid_t staging_uid;
	LIST_HEAD(, fs_file) files;
};

/**
 * struct fs_file - one open handle (one shareable fd)
 * @inode: its inode
 * @h: the object model's handle; NULL for .bufinfo
 * @flags: open(2) flags
 * @uid: the uid charged for it (FS_LIMIT_HANDLES)
 * @direct: opened with FOPEN_DIRECT_IO: no page cache behind it
 * @ph: poll handle to notify when readiness may have changed
 * @text: a virtual file's snapshot
 * @text_len: its length
 * @text_refs: virtual files: the open plus replies in flight; a reply's memory
 *             must outlive the write(2) that sends it, and release may run
 *             on another thread as soon as the client has its bytes
 * @want: a CPU access this handle waits for without a parked request
 *        (wait.c): a poll not yet ready, or O_NONBLOCK STARTs refused
 * @link: entry in fs_inode.files, or in fs.virtual_files for a virtual file
 */
struct fs_file {
	struct fs_inode *inode;
	struct dmabuf_handle *h;
	int flags;
	uid_t uid;
	bool direct;
	bool passthrough; /* the kernel serves its bytes: no page cache */
	struct fs_sync_area
		*sync_area; /* its SYNC slot's file (fs.sync_lock) */
	uint32_t sync_slot; /* the slot, while @sync_area is set */
	struct fuse_pollhandle *ph;
	char *text;
	size_t text_len;
	unsigned int text_refs;
	struct fs_want {
		bool on; /* in fs.wanting */
		bool told; /* logged after a second */
		uint32_t dir; /* DMA_BUF_SYNC_READ and/or WRITE */
		uid_t uid;
		pid_t pid;
		struct timespec since; /* the first refusal */
		struct timespec last; /* the latest */
		LIST_ENTRY(fs_file) link;
	} want;
	LIST_ENTRY(fs_file) link;
};

/* What a parked request does again when its buffer changes. */
enum fs_wait_kind {
	FS_WAIT_MAP,
	FS_WAIT_BEGIN,
};

/**
 * struct fs_waiter - a request parked until its buffer changes
 * @req: the request, answered exactly once
 * @file: the handle it came through
 * @buf: its buffer
 * @kind: what to retry
 * @uid: the uid charged for it (FS_LIMIT_WAITERS)
 * @cmd: the ioctl
 * @attach_id: MAP: the attachment
 * @dir: MAP: DMA direction; BEGIN: CPU direction
 * @off: BEGIN: range start
 * @len: BEGIN: range length
 * @armed: its interrupt callback is registered; only armed waiters are
 *         retried, so nobody answers one while it is being registered
 * @result: outcome of the retry that ended the wait
 * @nents: MAP: entries of the table, on success
 * @total: MAP: bytes mapped, on success
 * @pid: the process that asked, for the log
 * @since: when it was parked (CLOCK_MONOTONIC)
 * @told: its wait was logged (after a second)
 * @link: entry in fs.waiters
 */
struct fs_waiter {
	fuse_req_t req;
	struct fs_file *file;
	struct dmabuf_buffer *buf;
	enum fs_wait_kind kind;
	uid_t uid;
	unsigned int cmd;
	uint64_t attach_id;
	uint32_t dir;
	uint64_t off;
	uint64_t len;
	bool armed;
	int result;
	uint32_t nents;
	uint64_t total;
	pid_t pid;
	struct timespec since;
	bool told;
	TAILQ_ENTRY(fs_waiter) link;
};

/**
 * struct fs_sync_file - one open of <mount>/.sync_file
 * @ff: the fence it is bound to, NULL before DMABUF_IOCTL_FENCE_BIND
 * @ph: poll handle to notify when the fence may have signalled
 * @uid: the uid charged for it (FS_LIMIT_FENCES)
 * @link: entry in fs.sync_files
 */
struct fs_sync_file {
	struct fs_fence *ff;
	struct fuse_pollhandle *ph;
	uid_t uid;
	LIST_ENTRY(fs_sync_file) link;
};

/**
 * struct fs_ioctl_call - one decoded ioctl, as its handler gets it
 * @req: the request; the handler answers it exactly once
 * @fs: the file system
 * @fi: the open file: fi->fh is a struct fs_file for a buffer's handle, a
 *      sync_file for .sync_file, nothing for the root
 * @cmd: the command
 * @a: its payload, checked by ioctl_decode(); also the output
 */
struct fs_ioctl_call {
	fuse_req_t req;
	struct fs *fs;
	struct fuse_file_info *fi;
	unsigned int cmd;
	union ioctl_arg *a;
};

/* A row's handler in FS_IOCTL_TABLE (ioctls.h). */
typedef void fs_ioctl_fn(struct fs_ioctl_call *c);

/* Work for the notifier thread. */
enum fs_event_kind {
	FS_EV_CHANGED, /* a buffer changed: retry waiters, wake pollers */
	FS_EV_INVAL, /* drop cached pages/attributes, then answer @req */
	FS_EV_FORGET_ENTRY, /* drop the kernel's entry @name in dir @ino */
};

struct fs_event {
	enum fs_event_kind kind;
	struct dmabuf_buffer *buf; /* CHANGED: holds a reference */
	uint64_t ino;
	bool attrs_only;
	fuse_req_t req; /* INVAL: answered after the invalidation */
	int result;
	void *reply;
	size_t reply_len;
	TAILQ_ENTRY(fs_event) link;
	char name[]; /* FORGET_ENTRY */
};

/* What each uid is limited in (limits.c). */
enum fs_limit {
	FS_LIMIT_BUFFERS,
	FS_LIMIT_HANDLES,
	FS_LIMIT_WAITERS,
	FS_LIMIT_TOKENS,
	FS_LIMIT_SNAPSHOTS,
	FS_LIMIT_ATTACHMENTS,
	FS_LIMIT_MAPPINGS,
	FS_LIMIT_BYTES, /* placed bytes, every heap */
	FS_LIMIT_CMA_BYTES, /* placed bytes on the cma heap */
	FS_LIMIT_FENCES, /* fence ids, imports, .sync_file handles */
	FS_LIMIT_FDS, /* descriptors the daemon keeps for a client */
	FS_NR_LIMITS,
};

/**
 * struct fs_limits - what each uid holds, and may hold
 * @lock: guards @uids; taken after any other lock
 * @uids: tsearch tree of struct uid_usage (limits.c)
 * @max: per-uid maximum of each kind, 0 for no limit
 */
struct fs_limits {
	pthread_mutex_t lock;
	void *uids;
	uint64_t max[FS_NR_LIMITS];
};

/* -o passthrough= */
enum fs_passthrough_mode {
	FS_PASSTHROUGH_AUTO,
	FS_PASSTHROUGH_ON,
	FS_PASSTHROUGH_OFF,
};

/**
 * struct fs_passthrough - what INIT settled about passthrough (passthrough.c)
 * @mode: what was asked for
 * @want: the mode and the daemon's privileges allow it
 * @init_unique: the INIT request's id; 0 before it, UINT64_MAX after
 * @offered: the kernel offered FUSE_PASSTHROUGH
 * @killpriv_v2: the kernel offered FUSE_HANDLE_KILLPRIV_V2
 * @enabled: the daemon accepted it; set once, read without a lock
 * @why_not: why it is not enabled
 */
struct fs_passthrough {
	enum fs_passthrough_mode mode;
	bool want;
	uint64_t init_unique;
	bool offered;
	bool killpriv_v2;
	bool enabled;
	const char *why_not;
};

/* The numeric mount options, each parsed by one rule (dmabuffs.c). */
enum fs_num_opt {
	FS_OPT_CMA_SIZE,
	FS_OPT_SYSTEM_SIZE,
	FS_OPT_TOKEN_TTL_MS,
	FS_OPT_ROOT_MODE,
	FS_OPT_MAX_BUFFERS,
	FS_OPT_MAX_HANDLES,
	FS_OPT_MAX_WAITERS,
	FS_OPT_MAX_TOKENS,
	FS_OPT_MAX_SNAPSHOTS,
	FS_OPT_MAX_ATTACHMENTS,
	FS_OPT_MAX_MAPPINGS,
	FS_OPT_MAX_BYTES,
	FS_OPT_CMA_MAX_BYTES,
	FS_OPT_FENCE_TIMEOUT_MS,
	FS_OPT_MAX_FENCES,
	FS_OPT_MAX_FDS,
	FS_NR_NUM_OPTS,
};

struct fs_options {
	char *devices;
	char *passthrough;
	char *sync_fast;
	char *heap_dir;
	char *default_heap;
	char *num_text[FS_NR_NUM_OPTS];
	int no_builtin_devices;
	uint64_t cma_size;
	uint64_t system_size;
	unsigned int token_ttl_ms;
	unsigned int root_mode;
	unsigned int fence_timeout_ms;
	uint64_t max[FS_NR_LIMITS];
};

/**
 * struct fs - the mounted file system
 * @core: the object model
 * @se: the FUSE session
 * @lock: guards the namespace, files and waiters
 * @names: tsearch tree of inodes by name
 * @inodes: tsearch tree of inodes by number
 * @nr_names: named inodes
 * @waiters: parked requests
 * @wanting: files waiting for CPU access without parking (fs_file.want)
 * @ev_lock: guards @events and @stop
 * @ev_cond: signalled when @events grows or @stop is set
 * @events: the notifier's queue
 * @stop: the notifier must exit
 * @inval_inflight: invalidations queued and not yet done, plus brackets
 *                  deciding whether to wait for one (see reply_synced())
 * @notifier: the notifier thread
 * @virtual_files: open .bufinfo/.stats snapshots
 * @dirs: open directory snapshots (struct dir_snapshot, dir.c)
 * @zc: the zero-copy side channel
 * @closer: closes the memfds whose last reference the daemon may hold
 *          (fdpass.c), so that freeing their pages waits for nobody
 * @owner: uid that mounted the file system (may edit the device registry)
 * @root_mode: permission bits of the root (who may create buffers)
 * @mount_time: times of the root
 * @staging_lock: guards every inode's staging (staging.c); fs.lock may be
 *                held when it is taken, never taken under it
 * @limits: what each uid holds, and may hold
 * @pt: passthrough (passthrough.c)
 * @fences: tsearch tree of explicit fences by id (fences.c)
 * @unclaimed: ids no handle bound yet, oldest first (fences.c)
 * @sync_files: open .sync_file handles (fences.c)
 */
struct fs {
	struct dmabuf_core *core;
	struct fuse_session *se;
	pthread_mutex_t lock;
	void *names;
	void *inodes;
	uint64_t nr_names;
	TAILQ_HEAD(, fs_waiter) waiters;
	LIST_HEAD(, fs_file) wanting;
	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	TAILQ_HEAD(, fs_event) events;
	bool stop;
	unsigned int inval_inflight;
	pthread_t notifier;
	LIST_HEAD(, fs_file) virtual_files;
	LIST_HEAD(, dir_snapshot) dirs;
	struct zc *zc;
	struct fs_reaper *closer;
	uid_t owner;
	mode_t root_mode;
	unsigned int fence_timeout_ms;
	struct timespec mount_time;
	pthread_mutex_t staging_lock;
	struct fs_limits limits;
	struct fs_passthrough pt;
	void *fences;
	TAILQ_HEAD(, fs_fence) unclaimed;
	LIST_HEAD(, fs_sync_file) sync_files;
	bool sync_fast;
	pthread_mutex_t sync_lock;
	LIST_HEAD(, fs_sync_area) sync_areas;
	uint64_t sync_ids, sync_cookies;
};

/**
 * struct fs_virtual - a read-only file of the root that is not a buffer
 * @name: its name
 * @ino: its inode number
 * @render: write its text (malloc'ed) for one open
 */
struct fs_virtual {
	const char *name;
	uint64_t ino;
	int (*render)(struct fs *fs, const struct fuse_ctx *ctx, char **text,
		      size_t *len);
};

/* What the daemon counts (.stats); requests first. */
enum fs_counter {
	FS_OP_LOOKUP,
	FS_OP_FORGET,
	FS_OP_GETATTR,
	FS_OP_SETATTR,
	FS_OP_CREATE,
	FS_OP_MKNOD,
	FS_OP_UNLINK,
	FS_OP_RENAME,
	FS_OP_OPEN,
	FS_OP_READ,
	FS_OP_WRITE,
	FS_OP_FLUSH,
	FS_OP_FSYNC,
	FS_OP_RELEASE,
	FS_OP_OPENDIR,
	FS_OP_READDIR,
	FS_OP_RELEASEDIR,
	FS_OP_STATFS,
	FS_OP_IOCTL,
	FS_OP_POLL,
	FS_OP_XATTR,
	FS_OP_REFUSED,
	FS_NR_REQUEST_COUNTERS,
	FS_EV_INVAL_SENT = FS_NR_REQUEST_COUNTERS,
	FS_EV_POLL_SENT,
	FS_PARKED,
	FS_TOKENS_ISSUED,
	FS_TOKENS_REDEEMED,
	FS_TOKENS_REFUSED,
	FS_LIMIT_REFUSED,
	FS_PT_BACKING_OPENED,
	FS_PT_BACKING_CLOSED,
	FS_PT_BACKING_REFUSED,
	FS_REVOKED,
	FS_NR_COUNTERS,
};

/* limits.c */
void fs_limits_init(struct fs_limits *lim, const uint64_t max[FS_NR_LIMITS]);
void fs_limits_destroy(struct fs_limits *lim);
int fs_charge(struct fs *fs, uid_t uid, enum fs_limit what);

/* syncslots.c: SYNC in shared memory */
#define FS_SYNC_SLOTS 16384U /* per uid: a file of 1 MiB */
int fs_sync_grant(struct fs *fs, const struct fuse_ctx *ctx,
		  struct fs_file *file, struct dmabuf_sync_grant *g);
void fs_sync_give_allocation(struct fs *fs, const struct fuse_ctx *ctx,
			     struct fs_file *file);
void fs_sync_release(struct fs *fs, struct fs_file *file);
int fs_sync_file_fd(struct fs *fs, uid_t uid, uint64_t *id);
uint64_t fs_sync_file_size(void);
void fs_sync_areas_free(struct fs *fs);
void fs_uncharge(struct fs *fs, uid_t uid, enum fs_limit what);
int fs_charge_n(struct fs *fs, uid_t uid, enum fs_limit what, uint64_t n);
void fs_uncharge_n(struct fs *fs, uid_t uid, enum fs_limit what, uint64_t n);
extern const struct dmabuf_accounting fs_accounting;
void fs_limits_report(struct fs *fs, const struct fuse_ctx *ctx, FILE *f);
const char *fs_limit_name(enum fs_limit what);
void fs_log_refusal(uid_t uid, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fs_charge_snapshot(struct fs *fs, uid_t uid);
void fs_uncharge_snapshot(struct fs *fs, uid_t uid);

/* counters.c */
void fs_count(enum fs_counter c);
uint64_t fs_counter(enum fs_counter c);
const char *fs_counter_name(enum fs_counter c);

/* virtual.c */
const struct fs_virtual *fs_virtual_by_ino(uint64_t ino);
const struct fs_virtual *fs_virtual_by_name(const char *name);
const struct fs_virtual *fs_virtual_first(void);

/**
 * fs_sees_all() - may @ctx see every buffer and uid (.bufinfo, .stats)?
 * @fs: the file system
 * @ctx: the reader
 *
 * Root and the mount's owner: the kernel's bufinfo is root's debugfs file.
 */
static inline bool fs_sees_all(const struct fs *fs, const struct fuse_ctx *ctx)
{
	return ctx->uid == 0 || ctx->uid == fs->owner;
}

/**
 * fs_may_revoke() - may @uid end others' fences on a buffer owned by @owner?
 * @fs: the file system
 * @uid: who would
 * @owner: the buffer's owner (fs_inode.uid)
 *
 * The buffer's owner, root and the mount's owner: the one rule for
 * DMABUF_IOCTL_REVOKE and for fence_timeout_ms, so a wait revokes only on
 * behalf of a uid that could revoke by hand.
 */
static inline bool fs_may_revoke(const struct fs *fs, uid_t uid, uid_t owner)
{
	return uid == owner || uid == 0 || uid == fs->owner;
}

/* The file system a request is for. */
static inline struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Times of files, as the kernel's are: the wall clock. */
static inline void fs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* namespace.c */
struct fs_inode *fs_inode_get_locked(struct fs *fs, uint64_t ino);
struct fs_inode *fs_inode_by_name_locked(struct fs *fs, const char *name);
int fs_inode_publish_locked(struct fs *fs, struct fs_inode *inode);
void fs_name_drop_locked(struct fs *fs, struct fs_inode *inode);
int fs_name_move_locked(struct fs *fs, struct fs_inode *inode, char *name);
void fs_inode_maybe_free_locked(struct fs *fs, struct fs_inode *inode);
void fs_fill_attr(struct fs *fs, const struct fs_inode *inode, struct stat *st);
void fs_inode_fold_times_locked(struct fs_inode *inode, bool written);
void fs_fill_virtual_attr(struct fs *fs, const struct fs_virtual *v,
			  struct stat *st);
void fs_fill_entry(struct fs *fs, const struct fs_inode *inode,
		   struct fuse_entry_param *e);
int fs_buffer_info(struct fs *fs, const struct fuse_ctx *ctx,
		   struct dmabuf_info *info);
int fs_visible_inos(struct fs *fs, const struct fuse_ctx *ctx, uint64_t **inos,
		    size_t *n);
void fs_namespace_release_all(struct fs *fs);

/* ops.c: the namespace's requests */
void fs_init(void *userdata, struct fuse_conn_info *conn);
void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_forget_multi(fuse_req_t req, size_t count,
		     struct fuse_forget_data *forgets);
void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev);
void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name);
void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
	     const char *name);
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags);
void fs_statfs(fuse_req_t req, fuse_ino_t ino);

/* files.c: open files */
int fs_file_open(struct fs *fs, struct fs_inode *inode,
		 const struct fuse_ctx *ctx, int flags, struct fs_file **out);
void fs_file_close(struct fs *fs, struct fs_file *file);
int fs_handle_open_locked(struct fs *fs, struct fs_inode *inode,
			  const struct fuse_ctx *ctx, struct fuse_file_info *fi,
			  int *backing_id);
void fs_reply_opened(fuse_req_t req, const struct fuse_entry_param *e,
		     struct fuse_file_info *fi, int backing_id);
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		  off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_virtual_files_release_all(struct fs *fs);

/* dir.c: listings */
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_dirs_release_all(struct fs *fs);

/* ioctl.c */
void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	      struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
	      size_t in_bufsz, size_t out_bufsz);
void fs_ioctl_reply(struct fs_ioctl_call *c, int ret);
void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	     struct fuse_pollhandle *ph);

/* wait.c */
void fs_poll_arm(struct fs *fs, struct fuse_pollhandle **slot,
		 struct fuse_pollhandle *ph);
void fs_wait_or_eagain(fuse_req_t req, struct fs_file *file,
		       const struct fs_waiter *tmpl);
void fs_want_cpu(struct fs *fs, struct fs_file *file,
		 const struct fuse_ctx *ctx, uint32_t dir);
void fs_want_done(struct fs *fs, struct fs_file *file);
void fs_want_done_locked(struct fs_file *file);
void fs_retry_waiters(struct fs *fs, struct dmabuf_buffer *buf);
void fs_fail_waiters(struct fs *fs);
void fs_reply_synced(fuse_req_t req, struct fs_file *file, int ret,
		     const void *out, size_t len);
int fs_notifier_start(struct fs *fs);
void fs_notifier_stop(struct fs *fs);
void fs_core_changed(void *arg, struct dmabuf_buffer *buf);
void fs_forget_entry(struct fs *fs, uint64_t dir, const char *name);
void fs_reply_after_inval(struct fs *fs, fuse_req_t req, uint64_t ino,
			  bool attrs_only, int result, const void *reply,
			  size_t reply_len);

/* zerocopy.c */
int fs_zc_start(struct fs *fs, unsigned int token_ttl_ms);
void fs_zc_stop(struct fs *fs);
int fs_zc_issue(struct fs *fs, const struct fuse_ctx *ctx, struct fs_file *file,
		struct dmabuf_token *tok);

/* fdpass.c */
struct fs_reaper;
int fs_fd_handout(int fd, bool write);
int fs_reaper_start(struct fs *fs, bool charge, struct fs_reaper **out);
void fs_reaper_take(struct fs_reaper *rp, uid_t uid, int fd);
bool fs_reaper_stop(struct fs_reaper *rp);
void fs_close_later(void *arg, int fd);
void fs_close_memfd(struct fs *fs, int fd);

/* Is @fd a memfd (shmem or hugetlbfs)?  Asks no file system: cannot block. */
static inline bool fs_is_memfd(int fd)
{
	return fcntl(fd, F_GET_SEALS) >= 0;
}

/* passthrough.c */
int fs_passthrough_parse_mode(const char *text, enum fs_passthrough_mode *mode);
int fs_passthrough_setup(struct fs *fs, enum fs_passthrough_mode mode);
bool fs_passthrough_enabled(struct fs *fs);
const char *fs_passthrough_why_not(struct fs *fs);
int fs_passthrough_open(struct fs *fs, int fd, uint64_t ino);
void fs_passthrough_close(struct fs *fs, int id);
int fs_passthrough_reply_open(fuse_req_t req, const struct fuse_entry_param *e,
			      const struct fuse_file_info *fi, int backing_id);

/* devnodes.c */
bool fs_devnode_ino(uint64_t ino);
bool fs_devnode_heap(uint64_t ino);
bool fs_devnode_name(const char *name);
int fs_devnode_attr(struct fs *fs, uint64_t ino, struct stat *st);
int fs_devnode_lookup(struct fs *fs, uint64_t parent, const char *name,
		      struct stat *st);
void fs_devnode_list(struct fs *fs, uint64_t dir,
		     void (*add)(void *arg, const char *name, uint64_t ino,
				 mode_t mode),
		     void *arg);

/* fences.c */
int fs_fence_export(struct fs *fs, const struct fuse_ctx *ctx,
		    struct fs_file *file, struct dmabuf_fence_export *e);
int fs_fence_import(struct fs *fs, const struct fuse_ctx *ctx,
		    struct fs_file *file,
		    const struct dmabuf_fence_import *imp);
int fs_sync_file_open(struct fs *fs, uid_t uid, struct fuse_file_info *fi);
void fs_sync_file_release(struct fs *fs, struct fuse_file_info *fi);
int fs_fence_bind(struct fs *fs, struct fs_sync_file *sf, uint64_t id);
int fs_fence_merge(struct fs *fs, uid_t uid, struct fs_sync_file *sf,
		   struct dmabuf_fence_merge *m);
int fs_fence_info(struct fs *fs, struct fs_sync_file *sf,
		  struct dmabuf_fence_info *in);
int fs_fence_set_deadline(struct fs *fs, struct fs_sync_file *sf,
			  uint64_t deadline_ns);
void fs_sync_file_poll(fuse_req_t req, struct fuse_file_info *fi,
		       struct fuse_pollhandle *ph);
void fs_fences_release_all(struct fs *fs);

/* staging.c */
ssize_t fs_stage_write(struct fs *fs, struct fs_file *file,
		       struct fuse_bufvec *in, off_t off);
bool fs_stage_read(struct fs *fs, struct fs_file *file, fuse_req_t req,
		   size_t size, off_t off);
int fs_stage_fix(struct fs *fs, struct fs_inode *inode,
		 const struct fs_file *file, uint64_t size);
void fs_stage_drop(struct fs *fs, struct fs_inode *inode);

/* udmabuf.c */
int fs_udmabuf_bind(struct dmabuf_buffer *buf, const void *msg, size_t len,
		    int *fds, unsigned int nr_fds);
int fs_udmabuf_describe(struct dmabuf_buffer *buf, bool write,
			struct dmabuf_backing *out, size_t *len, int *fds,
			unsigned int *nr_fds);

/* xattr.c */
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif /* DMABUFFS_FS_H */
