// SPDX-License-Identifier: MIT
/*
 * DOC: SCM_RIGHTS framing, for the daemon and its clients alike
 *
 * See lib/util/fdmsg.h.  The one place that builds and reads the control
 * message of a descriptor-carrying datagram.  System calls go through
 * sys_*() (private.h), so that inside the compat layer they are libc's.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <dmabuf/uapi.h>

#include "../util/fdmsg.h"
#include "private.h"

union fd_control {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int) * DMABUF_BACKING_MAX_FDS)];
};

ssize_t dmabuf_fdmsg_send(int sock, const struct iovec *iov, int iovcnt,
			  const int *fds, unsigned int nr_fds)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)iovcnt};
	union fd_control u;
	struct cmsghdr *c;
	ssize_t n;

	if (nr_fds > DMABUF_BACKING_MAX_FDS)
		return -EINVAL;
	if (nr_fds) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
	}
	n = sys_sendmsg(sock, &msg, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* Every SCM_RIGHTS header's descriptors, in order, at most @max. */
static unsigned int take_fds(struct msghdr *msg, int *fds, unsigned int max)
{
	unsigned int n = 0, k;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (k > max - n) /* cannot happen: the room was for @max */
			k = max - n;
		memcpy(fds + n, CMSG_DATA(c), sizeof(int) * k);
		n += k;
	}
	return n;
}

ssize_t dmabuf_fdmsg_recv(int sock, void *data, size_t len, int flags, int *fds,
			  unsigned int max, unsigned int *nr_fds,
			  int *truncated)
{
	struct iovec iov = {data, len};
	union fd_control u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	*nr_fds = 0;
	if (max > DMABUF_BACKING_MAX_FDS)
		max = DMABUF_BACKING_MAX_FDS;
	if (max) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * max);
	}
	n = sys_recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (max)
		*nr_fds = take_fds(&msg, fds, max);
	if (truncated)
		*truncated = !!(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	return n;
}
