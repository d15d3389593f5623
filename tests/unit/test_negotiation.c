// SPDX-License-Identifier: MIT
/*
 * Deferred allocation, constraint negotiation and migration: the placement
 * chosen at first map must suit every device attached then; later devices
 * are admitted, moved to, or refused.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>

#include "helpers.h"

TestSuite(negotiation, .init = core_setup, .fini = core_teardown);

static uint64_t used(unsigned int idx)
{
	char name[DMABUF_NAME_LEN];
	struct dmabuf_heap_stats st;

	dmabuf_heap_stats(core, idx, name, &st);
	return st.used;
}

static struct dmabuf_info info_of(struct dmabuf_buffer *buf)
{
	struct dmabuf_info info;

	dmabuf_buffer_info(buf, &info);
	return info;
}

Test(negotiation, deferred_until_first_map_contiguous_camera_with_gpu)
{
	struct dmabuf_buffer *buf = export_buf("cma", 4 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_sg_entry sg[8];
	uint64_t cam = attach(h, "camera0"), gpu = attach(h, "gpu0");

	cr_assert_eq(info_of(buf).state, DMABUF_STATE_EXPORTED);
	cr_assert_eq(used(1), 0, "nothing placed at attach time");
	cr_assert_eq(map(h, gpu, DMABUF_DIR_BIDIRECTIONAL), 1,
		     "the iommu sees one segment");
	cr_assert_eq(info_of(buf).state, DMABUF_STATE_ALLOCATED);
	cr_assert_eq(used(1), 4 * MiB);
	cr_assert_eq(map(h, cam, DMABUF_DIR_FROM_DEVICE), 1,
		     "placed contiguous for the camera");
	get_sg(h, cam, sg, 8);
	cr_assert_lt(sg[0].dma_addr + sg[0].length - 1, 4 * GiB, "32-bit");
	cr_assert_eq(sg[0].dma_addr % (64 << 10), 0, "camera alignment");
	cr_assert_eq(sg[0].length, 4 * MiB);
	get_sg(h, gpu, sg, 8);
	cr_assert_eq(sg[0].length, 4 * MiB);
	cr_assert_neq(
		sg[0].dma_addr, info_of(buf).phys_addr,
		"the gpu sees an I/O virtual address, not the physical one");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(negotiation, system_heap_scatters_above_4g)
{
	struct dmabuf_buffer *buf = export_buf("system", 4 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_sg_entry sg[128];
	uint64_t enc = attach(h, "encoder0");
	uint32_t n, i;

	attach(h, "gpu0");
	n = map(h, enc, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(n, 64, "the encoder sees 64 KiB segments");
	cr_assert_eq(info_of(buf).nr_chunks, 4, "four 1 MiB chunks");
	get_sg(h, enc, sg, 128);
	for (i = 0; i < n; i++) {
		cr_assert_geq(sg[i].dma_addr, 4 * GiB, "normal zone");
		cr_assert_eq(sg[i].offset, i * (64ULL << 10));
		if (i && i % 16 == 0)
			cr_assert_neq(sg[i - 1].dma_addr + sg[i - 1].length,
				      sg[i].dma_addr, "chunks are scattered");
	}
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(negotiation, segment_size_limits_only_split_the_devices_own_view)
{
	struct dmabuf_buffer *buf = export_buf("cma", 2 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_sg_entry sg[64];
	uint64_t enc = attach(h, "encoder0"), disp;

	cr_assert_eq(map(h, enc, DMABUF_DIR_TO_DEVICE), 32);
	disp = attach(h, "display0");
	cr_assert_eq(dmabuf_handle_unmap(h, enc), 0);
	cr_assert_eq(map(h, disp, DMABUF_DIR_TO_DEVICE), 1,
		     "one contiguous, 1 MiB-aligned segment for the display");
	get_sg(h, disp, sg, 64);
	cr_assert_eq(sg[0].dma_addr % MiB, 0);
	cr_assert_eq(map(h, enc, DMABUF_DIR_TO_DEVICE), 32,
		     "the same memory, 64 KiB at a time, for the encoder");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(negotiation, a_device_alone_can_be_impossible)
{
	struct dmabuf_device_desc d = device("tiny4", 64, 4, 64 << 10, 0, 0, 0);
	struct dmabuf_buffer *buf = export_buf("cma", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id;

	cr_assert_eq(dmabuf_core_device_add(core, &d), 0);
	cr_assert_eq(dmabuf_handle_attach(h, "tiny4", &id), -EBUSY,
		     "4 segments of 64 KiB can never cover 1 MiB");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(negotiation, system_heap_falls_back_to_dma32_zone)
{
	struct dmabuf_device_desc d = device("vpu32", 32, 0, 0, 0, 0, 0);
	struct dmabuf_buffer *buf = export_buf("system", 3 * MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_sg_entry sg[8];
	uint32_t n, i;
	uint64_t id;

	cr_assert_eq(dmabuf_core_device_add(core, &d), 0);
	id = attach(h, "vpu32");
	n = map(h, id, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(n, 3, "three 1 MiB chunks");
	get_sg(h, id, sg, 8);
	for (i = 0; i < n; i++) {
		cr_assert_geq(sg[i].dma_addr, 2 * GiB);
		cr_assert_lt(sg[i].dma_addr + sg[i].length, 4 * GiB);
	}
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(negotiation, impossible_attach_is_ebusy)
{
	struct dmabuf_device_desc low = device("low28", 28, 0, 0, 0, 0, 0);
	struct dmabuf_device_desc tiny =
		device("tinymmu", 20, 0, 0, 0, 0, DMABUF_DEVICE_IOMMU);
	struct dmabuf_buffer *big = export_buf("system", 4 * MiB);
	struct dmabuf_buffer *small = export_buf("system", MiB);
	struct dmabuf_buffer *cma = export_buf("cma", 4 * MiB);
	struct dmabuf_handle *hb = open_buf(big), *hs = open_buf(small);
	struct dmabuf_handle *hc = open_buf(cma);
	uint64_t id;

	cr_assert_eq(dmabuf_core_device_add(core, &low), 0);
	cr_assert_eq(dmabuf_core_device_add(core, &tiny), 0);
	cr_assert_eq(dmabuf_handle_attach(hb, "camera0", &id), -EBUSY,
		     "4 MiB of system pages can never be one segment");
	id = attach(hs, "camera0");
	cr_assert_eq(map(hs, id, DMABUF_DIR_FROM_DEVICE), 1,
		     "1 MiB fits one chunk");
	cr_assert_eq(dmabuf_handle_attach(hc, "low28", &id), -EBUSY,
		     "the CMA pool starts above 256 MiB");
	cr_assert_eq(dmabuf_handle_attach(hc, "tinymmu", &id), -EBUSY,
		     "a 1 MiB I/O space cannot map 4 MiB");
	cr_assert_eq(dmabuf_handle_attach(hc, "nosuch", &id), -ENODEV);
	cr_assert_eq(info_of(cma).attachments, 0);
	dmabuf_handle_release(hb);
	dmabuf_handle_release(hs);
	dmabuf_handle_release(hc);
	dmabuf_buffer_put(big);
	dmabuf_buffer_put(small);
	dmabuf_buffer_put(cma);
}

Test(negotiation, attach_already_satisfied_does_not_move)
{
	struct dmabuf_buffer *buf = export_buf("cma", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t cam = attach(h, "camera0"), before;

	map(h, cam, DMABUF_DIR_FROM_DEVICE);
	before = info_of(buf).phys_addr;
	attach(h, "gpu0");
	attach(h, "encoder0");
	cr_assert_eq(info_of(buf).state, DMABUF_STATE_ALLOCATED);
	cr_assert_eq(info_of(buf).phys_addr, before);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

struct unmapper {
	struct dmabuf_handle *h;
	uint64_t id;
};

static void *unmap_thread(void *arg)
{
	struct unmapper *u = arg;

	cr_assert_eq(dmabuf_handle_unmap(u->h, u->id), 0);
	return NULL;
}

Test(negotiation, migration_stalls_while_mapped_and_preserves_bytes)
{
	struct dmabuf_buffer *filler = export_buf("cma", 64 << 10);
	struct dmabuf_buffer *buf = export_buf("cma", 4 * MiB);
	struct dmabuf_handle *hf = open_buf(filler), *h = open_buf(buf);
	struct dmabuf_sg_entry sg[2];
	uint32_t nents;
	uint64_t len, cam, disp, from, seq;
	struct unmapper u;
	pthread_t t;
	unsigned char *p;
	int fd;

	cr_assert_eq(dmabuf_handle_begin_cpu(hf, 0, 0, DMA_BUF_SYNC_WRITE), 0);
	cam = attach(h, "camera0");
	map(h, cam, DMABUF_DIR_FROM_DEVICE);
	from = info_of(buf).phys_addr;
	cr_assert_neq(from % MiB, 0, "not where a display can scan out");
	fd = dmabuf_buffer_memfd(buf, false);
	p = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0xa5, 4 * MiB);

	disp = attach(h, "display0");
	cr_assert_eq(info_of(buf).state, DMABUF_STATE_MIGRATING);
	seq = dmabuf_buffer_seq(buf);
	cr_assert_eq(
		dmabuf_handle_map(h, disp, DMABUF_DIR_TO_DEVICE, &nents, &len),
		-EAGAIN, "the move waits for the camera's mapping");
	u = (struct unmapper){h, cam};
	pthread_create(&t, NULL, unmap_thread, &u);
	cr_assert_eq(dmabuf_buffer_wait(buf, seq, 10000), 0, "woken by unmap");
	pthread_join(t, NULL);
	cr_assert_eq(map(h, disp, DMABUF_DIR_TO_DEVICE), 1);
	cr_assert_eq(info_of(buf).state, DMABUF_STATE_ALLOCATED);
	get_sg(h, disp, sg, 2);
	cr_assert_neq(sg[0].dma_addr, from, "moved");
	cr_assert_eq(sg[0].dma_addr % MiB, 0, "display alignment");
	cr_assert_eq(used(1), (64 << 10) + 4 * MiB, "old placement freed");
	cr_assert_eq(p[0], 0xa5);
	cr_assert_eq(p[4 * MiB - 1], 0xa5, "bytes preserved");
	cr_assert_eq(map(h, cam, DMABUF_DIR_FROM_DEVICE), 1,
		     "the camera maps the new placement");
	munmap(p, 4 * MiB);
	dmabuf_handle_release(h);
	dmabuf_handle_release(hf);
	dmabuf_buffer_put(buf);
	dmabuf_buffer_put(filler);
}

Test(negotiation, detaching_the_demanding_device_cancels_the_move)
{
	struct dmabuf_buffer *filler = export_buf("cma", 64 << 10);
	struct dmabuf_buffer *buf = export_buf("cma", MiB);
	struct dmabuf_handle *hf = open_buf(filler), *h = open_buf(buf);
	uint64_t cam, disp;

	dmabuf_buffer_memfd(filler, true);
	cam = attach(h, "camera0");
	map(h, cam, DMABUF_DIR_FROM_DEVICE);
	disp = attach(h, "display0");
	cr_assert_eq(used(1), (64 << 10) + 2 * MiB, "target reserved");
	cr_assert_eq(dmabuf_handle_detach(h, disp), 0);
	cr_assert_eq(info_of(buf).state, DMABUF_STATE_ALLOCATED);
	cr_assert_eq(used(1), (64 << 10) + MiB, "reservation returned");
	dmabuf_handle_release(h);
	dmabuf_handle_release(hf);
	dmabuf_buffer_put(buf);
	dmabuf_buffer_put(filler);
}

Test(negotiation, move_without_room_is_enomem)
{
	struct dmabuf_buffer *a = export_buf("cma", 64 << 10);
	struct dmabuf_buffer *b = export_buf("cma", 32 * MiB);
	struct dmabuf_buffer *c = export_buf("cma", 31 * MiB);
	struct dmabuf_handle *h = open_buf(b);
	uint64_t id;

	dmabuf_buffer_memfd(a, true);
	attach(h, "camera0");
	dmabuf_buffer_memfd(b, true);
	dmabuf_buffer_memfd(c, true);
	cr_assert_eq(dmabuf_handle_attach(h, "display0", &id), -ENOMEM);
	cr_assert_eq(info_of(b).attachments, 1, "refused attach left nothing");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(a);
	dmabuf_buffer_put(b);
	dmabuf_buffer_put(c);
}

Test(negotiation, full_heap_fails_only_the_new_buffer)
{
	struct dmabuf_buffer *all = export_buf("cma", 64 * MiB);
	struct dmabuf_buffer *more = export_buf("cma", 4096);
	struct dmabuf_handle *h = open_buf(more);
	uint32_t nents;
	uint64_t len, id = attach(h, "camera0");

	cr_assert_geq(dmabuf_buffer_memfd(all, true), 0);
	cr_assert_eq(
		dmabuf_handle_map(h, id, DMABUF_DIR_TO_DEVICE, &nents, &len),
		-ENOMEM);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 0, DMA_BUF_SYNC_READ),
		     -ENOMEM);
	cr_assert_eq(info_of(all).state, DMABUF_STATE_ALLOCATED,
		     "the other buffer is intact");
	dmabuf_buffer_put(all);
	cr_assert_eq(map(h, id, DMABUF_DIR_TO_DEVICE), 1, "room again");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(more);
}

Test(negotiation, attachments_are_per_handle)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h1 = open_buf(buf), *h2 = open_buf(buf);
	uint32_t nents;
	uint64_t len, id = attach(h1, "gpu0");

	cr_assert_eq(dmabuf_handle_map(h2, id, 0, &nents, &len), -EINVAL,
		     "another handle's attachment");
	cr_assert_eq(dmabuf_handle_detach(h2, id), -EINVAL);
	cr_assert_eq(dmabuf_handle_map(h1, id, 3, &nents, &len), -EINVAL,
		     "bad dir");
	map(h1, id, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(dmabuf_handle_map(h1, id, 0, &nents, &len), -EBUSY);
	cr_assert_eq(dmabuf_handle_detach(h1, id), -EBUSY, "still mapped");
	cr_assert_eq(dmabuf_handle_unmap(h1, id), 0);
	cr_assert_eq(dmabuf_handle_unmap(h1, id), -EINVAL, "not mapped");
	cr_assert_eq(dmabuf_handle_detach(h1, id), 0);
	cr_assert_eq(dmabuf_handle_detach(h1, id), -EINVAL);
	dmabuf_handle_release(h1);
	dmabuf_handle_release(h2);
	dmabuf_buffer_put(buf);
}

Test(negotiation, device_access_follows_the_handles_mode)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *ro, *wo;
	uint64_t len, rid, wid;
	uint32_t nents;

	cr_assert_eq(dmabuf_handle_open(buf, O_RDONLY, &ro), 0);
	cr_assert_eq(dmabuf_handle_open(buf, O_WRONLY, &wo), 0);
	rid = attach(ro, "gpu0");
	wid = attach(wo, "gpu0");
	cr_assert_eq(dmabuf_handle_map(ro, rid, DMABUF_DIR_FROM_DEVICE, &nents,
				       &len),
		     -EACCES, "a reader cannot let a device write");
	cr_assert_eq(dmabuf_handle_map(ro, rid, DMABUF_DIR_BIDIRECTIONAL,
				       &nents, &len),
		     -EACCES);
	cr_assert_eq(
		dmabuf_handle_map(wo, wid, DMABUF_DIR_TO_DEVICE, &nents, &len),
		-EACCES, "a writer cannot let a device read");
	map(ro, rid, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(dmabuf_handle_unmap(ro, rid), 0);
	map(wo, wid, DMABUF_DIR_FROM_DEVICE);
	dmabuf_handle_release(ro);
	dmabuf_handle_release(wo);
	dmabuf_buffer_put(buf);
}
