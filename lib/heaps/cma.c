// SPDX-License-Identifier: MIT
/*
 * DOC: CMA heap
 *
 * A fixed pool of physically contiguous memory below 4 GiB, like the
 * kernel's default CMA region: every buffer is one chunk, placed first-fit
 * with the alignment and boundary its devices need.  Freed buffers leave
 * holes, so the pool fragments for real and a request that no hole fits
 * fails with -ENOMEM even when the free total would be enough.
 *
 * Options: "size=N" sets the pool size (default 256 MiB, at most 1792 MiB:
 * the pool spans [256 MiB, 2 GiB) of the emulated physical space at most).
 *
 * Calls what struct dmabuf_heap_host gives, range.c and sg.c, and
 * libdmabuf's size parser; never the object model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "../core/internal.h"

#define CMA_BASE (256ULL << 20)
#define CMA_MAX DMABUF_CMA_MAX_SIZE /* CMA_BASE + CMA_MAX: 2 GiB */

struct cma_heap {
	const struct dmabuf_heap_host *host;
	struct range_pool pool;
};

static int cma_init(const struct dmabuf_heap_host *host, const char *options,
		    void **priv)
{
	uint64_t size = DMABUF_DEFAULT_CMA_SIZE;
	struct cma_heap *ch;

	if (*options && (strncmp(options, "size=", 5) ||
			 dmabuf_parse_size(options + 5, &size) ||
			 size > CMA_MAX || size < DMABUF_CMA_MIN_SIZE)) {
		host->log(LOG_ERR,
			  "cma heap: bad options '%s' (size=1M..1792M)",
			  options);
		return -EINVAL;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	if (range_pool_init(&ch->pool, CMA_BASE,
			    size & ~(DMABUF_PAGE_SIZE - 1))) {
		free(ch);
		return -ENOMEM;
	}
	ch->host = host;
	*priv = ch;
	return 0;
}

static void cma_fini(void *priv)
{
	struct cma_heap *ch = priv;

	range_pool_fini(&ch->pool);
	free(ch);
}

/* Fewest segments any placement of @size can have under @c. */
static uint64_t min_segments(uint64_t size, const struct dmabuf_constraints *c)
{
	uint64_t seg = constraints_seg_max(c);

	return seg ? (size + seg - 1) / seg : 1;
}

static int cma_allocate(void *priv, uint64_t size,
			const struct dmabuf_constraints *c,
			struct dmabuf_placement *pl)
{
	struct cma_heap *ch = priv;
	uint64_t align = c->alignment, boundary = 0, addr;
	int ret;

	if (constraints_limit(c) < CMA_BASE + size - 1 ||
	    (c->max_segments && min_segments(size, c) > c->max_segments))
		return -EINVAL;
	if (c->segment_boundary && size <= c->segment_boundary + 1)
		boundary = c->segment_boundary;
	else if (c->segment_boundary && c->segment_boundary + 1 > align)
		align = c->segment_boundary + 1;
	ret = range_alloc(&ch->pool, size, align, constraints_limit(c),
			  boundary, &addr);
	if (ret)
		return ret;
	pl->chunks = malloc(sizeof(*pl->chunks));
	if (!pl->chunks) {
		range_free(&ch->pool, addr, size);
		return -ENOMEM;
	}
	pl->chunks[0] = (struct dmabuf_phys_chunk){addr, size};
	pl->nr_chunks = 1;
	pl->size = size;
	if (ch->host->check(pl, c)) {
		ch->host->log(LOG_ERR,
			      "cma heap: placement misses constraints");
		range_free(&ch->pool, addr, size);
		free(pl->chunks);
		return -ENOMEM;
	}
	return 0;
}

static void cma_release(void *priv, struct dmabuf_placement *pl)
{
	struct cma_heap *ch = priv;

	range_free(&ch->pool, pl->chunks[0].addr, pl->chunks[0].len);
	free(pl->chunks);
	pl->chunks = NULL;
	pl->nr_chunks = 0;
}

static int cma_map(void *priv, const struct dmabuf_placement *pl,
		   struct dmabuf_device *dev, uint32_t dir,
		   struct dmabuf_sg_table *sgt)
{
	struct cma_heap *ch = priv;

	(void)dir;
	return ch->host->dma_map(dev, pl, sgt);
}

static void cma_unmap(void *priv, struct dmabuf_device *dev,
		      struct dmabuf_sg_table *sgt)
{
	struct cma_heap *ch = priv;

	ch->host->dma_unmap(dev, sgt);
}

static void cma_stats(void *priv, struct dmabuf_heap_stats *st)
{
	struct cma_heap *ch = priv;

	st->capacity = ch->pool.end - ch->pool.base;
	st->used = ch->pool.used;
	st->largest_free = range_largest_free(&ch->pool);
}

const struct dmabuf_heap_ops dmabuf_cma_heap_ops = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.name = "cma",
	.init = cma_init,
	.fini = cma_fini,
	.allocate = cma_allocate,
	.release = cma_release,
	.map_dma_buf = cma_map,
	.unmap_dma_buf = cma_unmap,
	.stats = cma_stats,
};
