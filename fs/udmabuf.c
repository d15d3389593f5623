// SPDX-License-Identifier: MIT
/*
 * DOC: udmabuf, buffers made of a program's own memfd pages
 *
 * The kernel's /dev/udmabuf turns page runs of the caller's memfds into a
 * dma-buf without copying.  Here the compat layer sends the memfds and the
 * runs over the side channel (zerocopy.c) with a backing token of an EMPTY
 * buffer, and this file checks them as drivers/dma-buf/udmabuf.c does before
 * the object model binds them (dmabuf_buffer_bind_memfds()):
 *
 *  - each memfd is shmem or hugetlbfs, sealed with F_SEAL_SHRINK and with
 *    neither F_SEAL_WRITE nor F_SEAL_FUTURE_WRITE;
 *  - each run is page-aligned (a hugetlbfs memfd's own page size), not
 *    empty, and inside its memfd;
 *  - there are 1 to DMABUF_BACKING_MAX_RANGES runs.
 *
 * Anything else is EINVAL, as the kernel says.  The daemon keeps a
 * duplicate of each memfd for as long as the buffer lives, which keeps the
 * pages, as the kernel's pin does; the program's writes through its own
 * mapping of the memfd are the buffer's bytes at once.
 *
 * The other way, fs_udmabuf_describe() answers a mapping of such a buffer
 * with the runs and one fd per distinct memfd (read-only reopens for a
 * read-only mapping), so a process can map exactly those pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The page size of memfd @fd and its size, or -EINVAL if it is none. */
static int memfd_geometry(int fd, uint64_t *page, uint64_t *size,
			  const char **why)
{
	struct statfs sfs;
	struct stat st;
	int seals;

	if (fstatfs(fd, &sfs) || fstat(fd, &st) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC)) {
		*why = "not a memfd (shmem or hugetlbfs)";
		return -EINVAL;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		*why = "memfd not sealed with F_SEAL_SHRINK";
		return -EINVAL;
	}
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		*why = "memfd sealed against writing";
		return -EINVAL;
	}
	*page = sfs.f_type == HUGETLBFS_MAGIC ? (uint64_t)st.st_blksize
					      : DMABUF_PAGE_SIZE;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int check_ranges(const struct dmabuf_backing *b, const int *fds,
			const char **why)
{
	uint64_t page, size;
	unsigned int i;
	int ret;

	for (i = 0; i < b->count; i++) {
		const struct dmabuf_backing_range *r = &b->ranges[i];

		if (r->memfd >= b->nr_fds || r->pad) {
			*why = "range names no memfd";
			return -EINVAL;
		}
		ret = memfd_geometry(fds[r->memfd], &page, &size, why);
		if (ret)
			return ret;
		if (!r->size || r->offset % page || r->size % page) {
			*why = "range not page-aligned or empty";
			return -EINVAL;
		}
		if (r->offset > size || r->size > size - r->offset) {
			*why = "range past the end of its memfd";
			return -EINVAL;
		}
	}
	return 0;
}

static void close_all(int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/**
 * fs_udmabuf_bind() - make an EMPTY buffer of a client's memfd runs
 * @buf: the buffer (the backing token's)
 * @msg: the struct dmabuf_backing that came with the token
 * @len: its length as received
 * @fds: the memfds that came with it; all are closed on return
 * @nr_fds: their number
 *
 * Return: 0, or -EINVAL (with a log line saying why), or what
 * dmabuf_buffer_bind_memfds() returns.
 */
int fs_udmabuf_bind(struct dmabuf_buffer *buf, const void *msg, size_t len,
		    int *fds, unsigned int nr_fds)
{
	const struct dmabuf_backing *b = msg;
	struct dmabuf_memfd_range *r = NULL;
	const char *why = "malformed backing message";
	unsigned int i;
	int ret = -EINVAL;

	if (len < sizeof(*b) || !b->count ||
	    b->count > DMABUF_BACKING_MAX_RANGES ||
	    len != sizeof(*b) + b->count * sizeof(b->ranges[0]) ||
	    b->nr_fds != nr_fds || !nr_fds)
		goto out;
	ret = check_ranges(b, fds, &why);
	if (ret)
		goto out;
	ret = -ENOMEM;
	r = calloc(b->count, sizeof(*r));
	if (!r)
		goto out;
	for (i = 0; i < b->count; i++) {
		r[i].offset = b->ranges[i].offset;
		r[i].size = b->ranges[i].size;
		r[i].fd = fcntl(fds[b->ranges[i].memfd], F_DUPFD_CLOEXEC, 0);
		if (r[i].fd < 0) {
			ret = -errno;
			why = "out of descriptors";
			goto out_ranges;
		}
	}
	ret = dmabuf_buffer_bind_memfds(buf, r, b->count);
	why = "the object model refused it";
	if (!ret) {
		free(r); /* the buffer owns the fds now */
		close_all(fds, nr_fds);
		return 0;
	}
out_ranges:
	while (i--)
		close(r[i].fd);
	free(r);
out:
	close_all(fds, nr_fds);
	dmabuf_log(LOG_WARNING, "buffer %llu: udmabuf refused (%s): %s",
		   (unsigned long long)dmabuf_buffer_ino(buf), strerror(-ret),
		   why);
	return ret;
}

/* @fd, or a read-only reopen of it. */
static int share_fd(int fd, bool write)
{
	char path[64];

	if (write)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

/* Index of the memfd @fd among @ids (by inode), adding it if new. */
static int fd_index(int fd, struct stat *ids, unsigned int *n)
{
	struct stat st;
	unsigned int i;

	if (fstat(fd, &st))
		return -errno;
	for (i = 0; i < *n; i++)
		if (ids[i].st_dev == st.st_dev && ids[i].st_ino == st.st_ino)
			return (int)i;
	if (*n == DMABUF_BACKING_MAX_FDS)
		return -E2BIG;
	ids[*n] = st;
	return (int)(*n)++;
}

/**
 * fs_udmabuf_describe() - a udmabuf's runs, to map them
 * @buf: the buffer
 * @write: hand out writable fds
 * @out: room for a struct dmabuf_backing of DMABUF_BACKING_MAX_RANGES runs
 * @len: out: its length
 * @fds: out: DMABUF_BACKING_MAX_FDS room; the caller closes them
 * @nr_fds: out: their number
 *
 * Return: 0; -E2BIG past DMABUF_BACKING_MAX_FDS distinct memfds; -errno.
 */
int fs_udmabuf_describe(struct dmabuf_buffer *buf, bool write,
			struct dmabuf_backing *out, size_t *len, int *fds,
			unsigned int *nr_fds)
{
	static __thread struct dmabuf_memfd_range r[DMABUF_BACKING_MAX_RANGES];
	static __thread struct stat ids[DMABUF_BACKING_MAX_FDS];
	unsigned int i, n = 0;
	int count = dmabuf_buffer_ranges(buf, r, DMABUF_BACKING_MAX_RANGES);
	int idx;

	*nr_fds = 0;
	for (i = 0; i < (unsigned int)count; i++) {
		idx = fd_index(r[i].fd, ids, &n);
		if (idx < 0)
			goto err;
		if ((unsigned int)idx == *nr_fds) {
			fds[idx] = share_fd(r[i].fd, write);
			if (fds[idx] < 0) {
				idx = fds[idx];
				goto err;
			}
			(*nr_fds)++;
		}
		out->ranges[i] =
			(struct dmabuf_backing_range){.memfd = (uint32_t)idx,
						      .offset = r[i].offset,
						      .size = r[i].size};
	}
	out->count = (uint32_t)count;
	out->nr_fds = *nr_fds;
	*len = sizeof(*out) + (size_t)count * sizeof(out->ranges[0]);
	return 0;
err:
	close_all(fds, *nr_fds);
	*nr_fds = 0;
	return idx;
}
