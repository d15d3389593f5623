// SPDX-License-Identifier: MIT
/*
 * The benchmark's unmodified SYNC client, uapi only.  Allocates one buffer
 * from /dev/dma_heap/system and maps it once, and a memfd of the same size
 * as the baseline, then measures in this one process, the two sides taking
 * turns:
 *
 *   sync_frames pairs N   ns per SYNC START+END pair (N pairs), and ns per
 *                         two fcntl(F_GET_SEALS) on the memfd
 *   sync_frames frames N SIZE
 *                         best GB/s of N frames, write then read: SYNC
 *                         START, touch every byte, SYNC END on the buffer;
 *                         the same without SYNC on the memfd
 *
 * Prints the figures on one line: "ours base" for pairs, "write_ours
 * write_base read_ours read_base" for frames.
 */
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
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sync_buf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

static void *map(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(4);
	}
	return p;
}

static int pairs(int buf, int memfd, long n)
{
	double t, ours = 1e9, base = 1e9;
	long i;
	int round;

	for (round = 0; round < 5; round++) {
		t = now_s();
		for (i = 0; i < n; i++)
			if (sync_buf(buf,
				     DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
			    sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
				return 5;
		t = (now_s() - t) / (double)n * 1e9;
		ours = t < ours ? t : ours;
		t = now_s();
		for (i = 0; i < n; i++)
			if (fcntl(memfd, F_GET_SEALS) < 0 ||
			    fcntl(memfd, F_GET_SEALS) < 0)
				return 5;
		t = (now_s() - t) / (double)n * 1e9;
		base = t < base ? t : base;
	}
	printf("%.4f %.4f\n", ours, base);
	return 0;
}

/* GB/s of one frame: START (if @fd >= 0), touch every byte, END. */
static double frame(volatile uint64_t *p, size_t size, int fd, bool write)
{
	uint64_t sum = 0;
	size_t i, words = size / 8;
	double t = now_s();

	if (fd >= 0 &&
	    sync_buf(fd, DMA_BUF_SYNC_START | (write ? DMA_BUF_SYNC_WRITE
						     : DMA_BUF_SYNC_READ)))
		exit(5);
	if (write)
		for (i = 0; i < words; i++)
			p[i] = i;
	else
		for (i = 0; i < words; i++)
			sum += p[i];
	if (fd >= 0)
		sync_buf(fd, DMA_BUF_SYNC_END | (write ? DMA_BUF_SYNC_WRITE
						       : DMA_BUF_SYNC_READ));
	t = now_s() - t;
	if (sum == 1) /* keeps the reads */
		t += 0;
	return (double)size / t / 1e9;
}

static int frames(int buf, int memfd, long n, size_t size)
{
	uint64_t *ours = map(buf, size), *base = map(memfd, size);
	double best[4] = {0};
	long i;
	int k;

	for (k = 0; k < 2; k++) /* write, then read */
		for (i = 0; i <= n; i++) {
			double b = frame(base, size, -1, k == 0);
			double o = frame(ours, size, buf, k == 0);

			if (i && o > best[2 * k])
				best[2 * k] = o;
			if (i && b > best[2 * k + 1])
				best[2 * k + 1] = b;
		}
	printf("%.3f %.3f %.3f %.3f\n", best[0], best[1], best[2], best[3]);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000;
	size_t size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
	struct dma_heap_allocation_data d = {.len = size,
					     .fd_flags = O_RDWR | O_CLOEXEC};
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	int memfd = memfd_create("baseline", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (argc < 2 || n < 1 || heap < 0 || memfd < 0 ||
	    ftruncate(memfd, (off_t)size))
		return 2;
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return 3;
	if (!strcmp(argv[1], "pairs"))
		return pairs((int)d.fd, memfd, n);
	if (!strcmp(argv[1], "frames"))
		return frames((int)d.fd, memfd, n, size);
	return 2;
}
