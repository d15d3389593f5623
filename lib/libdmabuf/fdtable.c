// SPDX-License-Identifier: MIT
/*
 * DOC: the fd table of SYNC in shared memory
 *
 * What fastsync.c knows of each fd number below DMABUF_FDTABLE_FDS: 0
 * (nothing yet), or an entry it made (the slot of the fd's handle, or
 * "take the ioctl").  A number's entry is only true while whoever closes
 * or replaces numbers says so: the compat layer does (its close, dup2,
 * dup3, close_range, closefrom and opens), and turns the table on with
 * dmabuf_fastsync_track(); libdmabuf's own sys_open() and sys_close() do.
 * Without the layer the table stays off and a bare fd's SYNC is an ioctl.
 *
 * Below everything else of libdmabuf that closes a descriptor, so that
 * each can say so.  Default visibility on purpose, like fastsync.c: under
 * dmabufctl run the preloaded layer's copy is the one table.
 *
 * Calls nothing.
 */
#include <stdbool.h>
#include <stdint.h>

#include "private.h"

static struct {
	bool (*is_buffer)(int fd, dev_t *dev); /* set: numbers are tracked */
	uint64_t fds[DMABUF_FDTABLE_FDS];
} table;

/* @fd's entry (0: none yet); @fd within the table. */
uint64_t dmabuf_fdtable_get(int fd)
{
	return __atomic_load_n(&table.fds[fd], __ATOMIC_ACQUIRE);
}

/* Set @fd's entry to @e; @fd within the table. */
void dmabuf_fdtable_set(int fd, uint64_t e)
{
	__atomic_store_n(&table.fds[fd], e, __ATOMIC_RELEASE);
}

/* Who says whether an fd is a buffer; NULL while numbers are not tracked. */
bool (*dmabuf_fdtable_tracker(void))(int fd, dev_t *dev)
{
	return table.is_buffer;
}

/**
 * dmabuf_fastsync_forget() - fd numbers [@lo, @hi] were closed or replaced
 * @lo: first
 * @hi: last (inclusive; ~0U for all above @lo)
 */
void dmabuf_fastsync_forget(unsigned int lo, unsigned int hi)
{
	unsigned int fd;

	if (hi >= DMABUF_FDTABLE_FDS)
		hi = DMABUF_FDTABLE_FDS - 1;
	for (fd = lo; fd <= hi; fd++)
		if (__atomic_load_n(&table.fds[fd], __ATOMIC_RELAXED))
			__atomic_store_n(&table.fds[fd], 0, __ATOMIC_RELEASE);
}

/**
 * dmabuf_fastsync_track() - the caller keeps fd numbers true
 * @is_buffer: says whether an fd is a buffer of a dmabuffs mount, and
 *             which (asked once per fd, at its first SYNC)
 *
 * From now on SYNC on a bare fd may take a slot: the caller promises to
 * call dmabuf_fastsync_forget() for every fd number closed or replaced.
 */
void dmabuf_fastsync_track(bool (*is_buffer)(int fd, dev_t *dev))
{
	table.is_buffer = is_buffer;
}
