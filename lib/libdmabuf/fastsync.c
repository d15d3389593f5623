// SPDX-License-Identifier: MIT
/*
 * DOC: SYNC in shared memory, the client's side
 *
 * An uncontended CPU bracket needs no arbiter.  The daemon gives a handle a
 * slot in a file of slots its uid maps (DMABUF_IOCTL_SYNC_SLOT; the
 * protocol is in dmabuf-ioctl(2)), and a START or END is then one atomic
 * operation on the slot, no system call:
 *
 *  - START adds its directions to the slot's count and then reads @slow;
 *    set, it takes the add back and makes the ioctl, which waits for the
 *    devices as it always did.
 *  - END takes a bracket out of the count if the count has one of each of
 *    its directions; otherwise (a bracket the ioctl opened) the ioctl.
 *
 * Where the slot lives.  A struct dmabuf_mapping (dmabuf_mmap()) holds its
 * own fd, so it holds its slot too (struct dmabuf_fastsync_ref).  A bare fd
 * (DMA_BUF_IOCTL_SYNC, dmabuf_begin_cpu_access()) is looked up in a table
 * by number, which is only true while someone tells it when a number is
 * closed or replaced: the compat layer does (close, dup2, dup3,
 * close_range, closefrom, and the opens), and turns the table on with
 * dmabuf_fastsync_track().  Without it a bare fd takes the ioctl.  An
 * allocation's fd finds the slot that came with it, asking nothing
 * (dmabuf_fastsync_adopt()); any other fd asks at its first SYNC.  A slot
 * whose cookie is no longer the grant's (the handle was released) is
 * dropped at its next use.
 *
 * The functions here have default visibility on purpose: under dmabufctl
 * run the preloaded layer's copy of libdmabuf interposes a program's own,
 * so both use this one table, which the layer keeps true.
 *
 * Each returns 0 when the bracket was taken in shared memory, or 1 when the
 * caller must make the ioctl -- also for flags or a range the ioctl
 * refuses: checked by the daemon's own rule (cpu-rules.h) before anything
 * is counted, and left to the daemon to answer (and log) EINVAL.
 *
 * Calls redeem.c (the file of slots comes over the side channel) and
 * fdtable.c (what each fd number is).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dmabuf/dmabuf.h>

#include "../util/cpu-rules.h"
#include "private.h"

#define FAST_FILES 8 /* slot files a process maps (mounts x uids) */

/* A table entry: 0 unknown, ENTRY_IOCTL, or a slot packed as below. */
#define ENTRY_IOCTL 1ULL
#define ENTRY_SLOT 2ULL
#define ENTRY_SLOT_SHIFT 2 /* 14 bits: FS_SYNC_SLOTS is 16384 */
#define ENTRY_SLOT_MASK 0x3fffULL
#define ENTRY_FILE_SHIFT 16 /* 3 bits: FAST_FILES */
#define ENTRY_COOKIE_SHIFT 19 /* the cookie's low 45 bits */
#define COOKIE_MASK ((1ULL << 45) - 1)

/* A mapped file of slots: one per mount and uid. */
struct fast_file {
	dev_t dev;
	uint64_t id;
	struct dmabuf_sync_slot *slots;
	uint32_t nr_slots;
};

static struct {
	pthread_mutex_t lock; /* guards adding to @files */
	struct fast_file files[FAST_FILES];
	unsigned int nr_files; /* entries published (release/acquire) */
} fast = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint32_t dir_counts(uint32_t dir)
{
	return (dir & DMA_BUF_SYNC_READ ? DMABUF_SYNC_READ_ONE : 0) |
	       (dir & DMA_BUF_SYNC_WRITE ? DMABUF_SYNC_WRITE_ONE : 0);
}

/*
 * START in shared memory: add, then read @slow (both sequentially
 * consistent, against the daemon's store of @slow and read of the counts).
 */
static int slot_start(struct dmabuf_sync_slot *s, uint32_t dir)
{
	uint32_t inc = dir_counts(dir);
	uint32_t old = __atomic_fetch_add(&s->brackets, inc, __ATOMIC_SEQ_CST);

	if ((old & DMABUF_SYNC_COUNT_MASK) < DMABUF_SYNC_COUNT_MAX &&
	    (old >> 16) < DMABUF_SYNC_COUNT_MAX &&
	    !__atomic_load_n(&s->slow, __ATOMIC_SEQ_CST))
		return 0;
	__atomic_fetch_sub(&s->brackets, inc, __ATOMIC_SEQ_CST);
	return 1;
}

/* END in shared memory, if the slot holds a bracket of each direction. */
static int slot_end(struct dmabuf_sync_slot *s, uint32_t dir)
{
	uint32_t dec = dir_counts(dir);
	uint32_t old = __atomic_load_n(&s->brackets, __ATOMIC_RELAXED);

	do {
		if (((dir & DMA_BUF_SYNC_READ) &&
		     !(old & DMABUF_SYNC_COUNT_MASK)) ||
		    ((dir & DMA_BUF_SYNC_WRITE) &&
		     !((old >> 16) & DMABUF_SYNC_COUNT_MASK)))
			return 1;
	} while (!__atomic_compare_exchange_n(&s->brackets, &old, old - dec,
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return 0;
}

/* Is @s still the slot the grant with @cookie gave? */
static bool slot_current(const struct dmabuf_sync_slot *s, uint64_t cookie)
{
	return (__atomic_load_n(&s->cookie, __ATOMIC_ACQUIRE) & COOKIE_MASK) ==
	       (cookie & COOKIE_MASK);
}

/* Is @f the file of mount @dev with @id (0: whichever)? */
static bool file_is(const struct fast_file *f, dev_t dev, uint64_t id)
{
	return f->dev == dev && (!id || f->id == id);
}

/*
 * The file of slots of mount @dev with @id (0: the one this process's uid
 * has), mapped on first use: its index in fast.files.
 */
static int file_index(int fd, dev_t dev, uint64_t id)
{
	unsigned int i, n = __atomic_load_n(&fast.nr_files, __ATOMIC_ACQUIRE);
	uint64_t got, size;
	int ret, memfd;
	void *p;

	for (i = 0; i < n; i++)
		if (file_is(&fast.files[i], dev, id))
			return (int)i;
	pthread_mutex_lock(&fast.lock);
	for (i = n; i < fast.nr_files; i++) /* another thread's, perhaps */
		if (file_is(&fast.files[i], dev, id))
			goto out;
	ret = -ENOSPC;
	if (fast.nr_files == FAST_FILES)
		goto out_err;
	ret = memfd = dmabuf_channel_sync_file(fd, &got, &size);
	if (ret < 0)
		goto out_err;
	ret = -EPROTO;
	p = MAP_FAILED;
	if ((!id || got == id) && size &&
	    size % sizeof(struct dmabuf_sync_slot) == 0 &&
	    size / sizeof(struct dmabuf_sync_slot) <= ENTRY_SLOT_MASK + 1)
		p = sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     memfd, 0);
	sys_close(memfd);
	if (p == MAP_FAILED)
		goto out_err;
	fast.files[i] = (struct fast_file){
		.dev = dev,
		.id = got,
		.slots = p,
		.nr_slots = (uint32_t)(size / sizeof(struct dmabuf_sync_slot))};
	__atomic_store_n(&fast.nr_files, i + 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&fast.lock);
	return (int)i;
out_err:
	pthread_mutex_unlock(&fast.lock);
	return ret;
}

/* The table entry that names slot @index of file @file with @cookie. */
static uint64_t slot_entry(unsigned int file, uint32_t index, uint64_t cookie)
{
	return ENTRY_SLOT | (uint64_t)index << ENTRY_SLOT_SHIFT |
	       (uint64_t)file << ENTRY_FILE_SHIFT |
	       (cookie & COOKIE_MASK) << ENTRY_COOKIE_SHIFT;
}

/**
 * dmabuf_fastsync_ref_get() - a slot for the buffer fd @fd's brackets
 * @fd: a buffer fd (the caller keeps it open for as long as it uses @ref)
 * @dev: its st_dev: which mount
 * @ref: out: the slot
 *
 * Asks the daemon for a slot (DMABUF_IOCTL_SYNC_SLOT) and maps its uid's
 * file of slots if this process has not yet.
 *
 * Return: 0, or a negative errno when brackets on @fd take the ioctl
 * (sync_fast=off, no passthrough, a passed handle, the sanitizer on).
 */
int dmabuf_fastsync_ref_get(int fd, dev_t dev, struct dmabuf_fastsync_ref *ref)
{
	struct dmabuf_sync_grant g;
	int ret, i;

	if (dmabuf_sanitizer_enabled())
		return -EOPNOTSUPP; /* it watches every bracket's ioctl */
	ret = sys_ioctl(fd, DMABUF_IOCTL_SYNC_SLOT, &g) ? -errno : 0;
	if (ret)
		return ret;
	i = file_index(fd, dev, g.file);
	if (i < 0)
		return i;
	if (g.nr_slots != fast.files[i].nr_slots || g.slot >= g.nr_slots)
		return -EPROTO;
	*ref = (struct dmabuf_fastsync_ref){
		.slot = &fast.files[i].slots[g.slot],
		.cookie = g.cookie,
		.size = g.size,
		.file = (unsigned int)i,
		.index = g.slot};
	return 0;
}

/**
 * dmabuf_fastsync_ref_cpu() - a bracket in shared memory, through @ref
 * @ref: from dmabuf_fastsync_ref_get(); emptied when its slot is stale
 * @end: END, else START
 * @off: first byte
 * @len: bytes, 0 for up to the end
 * @dir: DMA_BUF_SYNC_READ and/or WRITE
 *
 * A slot's bracket has no range of its own; the range is checked as the
 * daemon checks it.
 *
 * Return: 0 done, 1 make the ioctl.
 */
int dmabuf_fastsync_ref_cpu(struct dmabuf_fastsync_ref *ref, bool end,
			    uint64_t off, uint64_t len, uint32_t dir)
{
	if (!ref->slot)
		return 1;
	if (dmabuf_cpu_range(ref->size, off, &len, dir))
		return 1; /* the daemon refuses it, and logs it */
	if (!slot_current(ref->slot, ref->cookie)) {
		ref->slot = NULL;
		return 1;
	}
	return end ? slot_end(ref->slot, dir) : slot_start(ref->slot, dir);
}

/* The table's entry for @fd, made at the first SYNC on it. */
static uint64_t fd_entry(int fd)
{
	struct dmabuf_fastsync_ref ref;
	uint64_t e = dmabuf_fdtable_get(fd);
	dev_t dev;

	if (e)
		return e;
	e = ENTRY_IOCTL;
	if (dmabuf_fdtable_tracker()(fd, &dev) &&
	    !dmabuf_fastsync_ref_get(fd, dev, &ref))
		e = slot_entry(ref.file, ref.index, ref.cookie);
	dmabuf_fdtable_set(fd, e);
	return e;
}

/*
 * The slot of @fd, or NULL for the ioctl.  Whole-buffer brackets only: a
 * ranged one needs the size, which the slot also carries.
 */
static struct dmabuf_sync_slot *fd_slot(int fd)
{
	struct dmabuf_sync_slot *s;
	uint64_t e;

	if (!dmabuf_fdtable_tracker() || fd < 0 || fd >= DMABUF_FDTABLE_FDS ||
	    dmabuf_sanitizer_enabled())
		return NULL;
	e = fd_entry(fd);
	if (!(e & ENTRY_SLOT))
		return NULL;
	s = &fast.files[(e >> ENTRY_FILE_SHIFT) & (FAST_FILES - 1)]
		     .slots[(e >> ENTRY_SLOT_SHIFT) & ENTRY_SLOT_MASK];
	if (slot_current(s, e >> ENTRY_COOKIE_SHIFT))
		return s;
	dmabuf_fdtable_set(fd, ENTRY_IOCTL);
	return NULL;
}

/**
 * dmabuf_fastsync_sync() - DMA_BUF_IOCTL_SYNC in shared memory
 * @fd: the fd the program named
 * @flags: struct dma_buf_sync.flags
 *
 * Return: 0 done, 1 make the ioctl.
 */
int dmabuf_fastsync_sync(int fd, uint64_t flags)
{
	struct dmabuf_sync_slot *s = fd_slot(fd);
	uint32_t dir = (uint32_t)(flags & DMA_BUF_SYNC_RW);

	if (!s)
		return 1;
	if (!dmabuf_sync_flags_valid(flags))
		return 1; /* the daemon refuses it, and logs it */
	return flags & DMA_BUF_SYNC_END ? slot_end(s, dir) : slot_start(s, dir);
}

/**
 * dmabuf_fastsync_cpu() - a ranged bracket on a bare fd in shared memory
 * @fd: the buffer fd
 * @end: END, else BEGIN
 * @off: first byte
 * @len: bytes, 0 for up to the end
 * @dir: DMABUF_CPU_READ and/or WRITE
 *
 * Return: 0 done, 1 make the ioctl.
 */
int dmabuf_fastsync_cpu(int fd, bool end, uint64_t off, uint64_t len,
			uint32_t dir)
{
	struct dmabuf_sync_slot *s = fd_slot(fd);

	if (!s)
		return 1;
	if (dmabuf_cpu_range(s->size, off, &len, dir))
		return 1; /* the daemon refuses it, and logs it */
	return end ? slot_end(s, dir) : slot_start(s, dir);
}

/**
 * dmabuf_fastsync_adopt() - @fd is an allocation this process just made
 * @fd: the new buffer fd (O_CREAT of .heaps/HEAP@SIZE)
 * @dev: the mount's st_dev
 * @ino: the buffer's inode number
 *
 * The daemon gave the allocation's handle a slot with it, among the
 * DMABUF_SYNC_PROBE slots from @ino (struct dmabuf_sync_slot): find it
 * there, so the fd's first SYNC asks nothing.  Only the file of slots is
 * fetched, once per process.  Where no slot is found the fd asks at its
 * first SYNC, as any.
 */
void dmabuf_fastsync_adopt(int fd, dev_t dev, uint64_t ino)
{
	struct fast_file *f;
	uint64_t cookie;
	uint32_t i, k;
	int n;

	if (!dmabuf_fdtable_tracker() || fd < 0 || fd >= DMABUF_FDTABLE_FDS ||
	    !ino || dmabuf_sanitizer_enabled())
		return;
	n = file_index(fd, dev, 0);
	if (n < 0)
		return;
	f = &fast.files[n];
	for (k = 0; k < DMABUF_SYNC_PROBE && k < f->nr_slots; k++) {
		i = (uint32_t)((ino + k) % f->nr_slots);
		if (__atomic_load_n(&f->slots[i].ino, __ATOMIC_ACQUIRE) != ino)
			continue;
		cookie = __atomic_load_n(&f->slots[i].cookie, __ATOMIC_ACQUIRE);
		if (cookie)
			dmabuf_fdtable_set(
				fd, slot_entry((unsigned int)n, i, cookie));
		return;
	}
}
