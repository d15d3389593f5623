// SPDX-License-Identifier: MIT
/*
 * DOC: dmabuffs, the daemon
 *
 * dmabuffs [options] [MOUNTPOINT]
 *
 * Builds the object model (heaps, devices), mounts it with libfuse's
 * low-level API at MOUNTPOINT (default /run/dmabuf, created when run as
 * root), and serves requests until unmounted or sent SIGTERM, SIGINT or
 * SIGHUP, which unmount cleanly even while files are open.  Accepts the
 * argument order of mount.fuse3 (`mount -t fuse.dmabuffs dmabuffs DIR`).
 *
 * The top of the daemon: it builds the object model, holds the table of
 * request handlers and starts and stops every file's part; nothing calls
 * into it.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"
#include "mountinfo.h"

#define DEFAULT_MOUNTPOINT "/run/dmabuf"

#define FS_OPT(t, p, v)                              \
	{                                            \
		t, offsetof(struct fs_options, p), v \
	}

static const struct fuse_opt fs_opt_spec[] = {
	FS_OPT("devices=%s", devices, 0),
	FS_OPT("passthrough=%s", passthrough, 0),
	FS_OPT("sync_fast=%s", sync_fast, 0),
	FS_OPT("heap_dir=%s", heap_dir, 0),
	FS_OPT("default_heap=%s", default_heap, 0),
	FS_OPT("no_builtin_devices", no_builtin_devices, 1),
	/* Numbers are taken as text: parse_numbers() checks each. */
	FS_OPT("cma_size=%s", num_text[FS_OPT_CMA_SIZE], 0),
	FS_OPT("system_size=%s", num_text[FS_OPT_SYSTEM_SIZE], 0),
	FS_OPT("token_ttl_ms=%s", num_text[FS_OPT_TOKEN_TTL_MS], 0),
	FS_OPT("root_mode=%s", num_text[FS_OPT_ROOT_MODE], 0),
	FS_OPT("max_buffers=%s", num_text[FS_OPT_MAX_BUFFERS], 0),
	FS_OPT("max_handles=%s", num_text[FS_OPT_MAX_HANDLES], 0),
	FS_OPT("max_waiters=%s", num_text[FS_OPT_MAX_WAITERS], 0),
	FS_OPT("max_tokens=%s", num_text[FS_OPT_MAX_TOKENS], 0),
	FS_OPT("max_snapshots=%s", num_text[FS_OPT_MAX_SNAPSHOTS], 0),
	FS_OPT("max_attachments=%s", num_text[FS_OPT_MAX_ATTACHMENTS], 0),
	FS_OPT("max_mappings=%s", num_text[FS_OPT_MAX_MAPPINGS], 0),
	FS_OPT("max_bytes=%s", num_text[FS_OPT_MAX_BYTES], 0),
	FS_OPT("cma_max_bytes=%s", num_text[FS_OPT_CMA_MAX_BYTES], 0),
	FS_OPT("fence_timeout_ms=%s", num_text[FS_OPT_FENCE_TIMEOUT_MS], 0),
	FS_OPT("max_fences=%s", num_text[FS_OPT_MAX_FENCES], 0),
	FS_OPT("max_fds=%s", num_text[FS_OPT_MAX_FDS], 0),
	FUSE_OPT_END,
};

enum num_kind {
	NUM_COUNT, /* decimal digits */
	NUM_SIZE, /* decimal digits and K, M, G or T (dmabuf_parse_size()) */
	NUM_MODE, /* octal digits */
};

/**
 * struct num_rule - what one numeric option accepts
 * @name: the option
 * @kind: how it is written
 * @min: smallest value (0 lifts a per-uid limit, where @min is 0)
 * @max: largest value; 0 for the machine's RAM
 * @def: the value when the option is not given
 */
struct num_rule {
	const char *name;
	enum num_kind kind;
	uint64_t min;
	uint64_t max;
	uint64_t def;
};

static const struct num_rule num_rules[FS_NR_NUM_OPTS] = {
	[FS_OPT_CMA_SIZE] = {"cma_size", NUM_SIZE, DMABUF_CMA_MIN_SIZE,
			     DMABUF_CMA_MAX_SIZE, DMABUF_DEFAULT_CMA_SIZE},
	[FS_OPT_SYSTEM_SIZE] = {"system_size", NUM_SIZE, DMABUF_SYSTEM_MIN_SIZE,
				0, 0},
	[FS_OPT_TOKEN_TTL_MS] = {"token_ttl_ms", NUM_COUNT, 1, 3600000, 5000},
	[FS_OPT_ROOT_MODE] = {"root_mode", NUM_MODE, 0, 07777, 0755},
	[FS_OPT_MAX_BUFFERS] = {"max_buffers", NUM_COUNT, 0, 1U << 24, 131072},
	[FS_OPT_MAX_HANDLES] = {"max_handles", NUM_COUNT, 0, 1U << 24, 65536},
	[FS_OPT_MAX_WAITERS] = {"max_waiters", NUM_COUNT, 0, 1U << 20, 1024},
	[FS_OPT_MAX_TOKENS] = {"max_tokens", NUM_COUNT, 0, 4096, 256},
	[FS_OPT_MAX_SNAPSHOTS] = {"max_snapshots", NUM_COUNT, 0, 65536, 64},
	[FS_OPT_MAX_ATTACHMENTS] = {"max_attachments", NUM_COUNT, 0, 1U << 24,
				    4096},
	[FS_OPT_MAX_MAPPINGS] = {"max_mappings", NUM_COUNT, 0, 1U << 24, 4096},
	/* Bytes: 0 (no quota) unless a multi-user mount sets one. */
	[FS_OPT_MAX_BYTES] = {"max_bytes", NUM_SIZE, 0, 1ULL << 50, 0},
	[FS_OPT_CMA_MAX_BYTES] = {"cma_max_bytes", NUM_SIZE, 0,
				  DMABUF_CMA_MAX_SIZE, 0},
	[FS_OPT_FENCE_TIMEOUT_MS] = {"fence_timeout_ms", NUM_COUNT, 0, 3600000,
				     5000},
	[FS_OPT_MAX_FENCES] = {"max_fences", NUM_COUNT, 0, 1U << 20, 1024},
	[FS_OPT_MAX_FDS] = {"max_fds", NUM_COUNT, 0, 1U << 20, 1024},
};

/* Digits of @base only, no sign, no space, no prefix; no overflow. */
static int parse_digits(const char *text, int base, uint64_t *out)
{
	const char *c;
	char *end;

	for (c = text; *c; c++)
		if (*c < '0' || *c >= '0' + base)
			return -EINVAL;
	errno = 0;
	*out = strtoull(text, &end, base);
	return c == text || errno ? -EINVAL : 0;
}

static void say_range(const struct num_rule *r, uint64_t max, const char *text)
{
	static const char *const what[] = {
		[NUM_COUNT] = "a number",
		[NUM_SIZE] = "a size",
		[NUM_MODE] = "an octal mode",
	};

	fprintf(stderr, "dmabuffs: option %s: \"%s\" is not %s between ",
		r->name, text, what[r->kind]);
	if (r->kind == NUM_MODE)
		fprintf(stderr, "%llo and %llo\n", (unsigned long long)r->min,
			(unsigned long long)max);
	else if (r->kind == NUM_SIZE)
		fprintf(stderr, "%lluM and %lluM%s\n",
			(unsigned long long)(r->min >> 20),
			(unsigned long long)(max >> 20),
			r->max ? "" : " (the machine's memory)");
	else
		fprintf(stderr, "%llu and %llu%s\n", (unsigned long long)r->min,
			(unsigned long long)max,
			r->min ? "" : " (0 lifts the limit)");
}

/**
 * parse_number() - the one rule for every numeric mount option
 * @r: the option's rule
 * @text: what was given, or NULL for the default
 * @out: the value
 *
 * Return: 0, or -EINVAL after saying why on stderr.
 */
static int parse_number(const struct num_rule *r, const char *text,
			uint64_t *out)
{
	uint64_t max = r->max ? r->max : dmabuf_system_ram();
	int ret;

	if (!text) {
		*out = r->def;
		return 0;
	}
	if (r->kind == NUM_SIZE)
		ret = dmabuf_parse_size(text, out);
	else
		ret = parse_digits(text, r->kind == NUM_MODE ? 8 : 10, out);
	if (ret || *out < r->min || *out > max) {
		say_range(r, max, text);
		return -EINVAL;
	}
	return 0;
}

static int parse_numbers(struct fs_options *o)
{
	uint64_t v[FS_NR_NUM_OPTS];
	int i;

	for (i = 0; i < FS_NR_NUM_OPTS; i++)
		if (parse_number(&num_rules[i], o->num_text[i], &v[i]))
			return -EINVAL;
	o->cma_size = v[FS_OPT_CMA_SIZE];
	o->system_size = v[FS_OPT_SYSTEM_SIZE]; /* 0: the machine's RAM */
	o->token_ttl_ms = (unsigned int)v[FS_OPT_TOKEN_TTL_MS];
	o->root_mode = (unsigned int)v[FS_OPT_ROOT_MODE];
	o->max[FS_LIMIT_BUFFERS] = v[FS_OPT_MAX_BUFFERS];
	o->max[FS_LIMIT_HANDLES] = v[FS_OPT_MAX_HANDLES];
	o->max[FS_LIMIT_WAITERS] = v[FS_OPT_MAX_WAITERS];
	o->max[FS_LIMIT_TOKENS] = v[FS_OPT_MAX_TOKENS];
	o->max[FS_LIMIT_SNAPSHOTS] = v[FS_OPT_MAX_SNAPSHOTS];
	o->max[FS_LIMIT_ATTACHMENTS] = v[FS_OPT_MAX_ATTACHMENTS];
	o->max[FS_LIMIT_MAPPINGS] = v[FS_OPT_MAX_MAPPINGS];
	o->max[FS_LIMIT_BYTES] = v[FS_OPT_MAX_BYTES];
	o->max[FS_LIMIT_CMA_BYTES] = v[FS_OPT_CMA_MAX_BYTES];
	o->max[FS_LIMIT_FENCES] = v[FS_OPT_MAX_FENCES];
	o->max[FS_LIMIT_FDS] = v[FS_OPT_MAX_FDS];
	o->fence_timeout_ms = (unsigned int)v[FS_OPT_FENCE_TIMEOUT_MS];
	return 0;
}

static void usage(const char *prog)
{
	printf("usage: %s [options] [MOUNTPOINT]\n"
	       "\n"
	       "Mount the dmabuffs user-space dma-buf file system at MOUNTPOINT\n"
	       "(default " DEFAULT_MOUNTPOINT
	       "). Every file is a buffer; every open\n"
	       "handle is a shareable dma-buf fd. See dmabuffs(8).\n"
	       "\n"
	       "dmabuffs options:\n"
	       "    -o cma_size=SIZE       capacity of the cma heap (default 256M, max 1792M)\n"
	       "    -o system_size=SIZE    capacity of the system heap (default: RAM)\n"
	       "    -o default_heap=NAME   heap for buffers sized without one (default system)\n"
	       "    -o devices=FILE        devices and constraints, see dmabuffs-devices(5)\n"
	       "    -o no_builtin_devices  do not register cpu, camera0, encoder0, display0, gpu0\n"
	       "    -o heap_dir=DIR        load heap plugins (*.so) from DIR\n"
	       "                           (default " DMABUFFS_HEAPDIR ")\n"
	       "    -o token_ttl_ms=N      lifetime of zero-copy tokens (default 5000)\n"
	       "    -o root_mode=MODE      permissions of the mount's root (default 0755;\n"
	       "                           1777 lets every user create buffers)\n"
	       "    -o max_buffers=N       buffers one uid may create (default 131072)\n"
	       "    -o max_handles=N       open files and zero-copy mappings per uid\n"
	       "                           (default 65536)\n"
	       "    -o max_waiters=N       requests one uid may have waiting (default 1024)\n"
	       "    -o max_tokens=N        unredeemed zero-copy tokens per uid (default 256)\n"
	       "    -o max_snapshots=N     open listings, .bufinfo, .stats per uid (default 64)\n"
	       "    -o max_attachments=N   device attachments per uid (default 4096)\n"
	       "    -o max_mappings=N      device mappings per uid (default 4096)\n"
	       "    -o max_bytes=SIZE      placed bytes per uid, all heaps (default: no quota)\n"
	       "    -o cma_max_bytes=SIZE  placed bytes per uid on the cma heap (default: none)\n"
	       "    -o max_fences=N        fence ids, imported fences and .sync_file handles\n"
	       "                           per uid (default 1024)\n"
	       "    -o max_fds=N           descriptors the daemon keeps per uid: zero-copy\n"
	       "                           connections, udmabuf memfds (default 1024)\n"
	       "    -o fence_timeout_ms=N  how long a device mapping of another uid may\n"
	       "                           keep a CPU access waiting (default 5000, 0: ever)\n"
	       "                           (0 lifts a limit; root is limited too)\n"
	       "    -o passthrough=MODE    auto (default): the kernel serves buffer bytes\n"
	       "                           from their memory when it can (needs Linux >= 6.9\n"
	       "                           and CAP_SYS_ADMIN); on: refuse to run without it;\n"
	       "                           off: every read and write goes through the daemon\n"
	       "    -o sync_fast=on|off    on (default): with passthrough, an uncontended\n"
	       "                           SYNC takes no request (shared memory); off: every\n"
	       "                           SYNC is an ioctl to the daemon\n"
	       "    -o allow_other         let other users reach the mount (mode bits apply)\n"
	       "\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static void log_syslog(int prio, const char *msg)
{
	syslog(prio, "%s", msg);
}

static bool is_positional(char **argv, int i)
{
	return argv[i][0] != '-' && (i < 2 || strcmp(argv[i - 1], "-o"));
}

static bool wants_info(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return true;
	return false;
}

/*
 * mount.fuse3 runs "dmabuffs SOURCE MOUNTPOINT -o ...": drop SOURCE.  With
 * no mountpoint at all, use the default.  Adds our fixed mount options.
 * Return: 0 or -ENOMEM.
 */
static int build_args(int argc, char **argv, struct fuse_args *args,
		      bool *defaulted)
{
	int i, positional = 0, first = -1;

	for (i = 1; i < argc; i++)
		if (is_positional(argv, i) && positional++ == 0)
			first = i;
	*defaulted = positional == 0 && !wants_info(argc, argv);
	for (i = 0; i < argc; i++)
		if (!(positional == 2 && i == first) &&
		    fuse_opt_add_arg(args, argv[i]))
			return -ENOMEM;
	if (*defaulted) {
		/* Created before libfuse resolves it with realpath(3). */
		if (geteuid() == 0 && mkdir(DEFAULT_MOUNTPOINT, 0755) &&
		    errno != EEXIST)
			fprintf(stderr, "dmabuffs: cannot create %s: %s\n",
				DEFAULT_MOUNTPOINT, strerror(errno));
		if (fuse_opt_add_arg(args, DEFAULT_MOUNTPOINT))
			return -ENOMEM;
	}
	if (fuse_opt_add_arg(args, "-odefault_permissions,fsname=dmabuffs,"
				   "subtype=dmabuffs"))
		return -ENOMEM;
	return 0;
}

static bool options_ok(struct fs_options *o, enum fs_passthrough_mode *pt_mode)
{
	*pt_mode = FS_PASSTHROUGH_AUTO;
	if (parse_numbers(o))
		return false;
	if (o->passthrough &&
	    fs_passthrough_parse_mode(o->passthrough, pt_mode)) {
		fprintf(stderr,
			"dmabuffs: option passthrough: \"%s\" is not auto, on or off\n",
			o->passthrough);
		return false;
	}
	if (o->sync_fast && strcmp(o->sync_fast, "on") &&
	    strcmp(o->sync_fast, "off")) {
		fprintf(stderr,
			"dmabuffs: option sync_fast: \"%s\" is not on or off\n",
			o->sync_fast);
		return false;
	}
	return true;
}

/* Is @dir the mount point of a live dmabuffs mount?  From mountinfo. */
static bool dmabuffs_mounted_at(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct dmabuf_mountinfo m;
	bool found = false;

	while (f && !found && dmabuf_mountinfo_next(f, &m))
		found = !strcmp(m.fstype, "fuse.dmabuffs") &&
			!strcmp(m.mount_point, dir);
	if (f)
		fclose(f);
	return found;
}

/*
 * libfuse mounts on a regular file, and over a mount at the same place:
 * the first gives a file whose every access is EIO, the second hides a
 * live mount and its buffers.  Refuse both, naming the path.
 * Return: 0, or -errno (ENOTCONN, ENOTDIR, EBUSY, stat(2)'s) once said.
 */
static int mountpoint_ok(const char *dir)
{
	struct stat st;
	unsigned int fd;
	int end = 0;

	/* mount.fuse3 -o drop_privileges: an open /dev/fuse, mounted already */
	if (sscanf(dir, "/dev/fd/%u%n", &fd, &end) == 1 && !dir[end])
		return 0;
	if (stat(dir, &st) && errno == ENOTCONN) {
		fprintf(stderr,
			"dmabuffs: %s is a dead mount: its daemon is gone; "
			"unmount it first (fusermount3 -u %s)\n",
			dir, dir);
		return -ENOTCONN;
	}
	if (stat(dir, &st)) {
		int err = errno;

		fprintf(stderr, "dmabuffs: mount point %s: %s\n", dir,
			strerror(err));
		return -err;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dmabuffs: mount point %s is not a directory\n",
			dir);
		return -ENOTDIR;
	}
	if (dmabuffs_mounted_at(dir)) {
		fprintf(stderr,
			"dmabuffs: %s is already a dmabuffs mount; unmount it "
			"first (fusermount3 -u %s)\n",
			dir, dir);
		return -EBUSY;
	}
	return 0;
}

/* The object model the options describe.  Return: 0 or -errno, once said. */
static int build_core(const struct fs_options *o, struct dmabuf_core **core)
{
	struct dmabuf_core_config cfg = {.default_heap = o->default_heap,
					 .cma_size = o->cma_size,
					 .system_size = o->system_size};
	struct stat st;
	int ret = dmabuf_core_new(&cfg, core);

	if (ret) {
		fprintf(stderr, "dmabuffs: cannot set up heaps: %s\n",
			strerror(-ret));
		return ret;
	}
	if (o->devices)
		ret = dmabuf_core_device_load_file(*core, o->devices);
	if (!ret && !o->no_builtin_devices)
		ret = dmabuf_core_device_add_builtin(*core);
	if (!ret && o->heap_dir)
		ret = dmabuf_heap_load_dir(*core, o->heap_dir);
	if (ret < 0)
		goto err;
	if (!o->heap_dir && stat(DMABUFFS_HEAPDIR, &st) == 0)
		dmabuf_heap_load_dir(*core, DMABUFFS_HEAPDIR);
	if (!dmabuf_heap_exists(*core, dmabuf_core_default_heap(*core))) {
		fprintf(stderr, "dmabuffs: default heap '%s' does not exist\n",
			dmabuf_core_default_heap(*core));
		ret = -ENODEV;
		goto err;
	}
	return 0;
err:
	dmabuf_core_free(*core);
	return ret;
}

/*
 * The kernel offers FUSE at most 128 KiB of readahead, so sequential reads
 * arrive as 128 KiB requests.  Root may widen the mount's BDI window; 512
 * KiB is the largest request libfuse can still splice (see fs_read).  The
 * device number comes from mountinfo: the daemon must not stat(2) its own
 * mount.
 */
static void widen_readahead(const char *mountpoint)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct dmabuf_mountinfo m;
	bool found = false;
	char path[128];

	while (f && !found && dmabuf_mountinfo_next(f, &m))
		found = !strcmp(m.mount_point, mountpoint);
	if (f)
		fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 m.major, m.minor);
	f = fopen(path, "we");
	if (!f) {
		dmabuf_log(LOG_DEBUG, "readahead stays at 128 KiB: %s",
			   strerror(errno));
		return;
	}
	fprintf(f, "512\n");
	if (fclose(f))
		dmabuf_log(LOG_DEBUG, "readahead stays at 128 KiB: %s",
			   strerror(errno));
}

/*
 * Each placed buffer and each zero-copy mapping holds a descriptor in the
 * daemon; the per-uid limits bound them, the soft limit (often 1024) should
 * not.  Raise it as far as allowed.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		dmabuf_log(LOG_WARNING, "descriptor limit stays low: %s",
			   strerror(errno));
}

/* What the closer holds is closed before it stops; the core closes itself. */
static void stop_closer(struct fs *fs)
{
	if (!fs->closer)
		return;
	dmabuf_core_set_closer(fs->core, NULL, NULL);
	fs_reaper_stop(fs->closer);
	fs->closer = NULL;
}

static int serve(struct fs *fs, const struct fuse_cmdline_opts *cmd,
		 const struct fs_options *opts,
		 enum fs_passthrough_mode pt_mode)
{
	struct fuse_loop_config loop = {.clone_fd = cmd->clone_fd,
					.max_idle_threads = 16};
	int ret;

	if (fuse_set_signal_handlers(fs->se))
		return 1;
	if (fuse_session_mount(fs->se, cmd->mountpoint)) {
		ret = 1;
		goto out_signals;
	}
	widen_readahead(cmd->mountpoint);
	if (fs_passthrough_setup(fs, pt_mode)) {
		ret = 1;
		goto out_unmount;
	}
	if (fuse_daemonize(cmd->foreground)) {
		ret = 1;
		goto out_unmount;
	}
	if (!cmd->foreground) {
		dmabuf_log_set_handler(log_syslog);
		dmabuf_log_set_level(cmd->debug ? LOG_DEBUG : LOG_INFO);
	}
	ret = fs_notifier_start(fs);
	if (ret) {
		dmabuf_log(LOG_ERR, "cannot start the notifier: %s",
			   strerror(-ret));
		ret = 1;
		goto out_unmount;
	}
	ret = fs_reaper_start(fs, false, &fs->closer);
	if (!ret) {
		dmabuf_core_set_closer(fs->core, fs_close_later, fs);
		ret = fs_zc_start(fs, opts->token_ttl_ms);
	}
	if (ret) {
		dmabuf_log(LOG_ERR, "cannot open the zero-copy channel: %s",
			   strerror(-ret));
		stop_closer(fs);
		fs_notifier_stop(fs);
		ret = 1;
		goto out_unmount;
	}
	dmabuf_core_set_notify(fs->core, fs_core_changed, fs);
	dmabuf_log(LOG_INFO, "mounted at %s", cmd->mountpoint);
	/* 0, -errno, or the number of the signal that stopped it. */
	ret = cmd->singlethread ? fuse_session_loop(fs->se)
				: fuse_session_loop_mt(fs->se, &loop);
	ret = ret < 0;
	if (pt_mode == FS_PASSTHROUGH_ON && !fs_passthrough_enabled(fs))
		ret = 1; /* INIT did not give it: the loop was stopped */
	dmabuf_core_set_notify(fs->core, NULL, NULL);
	fs_zc_stop(fs);
	stop_closer(fs);
	fs_notifier_stop(fs);
	fs_fail_waiters(fs);
	dmabuf_log(LOG_INFO, "unmounting %s", cmd->mountpoint);
out_unmount:
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
	return ret;
}

static void fs_init_struct(struct fs *fs, struct dmabuf_core *core,
			   const struct fs_options *opts)
{
	pthread_condattr_t attr;

	memset(fs, 0, sizeof(*fs));
	fs->core = core;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->ev_lock, NULL);
	pthread_mutex_init(&fs->staging_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* for its ticks */
	pthread_cond_init(&fs->ev_cond, &attr);
	pthread_condattr_destroy(&attr);
	TAILQ_INIT(&fs->waiters);
	LIST_INIT(&fs->wanting);
	TAILQ_INIT(&fs->events);
	LIST_INIT(&fs->virtual_files);
	LIST_INIT(&fs->dirs);
	LIST_INIT(&fs->sync_files);
	pthread_mutex_init(&fs->sync_lock, NULL);
	LIST_INIT(&fs->sync_areas);
	fs->sync_fast = !opts->sync_fast || !strcmp(opts->sync_fast, "on");
	TAILQ_INIT(&fs->unclaimed);
	fs->owner = getuid();
	fs->root_mode = opts->root_mode;
	fs->fence_timeout_ms = opts->fence_timeout_ms;
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);
	fs_limits_init(&fs->limits, opts->max);
	dmabuf_core_set_accounting(core, &fs_accounting, fs);
}

/*
 * Every request the daemon answers, and the file that answers it: ops.c the
 * namespace, files.c open files, dir.c listings, ioctl.c ioctls and poll,
 * xattr.c extended attributes.
 */
static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.symlink = fs_symlink,
	.link = fs_link,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.create = fs_create,
	.open = fs_open,
	.read = fs_read,
	.write_buf = fs_write_buf,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
	.ioctl = fs_ioctl,
	.poll = fs_poll,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
};

/*
 * After the session ends: an unmount with files open delivers no releases,
 * so open directories, snapshots, inodes and sync_files are freed here, and
 * the core frees the buffers and handles afterwards.
 */
static void release_all(struct fs *fs)
{
	fs_fences_release_all(fs);
	fs_dirs_release_all(fs);
	fs_virtual_files_release_all(fs);
	fs_namespace_release_all(fs);
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_cmdline_opts cmd = {0};
	struct fs_options opts = {0};
	enum fs_passthrough_mode pt_mode;
	struct dmabuf_core *core;
	struct fs fs;
	bool defaulted;
	int ret = 1, i;

	if (build_args(argc, argv, &args, &defaulted) ||
	    fuse_opt_parse(&args, &opts, fs_opt_spec, NULL) ||
	    !options_ok(&opts, &pt_mode) || fuse_parse_cmdline(&args, &cmd))
		goto out_args;
	if (cmd.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (cmd.show_version) {
		printf("dmabuffs %s (libfuse %s)\n", DMABUFFS_VERSION,
		       fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (cmd.debug)
		dmabuf_log_set_level(LOG_DEBUG);
	else if (!cmd.foreground)
		dmabuf_log_set_level(
			LOG_WARNING); /* quiet on mount's terminal */
	raise_fd_limit();
	if (!cmd.mountpoint) {
		fprintf(stderr, "dmabuffs: no mount point (see --help)\n");
		goto out_args;
	}
	if (mountpoint_ok(cmd.mountpoint) || build_core(&opts, &core))
		goto out_args;
	fs_init_struct(&fs, core, &opts);
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (fs.se) {
		ret = serve(&fs, &cmd, &opts, pt_mode);
		fuse_session_destroy(fs.se);
	}
	release_all(&fs);
	dmabuf_core_set_accounting(core, NULL, NULL); /* limits go first */
	fs_limits_destroy(&fs.limits);
	dmabuf_core_free(core);
	fs_sync_areas_free(&fs); /* after the handles that used them */
out_args:
	free(cmd.mountpoint);
	free(opts.devices);
	free(opts.passthrough);
	free(opts.sync_fast);
	free(opts.heap_dir);
	free(opts.default_heap);
	for (i = 0; i < FS_NR_NUM_OPTS; i++)
		free(opts.num_text[i]);
	fuse_opt_free_args(&args);
	return ret;
}
