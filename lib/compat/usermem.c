// SPDX-License-Identifier: MIT
/*
 * DOC: system calls the sanitizer must see: those that touch the program's
 *      memory, and close(2)
 *
 * The sanitizer takes the rights off a watched mapping outside CPU
 * brackets, so that the CPU faults on a stray access.  The kernel faults
 * too when a system call reads or writes such a page, and answers EFAULT:
 * write(2) of a frame from a mapping outside a bracket would fail, where
 * without the sanitizer it works.  These interposers tell the sanitizer
 * first (dmabuf_sanitizer_user_memory()), which reports the access when it
 * is outside a bracket and opens the pages for the call, so the program
 * runs as it would without the sanitizer.
 *
 * And close(2): a bracket still open when a buffer's last fd closes can
 * never be ended, which the sanitizer reports as a leak.
 *
 * Off, each costs one test of a flag.  Raw syscall(2), io_uring and the C
 * library's own internal calls (stdio's) are not seen: dmabuf-sanitizer(7).
 */
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../libdmabuf/sanitizer.h"

/* The kernel will read (@into false) or write @len bytes at @p. */
static void touching(uintptr_t p, size_t len, bool into, const char *call)
{
	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_user_memory(p, len, into, call);
}

static void touching_iov(const struct iovec *iov, int n, bool into,
			 const char *call)
{
	int i;

	if (!dmabuf_sanitizer_enabled() || !iov)
		return;
	for (i = 0; i < n; i++)
		dmabuf_sanitizer_user_memory((uintptr_t)iov[i].iov_base,
					     iov[i].iov_len, into, call);
}

ssize_t write(int fd, const void *p, size_t len)
{
	touching((uintptr_t)p, len, false, "write");
	return REAL(write)(fd, p, len);
}

ssize_t pwrite(int fd, const void *p, size_t len, off_t off)
{
	touching((uintptr_t)p, len, false, "pwrite");
	return REAL(pwrite)(fd, p, len, off);
}

ssize_t pwrite64(int fd, const void *p, size_t len, off64_t off)
{
	touching((uintptr_t)p, len, false, "pwrite64");
	return REAL(pwrite64)(fd, p, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	touching_iov(iov, n, false, "writev");
	return REAL(writev)(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	touching_iov(iov, n, false, "pwritev");
	return REAL(pwritev)(fd, iov, n, off);
}

ssize_t send(int fd, const void *p, size_t len, int flags)
{
	touching((uintptr_t)p, len, false, "send");
	return REAL(send)(fd, p, len, flags);
}

ssize_t sendto(int fd, const void *p, size_t len, int flags,
	       const struct sockaddr *to, socklen_t to_len)
{
	touching((uintptr_t)p, len, false, "sendto");
	return REAL(sendto)(fd, p, len, flags, to, to_len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (msg)
		touching_iov(msg->msg_iov, (int)msg->msg_iovlen, false,
			     "sendmsg");
	return REAL(sendmsg)(fd, msg, flags);
}

ssize_t read(int fd, void *p, size_t len)
{
	touching((uintptr_t)p, len, true, "read");
	return REAL(read)(fd, p, len);
}

ssize_t pread(int fd, void *p, size_t len, off_t off)
{
	touching((uintptr_t)p, len, true, "pread");
	return REAL(pread)(fd, p, len, off);
}

ssize_t pread64(int fd, void *p, size_t len, off64_t off)
{
	touching((uintptr_t)p, len, true, "pread64");
	return REAL(pread64)(fd, p, len, off);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
	touching_iov(iov, n, true, "readv");
	return REAL(readv)(fd, iov, n);
}

ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	touching_iov(iov, n, true, "preadv");
	return REAL(preadv)(fd, iov, n, off);
}

ssize_t recv(int fd, void *p, size_t len, int flags)
{
	touching((uintptr_t)p, len, true, "recv");
	return REAL(recv)(fd, p, len, flags);
}

ssize_t recvfrom(int fd, void *restrict p, size_t len, int flags,
		 struct sockaddr *restrict from, socklen_t *restrict from_len)
{
	touching((uintptr_t)p, len, true, "recvfrom");
	return REAL(recvfrom)(fd, p, len, flags, from, from_len);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (msg)
		touching_iov(msg->msg_iov, (int)msg->msg_iovlen, true,
			     "recvmsg");
	return REAL(recvmsg)(fd, msg, flags);
}
