// SPDX-License-Identifier: MIT
/*
 * DOC: system heap
 *
 * Like the kernel's system heap: a buffer is a list of scattered chunks of
 * 1 MiB, 64 KiB and 4 KiB (orders 8, 4 and 0), largest first.  Chunks come
 * from the normal zone above 4 GiB; devices that cannot address that fall
 * back to the DMA32 zone between 2 and 4 GiB, as the page allocator falls
 * back from ZONE_NORMAL to ZONE_DMA32.  Each chunk is followed by one guard
 * page, so two chunks are never physically adjacent: a buffer larger than a
 * chunk is really scattered, and a device that needs one contiguous segment
 * can only take buffers that fit in one chunk, as on real hardware.
 *
 * Options: "size=N" sets the capacity (default: the machine's RAM).
 *
 * Calls what struct dmabuf_heap_host gives, range.c and sg.c, and
 * libdmabuf's size parser; never the object model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../core/internal.h"

#define DMA32_BASE (2ULL << 30)
#define DMA32_MAX (2ULL << 30)
#define NORMAL_BASE (4ULL << 30)
#define CHUNK_MAX (1ULL << 20)

struct system_heap {
	const struct dmabuf_heap_host *host;
	struct range_pool dma32;
	struct range_pool normal;
	uint64_t capacity;
	uint64_t used;
};

/**
 * dmabuf_system_ram() - the machine's memory: the system heap's default size,
 * and the largest the daemon's system_size= accepts
 *
 * Return: bytes (4 GiB where the machine does not say).
 */
uint64_t dmabuf_system_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);

	return pages > 0 ? (uint64_t)pages * DMABUF_PAGE_SIZE : 4ULL << 30;
}

static int system_parse(const char *options, uint64_t *size)
{
	*size = dmabuf_system_ram();
	if (!*options)
		return 0;
	if (strncmp(options, "size=", 5) ||
	    dmabuf_parse_size(options + 5, size) ||
	    *size < DMABUF_SYSTEM_MIN_SIZE)
		return -EINVAL;
	*size &= ~(DMABUF_PAGE_SIZE - 1);
	return 0;
}

static int system_init(const struct dmabuf_heap_host *host, const char *options,
		       void **priv)
{
	struct system_heap *sh;
	uint64_t size, dma32;
	int ret = system_parse(options, &size);

	if (ret) {
		host->log(LOG_ERR, "system heap: bad options '%s'", options);
		return ret;
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	dma32 = size / 4 < DMA32_MAX ? ALIGN_UP(size / 4, DMABUF_PAGE_SIZE)
				     : DMA32_MAX;
	if (range_pool_init(&sh->dma32, DMA32_BASE, dma32))
		goto err_free;
	if (range_pool_init(&sh->normal, NORMAL_BASE, size - dma32))
		goto err_dma32;
	sh->host = host;
	sh->capacity = size;
	*priv = sh;
	return 0;

err_dma32:
	range_pool_fini(&sh->dma32);
err_free:
	free(sh);
	return -ENOMEM;
}

static void system_fini(void *priv)
{
	struct system_heap *sh = priv;

	range_pool_fini(&sh->normal);
	range_pool_fini(&sh->dma32);
	free(sh);
}

/* The largest chunk @c allows: segments must hold a whole chunk each. */
static uint64_t chunk_max(const struct dmabuf_constraints *c)
{
	uint64_t seg = constraints_seg_max(c), max = CHUNK_MAX;

	while (seg && max > seg)
		max >>= 1;
	return max;
}

/* The next chunk size for @left bytes: the largest order that fits. */
static uint64_t next_chunk(uint64_t left, uint64_t max)
{
	static const uint64_t orders[] = {CHUNK_MAX, 64 << 10, 4 << 10};
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(*orders); i++)
		if (orders[i] <= max && orders[i] <= left)
			return orders[i];
	return max < left ? max : DMABUF_PAGE_SIZE;
}

static uint32_t count_chunks(uint64_t size, uint64_t max)
{
	uint32_t n = 0;

	while (size) {
		size -= next_chunk(size, max);
		n++;
	}
	return n;
}

static struct range_pool *zone_of(struct system_heap *sh, uint64_t addr)
{
	return addr < NORMAL_BASE ? &sh->dma32 : &sh->normal;
}

static void free_chunks(struct system_heap *sh, struct dmabuf_placement *pl,
			uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		range_free(zone_of(sh, pl->chunks[i].addr), pl->chunks[i].addr,
			   pl->chunks[i].len + DMABUF_PAGE_SIZE);
}

/* Place every chunk of @pl in @zone, or nothing. */
static int fill_zone(struct system_heap *sh, struct range_pool *zone,
		     struct dmabuf_placement *pl, uint64_t max,
		     const struct dmabuf_constraints *c)
{
	uint64_t limit = constraints_limit(c), left = pl->size;
	uint32_t i;

	if (limit < UINT64_MAX - DMABUF_PAGE_SIZE)
		limit += DMABUF_PAGE_SIZE; /* the guard page may lie above */
	for (i = 0; left; i++) {
		uint64_t len = next_chunk(left, max);
		uint64_t align = i ? DMABUF_PAGE_SIZE : c->alignment;
		uint64_t boundary =
			c->segment_boundary && len <= c->segment_boundary + 1
				? c->segment_boundary
				: 0;

		if (range_alloc(zone, len + DMABUF_PAGE_SIZE, align, limit,
				boundary, &pl->chunks[i].addr)) {
			free_chunks(sh, pl, i);
			return -ENOMEM;
		}
		pl->chunks[i].len = len;
		left -= len;
	}
	return 0;
}

static int system_allocate(void *priv, uint64_t size,
			   const struct dmabuf_constraints *c,
			   struct dmabuf_placement *pl)
{
	struct system_heap *sh = priv;
	uint64_t max = chunk_max(c);
	uint32_t n = count_chunks(size, max);

	if (size > sh->capacity)
		return -ENOMEM;
	if (constraints_limit(c) < DMA32_BASE + size - 1 ||
	    (c->max_segments && n > c->max_segments))
		return -EINVAL;
	pl->size = size;
	pl->nr_chunks = n;
	pl->chunks = calloc(n, sizeof(*pl->chunks));
	if (!pl->chunks)
		return -ENOMEM;
	if (fill_zone(sh, &sh->normal, pl, max, c) &&
	    fill_zone(sh, &sh->dma32, pl, max, c))
		goto err_chunks;
	if (sh->host->check(pl, c)) {
		sh->host->log(LOG_ERR,
			      "system heap: placement misses constraints");
		free_chunks(sh, pl, n);
		goto err_chunks;
	}
	sh->used += size;
	return 0;

err_chunks: /* nothing taken, and nothing left pointing at freed memory */
	free(pl->chunks);
	pl->chunks = NULL;
	pl->nr_chunks = 0;
	return -ENOMEM;
}

static void system_release(void *priv, struct dmabuf_placement *pl)
{
	struct system_heap *sh = priv;

	free_chunks(sh, pl, pl->nr_chunks);
	sh->used -= pl->size;
	free(pl->chunks);
	pl->chunks = NULL;
	pl->nr_chunks = 0;
}

static int system_map(void *priv, const struct dmabuf_placement *pl,
		      struct dmabuf_device *dev, uint32_t dir,
		      struct dmabuf_sg_table *sgt)
{
	struct system_heap *sh = priv;

	(void)dir; /* coherent emulated memory: no cache maintenance */
	return sh->host->dma_map(dev, pl, sgt);
}

static void system_unmap(void *priv, struct dmabuf_device *dev,
			 struct dmabuf_sg_table *sgt)
{
	struct system_heap *sh = priv;

	sh->host->dma_unmap(dev, sgt);
}

static void system_stats(void *priv, struct dmabuf_heap_stats *st)
{
	struct system_heap *sh = priv;
	uint64_t a = range_largest_free(&sh->normal);
	uint64_t b = range_largest_free(&sh->dma32);

	st->capacity = sh->capacity;
	st->used = sh->used;
	st->largest_free = a > b ? a : b;
}

const struct dmabuf_heap_ops dmabuf_system_heap_ops = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.name = "system",
	.init = system_init,
	.fini = system_fini,
	.allocate = system_allocate,
	.release = system_release,
	.map_dma_buf = system_map,
	.unmap_dma_buf = system_unmap,
	.stats = system_stats,
};
