// SPDX-License-Identifier: MIT
/*
 * SYNC on fd numbers that change meaning, through the kernel's uapi only.
 * A program under dmabufctl run takes SYNC in shared memory once a buffer
 * fd has a slot; the layer must forget a number when it is closed or
 * replaced, so a SYNC on whatever takes the number next is answered as the
 * kernel would (ENOTTY for /dev/null), and a buffer that takes it gets its
 * own slot.  Also: the kernel's flag rules on the fast path, and a fork's
 * child bracketing the shared handle.  One TAP line per check.
 *
 *   fast_fds
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static int heap;

static int sync_fd(int fd, uint64_t flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? errno : 0;
}

/* A buffer, with one START/END pair done so its fd has a slot. */
static int synced_buffer(void)
{
	struct dma_heap_allocation_data d = {.len = 4096,
					     .fd_flags = O_RDWR | O_CLOEXEC};

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return -1;
	sync_fd((int)d.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	sync_fd((int)d.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	return (int)d.fd;
}

static void check_not_a_buffer(int fd, const char *how)
{
	int err = sync_fd(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);

	check(err == ENOTTY, "SYNC on /dev/null after %s: ENOTTY (got %d)", how,
	      err);
}

int main(void)
{
	int fd, null, other, status;
	pid_t pid;

	heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	check(heap >= 0, "open /dev/dma_heap/system");
	if (heap < 0)
		return tap_done();

	fd = synced_buffer();
	check(fd >= 0, "allocate and SYNC");
	check(sync_fd(fd, DMA_BUF_SYNC_START) == EINVAL,
	      "no direction: EINVAL");
	check(sync_fd(fd, DMA_BUF_SYNC_RW | (1ULL << 40)) == EINVAL,
	      "an unknown flag: EINVAL");
	check(ioctl(fd, DMA_BUF_IOCTL_SYNC, (void *)8) && errno == EFAULT,
	      "a bad pointer: EFAULT");
	check(sync_fd(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ) == 0,
	      "END without START: ok");

	pid = fork();
	if (pid == 0)
		_exit(sync_fd(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE) ||
		      sync_fd(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "a forked child brackets the shared fd");

	close(fd);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(null == fd, "/dev/null takes the closed number");
	check_not_a_buffer(null, "close");
	close(null);

	fd = synced_buffer();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(dup2(null, fd) == fd, "dup2 /dev/null over a buffer fd");
	check_not_a_buffer(fd, "dup2");
	check(dup3(null, fd, O_CLOEXEC) == fd, "dup3 again");
	check_not_a_buffer(fd, "dup3");
	close(fd);

	fd = synced_buffer();
	check(close_range((unsigned int)fd, (unsigned int)fd, 0) == 0,
	      "close_range over a buffer fd");
	check(dup2(null, fd) == fd, "/dev/null takes its number");
	check_not_a_buffer(fd, "close_range");
	close(fd);

	fd = synced_buffer();
	close(fd);
	other = synced_buffer();
	check(other == fd, "another buffer takes a closed buffer's number");
	check(sync_fd(other, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE) == 0 &&
		      sync_fd(other, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE) ==
			      0,
	      "and brackets it");
	close(other);
	close(null);
	return tap_done();
}
