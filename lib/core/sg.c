// SPDX-License-Identifier: MIT
/*
 * DOC: the emulated DMA API
 *
 * What the kernel's dma_map_sgtable() does for a device: turn a placement
 * (emulated physical chunks) into the segments the device programs into its
 * DMA engine, honouring its constraints.  A device without an iommu sees
 * physical addresses: adjacent chunks merge into one run, runs split at the
 * device's max_segment_size and segment_boundary, every byte must sit below
 * 2^dma_bits, the first address must honour its alignment, and the segment
 * count must not exceed max_segments.  An iommu device sees one contiguous
 * range from its own I/O virtual address space, so a scattered placement
 * looks contiguous to it.
 *
 * The same splitting code answers "does this placement suit these
 * constraints?" for heaps, the attach path and the tests, so the check and
 * the table can never disagree.
 *
 * Calls range.c and the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "internal.h"

void constraints_init(struct dmabuf_constraints *c)
{
	*c = (struct dmabuf_constraints){.dma_bits = 64,
					 .alignment = DMABUF_PAGE_SIZE};
}

void constraints_of_desc(const struct dmabuf_device_desc *desc,
			 struct dmabuf_constraints *c)
{
	c->dma_bits = desc->dma_bits;
	c->max_segments = desc->max_segments;
	c->max_segment_size = desc->max_segment_size;
	c->segment_boundary = desc->segment_boundary;
	c->alignment = desc->alignment > DMABUF_PAGE_SIZE ? desc->alignment
							  : DMABUF_PAGE_SIZE;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/**
 * constraints_intersect() - narrow @acc so that a placement can suit @c too
 * @acc: accumulated placement request
 * @c: one more device's constraints
 *
 * Address limits and alignment combine for every device.  Segment size and
 * boundary only split a device's own view of the memory into more
 * segments, so they shape the placement only for a device that also limits
 * its segment count: a 64 KiB-segment encoder with no count limit reads a
 * contiguous frame as 32 segments and does not stop a one-segment display
 * from sharing it.  The result is a request for the heap; each device is
 * still checked against the placement on its own (sg_check_placement()).
 */
void constraints_intersect(struct dmabuf_constraints *acc,
			   const struct dmabuf_constraints *c)
{
	if (c->dma_bits < acc->dma_bits)
		acc->dma_bits = c->dma_bits;
	if (c->alignment > acc->alignment)
		acc->alignment = c->alignment;
	if (!c->max_segments)
		return;
	acc->max_segments =
		(uint32_t)min_nonzero(acc->max_segments, c->max_segments);
	acc->max_segment_size =
		min_nonzero(acc->max_segment_size, c->max_segment_size);
	acc->segment_boundary =
		min_nonzero(acc->segment_boundary, c->segment_boundary);
}

/** constraints_limit() - the highest address @c can reach */
uint64_t constraints_limit(const struct dmabuf_constraints *c)
{
	return c->dma_bits >= 64 ? UINT64_MAX : (1ULL << c->dma_bits) - 1;
}

/** constraints_seg_max() - the longest segment @c allows (0: no limit) */
uint64_t constraints_seg_max(const struct dmabuf_constraints *c)
{
	uint64_t max = c->max_segment_size;

	if (c->segment_boundary)
		max = min_nonzero(max, c->segment_boundary + 1);
	return max;
}

/*
 * Split the contiguous run [@addr, @addr + @len) at @c's segment size and
 * boundaries.  Writes the segments to @out when it is not NULL; returns how
 * many there are.
 */
static uint32_t split_run(uint64_t addr, uint64_t len, uint64_t offset,
			  const struct dmabuf_constraints *c,
			  struct dmabuf_sg_entry *out)
{
	uint32_t n = 0;

	while (len) {
		uint64_t piece = len;

		if (c->max_segment_size && piece > c->max_segment_size)
			piece = c->max_segment_size;
		if (c->segment_boundary) {
			uint64_t to_edge =
				(addr | c->segment_boundary) - addr + 1;

			if (to_edge && piece > to_edge)
				piece = to_edge;
		}
		if (out)
			out[n] = (struct dmabuf_sg_entry){addr, piece, offset};
		n++;
		addr += piece;
		offset += piece;
		len -= piece;
	}
	return n;
}

/* Walk @pl's physically contiguous runs; returns segments or -EINVAL. */
static int64_t placement_segments(const struct dmabuf_placement *pl,
				  const struct dmabuf_constraints *c,
				  struct dmabuf_sg_entry *out)
{
	uint64_t limit = constraints_limit(c), offset = 0;
	int64_t n = 0;
	uint32_t i = 0;

	if (!pl->nr_chunks || pl->chunks[0].addr & (c->alignment - 1))
		return -EINVAL;
	while (i < pl->nr_chunks) {
		uint64_t addr = pl->chunks[i].addr, len = pl->chunks[i].len;

		for (i++; i < pl->nr_chunks && pl->chunks[i].addr == addr + len;
		     i++)
			len += pl->chunks[i].len;
		if (addr + len - 1 > limit)
			return -EINVAL;
		n += split_run(addr, len, offset, c, out ? out + n : NULL);
		offset += len;
	}
	if (c->max_segments && n > c->max_segments)
		return -EINVAL;
	return n;
}

/**
 * sg_check_placement() - does @pl meet @c?
 * @pl: a placement
 * @c: constraints of devices that see physical addresses
 *
 * Return: 0 if it does, -EINVAL if not.
 */
int sg_check_placement(const struct dmabuf_placement *pl,
		       const struct dmabuf_constraints *c)
{
	int64_t n = placement_segments(pl, c, NULL);

	return n < 0 ? (int)n : 0;
}

/* Alignment and boundary for an I/O virtual range of @size for @c. */
static void iova_layout(const struct dmabuf_constraints *c, uint64_t size,
			uint64_t *align, uint64_t *boundary)
{
	*align = c->alignment;
	*boundary = 0;
	if (!c->segment_boundary)
		return;
	if (size <= c->segment_boundary + 1)
		*boundary = c->segment_boundary;
	else if (c->segment_boundary + 1 > *align)
		*align = c->segment_boundary + 1;
}

/**
 * sg_iova_feasible() - could an iommu device ever map @size bytes?
 * @dev: an iommu device
 * @size: page-rounded buffer size
 *
 * Return: 0, or -EINVAL when its address space or segment limits rule it
 * out whatever the placement.
 */
int sg_iova_feasible(const struct dmabuf_device *dev, uint64_t size)
{
	uint64_t align, boundary, room = dev->iova.end - dev->iova.base;
	uint32_t n;

	if (size > room)
		return -EINVAL;
	iova_layout(&dev->c, size, &align, &boundary);
	n = split_run(ALIGN_UP(dev->iova.base, align), size, 0, &dev->c, NULL);
	if (dev->c.max_segments && n > dev->c.max_segments)
		return -EINVAL;
	return 0;
}

static int iova_map(struct dmabuf_device *dev, uint64_t size,
		    struct dmabuf_sg_table *sgt)
{
	uint64_t align, boundary, iova;
	uint32_t n;
	int ret;

	iova_layout(&dev->c, size, &align, &boundary);
	ret = range_alloc(&dev->iova, size, align, constraints_limit(&dev->c),
			  boundary, &iova);
	if (ret)
		return ret;
	n = split_run(iova, size, 0, &dev->c, NULL);
	if (dev->c.max_segments && n > dev->c.max_segments) {
		ret = -EBUSY;
		goto err_free;
	}
	sgt->entries = calloc(n, sizeof(*sgt->entries));
	if (!sgt->entries) {
		ret = -ENOMEM;
		goto err_free;
	}
	sgt->nents = split_run(iova, size, 0, &dev->c, sgt->entries);
	sgt->iova = iova;
	sgt->iova_len = size;
	return 0;

err_free:
	range_free(&dev->iova, iova, size);
	return ret;
}

/**
 * sg_dma_map() - build @dev's view of @pl
 * @dev: the device
 * @pl: the placement
 * @sgt: out: the table; free with sg_dma_unmap()
 *
 * Return: 0; -EBUSY when the placement cannot meet the device's
 * constraints; -ENOMEM when memory or I/O virtual space ran out.
 */
int sg_dma_map(struct dmabuf_device *dev, const struct dmabuf_placement *pl,
	       struct dmabuf_sg_table *sgt)
{
	int64_t n;

	memset(sgt, 0, sizeof(*sgt));
	if (dev->desc.flags & DMABUF_DEVICE_IOMMU)
		return iova_map(dev, pl->size, sgt);
	n = placement_segments(pl, &dev->c, NULL);
	if (n < 0)
		return -EBUSY;
	sgt->entries = calloc((size_t)n, sizeof(*sgt->entries));
	if (!sgt->entries)
		return -ENOMEM;
	sgt->nents = (uint32_t)placement_segments(pl, &dev->c, sgt->entries);
	return 0;
}

/**
 * sg_dma_unmap() - free a table and its I/O virtual range
 * @dev: the device it was built for
 * @sgt: the table
 */
void sg_dma_unmap(struct dmabuf_device *dev, struct dmabuf_sg_table *sgt)
{
	if (sgt->iova_len)
		range_free(&dev->iova, sgt->iova, sgt->iova_len);
	free(sgt->entries);
	memset(sgt, 0, sizeof(*sgt));
}

static void host_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void host_log(int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dmabuf_log(prio, "%s", msg);
}

const struct dmabuf_heap_host dmabuf_host = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.log = host_log,
	.dma_map = sg_dma_map,
	.dma_unmap = sg_dma_unmap,
	.check = sg_check_placement,
};
