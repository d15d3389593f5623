// SPDX-License-Identifier: MIT
/*
 * DOC: range allocator
 *
 * First-fit allocation of address ranges, with alignment, an upper address
 * limit and a boundary that an allocation must not cross.  It models the
 * emulated physical memory of the heaps (the CMA pool, the system zones) and
 * the I/O virtual address space of each iommu device, so fragmentation and
 * "no room below 4 GiB" are real failures, not simulated ones.
 *
 * Free extents live in a sorted array: allocation scans it, freeing finds the
 * slot by binary search and merges with both neighbours.
 *
 * A leaf but for the log.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <syslog.h>

#include "internal.h"

/**
 * range_pool_init() - manage [@base, @base + @size)
 * @pool: pool to set up
 * @base: first address
 * @size: bytes, > 0
 *
 * Return: 0, or -ENOMEM.
 */
int range_pool_init(struct range_pool *pool, uint64_t base, uint64_t size)
{
	memset(pool, 0, sizeof(*pool));
	pool->free = malloc(8 * sizeof(*pool->free));
	if (!pool->free)
		return -ENOMEM;
	pool->cap_free = 8;
	pool->base = base;
	pool->end = base + size;
	pool->free[0] = (struct range_extent){base, base + size};
	pool->nr_free = 1;
	return 0;
}

void range_pool_fini(struct range_pool *pool)
{
	free(pool->free);
	pool->free = NULL;
	pool->nr_free = 0;
}

static int reserve_slot(struct range_pool *pool)
{
	struct range_extent *grown;
	size_t cap;

	if (pool->nr_free < pool->cap_free)
		return 0;
	cap = pool->cap_free * 2;
	grown = realloc(pool->free, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pool->free = grown;
	pool->cap_free = cap;
	return 0;
}

/* Where in @ext an allocation may start, or UINT64_MAX when it does not fit. */
static uint64_t fit_in_extent(const struct range_extent *ext, uint64_t size,
			      uint64_t align, uint64_t limit, uint64_t boundary)
{
	uint64_t start = ALIGN_UP(ext->start, align);

	if (boundary && (start & ~boundary) != ((start + size - 1) & ~boundary))
		start = ALIGN_UP(start, boundary + 1);
	if (start < ext->start || start + size < start)
		return UINT64_MAX;
	if (start + size > ext->end || start + size - 1 > limit)
		return UINT64_MAX;
	return start;
}

static void take(struct range_pool *pool, size_t i, uint64_t start,
		 uint64_t size)
{
	struct range_extent *ext = &pool->free[i];
	uint64_t end = start + size;

	if (start == ext->start && end == ext->end) {
		memmove(ext, ext + 1, (pool->nr_free - i - 1) * sizeof(*ext));
		pool->nr_free--;
	} else if (start == ext->start) {
		ext->start = end;
	} else if (end == ext->end) {
		ext->end = start;
	} else {
		/* reserve_slot() ran before: the split has room. */
		memmove(ext + 2, ext + 1,
			(pool->nr_free - i - 1) * sizeof(*ext));
		ext[1] = (struct range_extent){end, ext->end};
		ext->end = start;
		pool->nr_free++;
	}
	pool->used += size;
}

/**
 * range_alloc() - take @size bytes
 * @pool: the pool
 * @size: bytes, > 0
 * @align: power of two the start honours
 * @limit: highest address the allocation may cover
 * @boundary: 0, or a mask 2^k - 1: the allocation never crosses a multiple
 *            of @boundary + 1 (only meaningful when @size <= @boundary + 1)
 * @addr: out: start address
 *
 * Return: 0, or -ENOMEM when no free extent fits.
 */
int range_alloc(struct range_pool *pool, uint64_t size, uint64_t align,
		uint64_t limit, uint64_t boundary, uint64_t *addr)
{
	size_t i;

	if (reserve_slot(pool))
		return -ENOMEM;
	for (i = 0; i < pool->nr_free; i++) {
		uint64_t start;

		if (pool->free[i].start > limit)
			break;
		start = fit_in_extent(&pool->free[i], size, align, limit,
				      boundary);
		if (start == UINT64_MAX)
			continue;
		take(pool, i, start, size);
		*addr = start;
		return 0;
	}
	return -ENOMEM;
}

/* Index of the first free extent that starts after @addr. */
static size_t slot_after(const struct range_pool *pool, uint64_t addr)
{
	size_t lo = 0, hi = pool->nr_free;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pool->free[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * range_free() - give back a range that range_alloc() returned
 * @pool: the pool
 * @addr: its start
 * @size: its size
 *
 * Merging with the neighbours never needs memory, so freeing cannot fail;
 * when no slot can be grown for an isolated extent the range is leaked and
 * logged rather than corrupting the pool.
 */
void range_free(struct range_pool *pool, uint64_t addr, uint64_t size)
{
	size_t i = slot_after(pool, addr);
	uint64_t end = addr + size;
	bool merge_prev = i > 0 && pool->free[i - 1].end == addr;
	bool merge_next = i < pool->nr_free && pool->free[i].start == end;

	pool->used -= size;
	if (merge_prev && merge_next) {
		pool->free[i - 1].end = pool->free[i].end;
		memmove(&pool->free[i], &pool->free[i + 1],
			(pool->nr_free - i - 1) * sizeof(*pool->free));
		pool->nr_free--;
	} else if (merge_prev) {
		pool->free[i - 1].end = end;
	} else if (merge_next) {
		pool->free[i].start = addr;
	} else if (reserve_slot(pool) == 0) {
		memmove(&pool->free[i + 1], &pool->free[i],
			(pool->nr_free - i) * sizeof(*pool->free));
		pool->free[i] = (struct range_extent){addr, end};
		pool->nr_free++;
	} else {
		dmabuf_log(LOG_ERR,
			   "range: out of memory freeing %#llx+%#llx; leaked",
			   (unsigned long long)addr, (unsigned long long)size);
	}
}

/**
 * range_largest_free() - the largest free extent, for fragmentation reports
 * @pool: the pool
 *
 * Return: its size in bytes.
 */
uint64_t range_largest_free(const struct range_pool *pool)
{
	uint64_t best = 0;
	size_t i;

	for (i = 0; i < pool->nr_free; i++)
		if (pool->free[i].end - pool->free[i].start > best)
			best = pool->free[i].end - pool->free[i].start;
	return best;
}
