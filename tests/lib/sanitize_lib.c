// SPDX-License-Identifier: MIT
/*
 * A program linked against libdmabuf.so, as a user's would be, that
 * commits one CPU-access mistake on purpose, chosen by its argument, for
 * the sanitizer's tests (test_compat): it exports a 64 KiB buffer on
 * $DMABUF_MOUNT, maps it zero-copy with dmabuf_mmap(3) and does what the
 * mistake says with libdmabuf's ranged brackets.  "clean" commits
 * none.  The tests run it with DMABUF_SANITIZE=1 and
 * nothing preloaded, and under dmabufctl run --sanitize.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#define SIZE 65536
#define PAGE 4096

static struct dmabuf_mapping *map;
static volatile char *mem;
static char path[4096];
static int buf;

static void check(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "%s: %s\n", what, strerror(-ret));
		exit(3);
	}
}

static void begin(uint64_t off, uint64_t len, uint32_t dir)
{
	check(dmabuf_mapping_begin(map, off, len, dir), "begin");
}

static void end(uint64_t off, uint64_t len, uint32_t dir)
{
	check(dmabuf_mapping_end(map, off, len, dir), "end");
}

/* A device maps the buffer for writing: its attachment's id. */
static uint64_t device_writes(void)
{
	struct dmabuf_sg *sg;
	uint64_t id;

	check(dmabuf_attach(buf, "gpu0", &id), "attach");
	check(dmabuf_map_attachment(buf, id, DMABUF_DIR_FROM_DEVICE, &sg),
	      "map_attachment");
	dmabuf_sg_free(sg);
	return id;
}

static void device_done(uint64_t id)
{
	check(dmabuf_unmap_attachment(buf, id), "unmap_attachment");
	check(dmabuf_detach(buf, id), "detach");
}

static sigjmp_buf jump;

static void own_handler(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static int mistake(const char *what)
{
	volatile char c;
	uint64_t id;
	int nb;

	if (!strcmp(what, "clean")) {
		begin(0, 0, DMABUF_CPU_WRITE);
		mem[0] = 1;
		end(0, 0, DMABUF_CPU_WRITE);
		begin(PAGE, PAGE, DMABUF_CPU_WRITE);
		begin(PAGE, PAGE, DMABUF_CPU_WRITE); /* nested */
		mem[PAGE + 1] = 1;
		end(PAGE, PAGE, DMABUF_CPU_WRITE);
		mem[2 * PAGE - 1] = 1;
		end(PAGE, PAGE, DMABUF_CPU_WRITE);
		check(dmabuf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		      "sync");
		c = mem[SIZE - 1];
		check(dmabuf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
		      "sync");
		(void)c;
	} else if (!strcmp(what, "outside")) {
		mem[8192 + 5] = 1;
	} else if (!strcmp(what, "range-outside")) {
		begin(0, PAGE, DMABUF_CPU_WRITE);
		mem[10] = 1; /* covered */
		mem[2 * PAGE] = 1; /* the bracket does not cover it */
		end(0, PAGE, DMABUF_CPU_WRITE);
	} else if (!strcmp(what, "range-write-in-read")) {
		begin(0, PAGE, DMABUF_CPU_READ);
		begin(PAGE, PAGE, DMABUF_CPU_WRITE);
		mem[PAGE + 8] = 1; /* covered for writing */
		mem[100] = 1; /* covered for reading only */
		end(PAGE, PAGE, DMABUF_CPU_WRITE);
		end(0, PAGE, DMABUF_CPU_READ);
	} else if (!strcmp(what, "range-end-mismatch")) {
		begin(0, PAGE, DMABUF_CPU_WRITE);
		end(PAGE, PAGE, DMABUF_CPU_WRITE); /* not the range begun */
		end(0, PAGE, DMABUF_CPU_WRITE);
	} else if (!strcmp(what, "race")) {
		begin(0, 0, DMABUF_CPU_READ);
		id = device_writes(); /* while the CPU holds the bracket */
		c = mem[0];
		(void)c;
		device_done(id);
		end(0, 0, DMABUF_CPU_READ);
	} else if (!strcmp(what, "race-no-wait")) {
		nb = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (nb < 0)
			return 4;
		id = device_writes();
		if (dmabuf_sync(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) !=
		    -EAGAIN)
			return 5;
		c = mem[64]; /* without waiting for the device */
		(void)c;
		device_done(id);
		close(nb);
	} else if (!strcmp(what, "own-handler")) {
		/* installed past any preload: the sanitizer takes it back
		 * at the next bracket call, and chains to it */
		char *guard = mmap(NULL, PAGE, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct sigaction sa = {.sa_handler = own_handler};

		sigaction(SIGSEGV, &sa, NULL);
		begin(0, PAGE, DMABUF_CPU_WRITE);
		mem[3 * PAGE + 1] = 1; /* a finding, not the program's fault */
		end(0, PAGE, DMABUF_CPU_WRITE);
		if (sigsetjmp(jump, 1) == 0) {
			guard[0] = 1;
			return 6; /* not reached */
		}
	} else {
		fprintf(stderr, "unknown mistake %s\n", what);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char name[64];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: sanitize_lib MISTAKE\n");
		return 2;
	}
	snprintf(name, sizeof(name), "san-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", dmabuf_mount_path(), name);
	buf = dmabuf_export(NULL, name, NULL, SIZE, NULL, 0);
	if (buf < 0) {
		fprintf(stderr, "export: %s\n", strerror(-buf));
		return 2;
	}
	check(dmabuf_mmap(buf, PROT_READ | PROT_WRITE, &map), "dmabuf_mmap");
	mem = dmabuf_mapping_addr(map);
	ret = mistake(argv[1]);
	check(dmabuf_munmap(map), "dmabuf_munmap");
	unlink(path);
	printf("done %s\n", argv[1]);
	return ret;
}
