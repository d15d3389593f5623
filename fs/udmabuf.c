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
 * Anything else is EINVAL, as the kernel says.  Stricter than the kernel
 * (6.12 accepts a read-only memfd fd and grants writing): each memfd must
 * come open for reading and writing (EACCES otherwise), since the buffer
 * is written through it; and the daemon makes each memfd private to its
 * owner (clears the group and other bits, which memfd_create() sets), so
 * that nobody handed a read-only fd of it can reopen it writable through
 * /proc.
 *
 * The daemon keeps one duplicate of each distinct memfd, however many runs
 * name it, for as long as the buffer lives (charged to the buffer's owner
 * as daemon descriptors, FS_LIMIT_FDS), which keeps the pages, as the
 * kernel's pin does; the program's writes through its own mapping of the
 * memfd are the buffer's bytes at once.
 *
 * The other way, fs_udmabuf_describe() answers a mapping of such a buffer
 * with the runs and one fd per distinct memfd, each made by fs_fd_handout()
 * (read-only reopens for a read-only mapping), so a process can map
 * exactly those pages and nothing more.
 *
 * Calls fdpass.c (descriptors out) and the object model; zerocopy.c calls
 * it.
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

/*
 * The memfd @fd as the buffer may use it: open for reading and writing,
 * and reopenable by its owner only.  Return: 0 or -EACCES, saying @why.
 */
static int memfd_private(int fd, const char **why)
{
	int flags = fcntl(fd, F_GETFL);
	struct stat st;

	if (flags < 0 || (flags & O_ACCMODE) != O_RDWR) {
		*why = "memfd not open for reading and writing";
		return -EACCES;
	}
	if (fstat(fd, &st) ||
	    ((st.st_mode & 077) && fchmod(fd, st.st_mode & 07700))) {
		*why = "memfd cannot be made private to its owner (chmod 600)";
		return -EACCES;
	}
	return 0;
}

/*
 * One duplicate of each distinct memfd of @fds into @dups (inode order
 * kept), and for each received fd the index of its duplicate in @idx.
 */
static int dup_distinct(const int *fds, unsigned int nr_fds, int *dups,
			unsigned int *idx, const char **why)
{
	struct stat ids[DMABUF_BACKING_MAX_FDS], st;
	unsigned int i, j, n = 0;

	for (i = 0; i < nr_fds; i++) {
		if (fstat(fds[i], &st))
			goto err;
		for (j = 0; j < n; j++)
			if (ids[j].st_dev == st.st_dev &&
			    ids[j].st_ino == st.st_ino)
				break;
		idx[i] = j;
		if (j < n)
			continue;
		dups[n] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (dups[n] < 0)
			goto err;
		ids[n++] = st;
	}
	return (int)n;
err:
	*why = "out of descriptors";
	close_all(dups, n);
	return -errno;
}

/**
 * fs_udmabuf_bind() - make an EMPTY buffer of a client's memfd runs
 * @buf: the buffer (the backing token's)
 * @msg: the struct dmabuf_backing that came with the token
 * @len: its length as received
 * @fds: the memfds that came with it, each checked to be a memfd
 *       (zerocopy.c); still the caller's on return (the buffer keeps
 *       duplicates of its own)
 * @nr_fds: their number
 *
 * Return: 0, or -EINVAL or -EACCES (with a log line saying why), or what
 * dmabuf_buffer_bind_memfds() returns (-EMFILE past the owner's max_fds).
 */
int fs_udmabuf_bind(struct dmabuf_buffer *buf, const void *msg, size_t len,
		    int *fds, unsigned int nr_fds)
{
	const struct dmabuf_backing *b = msg;
	unsigned int idx[DMABUF_BACKING_MAX_FDS];
	int dups[DMABUF_BACKING_MAX_FDS];
	struct dmabuf_memfd_range *r = NULL;
	const char *why = "malformed backing message";
	unsigned int i;
	int ret = -EINVAL, nr_dups = 0;

	if (len < sizeof(*b) || !b->count ||
	    b->count > DMABUF_BACKING_MAX_RANGES ||
	    len != sizeof(*b) + b->count * sizeof(b->ranges[0]) ||
	    b->nr_fds != nr_fds || !nr_fds)
		goto out;
	ret = check_ranges(b, fds, &why);
	for (i = 0; !ret && i < nr_fds; i++)
		ret = memfd_private(fds[i], &why);
	if (ret)
		goto out;
	ret = -ENOMEM;
	r = calloc(b->count, sizeof(*r));
	if (!r)
		goto out;
	ret = nr_dups = dup_distinct(fds, nr_fds, dups, idx, &why);
	if (ret < 0)
		goto out_ranges;
	for (i = 0; i < b->count; i++)
		r[i] = (struct dmabuf_memfd_range){
			.fd = dups[idx[b->ranges[i].memfd]],
			.offset = b->ranges[i].offset,
			.size = b->ranges[i].size};
	ret = dmabuf_buffer_bind_memfds(buf, r, b->count);
	why = "the object model refused it";
	if (!ret) {
		free(r); /* the buffer owns the duplicates now */
		return 0;
	}
	/* Not their last references: the caller still holds @fds. */
	close_all(dups, (unsigned int)nr_dups);
out_ranges:
	free(r);
out:
	dmabuf_log(LOG_WARNING, "buffer %llu: udmabuf refused (%s): %s",
		   (unsigned long long)dmabuf_buffer_ino(buf), strerror(-ret),
		   why);
	return ret;
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
			fds[idx] = fs_fd_handout(r[i].fd, write);
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
