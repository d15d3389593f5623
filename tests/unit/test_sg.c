// SPDX-License-Identifier: MIT
/* Scatter-gather tables honour each device constraint. */
#include "helpers.h"

TestSuite(sg, .init = core_setup, .fini = core_teardown);

static uint32_t map_with(const char *heap, uint64_t size,
			 struct dmabuf_device_desc d,
			 struct dmabuf_sg_entry *sg, uint32_t room)
{
	struct dmabuf_buffer *buf = export_buf(heap, size);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id;
	uint32_t n;

	cr_assert_eq(dmabuf_core_device_add(core, &d), 0);
	id = attach(h, d.name);
	map(h, id, DMABUF_DIR_BIDIRECTIONAL);
	n = get_sg(h, id, sg, room);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
	return n;
}

/* Segments tile the buffer in order. */
static void assert_tiles(const struct dmabuf_sg_entry *sg, uint32_t n,
			 uint64_t size)
{
	uint64_t off = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		cr_assert_eq(sg[i].offset, off, "entry %u", i);
		off += sg[i].length;
	}
	cr_assert_eq(off, size);
}

Test(sg, max_segment_size)
{
	struct dmabuf_sg_entry sg[16];
	uint32_t n =
		map_with("cma", 64 << 10,
			 device("seg16k", 64, 0, 16 << 10, 0, 0, 0), sg, 16);
	uint32_t i;

	cr_assert_eq(n, 4);
	for (i = 0; i < n; i++)
		cr_assert_eq(sg[i].length, 16 << 10);
	cr_assert_eq(sg[1].dma_addr, sg[0].dma_addr + (16 << 10),
		     "contiguous memory, split only by the limit");
	assert_tiles(sg, n, 64 << 10);
}

Test(sg, segment_boundary)
{
	struct dmabuf_sg_entry sg[64];
	uint64_t mask = 0xffff;
	uint32_t n = map_with("system", MiB + (12 << 10),
			      device("bnd64k", 64, 0, 0, mask, 0, 0), sg, 64);
	uint32_t i;

	cr_assert_gt(n, 1);
	for (i = 0; i < n; i++)
		cr_assert_eq(sg[i].dma_addr & ~mask,
			     (sg[i].dma_addr + sg[i].length - 1) & ~mask,
			     "entry %u crosses a 64 KiB boundary", i);
	assert_tiles(sg, n, MiB + (12 << 10));
}

Test(sg, dma_bits_unreachable)
{
	struct dmabuf_device_desc d = device("bits31", 31, 0, 0, 0, 0, 0);
	struct dmabuf_buffer *buf = export_buf("system", 2 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id;

	cr_assert_eq(dmabuf_core_device_add(core, &d), 0);
	cr_assert_eq(dmabuf_handle_attach(h, "bits31", &id), -EBUSY,
		     "system pages start at 2 GiB");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(sg, dma_bits_met)
{
	struct dmabuf_sg_entry sg[8];
	uint32_t n = map_with("system", 2 * MiB,
			      device("bits33", 33, 0, 0, 0, 0, 0), sg, 8);
	uint32_t i;

	cr_assert_eq(n, 2);
	for (i = 0; i < n; i++)
		cr_assert_lt(sg[i].dma_addr + sg[i].length - 1, 8 * GiB);
}

Test(sg, alignment)
{
	struct dmabuf_buffer *filler = export_buf("cma", 4096);
	struct dmabuf_sg_entry sg[2];
	uint32_t n;

	dmabuf_buffer_memfd(filler, true);
	n = map_with("cma", 8192, device("al2m", 64, 1, 0, 0, 2 * MiB, 0), sg,
		     2);
	cr_assert_eq(n, 1);
	cr_assert_eq(sg[0].dma_addr % (2 * MiB), 0);
	dmabuf_buffer_put(filler);
}

Test(sg, iommu_segments_of_scattered_pages)
{
	struct dmabuf_sg_entry sg[32];
	uint32_t n = map_with(
		"system", 4 * MiB,
		device("mmu64k", 36, 0, 64 << 10, 0, 0, DMABUF_DEVICE_IOMMU),
		sg, 32);
	uint32_t i;

	cr_assert_eq(n, 64, "only the segment size splits an I/O range");
	for (i = 1; i < 32; i++)
		cr_assert_eq(sg[i].dma_addr, sg[i - 1].dma_addr + (64 << 10));
	cr_assert_lt(sg[31].dma_addr, 1ULL << 36);
}

Test(sg, paging_through_a_table)
{
	struct dmabuf_buffer *buf = export_buf("system", 8 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_sg_entry page[DMABUF_SG_PAGE];
	uint64_t id = attach(h, "encoder0");
	uint32_t nents, total = map(h, id, DMABUF_DIR_TO_DEVICE), seen = 0;
	int n;

	cr_assert_eq(total, 128);
	while ((n = dmabuf_handle_get_sg(h, id, seen, DMABUF_SG_PAGE, page,
					 &nents)) > 0)
		seen += (uint32_t)n;
	cr_assert_eq(n, 0);
	cr_assert_eq(seen, 128);
	cr_assert_eq(dmabuf_handle_get_sg(h, id, 129, 1, page, &nents),
		     -EINVAL);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}
