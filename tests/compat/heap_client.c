// SPDX-License-Identifier: MIT
/*
 * An unmodified dma-heap client: written against the kernel's uapi headers
 * only, as GStreamer, libcamera or the kernel's selftests are.  Run under
 * `dmabufctl run`, every check below must hold as on a kernel with
 * /dev/dma_heap.  Prints one "ok"/"not ok" line per check; exits 1 if any
 * failed.
 *
 *   heap_client            all checks, on every heap listed
 *   heap_client --hold     allocate, map, say "holding", wait to be killed
 *   heap_client --receive  (internal) the exec'd peer of the SCM_RIGHTS check
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define MiB (1 << 20)

static int alloc(int heap, unsigned long long len, unsigned int fd_flags,
		 unsigned long long heap_flags, int *fd)
{
	struct dma_heap_allocation_data d = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags};
	int ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d);

	*fd = ret ? -1 : (int)d.fd;
	return ret ? -errno : 0;
}

static int sync_buf(int fd, unsigned long long flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

static int all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void check_errors(int heap, const char *name)
{
	struct {
		__u64 len;
		__u32 fd;
		__u32 fd_flags;
	} small = {.len = 4096, .fd_flags = O_RDWR | O_CLOEXEC};
	struct {
		struct dma_heap_allocation_data d;
		__u64 garbage[3];
	} big = {.d = {.len = 4096, .fd_flags = O_RDWR | O_CLOEXEC},
		 .garbage = {~0ULL, 0x88888888, 0x11111111}};
	struct dma_heap_allocation_data d = {.len = 4096, .fd = 3};
	int fd;

	check(alloc(heap, 0, O_RDWR, 0, &fd) == -EINVAL, "%s: len 0 EINVAL",
	      name);
	check(alloc(heap, 4096, O_RDWR | O_APPEND, 0, &fd) == -EINVAL,
	      "%s: fd_flags outside O_ACCMODE|O_CLOEXEC EINVAL", name);
	check(alloc(heap, 4096, O_RDWR, 1, &fd) == -EINVAL,
	      "%s: any heap_flags EINVAL", name);
	check(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == -1 && errno == EINVAL,
	      "%s: fd not 0 on input EINVAL", name);
	check(alloc(0, 4096, O_RDWR, 0, &fd) == -ENOTTY,
	      "ALLOC on stdin reaches the kernel: ENOTTY");
	check(alloc(-1, 4096, O_RDWR, 0, &fd) == -EBADF,
	      "ALLOC on fd -1 reaches the kernel: EBADF");
	check(!ioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 0, small), &small) &&
		      small.fd > 0,
	      "%s: an older, smaller struct allocates", name);
	close((int)small.fd);
	check(!ioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 0, big), &big) &&
		      big.d.fd > 0 && big.garbage[0] == ~0ULL,
	      "%s: a newer, larger struct allocates, extra bytes ignored",
	      name);
	check(alloc((int)big.d.fd, 4096, O_RDWR, 0, &fd) == -ENOTTY,
	      "ALLOC on a buffer fd: ENOTTY");
	close((int)big.d.fd);
	check(!alloc(heap, 4096, O_WRONLY, 0, &fd) &&
		      (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY,
	      "%s: O_WRONLY gives a write-only fd", name);
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
		      errno == EACCES,
	      "%s: a write-only fd does not mmap: EACCES", name);
	close(fd);
}

static void check_buffer(int heap, const char *name)
{
	char long_name[40];
	unsigned char *p;
	int fd, ro, dup_fd, flags;

	check(!alloc(heap, MiB, O_RDWR | O_CLOEXEC, 0, &fd), "%s: ALLOC 1 MiB",
	      name);
	if (fd < 0)
		return;
	flags = fcntl(fd, F_GETFD);
	check(flags >= 0 && (flags & FD_CLOEXEC), "%s: O_CLOEXEC honoured",
	      name);
	check((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "%s: O_RDWR", name);
	check(lseek(fd, 0, SEEK_END) == MiB && lseek(fd, 0, SEEK_SET) == 0,
	      "%s: lseek SEEK_END is the size, SEEK_SET 0 back", name);
	p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED, "%s: mmap", name);
	if (p == MAP_FAILED)
		return;
	check(!sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) &&
		      all_bytes(p, MiB, 0),
	      "%s: a new buffer reads as zeros", name);
	memset(p, 0xa5, MiB);
	check(!sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), "%s: SYNC END",
	      name);
	check(!ioctl(fd, DMA_BUF_SET_NAME_B, "compat-test") &&
		      !ioctl(fd, DMA_BUF_SET_NAME_A, "compat-test"),
	      "%s: DMA_BUF_SET_NAME_A and _B", name);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[32] = '\0';
	check(ioctl(fd, DMA_BUF_SET_NAME_B, long_name) == -1 && errno == EINVAL,
	      "%s: a 32-byte name (33 with the NUL) EINVAL", name);
	long_name[31] = '\0';
	check(!ioctl(fd, DMA_BUF_SET_NAME_B, long_name),
	      "%s: a 31-byte name fits", name);
	check(ioctl(fd, DMA_BUF_SET_NAME_B, (void *)8) == -1 && errno == EFAULT,
	      "%s: a bad name pointer EFAULT", name);
	/* the buffer is the open file, not the number */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	close(fd);
	check(dup_fd >= 100 && !ioctl(dup_fd, DMA_BUF_SET_NAME_B, "dup-name"),
	      "%s: a dup works after the original is closed", name);
	check(!sync_buf(dup_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) &&
		      all_bytes(p, MiB, 0xa5),
	      "%s: the bytes through the dup", name);
	sync_buf(dup_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(p, MiB);
	close(dup_fd);
	check(!alloc(heap, MiB, O_RDWR, 0, &fd) && fd >= 0 &&
		      !(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "%s: without O_CLOEXEC the fd survives exec", name);
	p = mmap(NULL, MiB, PROT_READ, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && all_bytes(p, MiB, 0),
	      "%s: zeros right after a filled buffer of that size was freed",
	      name);
	if (p != MAP_FAILED)
		munmap(p, MiB);
	close(fd);
	check(!alloc(heap, 8192, O_RDONLY | O_CLOEXEC, 0, &ro) &&
		      (fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY,
	      "%s: an O_RDONLY buffer", name);
	check(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) ==
			      MAP_FAILED &&
		      errno == EACCES,
	      "%s: cannot be mapped writable", name);
	close(ro);
}

static void check_heap(const char *name)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;
	struct statx stx;
	FILE *f;
	int heap;

	snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
	check(!stat(path, &st) && !lstat(path, &st) &&
		      !fstatat(AT_FDCWD, path, &st, 0) &&
		      !statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx),
	      "%s: the stat family", name);
	check(!access(path, R_OK | W_OK) && !faccessat(AT_FDCWD, path, R_OK, 0),
	      "%s: access", name);
	check(realpath(path, real) && !strcmp(real, path),
	      "%s: realpath names the device itself", name);
	f = fopen(path, "r");
	check(f != NULL, "%s: fopen", name);
	if (f)
		fclose(f);
	heap = open(path, O_RDONLY | O_CLOEXEC);
	check(heap >= 0, "%s: opens O_RDONLY", name);
	close(heap);
	heap = openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	check(heap >= 0, "%s: opens O_RDWR", name);
	if (heap < 0)
		return;
	check_buffer(heap, name);
	check_errors(heap, name);
	close(heap);
}

/* A child inherits the fd and the mapping; what it writes, we see. */
static void check_fork(int heap)
{
	unsigned char *p;
	int fd, status;
	pid_t pid;

	if (alloc(heap, 65536, O_RDWR | O_CLOEXEC, 0, &fd))
		return check(0, "fork: ALLOC");
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pid = fork();
	if (pid == 0) {
		int own = dup(fd);
		unsigned char *q = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
					MAP_SHARED, own, 0);

		if (q == MAP_FAILED ||
		    sync_buf(own, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE))
			_exit(2);
		memset(q, 0x3c, 65536);
		_exit(sync_buf(own, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE) ? 3
									   : 0);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      !WEXITSTATUS(status) && p != MAP_FAILED &&
		      all_bytes(p, 65536, 0x3c),
	      "fork: the child's writes through its own mapping");
	munmap(p, 65536);
	close(fd);
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

static int recv_fd(int sock)
{
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl)};
	int fd = -1;

	if (recvmsg(sock, &msg, 0) == 1 && CMSG_FIRSTHDR(&msg))
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

/* The exec'd peer: an fd over SCM_RIGHTS, in a process of its own. */
static int receive(int sock)
{
	int fd = recv_fd(sock);
	unsigned char *p = fd < 0 ? MAP_FAILED
				  : mmap(NULL, 65536, PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, 0);

	if (p == MAP_FAILED ||
	    sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW))
		return 2;
	if (!all_bytes(p, 65536, 0x77))
		return 3;
	memset(p, 0x11, 65536);
	if (sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW) ||
	    ioctl(fd, DMA_BUF_SET_NAME_B, "received"))
		return 4;
	return 0;
}

static void check_scm_rights(const char *self, int heap)
{
	unsigned char *p;
	int sv[2], fd, status;
	char arg[16];
	pid_t pid;

	if (alloc(heap, 65536, O_RDWR | O_CLOEXEC, 0, &fd) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return check(0, "SCM_RIGHTS: setup");
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(p, 0x77, 65536);
	pid = fork();
	if (pid == 0) {
		snprintf(arg, sizeof(arg), "%d", sv[1]);
		execl(self, self, "--receive", arg, (char *)NULL);
		_exit(127);
	}
	check(!send_fd(sv[0], fd), "SCM_RIGHTS: sent to an exec'd process");
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      !WEXITSTATUS(status) && all_bytes(p, 65536, 0x11),
	      "SCM_RIGHTS: it mapped, read, wrote and named the buffer "
	      "(status %d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	munmap(p, 65536);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static int hold(void)
{
	int heap = open("/dev/dma_heap/system", O_RDWR), fd;
	void *p;

	if (heap < 0 || alloc(heap, 4 * MiB, O_RDWR, 0, &fd))
		return 2;
	p = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 3;
	memset(p, 1, 4 * MiB);
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct dirent *e;
	int heaps = 0, heap;
	DIR *d;

	if (argc == 3 && !strcmp(argv[1], "--receive"))
		return receive(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "--hold"))
		return hold();
	d = opendir("/dev/dma_heap");
	check(d != NULL, "opendir /dev/dma_heap");
	if (!d)
		return 1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		heaps++;
		check_heap(e->d_name);
	}
	closedir(d);
	check(heaps >= 2, "at least two heaps listed (%d)", heaps);
	check(access("/dev/udmabuf", R_OK | W_OK) == 0, "/dev/udmabuf exists");
	check(access("/dev/dma_heap/nope", F_OK) == -1 && errno == ENOENT,
	      "an unknown heap: ENOENT");
	check(readlink("/dev/dma_heap", (char[8]){0}, 8) == -1 &&
		      errno == EINVAL,
	      "readlink: not a symbolic link");
	heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	check_fork(heap);
	check_scm_rights(argv[0], heap);
	close(heap);
	return tap_done();
}
