// SPDX-License-Identifier: MIT
/*
 * An unmodified sync_file client: <linux/dma-buf.h> and <linux/sync_file.h>
 * only, as Mesa's llvmpipe probes at start-up (export a sync_file from an
 * idle buffer, expect it pollable and signalled) and as compositors use
 * them.  One "ok"/"not ok" line per check; exits 1 if any failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tap.h"

static int export_sync(int buf, __u32 flags)
{
	struct dma_buf_export_sync_file x = {.flags = flags, .fd = -1};

	return ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &x) ? -errno : x.fd;
}

static int import_sync(int buf, __u32 flags, int fd)
{
	struct dma_buf_import_sync_file x = {.flags = flags, .fd = fd};

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &x) ? -errno : 0;
}

static int signalled_now(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void check_info(int fd)
{
	struct sync_file_info info = {0};
	struct sync_fence_info fi[2];

	check(!ioctl(fd, SYNC_IOC_FILE_INFO, &info) && info.num_fences == 1 &&
		      info.status == 1,
	      "SYNC_IOC_FILE_INFO with num_fences 0: the count, signalled");
	memset(fi, 0, sizeof(fi));
	info.sync_fence_info = (__u64)(uintptr_t)fi;
	info.num_fences = 2;
	check(!ioctl(fd, SYNC_IOC_FILE_INFO, &info) && info.num_fences == 1 &&
		      fi[0].status == 1 && fi[0].driver_name[0],
	      "SYNC_IOC_FILE_INFO fills the array (%s/%s)", fi[0].driver_name,
	      fi[0].obj_name);
	info.flags = 1;
	check(ioctl(fd, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EINVAL,
	      "SYNC_IOC_FILE_INFO with flags EINVAL");
	info.flags = 0;
	info.sync_fence_info = 8;
	check(ioctl(fd, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EFAULT,
	      "SYNC_IOC_FILE_INFO with a bad array EFAULT");
}

static void check_merge(int a, int b)
{
	struct sync_merge_data m = {.name = "merged", .fd2 = b};
	struct sync_file_info info = {0};

	check(!ioctl(a, SYNC_IOC_MERGE, &m) && m.fence >= 0 &&
		      (fcntl(m.fence, F_GETFD) & FD_CLOEXEC),
	      "SYNC_IOC_MERGE gives a new fd");
	check(signalled_now(m.fence), "the merge of signalled fences polls in");
	check(!ioctl(m.fence, SYNC_IOC_FILE_INFO, &info) &&
		      !strcmp(info.name, "merged"),
	      "it carries its name");
	close(m.fence);
	m.fd2 = 0;
	check(ioctl(a, SYNC_IOC_MERGE, &m) == -1 && errno == ENOENT,
	      "merge with a non-sync_file ENOENT");
	m.fd2 = b;
	m.flags = 1;
	check(ioctl(a, SYNC_IOC_MERGE, &m) == -1 && errno == EINVAL,
	      "merge with flags EINVAL");
}

int main(void)
{
	struct dma_heap_allocation_data d = {.len = 65536,
					     .fd_flags = O_RDWR | O_CLOEXEC};
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	int buf, r, rw, nb;

	check(heap >= 0 && !ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d),
	      "a buffer from /dev/dma_heap/system");
	buf = (int)d.fd;
	r = export_sync(buf, DMA_BUF_SYNC_READ);
	rw = export_sync(buf, DMA_BUF_SYNC_RW);
	check(r >= 0 && rw >= 0 && (fcntl(r, F_GETFD) & FD_CLOEXEC),
	      "EXPORT_SYNC_FILE READ and READ|WRITE on an idle buffer");
	check(signalled_now(r) && signalled_now(rw),
	      "both already signalled: poll says POLLIN at once");
	check(export_sync(buf, 0) == -EINVAL, "no flags EINVAL");
	check(export_sync(buf, 4) == -EINVAL, "unknown flags EINVAL");
	check(export_sync(heap, DMA_BUF_SYNC_READ) == -EINVAL,
	      "EXPORT_SYNC_FILE on a heap: EINVAL, a number past its table");
	check_info(rw);
	check_merge(r, rw);
	check(import_sync(buf, DMA_BUF_SYNC_WRITE, rw) == 0,
	      "IMPORT_SYNC_FILE of a signalled fence");
	nb = open("/proc/self/fd/0", O_RDONLY); /* stdin: not a sync_file */
	check(import_sync(buf, DMA_BUF_SYNC_READ, 0) == -EINVAL,
	      "IMPORT_SYNC_FILE of stdin EINVAL");
	check(import_sync(buf, 0, rw) == -EINVAL,
	      "IMPORT with no flags EINVAL");
	{
		struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
						  DMA_BUF_SYNC_RW};

		check(!ioctl(buf, DMA_BUF_IOCTL_SYNC, &s),
		      "SYNC START after importing a signalled fence");
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		ioctl(buf, DMA_BUF_IOCTL_SYNC, &s);
	}
	close(nb);
	close(r);
	close(rw);
	close(buf);
	close(heap);
	return tap_done();
}
