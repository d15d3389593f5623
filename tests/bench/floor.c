// SPDX-License-Identifier: MIT
/*
 * DOC: the FUSE floor
 *
 * The least a low-level FUSE server can do: one file, "f", whose ioctls are
 * answered at once with the input echoed back.  Run with the same loop as
 * dmabuffs (multi-threaded, same idle threads), it measures the cost of a
 * bare FUSE ioctl round trip on this machine, the floor every dmabuffs
 * ioctl path is compared with.
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INO 2

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = ino == FILE_INO ? S_IFREG | 0666 : S_IFDIR | 0755;
	st->st_nlink = 1;
	st->st_size = ino == FILE_INO ? 4096 : 0;
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {
		.ino = FILE_INO, .attr_timeout = 1, .entry_timeout = 1};

	if (parent != FUSE_ROOT_ID || strcmp(name, "f")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	fill(ino, &st);
	fuse_reply_attr(req, &st, 1);
}

static void floor_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_open(req, fi);
}

static void floor_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0);
}

static void floor_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
			void *arg, struct fuse_file_info *fi,
			unsigned int flags, const void *in_buf, size_t in_bufsz,
			size_t out_bufsz)
{
	(void)ino, (void)cmd, (void)arg, (void)fi, (void)flags;
	fuse_reply_ioctl(req, 0, in_buf,
			 in_bufsz < out_bufsz ? in_bufsz : out_bufsz);
}

static const struct fuse_lowlevel_ops floor_ops = {
	.lookup = floor_lookup,
	.getattr = floor_getattr,
	.open = floor_open,
	.flush = floor_ok,
	.release = floor_ok,
	.ioctl = floor_ioctl,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_loop_config loop = {.clone_fd = 0, .max_idle_threads = 16};
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int ret = 1;

	if (fuse_parse_cmdline(&args, &opts) || !opts.mountpoint)
		return 1;
	se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops), NULL);
	if (se && !fuse_set_signal_handlers(se) &&
	    !fuse_session_mount(se, opts.mountpoint)) {
		ret = fuse_session_loop_mt(se, &loop) < 0;
		fuse_session_unmount(se);
	}
	if (se) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
