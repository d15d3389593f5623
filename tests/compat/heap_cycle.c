// SPDX-License-Identifier: MIT
/*
 * The benchmark's unmodified client: N cycles of what a camera or codec
 * does per buffer through the kernel's uapi (allocate from
 * /dev/dma_heap/system, mmap, SYNC START, write, SYNC END, unmap, close).
 * Prints the median microseconds per cycle.  With "frames", one buffer is
 * allocated and mapped once and each cycle is a frame: SYNC START, write
 * SIZE bytes, SYNC END (the sanitizer's bench row).
 *
 *   heap_cycle [N [SIZE [frames]]]
 */
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One buffer, N frames of SYNC START, write, SYNC END. */
static int frames(int heap, int n, size_t size, double *t)
{
	struct dma_heap_allocation_data d = {.len = size,
					     .fd_flags = O_RDWR | O_CLOEXEC};
	struct dma_buf_sync s;
	void *p;
	int i;

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return 3;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)d.fd, 0);
	if (p == MAP_FAILED)
		return 4;
	for (i = 0; i < n; i++) {
		double start = now_us();

		s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
		if (ioctl((int)d.fd, DMA_BUF_IOCTL_SYNC, &s))
			return 4;
		memset(p, i, size);
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
		ioctl((int)d.fd, DMA_BUF_IOCTL_SYNC, &s);
		t[i] = now_us() - start;
	}
	munmap(p, size);
	close((int)d.fd);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, i, ret;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 65536;
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	double *t = calloc((size_t)n, sizeof(*t));

	if (heap < 0 || !t || n < 1)
		return 2;
	if (argc > 3 && !strcmp(argv[3], "frames")) {
		ret = frames(heap, n, size, t);
		if (ret)
			return ret;
		qsort(t, (size_t)n, sizeof(*t), cmp);
		printf("%.3f\n", t[n / 2]);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct dma_heap_allocation_data d = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC};
		struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
						  DMA_BUF_SYNC_WRITE};
		double start = now_us();
		void *p;

		if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
			return 3;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 (int)d.fd, 0);
		if (p == MAP_FAILED || ioctl((int)d.fd, DMA_BUF_IOCTL_SYNC, &s))
			return 4;
		memset(p, i, size);
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
		ioctl((int)d.fd, DMA_BUF_IOCTL_SYNC, &s);
		munmap(p, size);
		close((int)d.fd);
		t[i] = now_us() - start;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%.3f\n", t[n / 2]);
	return 0;
}
