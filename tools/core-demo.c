// SPDX-License-Identifier: MIT
/*
 * DOC: object-model demonstration
 *
 * Walks the dma-buf model without a mount: a camera and a GPU share a frame
 * on the cma heap, the backing is placed only at the first map, a display
 * with stricter constraints joins and forces a migration that waits for the
 * camera's mapping to end, and the bytes survive the move.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>

#include "dmabuf-core.h"

#define FRAME (4u << 20)

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "core-demo: %s: %s\n", what, strerror(-ret));
		exit(1);
	}
	return ret;
}

static void show(struct dmabuf_buffer *buf, struct dmabuf_handle *h,
		 uint64_t id, const char *dev)
{
	struct dmabuf_sg_entry sg[4];
	struct dmabuf_info info;
	uint32_t nents;
	int n = check(dmabuf_handle_get_sg(h, id, 0, 4, sg, &nents), "get_sg");

	dmabuf_buffer_info(buf, &info);
	say("    %-8s sees %u segment(s); first at %#llx, %llu bytes", dev,
	    nents, (unsigned long long)sg[0].dma_addr,
	    (unsigned long long)sg[0].length);
	(void)n;
}

int main(void)
{
	struct dmabuf_core_config cfg = {.cma_size = 64u << 20};
	struct dmabuf_core *core;
	struct dmabuf_buffer *filler, *buf;
	struct dmabuf_handle *hf, *h;
	struct dmabuf_info info;
	uint64_t cam, gpu, disp, len;
	uint32_t nents;
	unsigned char *bytes;
	int fd, ret;

	dmabuf_log_set_level(LOG_WARNING);

	check(dmabuf_core_new(&cfg, &core), "core");
	check(dmabuf_core_device_add_builtin(core), "devices");
	say("dmabuffs object model demo (no mount needed)");
	say("1. Export a 4 MiB frame on the cma heap; another small buffer already sits at the pool's start.");
	check(dmabuf_buffer_export(core, "cma", 64 << 10,
				   DMABUF_EXPORT_ALLOC_NOW, "filler", &filler),
	      "export");
	check(dmabuf_buffer_export(core, "cma", FRAME, 0, "frame0", &buf),
	      "export");
	check(dmabuf_handle_open(filler, 2, &hf), "open");
	check(dmabuf_handle_open(buf, 2, &h), "open");
	say("2. Attach camera0 (32-bit, contiguous) and gpu0 (behind an iommu).");
	check(dmabuf_handle_attach(h, "camera0", &cam), "attach camera0");
	check(dmabuf_handle_attach(h, "gpu0", &gpu), "attach gpu0");
	dmabuf_buffer_info(buf, &info);
	say("   state: %s: nothing is placed until the first map",
	    dmabuf_state_name(info.state));
	say("3. The camera maps the frame to write it: the backing is placed now, for both devices.");
	check(dmabuf_handle_map(h, cam, DMABUF_DIR_FROM_DEVICE, &nents, &len),
	      "map");
	check(dmabuf_handle_map(h, gpu, DMABUF_DIR_TO_DEVICE, &nents, &len),
	      "map");
	show(buf, h, cam, "camera0");
	show(buf, h, gpu, "gpu0");
	fd = check(dmabuf_buffer_memfd(buf, false), "memfd");
	bytes = mmap(NULL, FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED)
		return perror("mmap"), 1;
	memset(bytes, 0x5a, FRAME);
	say("4. display0 (1 MiB-aligned scanout) attaches; the placement does not suit it.");
	check(dmabuf_handle_attach(h, "display0", &disp), "attach display0");
	dmabuf_buffer_info(buf, &info);
	say("   state: %s", dmabuf_state_name(info.state));
	ret = dmabuf_handle_map(h, disp, DMABUF_DIR_TO_DEVICE, &nents, &len);
	say("   display map while camera and gpu still map it: %s",
	    strerror(-ret));
	say("5. The camera and gpu finish (unmap); the display's map now moves the backing.");
	check(dmabuf_handle_unmap(h, cam), "unmap");
	check(dmabuf_handle_unmap(h, gpu), "unmap");
	check(dmabuf_handle_map(h, disp, DMABUF_DIR_TO_DEVICE, &nents, &len),
	      "map display0");
	show(buf, h, disp, "display0");
	say("   bytes after the move: first %#x, last %#x (were 0x5a)",
	    bytes[0], bytes[FRAME - 1]);
	check(dmabuf_handle_unmap(h, disp), "unmap");
	munmap(bytes, FRAME);
	dmabuf_handle_release(h);
	dmabuf_handle_release(hf);
	dmabuf_buffer_put(buf);
	dmabuf_buffer_put(filler);
	dmabuf_core_free(core);
	say("done: every handle released, every buffer returned to its heap.");
	return 0;
}
