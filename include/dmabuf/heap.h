/* SPDX-License-Identifier: MIT */
/*
 * DOC: heap plugin ABI
 *
 * A heap is an exporter: it decides where a buffer's backing lives in the
 * emulated physical address space and builds the scatter-gather table a
 * device sees.  The ops table mirrors the kernel's struct dma_buf_ops:
 * allocate, release, map_dma_buf and unmap_dma_buf are mandatory (a heap
 * without one is refused at registration, as dma_buf_export() WARNs and
 * refuses); the rest are optional.
 *
 * The bytes themselves live in one sealed memfd per buffer that the framework
 * owns, so a placement can move (migration) while CPU mappings of the bytes
 * stay valid.  A heap deals in placements: lists of emulated physical chunks.
 * That memfd is also the backing file the daemon hands the kernel for FUSE
 * passthrough, so every heap's buffers, built in or plugin, are served at
 * memory speed without the heap doing anything: no op hands over an fd.
 *
 * A heap is built in, or a shared object in the heap directory that exports
 *
 *	const struct dmabuf_heap_ops dmabuf_heap_plugin;
 *
 * whose first field is DMABUF_HEAP_ABI_VERSION.  A plugin links against
 * nothing of the daemon: what it needs from the framework (the DMA mapping
 * helpers, logging) reaches it through struct dmabuf_heap_host at init.
 */
#ifndef DMABUF_HEAP_H
#define DMABUF_HEAP_H

#include <stdint.h>

#include <dmabuf/uapi.h>

#define DMABUF_HEAP_ABI_VERSION 1

/**
 * struct dmabuf_constraints - what a set of devices needs of a placement
 * @dma_bits: highest usable address is 2^dma_bits - 1
 * @max_segments: most segments a mapping may have (0: no limit)
 * @max_segment_size: largest segment (0: no limit)
 * @segment_boundary: segments never cross a multiple of mask + 1 (0: none)
 * @alignment: power of two the first address honours (>= a page)
 *
 * For several devices the framework passes one combined request: the
 * smallest address limit and the largest alignment of all, and the segment
 * limits of the devices that limit their segment count (segment size and
 * boundary only split the view of a device that does not).  The framework
 * then checks the placement against every device on its own.
 */
struct dmabuf_constraints {
	uint32_t dma_bits;
	uint32_t max_segments;
	uint64_t max_segment_size;
	uint64_t segment_boundary;
	uint64_t alignment;
};

/**
 * struct dmabuf_phys_chunk - a run of emulated physical pages
 * @addr: first address, page-aligned
 * @len: bytes, a whole number of pages
 */
struct dmabuf_phys_chunk {
	uint64_t addr;
	uint64_t len;
};

/**
 * struct dmabuf_placement - where a buffer's backing lives
 * @size: bytes placed (the buffer size rounded up to pages)
 * @nr_chunks: number of chunks, in buffer order
 * @chunks: the chunks; owned by the heap, freed in its release op
 * @priv: heap private data
 */
struct dmabuf_placement {
	uint64_t size;
	uint32_t nr_chunks;
	struct dmabuf_phys_chunk *chunks;
	void *priv;
};

/**
 * struct dmabuf_sg_table - a device's view of a placement
 * @nents: number of entries
 * @entries: the entries, in buffer order
 * @iova: I/O virtual range reserved for an iommu device (0 if none)
 * @iova_len: length of that range
 */
struct dmabuf_sg_table {
	uint32_t nents;
	struct dmabuf_sg_entry *entries;
	uint64_t iova;
	uint64_t iova_len;
};

/**
 * struct dmabuf_heap_stats - capacity and use, for df(1) and dmabufctl
 * @capacity: bytes the heap can place in all
 * @used: bytes placed now
 * @largest_free: largest contiguous free run (fragmentation)
 */
struct dmabuf_heap_stats {
	uint64_t capacity;
	uint64_t used;
	uint64_t largest_free;
};

struct dmabuf_device;

/**
 * struct dmabuf_heap_host - services the framework offers a heap
 * @abi_version: DMABUF_HEAP_ABI_VERSION of the framework
 * @log: printf-style logging with a syslog priority
 * @dma_map: the DMA API: build @dev's sg table for @pl, reserving I/O
 *           virtual addresses for an iommu device; fails with -EBUSY when
 *           the placement cannot meet the device's constraints
 * @dma_unmap: undo dma_map and free the table's entries
 * @check: 0 if @pl meets @c, else -EINVAL
 */
struct dmabuf_heap_host {
	uint32_t abi_version;
	void (*log)(int prio, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
	int (*dma_map)(struct dmabuf_device *dev,
		       const struct dmabuf_placement *pl,
		       struct dmabuf_sg_table *sgt);
	void (*dma_unmap)(struct dmabuf_device *dev,
			  struct dmabuf_sg_table *sgt);
	int (*check)(const struct dmabuf_placement *pl,
		     const struct dmabuf_constraints *c);
};

/**
 * struct dmabuf_heap_ops - an exporter
 *
 * Locking: every op but @init and @fini is called with the core's lock
 * held (struct dmabuf_core.lock, the only lock of the object model; see the
 * daemon's lock order in fs/fs.h), so ops of one heap never run
 * concurrently and a heap needs no lock of its own.  For the same reason an
 * op must not call back into the core (a libdmabuf or dmabuf_buffer_*
 * function would deadlock) and must not block waiting for anything another
 * buffer or client does: it may allocate memory and take its own time, but
 * every request of the daemon waits behind it.  What an op needs of the
 * framework reaches it through struct dmabuf_heap_host, whose functions take
 * no lock and may be called from any op.
 *
 * @abi_version: must be DMABUF_HEAP_ABI_VERSION; a heap with another is
 *	refused at registration.
 *
 * @name: heap name, at most DMABUF_NAME_LEN - 1 bytes; the exp_name shown in
 *	.bufinfo and the name of <mount>/.heaps/<name>.
 *
 * @init: optional.  Called once when the heap is registered (the daemon's
 *	start, or dmabuf_core_new() in a test), before any other op and with
 *	no lock held: parse @options ("key=value,...", never NULL) and set
 *	*@priv, which every other op receives.  Returns 0 or a negative errno;
 *	on failure the heap is not registered and @fini is not called.  May
 *	sleep.
 *
 * @fini: optional.  Called once at teardown with no lock held, after every
 *	buffer of the heap was released: free what @init made.  May sleep.
 *
 * @allocate: mandatory.  Called when a buffer is first placed (its first
 *	device map or CPU bracket, DMABUF_EXPORT_ALLOC_NOW) and when a
 *	migration tries a new placement, with the core's lock held.  Place
 *	@size bytes (whole pages) meeting @c and fill @pl.  Returns 0;
 *	-EINVAL when this heap can never meet @c for @size (the core then
 *	answers EBUSY: migrate or refuse the device); -ENOMEM when it could
 *	but has no room now.  On failure it has taken nothing and left
 *	nothing in @pl to free: the core never calls @release for a failed
 *	allocation.  May sleep (allocate memory), never on another client.
 *
 * @release: mandatory.  Called when a buffer dies, when a migration
 *	replaces its placement or drops a trial, with the core's lock held:
 *	return @pl's pages to the heap.  Cannot fail; must not sleep.
 *
 * @map_dma_buf: mandatory.  Called for DMABUF_IOCTL_MAP of an attachment
 *	(the kernel's dma_buf_map_attachment()), with the core's lock held,
 *	after the placement meets the device's constraints: build @dev's sg
 *	table for @pl in direction @dir (DMABUF_DIR_*), usually through
 *	host->dma_map.  Returns 0, -EBUSY when the device cannot reach the
 *	placement, -ENOMEM.  May sleep (allocate the table).
 *
 * @unmap_dma_buf: mandatory.  Called for DMABUF_IOCTL_UNMAP, at detach and
 *	when a buffer dies with mappings, with the core's lock held: undo
 *	@map_dma_buf and free @sgt's entries.  Cannot fail; must not sleep.
 *
 * @begin_cpu_access: optional.  Called for a CPU bracket's START
 *	(DMA_BUF_IOCTL_SYNC or DMABUF_IOCTL_BEGIN_CPU_ACCESS) on a placed
 *	buffer, after the fences it waits for have signalled, with the core's
 *	lock held: make [@off, @off + @len) coherent for the CPU in direction
 *	@dir (DMA_BUF_SYNC_READ and/or WRITE).  Returns 0 or a negative errno,
 *	which the caller gets.  May sleep (a cache flush, a swap-in).
 *
 * @end_cpu_access: optional.  Called for a bracket's END on a placed
 *	buffer, with the core's lock held: publish the CPU's writes to
 *	devices.  Cannot fail (the kernel's may, but the uapi has no way to
 *	say so that programs check).  May sleep (a cache flush).
 *
 * @stats: optional.  Called for df(1), DMABUF_IOCTL_HEAP_INFO and every
 *	export's capacity check, with the core's lock held: fill @st.
 *	Cannot fail; must not sleep; a heap without it has no capacity limit.
 */
struct dmabuf_heap_ops {
	uint32_t abi_version;
	const char *name;
	int (*init)(const struct dmabuf_heap_host *host, const char *options,
		    void **priv);
	void (*fini)(void *priv);
	int (*allocate)(void *priv, uint64_t size,
			const struct dmabuf_constraints *c,
			struct dmabuf_placement *pl);
	void (*release)(void *priv, struct dmabuf_placement *pl);
	int (*map_dma_buf)(void *priv, const struct dmabuf_placement *pl,
			   struct dmabuf_device *dev, uint32_t dir,
			   struct dmabuf_sg_table *sgt);
	void (*unmap_dma_buf)(void *priv, struct dmabuf_device *dev,
			      struct dmabuf_sg_table *sgt);
	int (*begin_cpu_access)(void *priv, const struct dmabuf_placement *pl,
				uint64_t off, uint64_t len, uint32_t dir);
	void (*end_cpu_access)(void *priv, const struct dmabuf_placement *pl,
			       uint64_t off, uint64_t len, uint32_t dir);
	void (*stats)(void *priv, struct dmabuf_heap_stats *st);
};

/** DMABUF_HEAP_PLUGIN_SYMBOL - the symbol a heap shared object exports. */
#define DMABUF_HEAP_PLUGIN_SYMBOL "dmabuf_heap_plugin"

#endif /* DMABUF_HEAP_H */
