// SPDX-License-Identifier: MIT
/* Ranged CPU access, DMA_BUF_IOCTL_SYNC rules, implicit fences and waits. */
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(cpu, .init = core_setup, .fini = core_teardown);

Test(cpu, ranges_and_directions)
{
	struct dmabuf_buffer *buf = export_buf("system", 10000);
	struct dmabuf_handle *h = open_buf(buf);

	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 0, 0), -EINVAL, "no dir");
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 0, 4), -EINVAL);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 10000, 1, 1), -EINVAL);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 9000, 1001, 1), -EINVAL);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, UINT64_MAX, 2, 1), -EINVAL);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 9000, 1000, 3), 0);
	cr_assert_eq(dmabuf_handle_end_cpu(h, 9000, 1000, 3), 0);
	cr_assert_eq(dmabuf_handle_end_cpu(h, 9000, 1000, 3), 0,
		     "an unbalanced END is allowed, as in the kernel");
	cr_assert_eq(dmabuf_handle_end_cpu(h, 0, 20000, 3), -EINVAL);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(cpu, first_cpu_access_places_backing)
{
	struct dmabuf_buffer *buf = export_buf("cma", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct dmabuf_info info;

	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.state, DMABUF_STATE_EXPORTED);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 4096, DMA_BUF_SYNC_READ), 0);
	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.state, DMABUF_STATE_ALLOCATED);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(cpu, empty_buffer_refused)
{
	struct dmabuf_buffer *buf;
	struct dmabuf_handle *h;
	uint64_t id;

	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	h = open_buf(buf);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 0, 1), -EINVAL);
	cr_assert_eq(dmabuf_handle_attach(h, "gpu0", &id), -EINVAL);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(cpu, sync_flag_rules_match_the_kernel)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h = open_buf(buf);

	cr_assert_eq(dmabuf_handle_sync(h, DMA_BUF_SYNC_START), -EINVAL,
		     "no RW");
	cr_assert_eq(dmabuf_handle_sync(h, DMA_BUF_SYNC_END), -EINVAL, "no RW");
	cr_assert_eq(dmabuf_handle_sync(h, DMA_BUF_SYNC_RW | 8), -EINVAL);
	cr_assert_eq(dmabuf_handle_sync(h, DMA_BUF_SYNC_READ | (1ULL << 63)),
		     -EINVAL);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		0);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(dmabuf_handle_sync(h, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
		     0);
	cr_assert_eq(DMA_BUF_IOCTL_SYNC, 0x40086200, "the kernel's number");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(cpu, write_fence_blocks_reads_read_fence_blocks_writes)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t enc = attach(h, "encoder0"), gpu = attach(h, "gpu0");

	cr_assert_eq(dmabuf_buffer_poll(buf),
		     POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, "no fences");
	map(h, enc, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(dmabuf_buffer_poll(buf), POLLIN | POLLRDNORM,
		     "a device reads: readable, not writable");
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		0);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE),
		-EAGAIN);
	map(h, gpu, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(dmabuf_buffer_poll(buf), 0, "a device writes");
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 4096, DMA_BUF_SYNC_READ),
		     -EAGAIN);
	cr_assert_eq(dmabuf_handle_unmap(h, gpu), 0);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 4096, DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(dmabuf_handle_unmap(h, enc), 0);
	cr_assert_eq(dmabuf_handle_begin_cpu(h, 0, 4096, DMA_BUF_SYNC_WRITE),
		     0);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(cpu, device_mapping_during_a_bracket_is_noted_as_a_race)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *cpu = open_buf(buf), *dev = open_buf(buf),
			     *idle = open_buf(buf);
	uint64_t enc = attach(dev, "encoder0"), gpu = attach(dev, "gpu0");
	struct dmabuf_cpu_race race;

	cr_assert_eq(dmabuf_handle_begin_cpu(cpu, 0, 0, DMA_BUF_SYNC_READ), 0);
	map(dev, enc, DMABUF_DIR_TO_DEVICE);
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 0, "a reading device does not race a reader");
	map(dev, gpu, DMABUF_DIR_FROM_DEVICE);
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 1, "a writing device races any bracket");
	cr_assert_str_eq(race.device, "gpu0");
	cr_assert_eq(race.dir, DMABUF_DIR_FROM_DEVICE);
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 0, "taken once");
	dmabuf_handle_take_race(idle, &race);
	cr_assert_eq(race.count, 0, "a handle without a bracket did not race");
	cr_assert_eq(dmabuf_handle_end_cpu(cpu, 0, 0, DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(dmabuf_handle_unmap(dev, gpu), 0);
	cr_assert_eq(dmabuf_handle_unmap(dev, enc), 0);

	cr_assert_eq(dmabuf_handle_begin_cpu(cpu, 0, 0, DMA_BUF_SYNC_WRITE), 0);
	map(dev, enc, DMABUF_DIR_TO_DEVICE);
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 1, "a reading device races a writer");
	cr_assert_str_eq(race.device, "encoder0");
	dmabuf_handle_release(idle);
	dmabuf_handle_release(dev);
	dmabuf_handle_release(cpu);
	dmabuf_buffer_put(buf);
}

static void *release_thread(void *arg)
{
	dmabuf_handle_release(arg);
	return NULL;
}

Test(cpu, waiter_woken_when_the_writer_handle_dies)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *writer = open_buf(buf), *reader = open_buf(buf);
	struct dmabuf_info info;
	uint64_t id = attach(writer, "gpu0"), seq;
	pthread_t t;

	map(writer, id, DMABUF_DIR_FROM_DEVICE);
	seq = dmabuf_buffer_seq(buf);
	cr_assert_eq(dmabuf_handle_sync(reader,
					DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     -EAGAIN);
	pthread_create(&t, NULL, release_thread, writer);
	cr_assert_eq(dmabuf_buffer_wait(buf, seq, 10000), 0);
	pthread_join(t, NULL);
	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.attachments, 0,
		     "the dead handle's attachment is gone");
	cr_assert_eq(info.maps, 0);
	cr_assert_eq(dmabuf_handle_sync(reader,
					DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     0);
	dmabuf_handle_release(reader);
	dmabuf_buffer_put(buf);
}

Test(cpu, wait_times_out_without_change)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);

	cr_assert_eq(dmabuf_buffer_wait(buf, dmabuf_buffer_seq(buf), 20),
		     -ETIMEDOUT);
	dmabuf_buffer_put(buf);
}

static struct dmabuf_buffer *notified;
static int notifications;

static void on_change(void *arg, struct dmabuf_buffer *buf)
{
	cr_assert_eq(arg, &notifications);
	notified = buf;
	notifications++;
	/* The hook runs without the lock: calling back in must work. */
	dmabuf_buffer_poll(buf);
}

Test(cpu, notify_hook_on_unmap)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id = attach(h, "gpu0");

	dmabuf_core_set_notify(core, on_change, &notifications);
	map(h, id, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(notifications, 0);
	cr_assert_eq(dmabuf_handle_unmap(h, id), 0);
	cr_assert_eq(notifications, 1);
	cr_assert_eq(notified, buf);
	dmabuf_handle_release(h);
	cr_assert_eq(notifications, 2);
	dmabuf_buffer_put(buf);
}

Test(cpu, heap_begin_failure_reported_end_still_succeeds)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct dmabuf_buffer *buf;
	struct dmabuf_handle *h;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../plugins/flaky_heap.so",
		 dirname(exe));
	cr_assert_eq(dmabuf_heap_load(core, path, "fail_begin"), 0);
	buf = export_buf("flaky", MiB);
	h = open_buf(buf);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		-EIO);
	cr_assert_eq(
		dmabuf_handle_sync(h, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

/*
 * Brackets in shared memory, the daemon's side: @slow follows what a START
 * would wait for, the slot's counts are the handle's brackets for race
 * notes and .bufinfo, and lies in the counts are taken as hints only.
 */
Test(cpu, a_sync_slot_says_when_a_start_may_skip_the_daemon)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *cpu = open_buf(buf), *dev = open_buf(buf);
	uint64_t gpu = attach(dev, "gpu0"), ino = dmabuf_buffer_ino(buf);
	struct dmabuf_sync_slot slot = {.slow = 7};
	struct dmabuf_cpu_race race;
	char *text = NULL;
	size_t len;

	dmabuf_handle_set_sync_slot(cpu, &slot);
	cr_assert_eq(slot.slow, 1, "not placed yet: the ioctl places it");
	cr_assert_eq(dmabuf_handle_sync(cpu, DMA_BUF_SYNC_START |
						     DMA_BUF_SYNC_WRITE),
		     0);
	cr_assert_eq(slot.slow, 0, "placed, nothing to wait for");
	cr_assert_eq(
		dmabuf_handle_sync(cpu, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE),
		0);

	slot.brackets = DMABUF_SYNC_WRITE_ONE; /* a START in shared memory */
	cr_assert_eq(dmabuf_core_bufinfo(core, &ino, 1, &text, &len), 0);
	cr_assert_not_null(strstr(text, "CPU bracket: 1 open (WRITE) on [0, "
					"+1048576)"),
			   "%s", text);
	free(text);
	map(dev, gpu, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(slot.slow, 1, "a device mapping sends STARTs back");
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 1, "and the slot's WRITE bracket raced it");
	cr_assert_eq(dmabuf_handle_unmap(dev, gpu), 0);
	cr_assert_eq(slot.slow, 0, "unmapped: free again");

	slot.brackets = 0xffffffffU; /* a lie: taken as a hint, capped */
	cr_assert_eq(dmabuf_core_bufinfo(core, &ino, 1, &text, &len), 0);
	cr_assert_not_null(strstr(text, "CPU bracket: 32767 open (READ|WRITE)"),
			   "%s", text);
	free(text);

	dmabuf_handle_set_sync_slot(cpu, NULL);
	cr_assert_eq(slot.slow, 1, "taken back: the ioctl again");
	map(dev, gpu, DMABUF_DIR_FROM_DEVICE);
	dmabuf_handle_take_race(cpu, &race);
	cr_assert_eq(race.count, 0, "a slot taken back counts no more");
	dmabuf_handle_release(dev);
	dmabuf_handle_release(cpu);
	dmabuf_buffer_put(buf);
}
