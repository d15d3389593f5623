// SPDX-License-Identifier: MIT
/* The device registry: built-ins, the config file, add/remove at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(device, .init = core_setup, .fini = core_teardown);

static uint32_t count_devices(void)
{
	struct dmabuf_device_desc out[16];
	uint32_t total = 0;

	dmabuf_core_device_list(core, 0, 16, out, &total);
	return total;
}

Test(device, builtin_set)
{
	struct dmabuf_device_desc out[16];
	uint32_t total;
	int n = dmabuf_core_device_list(core, 0, 16, out, &total);

	cr_assert_eq(n, 5);
	cr_assert_str_eq(out[1].name, "camera0");
	cr_assert_eq(out[1].max_segments, 1);
	cr_assert_eq(out[1].dma_bits, 32);
	cr_assert(out[4].flags & DMABUF_DEVICE_IOMMU, "gpu0 has an iommu");
	cr_assert_eq(dmabuf_core_device_list(core, 3, 16, out, &total), 2);
	cr_assert_str_eq(out[0].name, "display0");
}

Test(device, add_remove_and_errors)
{
	struct dmabuf_device_desc d = device("isp1", 36, 4, 0, 0, 0, 0);

	cr_assert_eq(dmabuf_core_device_add(core, &d), 0);
	cr_assert_eq(count_devices(), 6);
	cr_assert_eq(dmabuf_core_device_add(core, &d), -EEXIST);
	cr_assert_eq(dmabuf_core_device_remove(core, "isp1"), 0);
	cr_assert_eq(dmabuf_core_device_remove(core, "isp1"), -ENODEV);
	cr_assert_eq(count_devices(), 5);
}

Test(device, malformed_descriptions)
{
	struct dmabuf_device_desc bad[] = {
		device("", 32, 0, 0, 0, 0, 0),
		device("has space", 32, 0, 0, 0, 0, 0),
		device("x", 11, 0, 0, 0, 0, 0),
		device("x", 65, 0, 0, 0, 0, 0),
		device("x", 32, 0, 100, 0, 0, 0),
		device("x", 32, 0, 0, 0x1234, 0, 0),
		device("x", 32, 0, 0, 0x7ff, 0, 0),
		device("x", 32, 0, 0, 0, 3000, 0),
		device("x", 32, 0, 0, 0, 0, 0x80),
	};
	struct dmabuf_device_desc padded = device("x", 32, 0, 0, 0, 0, 0);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(dmabuf_core_device_add(core, &bad[i]), -EINVAL,
			     "case %zu", i);
	padded.pad = 1;
	cr_assert_eq(dmabuf_core_device_add(core, &padded), -EINVAL);
	cr_assert_eq(count_devices(), 5);
}

Test(device, remove_refused_while_attached)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id = attach(h, "encoder0");

	cr_assert_eq(dmabuf_core_device_remove(core, "encoder0"), -EBUSY);
	cr_assert_eq(dmabuf_handle_detach(h, id), 0);
	cr_assert_eq(dmabuf_core_device_remove(core, "encoder0"), 0);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(device, parse_lines)
{
	struct dmabuf_device_desc d;

	cr_assert_eq(dmabuf_device_parse_line("  # only a comment\n", &d), 0);
	cr_assert_eq(dmabuf_device_parse_line("\n", &d), 0);
	cr_assert_eq(dmabuf_device_parse_line(
			     "isp0 dma_bits=32 max_segments=1 alignment=64K "
			     "segment_boundary=0xffff max_segment_size=1M # x",
			     &d),
		     1);
	cr_assert_str_eq(d.name, "isp0");
	cr_assert_eq(d.dma_bits, 32);
	cr_assert_eq(d.max_segments, 1);
	cr_assert_eq(d.alignment, 65536);
	cr_assert_eq(d.segment_boundary, 0xffff);
	cr_assert_eq(d.max_segment_size, MiB);
	cr_assert_eq(dmabuf_device_parse_line("npu0 iommu coherent", &d), 1);
	cr_assert_eq(d.dma_bits, 64, "default");
	cr_assert_eq(d.flags, DMABUF_DEVICE_IOMMU | DMABUF_DEVICE_COHERENT);
	cr_assert_eq(dmabuf_device_parse_line("x colour=blue", &d), -EINVAL);
	cr_assert_eq(dmabuf_device_parse_line("x dma_bits=lots", &d), -EINVAL);
	cr_assert_eq(dmabuf_device_parse_line("x dma_bits=99", &d), -EINVAL);
	cr_assert_eq(dmabuf_device_parse_line("x alignment=3", &d), -EINVAL);
}

static char *write_file(const char *text)
{
	static char path[] = "/tmp/dmabuf-devices-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(device, load_file)
{
	char *path = write_file("# test devices\n"
				"vpu0 dma_bits=34 max_segments=64\n"
				"\n"
				"npu0 dma_bits=48 iommu\n");

	cr_assert_eq(dmabuf_core_device_load_file(core, path), 0);
	cr_assert_eq(count_devices(), 7);
	unlink(path);
}

Test(device, load_file_stops_at_bad_line)
{
	char *path = write_file("vpu0 dma_bits=34\nbroken dma_bits=3\n");

	cr_assert_eq(dmabuf_core_device_load_file(core, path), -EINVAL);
	unlink(path);
	cr_assert_eq(dmabuf_core_device_load_file(core, "/nonexistent/devices"),
		     -ENOENT);
}
