// SPDX-License-Identifier: MIT
/*
 * DOC: heap registry
 *
 * Heaps are the exporters.  Registering one checks what dma_buf_export()
 * checks: the ABI version, and that the mandatory ops (allocate, release,
 * map_dma_buf, unmap_dma_buf) are present.  A heap that fails is refused
 * with a log line naming what is missing; the others keep working.
 *
 * Plugins are shared objects loaded with dlopen(3).  The ABI version is read
 * before anything else of the ops table, so a plugin built against another
 * layout is refused without being called.
 *
 * Calls sg.c (the host functions a heap gets) and the log.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "internal.h"

static const char *missing_op(const struct dmabuf_heap_ops *ops)
{
	if (!ops->allocate)
		return "allocate";
	if (!ops->release)
		return "release";
	if (!ops->map_dma_buf)
		return "map_dma_buf";
	if (!ops->unmap_dma_buf)
		return "unmap_dma_buf";
	return NULL;
}

static int heap_ops_check(const struct dmabuf_heap_ops *ops)
{
	const char *name = ops->name ? ops->name : "(unnamed)";
	const char *op;

	if (ops->abi_version != DMABUF_HEAP_ABI_VERSION) {
		dmabuf_log(LOG_ERR,
			   "heap refused: ABI version %u, this dmabuffs has %u",
			   ops->abi_version, DMABUF_HEAP_ABI_VERSION);
		return -EPROTO;
	}
	if (!ops->name || !*ops->name ||
	    strnlen(ops->name, DMABUF_NAME_LEN) == DMABUF_NAME_LEN) {
		dmabuf_log(LOG_ERR, "heap refused: name missing or too long");
		return -EINVAL;
	}
	op = missing_op(ops);
	if (op) {
		dmabuf_log(LOG_ERR,
			   "heap '%s' refused: mandatory op %s missing", name,
			   op);
		return -EINVAL;
	}
	return 0;
}

struct dmabuf_heap *heap_find_locked(struct dmabuf_core *core, const char *name)
{
	unsigned int i;

	for (i = 0; i < core->nr_heaps; i++)
		if (!strncmp(core->heaps[i].ops->name, name, DMABUF_NAME_LEN))
			return &core->heaps[i];
	return NULL;
}

static int heap_add(struct dmabuf_core *core, const struct dmabuf_heap_ops *ops,
		    const char *options, void *dl)
{
	void *priv = NULL;
	int ret = heap_ops_check(ops);

	if (ret)
		return ret;
	pthread_mutex_lock(&core->lock);
	if (heap_find_locked(core, ops->name))
		ret = -EEXIST;
	else if (core->nr_heaps == DMABUF_MAX_HEAPS)
		ret = -ENOSPC;
	pthread_mutex_unlock(&core->lock);
	if (ret) {
		dmabuf_log(LOG_ERR, "heap '%s' refused: %s", ops->name,
			   ret == -EEXIST ? "name taken" : "too many heaps");
		return ret;
	}
	if (ops->init) {
		ret = ops->init(&dmabuf_host, options ? options : "", &priv);
		if (ret) {
			dmabuf_log(LOG_ERR, "heap '%s': init failed: %s",
				   ops->name, strerror(-ret));
			return ret;
		}
	}
	/* Registration happens before the core serves requests. */
	pthread_mutex_lock(&core->lock);
	core->heaps[core->nr_heaps++] =
		(struct dmabuf_heap){.ops = ops, .priv = priv, .dl = dl};
	pthread_mutex_unlock(&core->lock);
	dmabuf_log(LOG_INFO, "heap '%s' registered", ops->name);
	return 0;
}

/**
 * dmabuf_heap_register() - add a heap
 * @core: the core
 * @ops: its ops table, which must outlive the core
 * @options: "key=value,..." for its init op, or NULL
 *
 * Return: 0; -EPROTO for another ABI version; -EINVAL for a missing
 * mandatory op or bad name; -EEXIST; -ENOSPC; or what init returned.
 */
int dmabuf_heap_register(struct dmabuf_core *core,
			 const struct dmabuf_heap_ops *ops, const char *options)
{
	return heap_add(core, ops, options, NULL);
}

/**
 * dmabuf_heap_load() - load and register a heap plugin
 * @core: the core
 * @path: the shared object
 * @options: for its init op, or NULL
 *
 * Return: 0, -ENOENT when it cannot be loaded or lacks the plugin symbol,
 * or what dmabuf_heap_register() returns.
 */
int dmabuf_heap_load(struct dmabuf_core *core, const char *path,
		     const char *options)
{
	const struct dmabuf_heap_ops *ops;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	int ret;

	if (!dl) {
		dmabuf_log(LOG_ERR, "heap plugin %s: %s", path, dlerror());
		return -ENOENT;
	}
	ops = dlsym(dl, DMABUF_HEAP_PLUGIN_SYMBOL);
	if (!ops) {
		dmabuf_log(LOG_ERR, "heap plugin %s: no symbol %s", path,
			   DMABUF_HEAP_PLUGIN_SYMBOL);
		ret = -ENOENT;
		goto err_close;
	}
	ret = heap_add(core, ops, options, dl);
	if (ret)
		goto err_close;
	return 0;

err_close:
	dlclose(dl);
	return ret;
}

static int is_plugin(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 3 && !strcmp(d->d_name + len - 3, ".so");
}

/**
 * dmabuf_heap_load_dir() - load every *.so in @dir, in name order
 * @core: the core
 * @dir: the heap directory
 *
 * A plugin that fails is logged and skipped: one bad file does not take the
 * other heaps down.
 *
 * Return: the number of heaps loaded, or -errno when @dir cannot be read.
 */
int dmabuf_heap_load_dir(struct dmabuf_core *core, const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n, i, loaded = 0;

	n = scandir(dir, &names, is_plugin, alphasort);
	if (n < 0) {
		int ret = -errno;

		dmabuf_log(LOG_ERR, "heap directory %s: %s", dir,
			   strerror(errno));
		return ret;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!dmabuf_heap_load(core, path, NULL))
			loaded++;
		free(names[i]);
	}
	free(names);
	return loaded;
}

unsigned int dmabuf_heap_count(struct dmabuf_core *core)
{
	return core->nr_heaps;
}

bool dmabuf_heap_exists(struct dmabuf_core *core, const char *name)
{
	bool found;

	pthread_mutex_lock(&core->lock);
	found = heap_find_locked(core, name) != NULL;
	pthread_mutex_unlock(&core->lock);
	return found;
}

/**
 * dmabuf_heap_stats() - name, capacity and use of the @idx-th heap
 * @core: the core
 * @idx: 0..dmabuf_heap_count() - 1
 * @name: out: its name
 * @st: out: its figures (zero when the heap keeps none)
 *
 * Return: 0, or -ENOENT past the last heap.
 */
int dmabuf_heap_stats(struct dmabuf_core *core, unsigned int idx,
		      char name[DMABUF_NAME_LEN], struct dmabuf_heap_stats *st)
{
	struct dmabuf_heap *heap;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&core->lock);
	if (idx >= core->nr_heaps) {
		pthread_mutex_unlock(&core->lock);
		return -ENOENT;
	}
	heap = &core->heaps[idx];
	name_copy(name, heap->ops->name);
	if (heap->ops->stats)
		heap->ops->stats(heap->priv, st);
	pthread_mutex_unlock(&core->lock);
	return 0;
}

void heaps_free(struct dmabuf_core *core)
{
	unsigned int i;

	for (i = 0; i < core->nr_heaps; i++) {
		struct dmabuf_heap *heap = &core->heaps[i];

		if (heap->ops->fini)
			heap->ops->fini(heap->priv);
		if (heap->dl)
			dlclose(heap->dl);
	}
	core->nr_heaps = 0;
}
