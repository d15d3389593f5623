// SPDX-License-Identifier: MIT
/*
 * DOC: libFuzzer harness over ioctl decoding
 *
 * Each input is a stream of ioctl requests as FUSE would hand them to the
 * daemon: a command (one of ours, one with its size bits changed, or any
 * 32-bit number), the file it was sent to, the payload bytes (usually the
 * command's size, sometimes not) and the room for the answer.  Each goes
 * through ioctl_decode() (fs/decode.c), and an oracle written apart from it
 * checks the verdict: a command the file does not have is ENOTTY, a
 * payload of the wrong size is EINVAL, and an accepted payload has
 * terminated strings, zero padding and output fields, valid flags and
 * counts that fit their arrays.  Accepted requests are then carried out on
 * a live object model (two buffers, four handles of every access mode), as
 * the daemon would, so a decoded struct that the core cannot take shows
 * under ASan and UBSan.  At the end everything is released and no heap may
 * account a byte.
 *
 * make fuzz runs it after the object-model harness, each FUZZ_SECONDS long.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/decode.h"
#include "dmabuf-core.h"
#include "input.h"

#define NR_HANDLES 4

#define FAIL(...)                                            \
	do {                                                 \
		fprintf(stderr, "fuzz_ioctl: " __VA_ARGS__); \
		abort();                                     \
	} while (0)

/* The oracle's own list of what belongs where. */
static const struct {
	unsigned int cmd;
	enum ioctl_target target;
} known[] = {
	{DMA_BUF_IOCTL_SYNC, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_EXPORT, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_INFO, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_SET_NAME, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_ATTACH, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_DETACH, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_MAP, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_GET_SG, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_UNMAP, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_BEGIN_CPU_ACCESS, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_END_CPU_ACCESS, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_FENCE_EXPORT, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_FENCE_IMPORT, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_REVOKE, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_TAKE_RACE, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_SYNC_SLOT, IOCTL_TARGET_BUFFER},
	{DMABUF_IOCTL_FENCE_BIND, IOCTL_TARGET_SYNC_FILE},
	{DMABUF_IOCTL_FENCE_MERGE, IOCTL_TARGET_SYNC_FILE},
	{DMABUF_IOCTL_FENCE_INFO, IOCTL_TARGET_SYNC_FILE},
	{SYNC_IOC_SET_DEADLINE, IOCTL_TARGET_SYNC_FILE},
	{DMABUF_IOCTL_DEVICE_ADD, IOCTL_TARGET_ROOT},
	{DMABUF_IOCTL_DEVICE_REMOVE, IOCTL_TARGET_ROOT},
	{DMABUF_IOCTL_DEVICE_LIST, IOCTL_TARGET_ROOT},
	{DMABUF_IOCTL_HEAP_INFO, IOCTL_TARGET_ROOT},
	{DMABUF_IOCTL_BUFFER_INFO, IOCTL_TARGET_ROOT},
};

#define NR_KNOWN (sizeof(known) / sizeof(known[0]))

/* How many requests the run decoded and accepted, printed at exit. */
static unsigned long long nr_decoded, nr_accepted;

static void report(void)
{
	fprintf(stderr,
		"fuzz_ioctl: %llu ioctl requests decoded, %llu accepted\n",
		nr_decoded, nr_accepted);
}

struct state {
	struct dmabuf_core *core;
	struct dmabuf_buffer *bufs[2];
	struct dmabuf_handle *handles[NR_HANDLES];
};

static bool belongs(unsigned int cmd, enum ioctl_target target)
{
	size_t i;

	for (i = 0; i < NR_KNOWN; i++)
		if (known[i].cmd == cmd)
			return known[i].target == target;
	return false;
}

static bool str_ok(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* An accepted payload: is every field the handlers trust good? */
static bool fields_ok(unsigned int cmd, const union ioctl_arg *a)
{
	switch (cmd) {
	case DMA_BUF_IOCTL_SYNC: /* flags: dmabuf_handle_sync() */
		return true;
	case DMABUF_IOCTL_EXPORT: /* size, flags: dmabuf_buffer_setup() */
		return str_ok(a->exp.heap, sizeof(a->exp.heap)) &&
		       str_ok(a->exp.name, sizeof(a->exp.name));
	case DMABUF_IOCTL_SET_NAME:
	case DMABUF_IOCTL_DEVICE_REMOVE:
		return str_ok(a->name.name, sizeof(a->name.name));
	case DMABUF_IOCTL_ATTACH:
		return str_ok(a->attach.device, sizeof(a->attach.device)) &&
		       !a->attach.flags;
	case DMABUF_IOCTL_MAP:
		return !a->map.nents && !a->map.total_len;
	case DMABUF_IOCTL_GET_SG:
		return !a->sg.pad && a->sg.count >= 1 &&
		       a->sg.count <= DMABUF_SG_PAGE;
	case DMABUF_IOCTL_BEGIN_CPU_ACCESS:
	case DMABUF_IOCTL_END_CPU_ACCESS:
		return !a->cpu.pad;
	case DMABUF_IOCTL_GET_TOKEN:
		return !(a->token.flags & ~(uint32_t)DMABUF_TOKEN_VALID_FLAGS);
	case DMABUF_IOCTL_DEVICE_LIST:
		return !a->list.pad && a->list.count >= 1 &&
		       a->list.count <= DMABUF_DEVICE_PAGE;
	case DMABUF_IOCTL_HEAP_INFO:
		return !a->heap.pad;
	case DMABUF_IOCTL_FENCE_EXPORT: /* flags: the object model's */
		return !a->fexp.pad && !a->fexp.id;
	case DMABUF_IOCTL_FENCE_IMPORT:
		return (a->fimp.flags & DMA_BUF_SYNC_RW) &&
		       !(a->fimp.flags & ~(uint32_t)DMA_BUF_SYNC_RW) &&
		       !a->fimp.pad;
	case DMABUF_IOCTL_REVOKE:
		return a->revoke.pid >= 0 && !a->revoke.count;
	case DMABUF_IOCTL_FENCE_MERGE:
		return !a->fmerge.id &&
		       str_ok(a->fmerge.name, sizeof(a->fmerge.name));
	case DMABUF_IOCTL_FENCE_INFO:
		return a->finfo.count >= 1 &&
		       a->finfo.count <= DMABUF_FENCE_PAGE;
	case SYNC_IOC_SET_DEADLINE:
		return !a->deadline.pad;
	}
	return true;
}

static void check_verdict(unsigned int cmd, enum ioctl_target target,
			  bool unrestricted, const uint8_t *in, size_t in_size,
			  size_t out_size, const union ioctl_arg *a, int ret,
			  const char *why)
{
	size_t size = _IOC_SIZE(cmd), i;
	bool size_ok = !unrestricted &&
		       (!(_IOC_DIR(cmd) & _IOC_WRITE) || in_size == size) &&
		       (!(_IOC_DIR(cmd) & _IOC_READ) || out_size >= size);

	if (ret != 0 && ret != -ENOTTY && ret != -EINVAL)
		FAIL("cmd %#x: undefined answer %d\n", cmd, ret);
	if (ret && (!why || !*why))
		FAIL("cmd %#x: refused without a reason\n", cmd);
	if (!belongs(cmd, target)) {
		if (ret != -ENOTTY)
			FAIL("cmd %#x on target %d: %d, not ENOTTY\n", cmd,
			     target, ret);
		return;
	}
	if (!size_ok && ret != -EINVAL)
		FAIL("cmd %#x: in %zu out %zu unrestricted %d accepted\n", cmd,
		     in_size, out_size, unrestricted);
	if (ret)
		return;
	if (!fields_ok(cmd, a))
		FAIL("cmd %#x: a bad field got through\n", cmd);
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && memcmp(a, in, size))
		FAIL("cmd %#x: payload not copied as sent\n", cmd);
	for (i = (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0; i < sizeof(*a); i++)
		if (((const uint8_t *)a)[i])
			FAIL("cmd %#x: byte %zu not zeroed\n", cmd, i);
}

static void check_ret(unsigned int cmd, int ret)
{
	if (ret < -4095 || ret > 0)
		FAIL("cmd %#x: the core answered %d\n", cmd, ret);
}

/*
 * A fence's leaves are sorted, distinct, and no more than the buffer's
 * device mappings can be pending (export and merge keep pending leaves
 * only).
 */
static void check_leaves(struct dmabuf_fence *f)
{
	static struct dmabuf_fence_leaf v[4096];
	unsigned int n = dmabuf_fence_leaves(f, 0, v, 4096), i;

	for (i = 1; i < n && i < 4096; i++)
		if (v[i - 1].seq >= v[i].seq)
			FAIL("fence leaves out of order or repeated at %u\n",
			     i);
}

/*
 * Export a fence twice, merge the two, and import the result back (twice:
 * the second is a no-op): the buffer then waits on itself.
 */
static int apply_fence_export(struct dmabuf_buffer *buf, uint32_t flags)
{
	struct dmabuf_fence *f, *g, *m;
	int ret = dmabuf_fence_export(buf, flags, &f), status;
	bool valid = (flags & DMA_BUF_SYNC_RW) &&
		     !(flags & ~(uint32_t)DMA_BUF_SYNC_RW);

	if (!valid && ret != -EINVAL)
		FAIL("fence export with flags %#x: %d, not EINVAL\n", flags,
		     ret);
	if (ret)
		return ret;
	status = dmabuf_fence_status(f);
	if (status > 1)
		FAIL("fence status %d\n", status);
	check_leaves(f);
	if (!dmabuf_fence_export(buf, flags, &g)) {
		if (!dmabuf_fence_merge(f, g, &m)) {
			check_leaves(m);
			if (dmabuf_fence_leaves(m, 0, NULL, 0) >
			    dmabuf_fence_leaves(f, 0, NULL, 0) +
				    dmabuf_fence_leaves(g, 0, NULL, 0))
				FAIL("a merge names more leaves than its "
				     "parts\n");
			dmabuf_fence_put(f);
			f = m;
		}
		dmabuf_fence_put(g);
	}
	ret = dmabuf_buffer_import_fence(buf, f, flags & DMA_BUF_SYNC_WRITE,
					 1000, 1);
	if (!ret)
		ret = dmabuf_buffer_import_fence(buf, f, true, 1000, 1);
	dmabuf_fence_put(f);
	return ret;
}

static void apply_buffer(struct state *s, struct dmabuf_handle *h,
			 unsigned int cmd, union ioctl_arg *a)
{
	struct dmabuf_buffer *buf = dmabuf_handle_buffer(h);
	uint64_t id, total;
	int ret = 0, n;

	switch (cmd) {
	case DMA_BUF_IOCTL_SYNC:
		ret = dmabuf_handle_sync(h, a->sync.flags);
		if (ret != -EINVAL &&
		    ((a->sync.flags &
		      ~(uint64_t)DMA_BUF_SYNC_VALID_FLAGS_MASK) ||
		     !(a->sync.flags & DMA_BUF_SYNC_RW)))
			FAIL("SYNC flags %#llx: %d, not EINVAL\n",
			     (unsigned long long)a->sync.flags, ret);
		break;
	case DMABUF_IOCTL_EXPORT:
		ret = dmabuf_buffer_setup(buf, a->exp.heap, a->exp.size,
					  a->exp.flags,
					  a->exp.name[0] ? a->exp.name : NULL);
		if (!ret &&
		    (!a->exp.size ||
		     (a->exp.flags & ~(uint64_t)DMABUF_EXPORT_VALID_FLAGS)))
			FAIL("export of size %llu flags %#llx accepted\n",
			     (unsigned long long)a->exp.size,
			     (unsigned long long)a->exp.flags);
		break;
	case DMABUF_IOCTL_INFO:
		dmabuf_buffer_info(buf, &a->info);
		break;
	case DMABUF_IOCTL_SET_NAME:
		ret = dmabuf_buffer_set_name(buf, a->name.name);
		break;
	case DMABUF_IOCTL_ATTACH:
		ret = dmabuf_handle_attach(h, a->attach.device, &id);
		break;
	case DMABUF_IOCTL_DETACH:
		ret = dmabuf_handle_detach(h, a->ref.attach_id);
		break;
	case DMABUF_IOCTL_MAP:
		ret = dmabuf_handle_map(h, a->map.attach_id, a->map.dir,
					&a->map.nents, &total);
		break;
	case DMABUF_IOCTL_GET_SG:
		n = dmabuf_handle_get_sg(h, a->sg.attach_id, a->sg.first,
					 a->sg.count, a->sg.entries,
					 &a->sg.nents);
		if (n > (int)a->sg.count)
			FAIL("get_sg copied %d of %u\n", n, a->sg.count);
		ret = n < 0 ? n : 0;
		break;
	case DMABUF_IOCTL_UNMAP:
		ret = dmabuf_handle_unmap(h, a->ref.attach_id);
		break;
	case DMABUF_IOCTL_BEGIN_CPU_ACCESS:
		ret = dmabuf_handle_begin_cpu(h, a->cpu.offset, a->cpu.length,
					      a->cpu.flags);
		break;
	case DMABUF_IOCTL_END_CPU_ACCESS:
		ret = dmabuf_handle_end_cpu(h, a->cpu.offset, a->cpu.length,
					    a->cpu.flags);
		break;
	case DMABUF_IOCTL_FENCE_EXPORT:
		ret = apply_fence_export(buf, a->fexp.flags);
		break;
	case DMABUF_IOCTL_REVOKE:
		n = dmabuf_buffer_revoke(buf, 0, DMABUF_NO_OWNER,
					 a->revoke.pid);
		if (n < 0)
			FAIL("revoke answered %d\n", n);
		break;
	case DMABUF_IOCTL_TAKE_RACE:
		dmabuf_handle_take_race(h, &a->race);
		dmabuf_handle_take_race(h, &a->race);
		if (a->race.count)
			FAIL("a race was taken twice\n");
		break;
	}
	(void)s;
	check_ret(cmd, ret);
}

static void apply_root(struct state *s, unsigned int cmd, union ioctl_arg *a)
{
	struct dmabuf_heap_stats st;
	int ret = 0, n;

	switch (cmd) {
	case DMABUF_IOCTL_DEVICE_ADD:
		ret = dmabuf_core_device_add(s->core, &a->dev);
		break;
	case DMABUF_IOCTL_DEVICE_REMOVE:
		ret = dmabuf_core_device_remove(s->core, a->name.name);
		break;
	case DMABUF_IOCTL_DEVICE_LIST:
		n = dmabuf_core_device_list(s->core, a->list.first,
					    a->list.count, a->list.devices,
					    &a->list.total);
		if (n < 0 || n > (int)a->list.count)
			FAIL("device_list gave %d of %u\n", n, a->list.count);
		break;
	case DMABUF_IOCTL_HEAP_INFO:
		ret = dmabuf_heap_stats(s->core, a->heap.index, a->heap.name,
					&st);
		break;
	case DMABUF_IOCTL_BUFFER_INFO:
		/* A lookup in the daemon's inode table, which the model has
		 * not: any ino is safe to ask (test_hardening's storm). */
		break;
	}
	check_ret(cmd, ret);
}

/* One request: a command, a target, sizes and the payload. */
static void one_request(struct state *s, struct input *in)
{
	unsigned int sel = (unsigned int)take(in, 1), cmd, flags;
	enum ioctl_target target;
	size_t in_size, out_size, i;
	union ioctl_arg a;
	const char *why = NULL;
	uint8_t *payload;
	int ret;

	cmd = known[sel % NR_KNOWN].cmd;
	if (sel & 0x80) /* any number at all */
		cmd = (unsigned int)take(in, 4);
	else if (sel & 0x40) /* ours with another size or direction */
		cmd ^= (unsigned int)take(in, 2) << 16;
	flags = (unsigned int)take(in, 1);
	target = (enum ioctl_target)(flags % 4);
	in_size = flags & 0x10 ? (size_t)take(in, 2) % (sizeof(a) + 64)
			       : _IOC_SIZE(cmd);
	out_size = flags & 0x20 ? (size_t)take(in, 2) % (sizeof(a) + 64)
				: _IOC_SIZE(cmd);
	/* Exactly in_size bytes: a read past them is an ASan report. */
	payload = malloc(in_size ? in_size : 1);
	if (!payload)
		abort();
	for (i = 0; i < in_size; i++)
		payload[i] = (uint8_t)take(in, 1);
	ret = ioctl_decode(cmd, target, flags & 0x40, payload, in_size,
			   out_size, &a, &why);
	check_verdict(cmd, target, flags & 0x40, payload, in_size, out_size, &a,
		      ret, why);
	free(payload);
	nr_decoded++;
	if (ret)
		return;
	nr_accepted++;
	if (target == IOCTL_TARGET_ROOT)
		apply_root(s, cmd, &a);
	else if (target == IOCTL_TARGET_BUFFER &&
		 cmd != DMABUF_IOCTL_GET_TOKEN && /* the side channel's */
		 cmd != DMABUF_IOCTL_FENCE_IMPORT) /* names an fs-layer id */
		apply_buffer(s, s->handles[(flags >> 3) % NR_HANDLES], cmd, &a);
}

static void setup(struct state *s)
{
	static const int modes[NR_HANDLES] = {O_RDWR, O_RDONLY, O_RDWR,
					      O_WRONLY};
	struct dmabuf_core_config cfg = {.cma_size = 16 << 20,
					 .system_size = 256 << 20};
	int i;

	if (dmabuf_core_new(&cfg, &s->core) ||
	    dmabuf_core_device_add_builtin(s->core) ||
	    dmabuf_buffer_export(s->core, "system", 1 << 20, 0, NULL,
				 &s->bufs[0]) ||
	    dmabuf_buffer_create(s->core, &s->bufs[1]))
		abort();
	for (i = 0; i < NR_HANDLES; i++)
		if (dmabuf_handle_open(s->bufs[i / 2], modes[i],
				       &s->handles[i]))
			abort();
}

static void teardown(struct state *s)
{
	struct dmabuf_heap_stats st;
	char name[DMABUF_NAME_LEN];
	unsigned int i;

	for (i = 0; i < NR_HANDLES; i++)
		dmabuf_handle_release(s->handles[i]);
	for (i = 0; i < 2; i++)
		dmabuf_buffer_put(s->bufs[i]);
	for (i = 0; dmabuf_heap_stats(s->core, i, name, &st) == 0; i++)
		if (st.used)
			FAIL("heap %s still accounts %llu bytes\n", name,
			     (unsigned long long)st.used);
	dmabuf_core_free(s->core);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	struct input in = {data, size};
	struct state s = {0};

	if (!registered)
		registered = atexit(report) == 0;
	dmabuf_log_set_handler(quiet);
	setup(&s);
	while (in.left)
		one_request(&s, &in);
	teardown(&s);
	return 0;
}
