/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit test helpers
 *
 * A fresh core with the built-in devices for each test, and short ways to
 * export, open, attach and map.  Every helper asserts, so a test reads as the
 * scenario it checks.
 */
#ifndef DMABUF_TEST_HELPERS_H
#define DMABUF_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "dmabuf-core.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct dmabuf_core *core;

static inline void quiet_log(int prio, const char *msg)
{
	(void)prio, (void)msg;
}

static inline void core_setup(void)
{
	struct dmabuf_core_config cfg = {.cma_size = 64 * MiB,
					 .system_size = 8 * GiB};

	dmabuf_log_set_handler(quiet_log);
	cr_assert_eq(dmabuf_core_new(&cfg, &core), 0);
	cr_assert_eq(dmabuf_core_device_add_builtin(core), 0);
}

static inline void core_teardown(void)
{
	dmabuf_core_free(core);
	core = NULL;
}

static inline struct dmabuf_buffer *export_buf(const char *heap, uint64_t size)
{
	struct dmabuf_buffer *buf = NULL;

	cr_assert_eq(dmabuf_buffer_export(core, heap, size, 0, NULL, &buf), 0,
		     "export %s %llu", heap ? heap : "(default)",
		     (unsigned long long)size);
	return buf;
}

static inline struct dmabuf_handle *open_buf(struct dmabuf_buffer *buf)
{
	struct dmabuf_handle *h = NULL;

	cr_assert_eq(dmabuf_handle_open(buf, 2 /* O_RDWR */, &h), 0);
	return h;
}

static inline uint64_t attach(struct dmabuf_handle *h, const char *dev)
{
	uint64_t id = 0;
	int ret = dmabuf_handle_attach(h, dev, &id);

	cr_assert_eq(ret, 0, "attach %s: %s", dev, strerror(-ret));
	return id;
}

static inline uint32_t map(struct dmabuf_handle *h, uint64_t id, uint32_t dir)
{
	uint32_t nents = 0;
	uint64_t len = 0;
	int ret = dmabuf_handle_map(h, id, dir, &nents, &len);

	cr_assert_eq(ret, 0, "map: %s", strerror(-ret));
	return nents;
}

/* Read a whole sg table. */
static inline uint32_t get_sg(struct dmabuf_handle *h, uint64_t id,
			      struct dmabuf_sg_entry *out, uint32_t room)
{
	uint32_t nents = 0;
	int n = dmabuf_handle_get_sg(h, id, 0, room, out, &nents);

	cr_assert_geq(n, 0);
	cr_assert_eq((uint32_t)n, nents < room ? nents : room);
	return nents;
}

static inline struct dmabuf_device_desc device(const char *name, uint32_t bits,
					       uint32_t segs, uint64_t seg_size,
					       uint64_t boundary,
					       uint64_t align, uint32_t flags)
{
	struct dmabuf_device_desc d = {.dma_bits = bits,
				       .max_segments = segs,
				       .max_segment_size = seg_size,
				       .segment_boundary = boundary,
				       .alignment = align,
				       .flags = flags};

	strcpy(d.name, name);
	return d;
}

#endif
