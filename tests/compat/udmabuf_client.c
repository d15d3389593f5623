// SPDX-License-Identifier: MIT
/*
 * An unmodified udmabuf client: <linux/udmabuf.h> only, as a compositor's
 * tests or a virtual GPU's guest-RAM framebuffer use it.  Under `dmabufctl
 * run` the buffer must be the memfd's own pages: writes on either side are
 * seen on the other with no SYNC.  One "ok"/"not ok" line per check; exits
 * 1 if any failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/magic.h>
#include <linux/udmabuf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "tap.h"

#define PAGE 4096
#define PAGES 1024 /* 4 MiB memfd */
#define RUNS 64

static int new_memfd(size_t size, unsigned int seals)
{
	int fd = memfd_create("udmabuf-client", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals))) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

static int create(int dev, int memfd, __u64 offset, __u64 size, __u32 flags)
{
	struct udmabuf_create c = {.memfd = (__u32)memfd,
				   .flags = flags,
				   .offset = offset,
				   .size = size};
	int fd = ioctl(dev, UDMABUF_CREATE, &c);

	return fd < 0 ? -errno : fd;
}

static void check_errors(int dev)
{
	int memfd = new_memfd(16 * PAGE, F_SEAL_SHRINK);
	int unsealed = new_memfd(16 * PAGE, 0);
	int wsealed = new_memfd(16 * PAGE, F_SEAL_SHRINK | F_SEAL_WRITE);
	char tmpl[] = "/tmp/udmabuf-client.XXXXXX";
	int file = mkstemp(tmpl), pipefd[2], fd;
	struct udmabuf_create_list head = {.count = 0};
	struct statfs sfs;

	unlink(tmpl);
	check(ftruncate(file, 16 * PAGE) == 0 && pipe(pipefd) == 0,
	      "a regular file and a pipe");
	check(create(dev, memfd, 100, PAGE, 0) == -EINVAL,
	      "unaligned offset EINVAL");
	check(create(dev, memfd, 0, 100, 0) == -EINVAL,
	      "unaligned size EINVAL");
	check(create(dev, memfd, 0, 0, 0) == -EINVAL, "size 0 EINVAL");
	check(create(dev, memfd, 8 * PAGE, 9 * PAGE, 0) == -EINVAL,
	      "a run past the memfd's end EINVAL");
	check(create(dev, unsealed, 0, PAGE, 0) == -EINVAL,
	      "no F_SEAL_SHRINK EINVAL");
	check(create(dev, wsealed, 0, PAGE, 0) == -EINVAL,
	      "F_SEAL_WRITE EINVAL");
	/* A file of tmpfs has seals (EINVAL without SHRINK); any other is
	 * not a memfd at all (EBADFD), as udmabuf's check_memfd_seals(). */
	check(create(dev, file, 0, PAGE, 0) ==
		      (fstatfs(file, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC
			       ? -EINVAL
			       : -EBADFD),
	      "a regular file: EINVAL on tmpfs, else EBADFD");
	check(create(dev, pipefd[0], 0, PAGE, 0) == -EBADFD,
	      "a pipe: not a memfd EBADFD");
	check(create(dev, 1000, 0, PAGE, 0) == -EBADFD, "no such fd EBADFD");
	fd = create(dev, memfd, 0, PAGE, 2);
	check(fd >= 0, "unknown flags ignored, as Linux 6.12");
	if (fd >= 0)
		close(fd);
	check(ioctl(dev, UDMABUF_CREATE_LIST, &head) == -1 && errno == EINVAL,
	      "an empty list EINVAL");
	check(create(0, memfd, 0, PAGE, 0) == -ENOTTY,
	      "UDMABUF_CREATE on stdin reaches the kernel: ENOTTY");
	close(memfd);
	close(unsealed);
	close(wsealed);
	close(file);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* One run over a whole memfd: the same pages both ways, no SYNC. */
static void check_same_pages(int dev)
{
	int memfd = new_memfd(16 * PAGE, F_SEAL_SHRINK);
	int buf = create(dev, memfd, 0, 16 * PAGE, UDMABUF_FLAGS_CLOEXEC);
	char *m, *b, got[8];

	check(buf >= 0, "UDMABUF_CREATE");
	if (buf < 0)
		return;
	check(fcntl(buf, F_GETFD) & FD_CLOEXEC, "UDMABUF_FLAGS_CLOEXEC");
	check(lseek(buf, 0, SEEK_END) == 16 * PAGE, "its size");
	m = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	b = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	check(b != MAP_FAILED, "mmap of the udmabuf");
	if (b == MAP_FAILED)
		return;
	memcpy(m + 5000, "memfd->", 7);
	check(!memcmp(b + 5000, "memfd->", 7), "memfd writes seen, no SYNC");
	memcpy(b + 60000, "<-udmab", 7);
	check(!memcmp(m + 60000, "<-udmab", 7), "udmabuf writes seen, no SYNC");
	check(pread(buf, got, 7, 5000) == 7 && !memcmp(got, "memfd->", 7),
	      "read(2) of the udmabuf");
	check(pwrite(buf, "pwrite!", 7, 100) == 7 &&
		      !memcmp(m + 100, "pwrite!", 7),
	      "write(2) to the udmabuf");
	munmap(m, 16 * PAGE);
	munmap(b, 16 * PAGE);
	close(buf);
	close(memfd);
}

/*
 * A framebuffer made of scattered guest pages: 64 runs over a 4 MiB memfd,
 * in reverse order, one memfd named several times.
 */
static void check_list(int dev)
{
	struct {
		struct udmabuf_create_list head;
		struct udmabuf_create_item items[RUNS];
	} l = {.head = {.flags = 0, .count = RUNS}};
	int memfd = new_memfd(PAGES * PAGE, F_SEAL_SHRINK), buf, i, ok = 1;
	unsigned char *m, *b, *r;

	for (i = 0; i < RUNS; i++)
		l.items[i] = (struct udmabuf_create_item){
			.memfd = (__u32)memfd,
			.offset = (__u64)(RUNS - 1 - i) * 16 * PAGE,
			.size = 2 * PAGE};
	buf = ioctl(dev, UDMABUF_CREATE_LIST, &l);
	check(buf >= 0, "UDMABUF_CREATE_LIST of %d runs", RUNS);
	if (buf < 0)
		return;
	check(!(fcntl(buf, F_GETFD) & FD_CLOEXEC), "no CLOEXEC unless asked");
	m = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		 0);
	for (i = 0; i < PAGES; i++)
		memset(m + i * PAGE, i & 0xff, PAGE);
	r = mmap(NULL, RUNS * 2 * PAGE, PROT_READ, MAP_SHARED, buf, 0);
	b = mmap(NULL, RUNS * 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf,
		 0);
	check(r != MAP_FAILED && b != MAP_FAILED,
	      "one contiguous view, PROT_READ and read-write");
	if (r == MAP_FAILED || b == MAP_FAILED)
		return;
	for (i = 0; i < RUNS * 2; i++) {
		int src = (RUNS - 1 - i / 2) * 16 + i % 2;

		ok &= r[i * PAGE] == (src & 0xff) &&
		      b[i * PAGE + 4095] == (src & 0xff);
	}
	check(ok, "exactly the memfd's pages, in the runs' order");
	b[3 * PAGE] = 0xee; /* run 1, second page: memfd page 62*16+1 */
	check(m[((RUNS - 2) * 16 + 1) * PAGE] == 0xee && r[3 * PAGE] == 0xee,
	      "a write through the view lands in the memfd");
	check(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, buf, 0) == MAP_FAILED &&
		      errno == EINVAL,
	      "MAP_PRIVATE EINVAL, as a dma-buf");
	munmap(r, RUNS * 2 * PAGE);
	munmap(b, RUNS * 2 * PAGE);
	munmap(m, PAGES * PAGE);
	close(buf);
	close(memfd);
}

int main(void)
{
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);

	check(dev >= 0, "open /dev/udmabuf");
	if (dev < 0)
		return 1;
	check_errors(dev);
	check_same_pages(dev);
	check_list(dev);
	close(dev);
	return tap_done();
}
