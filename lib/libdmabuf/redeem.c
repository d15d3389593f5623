// SPDX-License-Identifier: MIT
/*
 * DOC: the side channel's wire, for every client of it
 *
 * Connect to the daemon's socket, present a token (with what goes with
 * it), receive the answer and the descriptors it carries: what channel.c
 * (zero-copy mappings, udmabufs) and fastsync.c (the file of SYNC slots)
 * both need, below both of them.  The protocol is in dmabuf-ioctl(2) and
 * <dmabuf/uapi.h>; the daemon's side is fs/zerocopy.c.
 *
 * Calls fdmsg.c.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../util/fdmsg.h"
#include "private.h"

static int connect_to(const char *addr)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strnlen(addr, DMABUF_SOCKET_LEN);
	int sock;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return -EPROTO;
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				len))) {
		int ret = -errno;

		sys_close(sock);
		return ret;
	}
	return sock;
}

ssize_t dmabuf_channel_recv(int sock, void *data, size_t len, int *fd)
{
	unsigned int n;
	ssize_t ret = dmabuf_fdmsg_recv(sock, data, len, 0, fd, 1, &n, NULL);

	if (!n)
		*fd = -1;
	return ret;
}

void dmabuf_memory_close(struct dmabuf_memory *mem)
{
	while (mem->nr_fds)
		sys_close(mem->fds[--mem->nr_fds]);
}

/* The answer to a mapping token, checked. */
static int recv_memory(int sock, struct dmabuf_memory *mem)
{
	ssize_t n = dmabuf_fdmsg_recv(
		sock, mem, offsetof(struct dmabuf_memory, fds), 0, mem->fds,
		DMABUF_BACKING_MAX_FDS, &mem->nr_fds, NULL);
	const struct dmabuf_backing *b = dmabuf_memory_runs(mem);
	bool runs = mem->reply.flags & DMABUF_REPLY_RANGES;
	unsigned int i;

	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(mem->reply))
		goto bad;
	if (mem->reply.status) {
		dmabuf_memory_close(mem);
		return mem->reply.status;
	}
	if (!runs) {
		if (n != sizeof(mem->reply) || mem->nr_fds != 1)
			goto bad;
		return 0;
	}
	if ((size_t)n < sizeof(mem->reply) + sizeof(*b) ||
	    b->count > DMABUF_BACKING_MAX_RANGES || b->nr_fds != mem->nr_fds ||
	    (size_t)n != sizeof(mem->reply) + sizeof(*b) +
				 b->count * sizeof(b->ranges[0]))
		goto bad;
	for (i = 0; i < b->count; i++)
		if (b->ranges[i].memfd >= mem->nr_fds)
			goto bad;
	return 0;
bad:
	dmabuf_memory_close(mem);
	return -EPROTO;
}

/*
 * Present a token for @fd on its side channel: @msg (a struct
 * dmabuf_redeem, perhaps followed by more) with @nr_fds of @fds.  Returns
 * the connected socket or a negative errno.
 */
int dmabuf_channel_present(const struct dmabuf_token *tok, const void *msg,
			   size_t len, const int *fds, unsigned int nr_fds)
{
	struct iovec iov = {(void *)msg, len};
	int sock = connect_to(tok->socket);
	ssize_t n;

	if (sock < 0)
		return sock;
	/*
	 * EPIPE: the daemon refused the connection itself (a per-uid limit);
	 * its answer says why, queued before it closed.
	 */
	n = dmabuf_fdmsg_send(sock, &iov, 1, fds, nr_fds);
	if (n != (ssize_t)len && n != -EPIPE) {
		sys_close(sock);
		return n < 0 ? (int)n : -EPROTO;
	}
	return sock;
}

/* Get @fd's memory: token by ioctl, redeemed on the side channel. */
int dmabuf_channel_redeem(int fd, uint32_t flags, int *sock,
			  struct dmabuf_memory *mem)
{
	struct dmabuf_token tok = {.flags = flags};
	struct dmabuf_redeem req = {.version = DMABUF_REDEEM_VERSION};
	int ret = xioctl(fd, DMABUF_IOCTL_GET_TOKEN, &tok);

	if (ret)
		return ret;
	memcpy(req.token, tok.token, sizeof(req.token));
	*sock = dmabuf_channel_present(&tok, &req, sizeof(req), NULL, 0);
	explicit_bzero(&tok, sizeof(tok));
	explicit_bzero(&req, sizeof(req));
	if (*sock < 0)
		return *sock;
	ret = recv_memory(*sock, mem);
	if (ret) {
		sys_close(*sock);
		*sock = -1;
	}
	return ret;
}

/**
 * dmabuf_channel_sync_file() - the caller's uid's file of SYNC slots
 * @fd: a buffer fd of the mount (any handle the uid holds)
 * @id: out: the file's id
 * @size: out: its size
 *
 * Return: the file's descriptor (read-write, close-on-exec) or -errno.
 */
int dmabuf_channel_sync_file(int fd, uint64_t *id, uint64_t *size)
{
	static __thread struct dmabuf_memory mem;
	int sock,
		ret = dmabuf_channel_redeem(fd, DMABUF_TOKEN_SYNC, &sock, &mem);

	if (ret)
		return ret;
	sys_close(sock);
	if (mem.reply.flags & DMABUF_REPLY_RANGES) {
		dmabuf_memory_close(&mem);
		return -EPROTO;
	}
	*id = mem.reply.ino;
	*size = mem.reply.map_size;
	return mem.fds[--mem.nr_fds];
}
