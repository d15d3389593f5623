// SPDX-License-Identifier: MIT
/*
 * DOC: the side channel's client: zero-copy mappings and udmabufs
 *
 * FUSE cannot hand a file descriptor back; the daemon's Unix socket does.
 * A client asks a token on its handle (DMABUF_IOCTL_GET_TOKEN), presents it
 * on the socket, and receives the buffer's memfd, or the runs and memfds of
 * a udmabuf (struct dmabuf_backing), and maps them; or it presents its own
 * memfds to make a udmabuf.  The connection is the mapping's reference on
 * the buffer.  The protocol is in dmabuf-ioctl(2) and <dmabuf/uapi.h>; the
 * daemon's side is fs/zerocopy.c.
 *
 * Calls fdmsg.c and the sanitizer's hooks; dmabuf.c calls it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../util/fdmsg.h"
#include "private.h"

/**
 * struct dmabuf_mapping - a zero-copy mapping of a buffer's memory
 * @addr: where it is mapped
 * @size: the buffer's exact size
 * @map_size: bytes mapped (whole pages)
 * @fd: a duplicate of the buffer fd, for CPU-access brackets
 * @sock: the side-channel connection: the mapping's reference on the buffer
 * @brackets: open begin/end brackets taken through this mapping
 * @writable: mapped with PROT_WRITE
 * @fast: @fd's SYNC slot, asked at the first bracket (fastsync.c)
 * @fast_asked: it was
 */
struct dmabuf_mapping {
	void *addr;
	uint64_t size;
	uint64_t map_size;
	int fd;
	int sock;
	unsigned int brackets;
	bool writable;
	struct dmabuf_fastsync_ref fast;
	bool fast_asked;
};

/* ---- zero-copy ---- */

/*
 * Map [@off, @off + @len) of @mem like sys_mmap(2).  Runs are mapped one by one
 * into a reservation, so the view is contiguous whatever their memfds.
 */
static void *map_memory(const struct dmabuf_memory *mem, void *addr, size_t len,
			int prot, int flags, off_t off)
{
	const struct dmabuf_backing *b = dmabuf_memory_runs(mem);
	uint64_t start = 0, end = (uint64_t)off + len;
	unsigned int i;
	char *base;

	if (!(mem->reply.flags & DMABUF_REPLY_RANGES))
		return sys_mmap(addr, len, prot, flags, mem->fds[0], off);
	if (((flags & MAP_TYPE) != MAP_SHARED &&
	     (flags & MAP_TYPE) != MAP_SHARED_VALIDATE) ||
	    off < 0 || off % DMABUF_PAGE_SIZE || end > mem->reply.map_size) {
		errno = EINVAL; /* as a heap's mmap says */
		return MAP_FAILED;
	}
	base = sys_mmap(addr, len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS |
				(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)),
			-1, 0);
	for (i = 0; base != MAP_FAILED && i < b->count; i++) {
		const struct dmabuf_backing_range *r = &b->ranges[i];
		uint64_t lo = start > (uint64_t)off ? start : (uint64_t)off;
		uint64_t hi = start + r->size < end ? start + r->size : end;

		if (lo < hi &&
		    sys_mmap(base + (lo - (uint64_t)off), hi - lo, prot,
			     MAP_SHARED | MAP_FIXED, mem->fds[r->memfd],
			     (off_t)(r->offset + (lo - start))) == MAP_FAILED) {
			int err = errno;

			sys_munmap(base, len);
			errno = err;
			return MAP_FAILED;
		}
		start += r->size;
	}
	return base;
}

/**
 * dmabuf_map_memory() - sys_mmap(2) a buffer's memory, whatever holds it
 * @fd: a buffer fd (O_RDWR for PROT_WRITE)
 * @addr: as sys_mmap(2)
 * @len: as sys_mmap(2)
 * @prot: as sys_mmap(2)
 * @flags: as sys_mmap(2); MAP_SHARED
 * @off: as sys_mmap(2)
 *
 * For the buffers whose file sys_mmap(2) cannot map (a udmabuf made of runs of
 * other memfds; a handle opened before its buffer was sized, on a mount
 * with passthrough), as the compat layer needs: the memory comes over the
 * zero-copy side channel and is mapped as the program asked, one view of
 * exactly the buffer's pages.  Unlike dmabuf_mmap() the mapping holds no
 * reference in the daemon; the pages stay valid for as long as they are
 * mapped.  Unmap with sys_munmap(2).
 *
 * Return: the address, or MAP_FAILED with errno set.
 */
void *dmabuf_map_memory(int fd, void *addr, size_t len, int prot, int flags,
			off_t off)
{
	static __thread struct dmabuf_memory mem;
	void *p = MAP_FAILED;
	int sock, ret = dmabuf_channel_redeem(
			  fd, prot & PROT_WRITE ? DMABUF_TOKEN_WRITE : 0, &sock,
			  &mem);

	if (ret) {
		errno = -ret;
		return MAP_FAILED;
	}
	p = map_memory(&mem, addr, len, prot, flags, off);
	ret = errno;
	dmabuf_memory_close(&mem);
	sys_close(sock);
	errno = ret;
	return p;
}

/* Index of memfd @fd among @fds, adding it if new; -E2BIG past the limit. */
static int fd_slot(int fd, int *fds, unsigned int *n)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (fds[i] == fd)
			return (int)i;
	if (*n == DMABUF_BACKING_MAX_FDS)
		return -E2BIG;
	fds[*n] = fd;
	return (int)(*n)++;
}

/* Send @runs with a backing token of the EMPTY buffer @fd; the answer. */
int dmabuf_channel_bind_runs(int fd, const struct dmabuf_memfd_run *runs,
			     unsigned int count)
{
	struct dmabuf_token tok = {.flags = DMABUF_TOKEN_BACKING};
	static __thread union {
		struct {
			struct dmabuf_redeem req;
			struct dmabuf_backing b;
		};
		char room[sizeof(struct dmabuf_redeem) +
			  sizeof(struct dmabuf_backing) +
			  DMABUF_BACKING_MAX_RANGES *
				  sizeof(struct dmabuf_backing_range)];
	} msg;
	struct dmabuf_redeem_reply reply;
	int fds[DMABUF_BACKING_MAX_FDS], sock, ret, slot, got = -1;
	unsigned int i, nr_fds = 0;
	ssize_t n;

	for (i = 0; i < count; i++) {
		slot = fd_slot(runs[i].memfd, fds, &nr_fds);
		if (slot < 0)
			return slot;
		msg.b.ranges[i] =
			(struct dmabuf_backing_range){.memfd = (uint32_t)slot,
						      .offset = runs[i].offset,
						      .size = runs[i].size};
	}
	ret = xioctl(fd, DMABUF_IOCTL_GET_TOKEN, &tok);
	if (ret)
		return ret;
	msg.req = (struct dmabuf_redeem){.version = DMABUF_REDEEM_VERSION};
	memcpy(msg.req.token, tok.token, sizeof(msg.req.token));
	msg.b.count = count;
	msg.b.nr_fds = nr_fds;
	sock = dmabuf_channel_present(&tok, &msg,
				      sizeof(msg.req) + sizeof(msg.b) +
					      count * sizeof(msg.b.ranges[0]),
				      fds, nr_fds);
	explicit_bzero(&tok, sizeof(tok));
	if (sock < 0)
		return sock;
	n = dmabuf_channel_recv(sock, &reply, sizeof(reply), &got);
	sys_close(sock);
	if (got >= 0)
		sys_close(got);
	if (n < 0)
		return (int)n;
	return n == sizeof(reply) ? reply.status : -EPROTO;
}

/**
 * dmabuf_mmap() - map the buffer's memory itself (zero-copy)
 * @fd: a buffer fd (O_RDWR for PROT_WRITE)
 * @prot: PROT_READ, optionally | PROT_WRITE
 * @mapping: out
 *
 * The mapping holds a reference on the buffer until dmabuf_munmap() (or the
 * process's death).  Bracket access with dmabuf_mapping_begin/end.
 *
 * Return: 0; -EACCES for PROT_WRITE on a read-only fd (or a refused
 * token); -EINVAL for bad @prot or a non-buffer fd; a negative errno.
 */
int dmabuf_mmap(int fd, int prot, struct dmabuf_mapping **mapping)
{
	static __thread struct dmabuf_memory mem;
	struct dmabuf_mapping *m;
	int ret;

	if (!(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = sys_fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	dmabuf_fastsync_forget((unsigned int)m->fd, (unsigned int)m->fd);
	ret = dmabuf_channel_redeem(
		fd, prot & PROT_WRITE ? DMABUF_TOKEN_WRITE : 0, &m->sock, &mem);
	if (ret)
		goto err_fd;
	m->addr =
		map_memory(&mem, NULL, mem.reply.map_size, prot, MAP_SHARED, 0);
	ret = m->addr == MAP_FAILED ? -errno : 0;
	dmabuf_memory_close(&mem);
	if (ret)
		goto err_sock;
	m->size = mem.reply.size;
	m->map_size = mem.reply.map_size;
	m->writable = prot & PROT_WRITE;
	if (dmabuf_sanitizer_enabled()) /* watched as a file mapping is */
		dmabuf_sanitizer_mapped(m->addr, m->map_size, prot, m->fd, 0);
	*mapping = m;
	return 0;

err_sock:
	sys_close(m->sock);
err_fd:
	sys_close(m->fd);
err_free:
	free(m);
	return ret;
}

void *dmabuf_mapping_addr(const struct dmabuf_mapping *m)
{
	return m->addr;
}

uint64_t dmabuf_mapping_size(const struct dmabuf_mapping *m)
{
	return m->size;
}

/**
 * dmabuf_mapping_begin() - begin CPU access through a mapping
 * @m: the mapping
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: DMABUF_CPU_READ and/or DMABUF_CPU_WRITE (WRITE needs a writable
 *       mapping)
 *
 * Return: 0 or a negative errno, as dmabuf_begin_cpu_access().
 */
int dmabuf_mapping_begin(struct dmabuf_mapping *m, uint64_t offset,
			 uint64_t length, uint32_t dir)
{
	struct stat st;
	int ret;

	if ((dir & DMABUF_CPU_WRITE) && !m->writable)
		return -EACCES;
	if (!m->fast_asked) {
		m->fast_asked = true;
		if (!sys_fstat(m->fd, &st)) /* else the ioctl, always */
			dmabuf_fastsync_ref_get(m->fd, st.st_dev, &m->fast);
	}
	ret = dmabuf_fastsync_ref_cpu(&m->fast, false, offset, length, dir);
	if (ret > 0)
		ret = cpu_access(m->fd, DMABUF_IOCTL_BEGIN_CPU_ACCESS, offset,
				 length, dir);
	if (!ret)
		m->brackets++;
	return ret;
}

/**
 * dmabuf_mapping_end() - end CPU access; writes become visible to read(2)
 * @m: the mapping
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: as given to begin
 *
 * Return: 0 or -EINVAL.
 */
int dmabuf_mapping_end(struct dmabuf_mapping *m, uint64_t offset,
		       uint64_t length, uint32_t dir)
{
	int ret = dmabuf_fastsync_ref_cpu(&m->fast, true, offset, length, dir);

	if (ret > 0)
		ret = cpu_access(m->fd, DMABUF_IOCTL_END_CPU_ACCESS, offset,
				 length, dir);
	if (!ret && m->brackets)
		m->brackets--;
	return ret;
}

/**
 * dmabuf_kmap() - address of page @page, valid between begin and end
 * @m: the mapping
 * @page: page index (4 KiB pages)
 *
 * Return: the address, or NULL with errno EPERM outside a CPU-access
 * bracket, ERANGE past the end.
 */
void *dmabuf_kmap(struct dmabuf_mapping *m, uint64_t page)
{
	if (page >= m->map_size / DMABUF_PAGE_SIZE) {
		errno = ERANGE;
		return NULL;
	}
	if (!m->brackets) {
		errno = EPERM;
		return NULL;
	}
	return (char *)m->addr + page * DMABUF_PAGE_SIZE;
}

void dmabuf_kunmap(struct dmabuf_mapping *m, uint64_t page)
{
	(void)m, (void)page; /* the whole buffer stays mapped */
}

/**
 * dmabuf_munmap() - unmap and drop the mapping's reference on the buffer
 * @m: the mapping; freed
 *
 * Return: 0, or a negative errno from sys_munmap(2).
 */
int dmabuf_munmap(struct dmabuf_mapping *m)
{
	int ret;

	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_unmapping(m->addr, m->map_size);
	ret = sys_munmap(m->addr, m->map_size) ? -errno : 0;

	sys_close(m->sock);
	sys_close(m->fd);
	free(m);
	return ret;
}

/* ---- fd passing ---- */

/**
 * dmabuf_send_fd() - send a buffer fd over a Unix socket (SCM_RIGHTS)
 * @sock: a connected AF_UNIX socket
 * @fd: the buffer fd; the receiver gets the same handle
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_send_fd(int sock, int fd)
{
	char byte = 'D';
	struct iovec iov = {&byte, 1};
	ssize_t n = dmabuf_fdmsg_send(sock, &iov, 1, &fd, 1);

	return n == 1 ? 0 : n < 0 ? (int)n : -EPROTO;
}

/**
 * dmabuf_recv_fd() - receive a buffer fd sent with dmabuf_send_fd()
 * @sock: a connected AF_UNIX socket
 *
 * Return: the fd (O_CLOEXEC), -ECONNRESET at end of stream, -EBADMSG when
 * the message carried no fd, or a negative errno.
 */
int dmabuf_recv_fd(int sock)
{
	char byte;
	int fd;
	ssize_t n = dmabuf_channel_recv(sock, &byte, 1, &fd);

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (fd < 0)
		return -EBADMSG;
	return fd;
}
