/* SPDX-License-Identifier: MIT */
/*
 * DOC: one datagram with descriptors (SCM_RIGHTS), both sides
 *
 * The side channel's client (lib/libdmabuf/channel.c), its server
 * (fs/zerocopy.c) and dmabuf_send_fd()/dmabuf_recv_fd() frame a message
 * and the descriptors it carries through these two functions, in
 * lib/libdmabuf/fdmsg.c.  Descriptors always arrive close-on-exec.
 */
#ifndef DMABUF_FDMSG_H
#define DMABUF_FDMSG_H

#include <sys/types.h>
#include <sys/uio.h>

/**
 * dmabuf_fdmsg_send() - send @iov as one message carrying @fds
 * @sock: a connected AF_UNIX socket
 * @iov: the bytes
 * @iovcnt: entries of @iov
 * @fds: descriptors to pass (SCM_RIGHTS), or NULL
 * @nr_fds: their number, at most DMABUF_BACKING_MAX_FDS
 *
 * Never raises SIGPIPE.
 *
 * Return: the bytes sent, or -errno (-EINVAL for too many descriptors).
 */
__attribute__((visibility("hidden"))) ssize_t
dmabuf_fdmsg_send(int sock, const struct iovec *iov, int iovcnt, const int *fds,
		  unsigned int nr_fds);

/**
 * dmabuf_fdmsg_recv() - receive one message and the descriptors it carries
 * @sock: a connected AF_UNIX socket
 * @data: room for the bytes
 * @len: its size
 * @flags: recvmsg(2) flags (MSG_DONTWAIT); MSG_CMSG_CLOEXEC is added
 * @fds: room for the descriptors
 * @max: its size, at most DMABUF_BACKING_MAX_FDS
 * @nr_fds: out: how many came; the caller owns (closes) them
 * @truncated: out: bytes or descriptors were cut off (MSG_TRUNC,
 *             MSG_CTRUNC): the kernel closed the descriptors that did not
 *             fit; may be NULL
 *
 * Return: the bytes received (0 at the end of the stream), or -errno with
 * no descriptor received.
 */
__attribute__((visibility("hidden"))) ssize_t
dmabuf_fdmsg_recv(int sock, void *data, size_t len, int flags, int *fds,
		  unsigned int max, unsigned int *nr_fds, int *truncated);

#endif /* DMABUF_FDMSG_H */
