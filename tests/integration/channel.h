/* SPDX-License-Identifier: MIT */
/*
 * DOC: the zero-copy side channel, spoken by hand
 *
 * libdmabuf hides the token protocol; tests that attack it, or check what
 * the daemon hands out, speak it directly: ask a token, connect to the
 * socket it names, present it, receive the answer and the memfd.
 */
#ifndef DMABUF_TEST_CHANNEL_H
#define DMABUF_TEST_CHANNEL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "mount.h"

static inline int get_token(int fd, uint32_t flags, struct dmabuf_token *t)
{
	memset(t, 0, sizeof(*t));
	t->flags = flags;
	return ioctl(fd, DMABUF_IOCTL_GET_TOKEN, t) ? -errno : 0;
}

/* Connect to the socket @t names; the socket, or -errno. */
static inline int connect_channel(const struct dmabuf_token *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strnlen(t->socket, sizeof(t->socket));
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), ret;

	if (sock < 0)
		return -errno;
	memcpy(sa.sun_path, t->socket, len);
	sa.sun_path[0] = '\0'; /* '@': the abstract namespace */
	if (connect(sock, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				len))) {
		ret = -errno;
		close(sock);
		return ret;
	}
	return sock;
}

/*
 * Present @t; returns the answer's status (or -EPROTO), the memfd in
 * *memfd on success, and the connection in *sock_out if asked (closed
 * otherwise).
 */
static inline int present(const struct dmabuf_token *t, int *memfd,
			  int *sock_out)
{
	struct dmabuf_redeem r = {.version = DMABUF_REDEEM_VERSION};
	struct dmabuf_redeem_reply rep;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {&rep, sizeof(rep)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	int sock = connect_channel(t);

	*memfd = -1;
	if (sock < 0)
		return sock;
	memcpy(r.token, t->token, sizeof(r.token));
	if (send(sock, &r, sizeof(r), 0) != (ssize_t)sizeof(r) ||
	    recvmsg(sock, &msg, 0) != (ssize_t)sizeof(rep)) {
		close(sock);
		return -EPROTO;
	}
	if (rep.status == 0 && CMSG_FIRSTHDR(&msg))
		memcpy(memfd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	if (sock_out)
		*sock_out = sock;
	else
		close(sock);
	return rep.status;
}

#endif
