// SPDX-License-Identifier: MIT
/*
 * DOC: flaky test heap
 *
 * A heap built as a separate shared object, to prove the plugin ABI: it
 * places buffers at increasing addresses above 64 GiB and, with the option
 * "fail_begin", fails every begin_cpu_access with -EIO, as a swap heap whose
 * swap-in failed would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dmabuf/heap.h>

struct flaky {
	const struct dmabuf_heap_host *host;
	uint64_t next;
	int fail_begin;
};

static int flaky_init(const struct dmabuf_heap_host *host, const char *options,
		      void **priv)
{
	struct flaky *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->host = host;
	f->next = 64ULL << 30;
	f->fail_begin = strstr(options, "fail_begin") != NULL;
	*priv = f;
	return 0;
}

static void flaky_fini(void *priv)
{
	free(priv);
}

static int flaky_allocate(void *priv, uint64_t size,
			  const struct dmabuf_constraints *c,
			  struct dmabuf_placement *pl)
{
	struct flaky *f = priv;

	if (c->dma_bits < 40)
		return -EINVAL;
	pl->chunks = malloc(sizeof(*pl->chunks));
	if (!pl->chunks)
		return -ENOMEM;
	pl->chunks[0].addr = f->next;
	pl->chunks[0].len = size;
	pl->nr_chunks = 1;
	pl->size = size;
	f->next += size + DMABUF_PAGE_SIZE;
	return 0;
}

static void flaky_release(void *priv, struct dmabuf_placement *pl)
{
	(void)priv;
	free(pl->chunks);
}

static int flaky_map(void *priv, const struct dmabuf_placement *pl,
		     struct dmabuf_device *dev, uint32_t dir,
		     struct dmabuf_sg_table *sgt)
{
	struct flaky *f = priv;

	(void)dir;
	return f->host->dma_map(dev, pl, sgt);
}

static void flaky_unmap(void *priv, struct dmabuf_device *dev,
			struct dmabuf_sg_table *sgt)
{
	struct flaky *f = priv;

	f->host->dma_unmap(dev, sgt);
}

static int flaky_begin(void *priv, const struct dmabuf_placement *pl,
		       uint64_t off, uint64_t len, uint32_t dir)
{
	struct flaky *f = priv;

	(void)pl, (void)off, (void)len, (void)dir;
	if (!f->fail_begin)
		return 0;
	f->host->log(4, "flaky heap: swap-in failed");
	return -EIO;
}

const struct dmabuf_heap_ops dmabuf_heap_plugin = {
	.abi_version = DMABUF_HEAP_ABI_VERSION,
	.name = "flaky",
	.init = flaky_init,
	.fini = flaky_fini,
	.allocate = flaky_allocate,
	.release = flaky_release,
	.map_dma_buf = flaky_map,
	.unmap_dma_buf = flaky_unmap,
	.begin_cpu_access = flaky_begin,
};
