// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl fill and dump: file bytes into and out of a buffer
 *
 * Through the zero-copy mapping, with io_uring reading or writing the file
 * straight into or out of the buffer's memory, bracketed by CPU access as
 * a program would.
 *
 * Calls ctl-util.c and libdmabuf.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "ctl.h"

/* ---- fill and dump: file I/O with io_uring into the zero-copy mapping ---- */

#define CHUNK (1u << 20)
#define DEPTH 8

static void progress(uint64_t done, uint64_t total, bool show)
{
	int width = 40, filled;

	if (!show)
		return;
	filled = total ? (int)(done * (uint64_t)width / total) : width;
	fprintf(stderr, "\r[%.*s%*s] %3d%%", filled,
		"########################################", width - filled, "",
		total ? (int)(done * 100 / total) : 100);
	if (done == total)
		fputc('\n', stderr);
}

/* One request of a copy: the part of its chunk not yet moved. */
struct copy_slot {
	uint64_t off;
	unsigned int len;
};

/*
 * A stream (pipe, terminal) has no offsets: one request at a time, at its
 * current position.
 */
static void queue_slot(struct io_uring *ring, int file, char *mem,
		       struct copy_slot *slot, bool to_mem, bool stream)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint64_t pos = stream ? (uint64_t)-1 : slot->off;

	if (to_mem)
		io_uring_prep_read(sqe, file, mem + slot->off, slot->len, pos);
	else
		io_uring_prep_write(sqe, file, mem + slot->off, slot->len, pos);
	io_uring_sqe_set_data(sqe, slot);
}

/*
 * A completion: a short one queues the rest of its chunk again.  Return 1
 * when the slot is free, 0 when requeued, -errno on error; *@eof is set
 * when a stream ended.
 */
static int complete_slot(struct io_uring *ring, struct io_uring_cqe *cqe,
			 int file, char *mem, bool to_mem, bool stream,
			 uint64_t *done, bool *eof)
{
	struct copy_slot *slot = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	if (res < 0)
		return res;
	if (res == 0 && stream && to_mem) {
		*eof = true;
		return 1;
	}
	if (res == 0)
		return -EIO; /* the file ended early, or took nothing */
	*done += (uint64_t)res;
	if ((unsigned int)res == slot->len)
		return 1;
	slot->off += (uint64_t)res;
	slot->len -= (unsigned int)res;
	queue_slot(ring, file, mem, slot, to_mem, stream);
	return 0;
}

/*
 * Move up to @len bytes between @file and @mem with up to DEPTH requests in
 * flight, resubmitting the rest of any short read or write.  A stream is
 * read until it ends.  Return 0 or -errno; *@moved is what was copied.
 */
static int uring_copy(int file, char *mem, uint64_t len, bool to_mem,
		      bool stream, uint64_t *moved)
{
	bool show = isatty(STDERR_FILENO) && len >= (16u << 20), eof = false;
	unsigned int depth = stream ? 1 : DEPTH, inflight = 0, i;
	struct copy_slot slots[DEPTH], *free_slots[DEPTH];
	uint64_t queued = 0, done = 0;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int ret = io_uring_queue_init(DEPTH, &ring, 0), r;

	if (ret)
		return ret;
	for (i = 0; i < depth; i++)
		free_slots[i] = &slots[i];
	while ((done < len && !eof) || inflight) {
		while (!ret && !eof && inflight < depth && queued < len) {
			struct copy_slot *slot = free_slots[inflight++];

			slot->off = queued;
			slot->len = len - queued < CHUNK
					    ? (unsigned int)(len - queued)
					    : CHUNK;
			queued += slot->len;
			queue_slot(&ring, file, mem, slot, to_mem, stream);
		}
		if (!inflight)
			break;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR) {
			ret = ret ? ret : r;
			break;
		}
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct copy_slot *slot = io_uring_cqe_get_data(cqe);

			r = complete_slot(&ring, cqe, file, mem, to_mem, stream,
					  &done, &eof);
			io_uring_cqe_seen(&ring, cqe);
			if (r != 0) {
				free_slots[--inflight] = slot;
				ret = ret ? ret : (r < 0 ? r : 0);
			}
		}
		progress(done, len, show && !ret && !eof);
	}
	io_uring_queue_exit(&ring);
	*moved = done;
	return ret;
}

int open_buffer(const char *name, int flags)
{
	char path[4096];

	if (path_in_mount(name, path, sizeof(path)))
		return -ENAMETOOLONG;
	return dmabuf_open(path, flags);
}

/*
 * A CPU bracket waits while devices own the bytes: say for what, so that a
 * person sees why fill or dump does not finish.
 */
static void say_what_it_waits_for(const char *name, int buf, bool write)
{
	char path[4096], who[1024];
	struct dmabuf_info info;
	ssize_t n;

	if (dmabuf_info(buf, &info) ||
	    !(write ? info.write_fences + info.read_fences
		    : info.write_fences) ||
	    path_in_mount(name, path, sizeof(path)))
		return;
	n = getxattr(path, "user.dmabuf.waits_for", who, sizeof(who) - 1);
	who[n > 0 ? n : 0] = '\0';
	fprintf(stderr,
		"dmabufctl: %s: waiting for device mappings to end: %s\n"
		"  (another user's end after the mount's fence_timeout_ms; "
		"the owner may run dmabufctl revoke %s)\n",
		name, n > 0 ? who : "?", name);
}

/* A buffer not exported yet has no memory to fill: say what to do. */
static int unsized(const char *name, int buf)
{
	struct dmabuf_info info;

	if (dmabuf_info(buf, &info) || info.size)
		return 0;
	fprintf(stderr,
		"dmabufctl: %s has no size yet: export it first "
		"(dmabufctl export NAME SIZE, or truncate -s SIZE)\n",
		name);
	close(buf);
	return EXIT_FAILURE;
}

int cmd_fill(int argc, char **argv)
{
	uint64_t len, moved = 0;
	struct dmabuf_mapping *m;
	bool stream;
	struct stat st;
	int buf, file, ret;
	char more;

	if (argc != 3)
		return usage_error("usage: fill NAME FILE");
	file = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (file < 0 || fstat(file, &st))
		return fail(argv[2], errno);
	stream = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	buf = open_buffer(argv[1], O_RDWR);
	if (buf < 0)
		return fail(argv[1], buf);
	ret = unsized(argv[1], buf);
	if (ret)
		return ret;
	ret = dmabuf_mmap(buf, PROT_READ | PROT_WRITE, &m);
	if (ret)
		return fail(argv[1], ret);
	if ((uint64_t)st.st_size > dmabuf_mapping_size(m)) {
		fprintf(stderr,
			"dmabufctl: %s (%lld bytes) does not fit in %s (%llu bytes)\n",
			argv[2], (long long)st.st_size, argv[1],
			(unsigned long long)dmabuf_mapping_size(m));
		return EXIT_FAILURE;
	}
	len = stream ? dmabuf_mapping_size(m) : (uint64_t)st.st_size;
	say_what_it_waits_for(argv[1], buf, true);
	ret = dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE);
	if (!ret && len)
		ret = uring_copy(file, dmabuf_mapping_addr(m), len, true,
				 stream, &moved);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE);
	if (!ret && stream && moved == len && read(file, &more, 1) == 1) {
		fprintf(stderr,
			"dmabufctl: %s: more than the %llu bytes of %s\n",
			argv[2], (unsigned long long)len, argv[1]);
		ret = -EFBIG;
	}
	dmabuf_munmap(m);
	close(buf);
	close(file);
	if (ret)
		return fail(argv[2], ret);
	if (!json)
		printf("filled %s with %llu bytes from %s\n", argv[1],
		       (unsigned long long)moved, argv[2]);
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	struct dmabuf_mapping *m;
	uint64_t size, moved;
	int buf, file, ret;
	struct stat st;

	if (argc != 3)
		return usage_error("usage: dump NAME FILE");
	buf = open_buffer(argv[1], O_RDONLY);
	if (buf < 0)
		return fail(argv[1], buf);
	ret = unsized(argv[1], buf);
	if (ret)
		return ret;
	ret = dmabuf_mmap(buf, PROT_READ, &m);
	if (ret)
		return fail(argv[1], ret);
	size = dmabuf_mapping_size(m);
	file = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (file < 0)
		return fail(argv[2], errno);
	if (fstat(file, &st))
		return fail(argv[2], errno);
	say_what_it_waits_for(argv[1], buf, false);
	ret = dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ);
	if (!ret)
		ret = uring_copy(file, dmabuf_mapping_addr(m), size, false,
				 !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode),
				 &moved);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_READ);
	dmabuf_munmap(m);
	close(buf);
	if (close(file) && !ret)
		ret = -errno;
	if (ret)
		return fail(argv[2], ret);
	if (!json)
		printf("dumped %llu bytes of %s to %s\n",
		       (unsigned long long)size, argv[1], argv[2]);
	return 0;
}
