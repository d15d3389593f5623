// SPDX-License-Identifier: MIT
/*
 * The benchmark's unmodified client: N cycles of what a camera or codec
 * does per buffer through the kernel's uapi (allocate from
 * /dev/dma_heap/system, mmap, SYNC START, write, SYNC END, unmap, close).
 * Prints the median microseconds per cycle.
 *
 *   heap_cycle [N [SIZE]]
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

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, i;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 65536;
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	double *t = calloc((size_t)n, sizeof(*t));

	if (heap < 0 || !t || n < 1)
		return 2;
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
