// SPDX-License-Identifier: MIT
/* Heap registration: mandatory ops, ABI version, plugins loaded with dlopen. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(heap, .init = core_setup, .fini = core_teardown);

/* The test plugins are built next to the unit tests: ../plugins/. */
static const char *plugin_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s/../plugins", dirname(exe));
	return dir;
}

static const char *plugin(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", plugin_dir(), name);
	return path;
}

static int fake_alloc(void *p, uint64_t s, const struct dmabuf_constraints *c,
		      struct dmabuf_placement *pl)
{
	(void)p, (void)s, (void)c, (void)pl;
	return -ENOMEM;
}

static void fake_release(void *p, struct dmabuf_placement *pl)
{
	(void)p, (void)pl;
}

static int fake_map(void *p, const struct dmabuf_placement *pl,
		    struct dmabuf_device *d, uint32_t dir,
		    struct dmabuf_sg_table *sgt)
{
	(void)p, (void)pl, (void)d, (void)dir, (void)sgt;
	return -ENOMEM;
}

static void fake_unmap(void *p, struct dmabuf_device *d,
		       struct dmabuf_sg_table *sgt)
{
	(void)p, (void)d, (void)sgt;
}

static const struct dmabuf_heap_ops complete = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.name = "fake",
	.allocate = fake_alloc,
	.release = fake_release,
	.map_dma_buf = fake_map,
	.unmap_dma_buf = fake_unmap,
};

Test(heap, builtins_registered)
{
	char name[DMABUF_NAME_LEN];
	struct dmabuf_heap_stats st;

	cr_assert_eq(dmabuf_heap_count(core), 2);
	cr_assert_eq(dmabuf_heap_stats(core, 0, name, &st), 0);
	cr_assert_str_eq(name, "system");
	cr_assert_eq(st.capacity, 8 * GiB);
	cr_assert_eq(dmabuf_heap_stats(core, 1, name, &st), 0);
	cr_assert_str_eq(name, "cma");
	cr_assert_eq(st.capacity, 64 * MiB);
	cr_assert_eq(st.used, 0);
	cr_assert_eq(dmabuf_heap_stats(core, 2, name, &st), -ENOENT);
}

Test(heap, refuses_each_missing_mandatory_op)
{
	struct dmabuf_heap_ops ops;

	ops = complete, ops.allocate = NULL;
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EINVAL);
	ops = complete, ops.release = NULL;
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EINVAL);
	ops = complete, ops.map_dma_buf = NULL;
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EINVAL);
	ops = complete, ops.unmap_dma_buf = NULL;
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EINVAL);
	cr_assert_eq(dmabuf_heap_count(core), 2, "none of them registered");
	cr_assert_eq(dmabuf_heap_register(core, &complete, NULL), 0);
	cr_assert(dmabuf_heap_exists(core, "fake"));
}

Test(heap, refuses_other_abi_and_duplicates)
{
	struct dmabuf_heap_ops ops = complete;

	ops.abi_version = DMABUF_HEAP_ABI_VERSION + 1;
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EPROTO);
	ops = complete, ops.name = "system";
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EEXIST);
	ops = complete, ops.name = "a-name-far-too-long-for-a-dmabuf-heap";
	cr_assert_eq(dmabuf_heap_register(core, &ops, NULL), -EINVAL);
}

Test(heap, bad_builtin_options)
{
	struct dmabuf_core *c2;
	struct dmabuf_core_config cfg = {.cma_size = 4 * GiB};

	cr_assert_eq(dmabuf_core_new(&cfg, &c2), -EINVAL, "CMA above 2 GiB");
	cfg = (struct dmabuf_core_config){
		.default_heap = "0123456789012345678901234567890123"};
	cr_assert_eq(dmabuf_core_new(&cfg, &c2), -EINVAL);
}

Test(heap, loads_plugin_shared_object)
{
	struct dmabuf_buffer *buf;
	struct dmabuf_handle *h;
	struct dmabuf_sg_entry sg[4];
	uint64_t id;

	cr_assert_eq(dmabuf_heap_load(core, plugin("flaky_heap.so"), NULL), 0);
	cr_assert(dmabuf_heap_exists(core, "flaky"));
	buf = export_buf("flaky", 3 * MiB);
	h = open_buf(buf);
	id = attach(h, "encoder0");
	map(h, id, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(get_sg(h, id, sg, 4), 48, "3 MiB in 64 KiB segments");
	cr_assert_geq(sg[0].dma_addr, 64 * GiB, "placed by the plugin");
	cr_assert_eq(dmabuf_handle_unmap(h, id), 0);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(heap, plugin_without_mandatory_op_refused)
{
	cr_assert_eq(dmabuf_heap_load(core, plugin("broken_heap.so"), NULL),
		     -EINVAL);
	cr_assert_not(dmabuf_heap_exists(core, "broken"));
	cr_assert_eq(dmabuf_heap_load(core, "/nonexistent/heap.so", NULL),
		     -ENOENT);
}

Test(heap, load_dir_skips_bad_plugins)
{
	cr_assert_eq(dmabuf_heap_load_dir(core, plugin_dir()), 1,
		     "flaky loads, broken is refused");
	cr_assert(dmabuf_heap_exists(core, "flaky"));
	cr_assert_eq(dmabuf_heap_load_dir(core, "/nonexistent"), -ENOENT);
}
