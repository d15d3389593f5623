// SPDX-License-Identifier: MIT
/*
 * DOC: libFuzzer harness over the object model's state machine
 *
 * Each input is a program: bytes decode into a sequence of operations
 * (export, open, release, attach, detach, map, get_sg, unmap, begin/end CPU
 * access, sync, name, link/unlink, CPU-map references, device add/remove,
 * SYNC slots given and taken back, their bytes scribbled as a hostile
 * client would)
 * on a fresh core, with random arguments.  ASan and UBSan catch memory and
 * arithmetic errors; at the end everything is released and every heap must
 * account zero bytes in use, so a leaked or double-freed placement shows.
 *
 * make fuzz FUZZ_SECONDS=N runs it; CI runs it for a minute.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmabuf-core.h"
#include "input.h"

#define SLOTS 8

static const char *const devices[] = {"cpu",  "camera0", "encoder0", "display0",
				      "gpu0", "nosuch",	 "fz0"};
static const char *const heaps[] = {"system", "cma", "nosuch"};

struct state {
	struct dmabuf_core *core;
	struct dmabuf_buffer *bufs[SLOTS];
	struct dmabuf_handle *handles[SLOTS];
	unsigned int cpu_maps[SLOTS];
	bool linked[SLOTS];
	struct dmabuf_sync_slot sync[SLOTS]; /* handle i's, in shared memory */
};

static void check_ret(int ret)
{
	/* Every refusal is a negative errno, never garbage. */
	if (ret < -4095 || (ret > 0 && ret > 1 << 20))
		abort();
}

static struct dmabuf_handle *handle_at(struct state *s, uint64_t i)
{
	return s->handles[i % SLOTS];
}

static void op_export(struct state *s, struct input *in)
{
	unsigned int slot = (unsigned int)take(in, 1) % SLOTS;
	uint64_t size = take(in, 1) & 1 ? take(in, 3) : take(in, 8);
	struct dmabuf_buffer *buf;
	int ret;

	if (s->bufs[slot])
		return;
	ret = dmabuf_buffer_export(s->core, heaps[take(in, 1) % 3], size,
				   take(in, 1) & 1, NULL, &buf);
	check_ret(ret);
	if (!ret)
		s->bufs[slot] = buf;
}

static void op_handle(struct state *s, struct input *in, bool open)
{
	unsigned int slot = (unsigned int)take(in, 1) % SLOTS;
	struct dmabuf_buffer *buf = s->bufs[take(in, 1) % SLOTS];

	if (!open && s->handles[slot]) {
		dmabuf_handle_release(s->handles[slot]);
		s->handles[slot] = NULL;
	} else if (open && !s->handles[slot] && buf) {
		check_ret(dmabuf_handle_open(buf, 2, &s->handles[slot]));
	}
}

static void op_device(struct state *s, struct input *in)
{
	struct dmabuf_device_desc d = {.name = "fz0"};

	if (take(in, 1) & 1) {
		check_ret(dmabuf_core_device_remove(s->core, "fz0"));
		return;
	}
	d.dma_bits = (uint32_t)take(in, 1);
	d.max_segments = (uint32_t)take(in, 1);
	d.max_segment_size = take(in, 1) << 12;
	d.segment_boundary =
		take(in, 1) & 1 ? (1ULL << (take(in, 1) % 40)) - 1 : 0;
	d.alignment = take(in, 1) & 1 ? 1ULL << (take(in, 1) % 32) : 0;
	d.flags = (uint32_t)take(in, 1) & 7;
	check_ret(dmabuf_core_device_add(s->core, &d));
}

static void op_buffer_misc(struct state *s, struct input *in)
{
	unsigned int slot = (unsigned int)take(in, 1) % SLOTS;
	struct dmabuf_buffer *buf = s->bufs[slot];
	struct dmabuf_info info;
	char names[256];

	if (!buf)
		return;
	switch (take(in, 1) % 6) {
	case 0:
		check_ret(dmabuf_buffer_set_name(
			buf, take(in, 1) & 1
				     ? "frame"
				     : "0123456789012345678901234567890123"));
		break;
	case 1:
		if (!s->linked[slot])
			dmabuf_buffer_link(buf);
		else
			dmabuf_buffer_unlink(buf);
		s->linked[slot] = !s->linked[slot];
		break;
	case 2:
		dmabuf_buffer_cpu_map_get(buf);
		s->cpu_maps[slot]++;
		break;
	case 3:
		if (s->cpu_maps[slot]) {
			dmabuf_buffer_cpu_map_put(buf);
			s->cpu_maps[slot]--;
		}
		break;
	case 4:
		dmabuf_buffer_info(buf, &info);
		dmabuf_buffer_attachment_names(buf, names, sizeof(names));
		dmabuf_buffer_poll(buf);
		break;
	default:
		check_ret(dmabuf_buffer_memfd(buf, take(in, 1) & 1));
		check_ret(dmabuf_buffer_set_heap(buf, heaps[take(in, 1) % 3]));
	}
}

static void op_attachment(struct state *s, struct input *in, unsigned int op)
{
	struct dmabuf_handle *h = handle_at(s, take(in, 1));
	struct dmabuf_sg_entry sg[8];
	uint64_t id = take(in, 1) % 6, len;
	uint32_t nents;

	if (!h)
		return;
	switch (op) {
	case 0:
		check_ret(
			dmabuf_handle_attach(h, devices[take(in, 1) % 7], &id));
		break;
	case 1:
		check_ret(dmabuf_handle_detach(h, id));
		break;
	case 2:
		check_ret(dmabuf_handle_map(h, id, (uint32_t)take(in, 1) % 4,
					    &nents, &len));
		break;
	case 3:
		check_ret(dmabuf_handle_unmap(h, id));
		break;
	default:
		check_ret(dmabuf_handle_get_sg(h, id, (uint32_t)take(in, 1),
					       (uint32_t)take(in, 1) % 9, sg,
					       &nents));
	}
}

static void op_cpu(struct state *s, struct input *in, unsigned int op)
{
	struct dmabuf_handle *h = handle_at(s, take(in, 1));
	uint64_t off = take(in, 1) & 1 ? take(in, 3) : take(in, 8);
	uint64_t len = take(in, 1) & 1 ? take(in, 3) : take(in, 8);
	uint32_t dir = (uint32_t)take(in, 1) % 5;

	if (!h)
		return;
	if (op == 0)
		check_ret(dmabuf_handle_begin_cpu(h, off, len, dir));
	else if (op == 1)
		check_ret(dmabuf_handle_end_cpu(h, off, len, dir));
	else
		check_ret(dmabuf_handle_sync(h, take(in, 8)));
}

/* A handle's SYNC slot: given, taken back, or scribbled by its client. */
static void op_slot(struct state *s, struct input *in)
{
	unsigned int i = (unsigned int)take(in, 1) % SLOTS;
	struct dmabuf_handle *h = s->handles[i];
	uint64_t junk = take(in, 8);

	if (!h)
		return;
	switch (take(in, 1) % 3) {
	case 0:
		dmabuf_handle_set_sync_slot(h, &s->sync[i]);
		break;
	case 1:
		dmabuf_handle_set_sync_slot(h, NULL);
		break;
	default:
		memcpy(&s->sync[i], &junk, sizeof(junk));
		s->sync[i].brackets = (uint32_t)(junk >> 17);
	}
}

static void teardown(struct state *s)
{
	struct dmabuf_heap_stats st;
	char name[DMABUF_NAME_LEN];
	unsigned int i;

	for (i = 0; i < SLOTS; i++)
		if (s->handles[i])
			dmabuf_handle_release(s->handles[i]);
	for (i = 0; i < SLOTS; i++) {
		if (!s->bufs[i])
			continue;
		while (s->cpu_maps[i]--)
			dmabuf_buffer_cpu_map_put(s->bufs[i]);
		if (s->linked[i])
			dmabuf_buffer_unlink(s->bufs[i]);
		dmabuf_buffer_put(s->bufs[i]);
	}
	for (i = 0; dmabuf_heap_stats(s->core, i, name, &st) == 0; i++)
		if (st.used) {
			fprintf(stderr, "heap %s still accounts %llu bytes\n",
				name, (unsigned long long)st.used);
			abort();
		}
	dmabuf_core_free(s->core);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmabuf_core_config cfg = {.cma_size = 16 << 20,
					 .system_size = 256 << 20};
	struct input in = {data, size};
	struct state s = {0};

	dmabuf_log_set_handler(quiet);
	if (dmabuf_core_new(&cfg, &s.core) ||
	    dmabuf_core_device_add_builtin(s.core))
		abort();
	while (in.left) {
		unsigned int op = (unsigned int)take(&in, 1) % 16;

		if (op == 0)
			op_export(&s, &in);
		else if (op <= 2)
			op_handle(&s, &in, op == 1);
		else if (op <= 7)
			op_attachment(&s, &in, op - 3);
		else if (op <= 10)
			op_cpu(&s, &in, op - 8);
		else if (op == 11)
			op_device(&s, &in);
		else if (op == 12)
			op_slot(&s, &in);
		else
			op_buffer_misc(&s, &in);
	}
	teardown(&s);
	return 0;
}
