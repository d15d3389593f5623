// SPDX-License-Identifier: MIT
/*
 * DOC: the demo's unmodified camera (make demo-compat)
 *
 * A camera process written against the kernel's uapi only
 * (<linux/dma-heap.h>, <linux/dma-buf.h>): nothing of dmabuffs, no
 * libdmabuf.  It allocates each frame from /dev/dma_heap/cma, names it,
 * writes the pixels through its own mmap(2) inside DMA_BUF_IOCTL_SYNC
 * brackets, and hands the fd to the libdmabuf encoder over the Unix socket
 * it was given (SCM_RIGHTS), speaking the demo's protocol: a one-byte
 * message carrying the fd, then { index, checksum }, then wait for the
 * encoder's one-byte answer.  The demo runs it under `dmabufctl run`.
 *
 *   dmabuf-compat-camera SOCKET_FD FRAMES FRAME_SIZE [--late-write]
 *
 * --late-write plants the bug make demo-sanitize finds: the first pixel is
 * touched again after SYNC END, outside the bracket (the same value, so
 * the frames still verify; on a non-coherent device it could be lost).
 *
 * Calls nothing of the project: the kernel's uapi headers only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo-frame.h"

static int fail(const char *what)
{
	printf("[camera   ] FAILED: %s: %s\n", what, strerror(errno));
	return 1;
}

static int send_fd(int sock, int fd)
{
	char byte = 0, ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int sync_buf(int fd, unsigned long long flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

int main(int argc, char **argv)
{
	int sock, heap, frames, i;
	bool late_write;
	size_t size, b;

	if (argc != 4 && argc != 5)
		return 2;
	late_write = argc == 5 && !strcmp(argv[4], "--late-write");
	sock = atoi(argv[1]);
	frames = atoi(argv[2]);
	size = (size_t)atol(argv[3]);
	heap = open("/dev/dma_heap/cma", O_RDWR | O_CLOEXEC);
	if (heap < 0)
		return fail("open /dev/dma_heap/cma");
	printf("[camera   ] unmodified: frames from /dev/dma_heap/cma, "
	       "written through mmap(2) inside DMA_BUF_IOCTL_SYNC\n");
	for (i = 0; i < frames; i++) {
		struct dma_heap_allocation_data d = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC};
		struct frame_msg msg = {.index = (uint32_t)i};
		char name[32], go;
		unsigned char *p;

		if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
			return fail("DMA_HEAP_IOCTL_ALLOC");
		snprintf(name, sizeof(name), "frame%d", i);
		if (ioctl((int)d.fd, DMA_BUF_SET_NAME_B, name))
			return fail("DMA_BUF_SET_NAME_B");
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 (int)d.fd, 0);
		if (p == MAP_FAILED ||
		    sync_buf((int)d.fd,
			     DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE))
			return fail("mmap and SYNC START");
		for (b = 0; b < size; b++)
			p[b] = (unsigned char)(b * 7 + (size_t)i * 13 +
					       (b >> 12));
		msg.checksum = checksum(p, size);
		if (sync_buf((int)d.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE))
			return fail("SYNC END");
		if (late_write)
			p[0] = (unsigned char)(i * 13); /* the planted bug */
		munmap(p, size);
		printf("[camera   ] %s: allocated, named, written (checksum "
		       "%016llx); handing the fd over\n",
		       name, (unsigned long long)msg.checksum);
		fflush(stdout);
		if (send_fd(sock, (int)d.fd) ||
		    write(sock, &msg, sizeof(msg)) != sizeof(msg) ||
		    read(sock, &go, 1) != 1)
			return fail("the encoder's socket");
		close((int)d.fd);
	}
	close(heap);
	return 0;
}
