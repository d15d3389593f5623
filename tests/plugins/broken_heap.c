// SPDX-License-Identifier: MIT
/*
 * DOC: broken test heap
 *
 * A plugin without the mandatory map_dma_buf op: registration must refuse
 * it with a clear message, as dma_buf_export() refuses such an exporter.
 */
#include <errno.h>

#include <dmabuf/heap.h>

static int broken_allocate(void *priv, uint64_t size,
			   const struct dmabuf_constraints *c,
			   struct dmabuf_placement *pl)
{
	(void)priv, (void)size, (void)c, (void)pl;
	return -ENOMEM;
}

static void broken_release(void *priv, struct dmabuf_placement *pl)
{
	(void)priv, (void)pl;
}

const struct dmabuf_heap_ops dmabuf_heap_plugin = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.name = "broken",
	.allocate = broken_allocate,
	.release = broken_release,
};
