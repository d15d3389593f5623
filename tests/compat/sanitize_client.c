// SPDX-License-Identifier: MIT
/*
 * A program written against the kernel's uapi that commits one CPU-access
 * mistake on purpose, chosen by its argument, for the sanitizer's tests
 * (test_compat): it allocates a 64 KiB buffer from /dev/dma_heap/system,
 * maps it, and does what the mistake says.  "clean", "probe" and
 * "own-handler" commit none.  Only the system's headers: what a
 * program from elsewhere would have.  tests/lib/sanitize_lib.c does the
 * same through libdmabuf.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 65536

static volatile char *mem;
static int buf, heap;

static void sync_(unsigned long long flags)
{
	struct dma_buf_sync s = {.flags = flags};

	if (ioctl(buf, DMA_BUF_IOCTL_SYNC, &s)) {
		perror("DMA_BUF_IOCTL_SYNC");
		exit(3);
	}
}

#define START_R sync_(DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)
#define START_W sync_(DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE)
#define END_R sync_(DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ)
#define END_W sync_(DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE)

static void *thread_writes(void *arg)
{
	(void)arg;
	mem[100] = 1; /* outside any bracket, from another thread */
	return NULL;
}

static sigjmp_buf jump;

static void own_handler(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

/* The program's own SIGSEGV handler, installed with sigaction(2) or
 * signal(3), still gets the faults that are not the sanitizer's, and the
 * sanitizer still gets its own. */
static int own_handler_runs(bool with_signal)
{
	char *guard =
		mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa = {.sa_handler = own_handler};

	if (with_signal) {
		signal(SIGSEGV, own_handler);
		mem[3 * 4096] = 1; /* a finding, not the program's fault */
	} else {
		sigaction(SIGSEGV, &sa, NULL);
		START_W;
		mem[0] = 1;
		END_W;
	}
	if (sigsetjmp(jump, 1) == 0) {
		guard[0] = 1;
		return 0; /* not reached */
	}
	return 1;
}

/*
 * Part of the mapping unmapped and the hole reused: a fault in the new
 * mapping is the program's, and the rest of the buffer keeps its offsets.
 */
static int partial_unmap(void)
{
	struct sigaction sa = {.sa_handler = own_handler};
	char *hole;

	sigaction(SIGSEGV, &sa, NULL);
	munmap((void *)mem, 4096);
	hole = mmap((void *)mem, 4096, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (hole == MAP_FAILED)
		return 7;
	if (sigsetjmp(jump, 1) == 0) {
		hole[0] = 1; /* read-only: the program's own fault */
		return 8; /* not reached */
	}
	mem[0x2000] = 1; /* outside any bracket */
	return 0;
}

/* The mapping moved with mremap(2) is watched where it went. */
static int moved(void)
{
	void *to =
		mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char *p;

	START_W;
	p = mremap((void *)mem, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (p == MAP_FAILED)
		return 9;
	p[0] = 1; /* inside the bracket */
	END_W;
	p[0x4000] = 1; /* outside any bracket */
	return 0;
}

/*
 * 199 buffers allocated, mapped, bracketed and let go, then a 200th
 * written outside a bracket: a process's 200th buffer is watched too.
 */
static int many_buffers(void)
{
	struct dma_heap_allocation_data d = {.len = 4096,
					     .fd_flags = O_RDWR | O_CLOEXEC};
	volatile char *m = MAP_FAILED;
	int i;

	for (i = 0; i < 200; i++) {
		d.fd = 0;
		if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
			return 6;
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			 (int)d.fd, 0);
		if (m == MAP_FAILED)
			return 7;
		if (i == 199)
			break;
		buf = (int)d.fd;
		START_W;
		m[0] = 1;
		END_W;
		munmap((void *)m, 4096);
		close((int)d.fd);
	}
	m[0x10] = 1; /* the 200th: outside any bracket */
	return 0;
}

/*
 * System calls that read or write the mapping outside a bracket: each must
 * move every byte, as without the sanitizer (not EFAULT), and be reported.
 */
static int by_syscall(const char *what)
{
	char sink[SIZE];
	int fd, sv[2];
	ssize_t n = -1;

	if (!strcmp(what, "write-syscall")) {
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		n = write(fd, (const void *)mem, SIZE);
	} else if (!strcmp(what, "read-syscall")) {
		fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		n = read(fd, (void *)mem, SIZE);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return 9;
		fd = sv[0];
		n = send(sv[1], (const void *)mem, 4096, 0);
		if (recv(sv[0], sink, sizeof(sink), 0) != 4096)
			return 10;
		close(sv[1]);
	}
	close(fd);
	if (n != (strstr(what, "send") ? 4096 : SIZE)) {
		perror(what);
		return 8;
	}
	return 0;
}

/*
 * A driver module that reads the buffer without SYNC, as Mesa's llvmpipe
 * does with imported buffers: libfakedev.so, beside this program.
 */
static int device_module(void)
{
	int (*read_all)(const volatile char *, size_t);
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	void *so;

	if (n <= 0)
		return 12;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "libfakedev.so");
	so = dlopen(path, RTLD_NOW);
	read_all = so ? (int (*)(const volatile char *, size_t))dlsym(
				so, "fakedev_read")
		      : NULL;
	if (!read_all)
		return 13;
	read_all(mem, SIZE);
	return 0;
}

/* Eight threads fault at once: four at one site, four at another. */
static pthread_barrier_t all_eight;

static void *site_a(void *arg)
{
	pthread_barrier_wait(&all_eight);
	mem[4096 * (uintptr_t)arg + 1] = 1;
	return NULL;
}

static void *site_b(void *arg)
{
	volatile char c;

	pthread_barrier_wait(&all_eight);
	c = mem[4096 * (uintptr_t)arg + 2];
	(void)c;
	return NULL;
}

static int eight_threads(void)
{
	pthread_t t[8];
	uintptr_t i;

	pthread_barrier_init(&all_eight, NULL, 8);
	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, i % 2 ? site_b : site_a, (void *)i);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int mistake(const char *what)
{
	volatile char c;
	pthread_t t;
	pid_t pid;
	int i, status;

	if (!strcmp(what, "clean")) {
		START_W;
		mem[0] = 1;
		END_W;
		START_R;
		c = mem[0];
		START_R; /* nested, as GStreamer maps twice */
		END_R;
		c = mem[1];
		END_R;
		(void)c;
	} else if (!strcmp(what, "write-outside")) {
		for (i = 0; i < 3; i++) /* one site, three times: one report */
			mem[4096 + 16] = 1;
	} else if (!strcmp(what, "read-outside")) {
		START_W;
		END_W;
		c = mem[8];
		(void)c;
	} else if (!strcmp(what, "write-in-read")) {
		START_R;
		mem[0] = 2;
		END_R;
	} else if (!strcmp(what, "end-without-start")) {
		END_W;
	} else if (!strcmp(what, "end-mismatch")) {
		START_W;
		END_R;
	} else if (!strcmp(what, "leak")) {
		START_W;
		munmap((void *)mem, SIZE);
		close(buf); /* the last fd: the bracket can never end */
		return 0;
	} else if (!strcmp(what, "exit-leak")) {
		START_W;
		return 0;
	} else if (!strcmp(what, "unmap-then-end")) {
		START_W; /* GTK's gdk_dmabuf_munmap(): legal */
		munmap((void *)mem, SIZE);
		END_W;
	} else if (!strcmp(what, "probe")) {
		struct dma_buf_sync bad = {.flags = 1ULL << 40};

		/* waypipe's probe: EINVAL, not a finding */
		return ioctl(buf, DMA_BUF_IOCTL_SYNC, &bad) == -1 &&
				       errno == EINVAL
			       ? 0
			       : 4;
	} else if (!strcmp(what, "thread")) {
		pthread_create(&t, NULL, thread_writes, NULL);
		pthread_join(t, NULL);
	} else if (!strcmp(what, "fork")) {
		pid = fork();
		if (pid == 0) {
			mem[200] = 1; /* the child's mapping is watched too */
			_exit(0);
		}
		waitpid(pid, &status, 0);
	} else if (!strcmp(what, "mremap")) {
		return moved();
	} else if (!strcmp(what, "partial-unmap")) {
		return partial_unmap();
	} else if (!strcmp(what, "own-handler")) {
		return own_handler_runs(false) ? 0 : 5;
	} else if (!strcmp(what, "own-handler-signal")) {
		return own_handler_runs(true) ? 0 : 5;
	} else if (strstr(what, "-syscall")) {
		return by_syscall(what);
	} else if (!strcmp(what, "named")) {
		/* named after it was mapped: reports use the name */
		if (ioctl(buf, DMA_BUF_SET_NAME_B, "camera-frame"))
			return 11;
		mem[0x20] = 1;
	} else if (!strcmp(what, "device-module")) {
		return device_module();
	} else if (!strcmp(what, "eight-threads")) {
		return eight_threads();
	} else if (!strcmp(what, "many")) {
		return many_buffers();
	} else if (!strcmp(what, "crash")) {
		volatile int *volatile nowhere = NULL;

		*nowhere = 1; /* not the sanitizer's: dies of SIGSEGV */
	} else {
		fprintf(stderr, "unknown mistake %s\n", what);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct dma_heap_allocation_data d = {.len = SIZE,
					     .fd_flags = O_RDWR | O_CLOEXEC};
	int ret;

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

	if (argc != 2 || heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d)) {
		perror("dma_heap");
		return 2;
	}
	buf = (int)d.fd;
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	ret = mistake(argv[1]);
	printf("done %s\n", argv[1]);
	return ret;
}
