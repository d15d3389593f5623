// SPDX-License-Identifier: MIT
/* Buffer lifetime, export rules, names, info and bufinfo. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h" /* before helpers.h: its global core */
#include "helpers.h"

TestSuite(buffer, .init = core_setup, .fini = core_teardown);

static uint64_t live_buffers(void)
{
	uint64_t n, bytes;

	dmabuf_core_totals(core, &n, &bytes);
	return n;
}

static uint64_t heap_used(unsigned int idx)
{
	char name[DMABUF_NAME_LEN];
	struct dmabuf_heap_stats st;

	dmabuf_heap_stats(core, idx, name, &st);
	return st.used;
}

Test(buffer, lifetime_across_handles_and_name)
{
	struct dmabuf_buffer *buf = export_buf("cma", MiB);
	struct dmabuf_handle *h1, *h2;

	dmabuf_buffer_link(buf);
	dmabuf_buffer_put(buf); /* only the name holds it now */
	h1 = open_buf(buf);
	h2 = open_buf(buf);
	cr_assert_geq(dmabuf_buffer_memfd(buf, true), 0, "placed");
	cr_assert_eq(heap_used(1), MiB);
	dmabuf_buffer_unlink(buf);
	cr_assert_eq(live_buffers(), 1, "anonymous, alive on its handles");
	dmabuf_handle_release(h1);
	cr_assert_eq(live_buffers(), 1);
	dmabuf_buffer_cpu_map_get(buf);
	dmabuf_handle_release(h2);
	cr_assert_eq(live_buffers(), 1, "a CPU mapping still holds it");
	cr_assert_eq(heap_used(1), MiB);
	dmabuf_buffer_cpu_map_put(buf);
	cr_assert_eq(live_buffers(), 0, "freed with the last reference");
	cr_assert_eq(heap_used(1), 0, "backing returned to the heap");
}

Test(buffer, named_buffer_outlives_handles)
{
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h;

	dmabuf_buffer_link(buf);
	dmabuf_buffer_put(buf);
	h = open_buf(buf);
	dmabuf_handle_release(h);
	cr_assert_eq(live_buffers(), 1, "the name keeps it");
	dmabuf_buffer_unlink(buf);
	cr_assert_eq(live_buffers(), 0);
}

Test(buffer, size_fixed_once)
{
	struct dmabuf_buffer *buf;
	struct dmabuf_info info;

	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.state, DMABUF_STATE_EMPTY);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 0), -EINVAL);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 5000), 0);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 5000), 0, "same size: no-op");
	cr_assert_eq(dmabuf_buffer_set_size(buf, 8192), -EPERM);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 4096), -EPERM);
	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.size, 5000, "exact size reported");
	cr_assert_eq(info.state, DMABUF_STATE_EXPORTED);
	cr_assert_str_eq(info.heap, "system", "default heap");
	dmabuf_buffer_put(buf);
}

Test(buffer, heap_choice_rules)
{
	struct dmabuf_buffer *buf;
	struct dmabuf_handle *h;

	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	cr_assert_eq(dmabuf_buffer_set_heap(buf, "nosuch"), -ENODEV);
	cr_assert_eq(dmabuf_buffer_set_heap(buf, "cma"), 0);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 2 * GiB), -EFBIG,
		     "larger than the 64 MiB pool");
	cr_assert_eq(dmabuf_buffer_set_size(buf, MiB), 0);
	h = open_buf(buf);
	attach(h, "gpu0");
	cr_assert_eq(dmabuf_buffer_set_heap(buf, "system"), -EPERM,
		     "the size was checked against cma's capacity");
	cr_assert_eq(dmabuf_buffer_set_heap(buf, "cma"), 0, "same heap: no-op");
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(buffer, heap_fixed_once_sized)
{
	struct dmabuf_buffer *buf;

	/* Sized on the 8 GiB system heap, then moved to the 64 MiB pool. */
	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	cr_assert_eq(dmabuf_buffer_set_size(buf, 128 * MiB), 0);
	cr_assert_eq(dmabuf_buffer_set_heap(buf, "cma"), -EPERM);
	cr_assert_eq(dmabuf_buffer_setup(buf, "cma", 128 * MiB, 0, NULL),
		     -EPERM, "a second export");
	dmabuf_buffer_put(buf);

	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	cr_assert_eq(dmabuf_buffer_setup(buf, "cma", 128 * MiB, 0, "big"),
		     -EFBIG);
	cr_assert_eq(dmabuf_buffer_setup(buf, "cma", 2 * GiB,
					 DMABUF_EXPORT_ALLOC_NOW, NULL),
		     -EFBIG);
	cr_assert_eq(dmabuf_buffer_size(buf), 0,
		     "a failed export changes nothing");
	cr_assert_eq(dmabuf_buffer_setup(buf, "cma", MiB, 0, "small"), 0);
	cr_assert_eq(dmabuf_buffer_setup(buf, "cma", MiB, 0, NULL), -EPERM);
	dmabuf_buffer_put(buf);
}

Test(buffer, failed_placement_unexports)
{
	struct dmabuf_buffer *big, *buf;
	struct dmabuf_info info;

	cr_assert_eq(dmabuf_buffer_export(core, "cma", 48 * MiB,
					  DMABUF_EXPORT_ALLOC_NOW, NULL, &big),
		     0);
	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	cr_assert_lt(dmabuf_buffer_setup(buf, "cma", 32 * MiB,
					 DMABUF_EXPORT_ALLOC_NOW, "late"),
		     0, "the pool is full");
	dmabuf_buffer_info(buf, &info);
	cr_assert_eq(info.size, 0);
	cr_assert_str_eq(info.name, "", "nothing half-set");
	cr_assert_eq(dmabuf_buffer_setup(buf, "system", 32 * MiB,
					 DMABUF_EXPORT_ALLOC_NOW, NULL),
		     0, "and it may still be exported elsewhere");
	dmabuf_buffer_put(buf);
	dmabuf_buffer_put(big);
}

Test(buffer, export_validates)
{
	struct dmabuf_buffer *buf;

	cr_assert_eq(
		dmabuf_buffer_export(core, "cma", MiB, 1ULL << 40, NULL, &buf),
		-EINVAL, "unknown flag");
	cr_assert_eq(dmabuf_buffer_export(core, "nosuch", MiB, 0, NULL, &buf),
		     -ENODEV);
	cr_assert_eq(dmabuf_buffer_export(core, NULL, MiB, 0,
					  "0123456789012345678901234567890123",
					  &buf),
		     -EINVAL, "name over 31 bytes");
	cr_assert_eq(live_buffers(), 0, "failed exports leave nothing");
	cr_assert_eq(dmabuf_buffer_export(core, "cma", MiB,
					  DMABUF_EXPORT_ALLOC_NOW, "frame",
					  &buf),
		     0);
	cr_assert_eq(heap_used(1), MiB, "placed at once");
	dmabuf_buffer_put(buf);
}

Test(buffer, names)
{
	struct dmabuf_buffer *buf = export_buf(NULL, 4096);
	struct dmabuf_info info;
	char name31[32];

	memset(name31, 'n', 31);
	name31[31] = '\0';
	cr_assert_eq(dmabuf_buffer_set_name(buf, name31), 0);
	dmabuf_buffer_info(buf, &info);
	cr_assert_str_eq(info.name, name31);
	cr_assert_eq(dmabuf_buffer_set_name(
			     buf, "0123456789012345678901234567890123"),
		     -EINVAL);
	dmabuf_buffer_put(buf);
}

Test(buffer, memfd_is_sealed_and_zeroed)
{
	struct dmabuf_buffer *buf = export_buf("system", 10000);
	int fd;
	char byte = 1;
	struct stat st;

	cr_assert_eq(dmabuf_buffer_memfd(buf, false), -ENODATA,
		     "no backing before first use");
	fd = dmabuf_buffer_backing(buf);
	cr_assert_geq(fd, 0, "the memory exists before placement");
	cr_assert_eq(dmabuf_buffer_memfd(buf, false), -ENODATA,
		     "and placement stays deferred");
	cr_assert_eq(dmabuf_buffer_memfd(buf, true), fd, "the same memory");
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 10000,
		     "exactly the size: a passthrough "
		     "file reads to its backing's end");
	cr_assert_eq(pread(fd, &byte, 1, 9999), 1);
	cr_assert_eq(byte, 0, "zero-filled");
	cr_assert_eq(ftruncate(fd, 1 << 20), -1);
	cr_assert_eq(errno, EPERM, "sealed against growing");
	cr_assert_eq(ftruncate(fd, 4096), -1);
	cr_assert_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK),
		     F_SEAL_GROW | F_SEAL_SHRINK);
	dmabuf_buffer_put(buf);
}

Test(buffer, bufinfo_kernel_format)
{
	struct dmabuf_buffer *buf = export_buf("cma", 8192);
	struct dmabuf_handle *h = open_buf(buf);
	uint64_t id;
	char *text, want[256];
	size_t len;

	dmabuf_buffer_set_name(buf, "frame0");
	id = attach(h, "camera0");
	attach(h, "gpu0");
	map(h, id, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(dmabuf_core_bufinfo(core, NULL, 0, &text, &len), 0);
	cr_assert_not_null(strstr(
		text,
		"size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"));
	snprintf(
		want, sizeof(want),
		"00008192\t00000000\t00000003\t00000002\tcma\t%08llu\tframe0\n",
		(unsigned long long)dmabuf_buffer_ino(buf));
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_not_null(strstr(
		text, "\twrite fence: dmabuffs camera0 seq 1 unsignalled\n"));
	cr_assert_not_null(strstr(
		text,
		"\tAttached Devices:\n\tcamera0\n\tgpu0\nTotal 2 devices attached\n"));
	cr_assert_not_null(strstr(text, "Total 1 objects, 8192 bytes\n"));
	free(text);
	dmabuf_handle_release(h);
	dmabuf_buffer_put(buf);
}

Test(buffer, names_are_zero_padded)
{
	struct dmabuf_buffer *buf = export_buf(NULL, 4096);
	struct dmabuf_info info;
	size_t i;

	cr_assert_eq(dmabuf_buffer_set_name(buf, "a-long-name-to-dirty-memory"),
		     0);
	cr_assert_eq(dmabuf_buffer_set_name(buf, "ab"), 0);
	dmabuf_buffer_info(buf, &info);
	for (i = 2; i < sizeof(info.name); i++)
		cr_assert_eq(info.name[i], 0, "byte %zu leaks old contents", i);
	dmabuf_buffer_put(buf);
}

struct closed {
	int fds[4];
	int n;
	bool unlocked; /* every call came without core.lock */
};

static void record_close(void *arg, int fd)
{
	struct closed *c = arg;

	if (pthread_mutex_trylock(&core->lock) == 0)
		pthread_mutex_unlock(&core->lock);
	else
		c->unlocked = false;
	if (c->n < 4)
		c->fds[c->n++] = fd;
	close(fd);
}

/*
 * A dying buffer's memfd goes to the close hook, without core.lock: its
 * last close frees the pages, which nobody waiting on the lock should pay.
 */
Test(buffer, a_dying_buffers_memfd_goes_to_the_close_hook_unlocked)
{
	struct closed c = {.unlocked = true};
	struct dmabuf_buffer *buf = export_buf("system", MiB);
	struct dmabuf_handle *h = open_buf(buf);
	struct stat st;
	int fd;

	dmabuf_core_set_closer(core, record_close, &c);
	fd = dmabuf_buffer_memfd(buf, true);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	dmabuf_handle_release(h);
	cr_assert_eq(c.n, 0, "a reference is left");
	dmabuf_buffer_put(buf);
	cr_assert_eq(c.n, 1, "the last reference let go of the memfd");
	cr_assert_eq(c.fds[0], fd);
	cr_assert(c.unlocked, "the hook ran without core.lock");
	cr_assert_eq(live_buffers(), 0);
	dmabuf_core_set_closer(core, NULL, NULL);
}

/* Bytes written before the size was set become the buffer, no copy. */
Test(buffer, a_memfd_of_early_bytes_is_adopted_once_sized)
{
	struct dmabuf_buffer *buf;
	int fd = memfd_create("early", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char got[5] = "";

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "early", 5, 0), 5);
	cr_assert_eq(dmabuf_buffer_create(core, &buf), 0);
	cr_assert_eq(dmabuf_buffer_adopt_memfd(buf, fd), -EINVAL, "no size");
	cr_assert_eq(dmabuf_buffer_set_size(buf, 3 * 4096), 0);
	cr_assert_eq(dmabuf_buffer_adopt_memfd(buf, fd), 0);
	cr_assert_eq(dmabuf_buffer_memfd(buf, true), fd, "its memory, placed");
	cr_assert_eq(dmabuf_buffer_pread(buf, got, 5, 0), 5);
	cr_assert_eq(memcmp(got, "early", 5), 0, "the same bytes");
	cr_assert_eq(lseek(fd, 0, SEEK_END), 3 * 4096, "cut to the size");
	cr_assert_eq(fcntl(fd, F_GET_SEALS) & F_SEAL_GROW, F_SEAL_GROW,
		     "sealed as every buffer's memory");
	cr_assert_eq(dmabuf_buffer_adopt_memfd(buf, fd), -EBUSY, "once");
	dmabuf_buffer_put(buf);
}
