// SPDX-License-Identifier: MIT
/*
 * DOC: the core
 *
 * One instance of the framework: its heaps, its device registry, its
 * buffers, and the lock that guards them.  Also the debugfs-style bufinfo
 * report, written in the kernel's format so that scripts written for
 * /sys/kernel/debug/dma_buf/bufinfo read it unchanged.
 *
 * The top of the object model: it calls buffer.c, attach.c (teardown),
 * device.c, heap.c and the built-in heaps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int register_builtin_heaps(struct dmabuf_core *core,
				  const struct dmabuf_core_config *cfg)
{
	char opts[64] = "";
	int ret;

	if (cfg->system_size)
		snprintf(opts, sizeof(opts), "size=%llu",
			 (unsigned long long)cfg->system_size);
	ret = dmabuf_heap_register(core, &dmabuf_system_heap_ops, opts);
	if (ret)
		return ret;
	snprintf(opts, sizeof(opts), "size=%llu",
		 (unsigned long long)(cfg->cma_size ? cfg->cma_size
						    : DMABUF_DEFAULT_CMA_SIZE));
	return dmabuf_heap_register(core, &dmabuf_cma_heap_ops, opts);
}

/**
 * dmabuf_core_new() - build a core with the system and cma heaps
 * @cfg: configuration, or NULL for the defaults
 * @out: the core
 *
 * Devices are not registered here: add the built-in set or a file.
 *
 * Return: 0; -EINVAL for a bad heap size or default heap name; -ENOMEM.
 */
int dmabuf_core_new(const struct dmabuf_core_config *cfg,
		    struct dmabuf_core **out)
{
	static const struct dmabuf_core_config defaults;
	struct dmabuf_core *core = calloc(1, sizeof(*core));
	pthread_condattr_t attr;
	int ret;

	if (!core)
		return -ENOMEM;
	cfg = cfg ? cfg : &defaults;
	core->cfg = *cfg;
	pthread_mutex_init(&core->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&core->changed, &attr);
	pthread_condattr_destroy(&attr);
	TAILQ_INIT(&core->devices);
	TAILQ_INIT(&core->buffers);
	LIST_INIT(&core->fences);
	core->next_ino = 2; /* 1 is the mount's root */
	ret = name_copy(core->default_heap, cfg->default_heap
						    ? cfg->default_heap
						    : DMABUF_DEFAULT_HEAP);
	if (!ret)
		ret = register_builtin_heaps(core, cfg);
	if (ret) {
		dmabuf_core_free(core);
		return ret;
	}
	core->cfg.default_heap = core->default_heap;
	*out = core;
	return 0;
}

/**
 * dmabuf_core_free() - tear a core down
 * @core: the core
 *
 * Everything still alive goes: handles (with their attachments and
 * mappings), named buffers, and buffers a caller forgot to put.
 */
void dmabuf_core_free(struct dmabuf_core *core)
{
	buffers_free_all(core);
	devices_free(core);
	heaps_free(core);
	pthread_cond_destroy(&core->changed);
	pthread_mutex_destroy(&core->lock);
	free(core);
}

/**
 * dmabuf_core_set_notify() - be told when a buffer changes
 * @core: the core
 * @fn: called without the core's lock after a mapping ended, a handle was
 *      released or a migration happened; may call back into the core
 * @arg: passed to @fn
 */
void dmabuf_core_set_notify(struct dmabuf_core *core,
			    void (*fn)(void *arg, struct dmabuf_buffer *buf),
			    void *arg)
{
	pthread_mutex_lock(&core->lock);
	core->notify = fn;
	core->notify_arg = arg;
	pthread_mutex_unlock(&core->lock);
}

/**
 * dmabuf_core_set_closer() - who closes the descriptors dying buffers hold
 * @core: the core
 * @fn: called without the core's lock with each memfd a buffer lets go of
 *      when its last reference goes; it owns the fd from then on and must
 *      close it.  The last close of a memfd frees its pages, which takes
 *      time (half a second for 4 GiB): @fn may do it on another thread.
 *      NULL: the core closes at once, in the thread that dropped the
 *      reference.
 * @arg: passed to @fn
 */
void dmabuf_core_set_closer(struct dmabuf_core *core,
			    void (*fn)(void *arg, int fd), void *arg)
{
	pthread_mutex_lock(&core->lock);
	core->close_fd = fn;
	core->close_arg = arg;
	pthread_mutex_unlock(&core->lock);
}

/**
 * dmabuf_core_set_accounting() - charge owners for what they hold
 * @core: the core, before any buffer has an owner
 * @acct: the hooks (see struct dmabuf_accounting), or NULL for none
 * @arg: passed to them
 */
void dmabuf_core_set_accounting(struct dmabuf_core *core,
				const struct dmabuf_accounting *acct, void *arg)
{
	pthread_mutex_lock(&core->lock);
	core->acct = acct;
	core->acct_arg = arg;
	pthread_mutex_unlock(&core->lock);
}

const char *dmabuf_core_default_heap(struct dmabuf_core *core)
{
	return core->default_heap;
}

/**
 * dmabuf_core_totals() - live buffers and their bytes
 * @core: the core
 * @buffers: out
 * @bytes: out
 */
void dmabuf_core_totals(struct dmabuf_core *core, uint64_t *buffers,
			uint64_t *bytes)
{
	pthread_mutex_lock(&core->lock);
	*buffers = core->nr_buffers;
	*bytes = core->bytes;
	pthread_mutex_unlock(&core->lock);
}

/* FMODE_READ/FMODE_WRITE of the handles, as the kernel's f_mode shows. */
static unsigned int fmode_locked(const struct dmabuf_buffer *buf)
{
	const struct dmabuf_handle *h;
	unsigned int mode = 0;

	TAILQ_FOREACH (h, &buf->handles, link) {
		int acc = h->flags & O_ACCMODE;

		mode |= acc == O_RDONLY ? 1 : acc == O_WRONLY ? 2 : 3;
	}
	return mode;
}

/*
 * A debug name as bufinfo shows it.  Any holder of a handle sets it (in the
 * kernel only drivers do), so it is escaped as /proc/mounts escapes paths:
 * a backslash, a control character or DEL becomes \ooo, and no name can
 * start a line or a field of its own.
 */
static void put_name(FILE *f, const char *name)
{
	const unsigned char *c;

	if (!*name) {
		fputs("<none>", f);
		return;
	}
	for (c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == '\\')
			fprintf(f, "\\%03o", *c);
		else
			fputc(*c, f);
}

/*
 * Open CPU brackets, per handle: who, range, direction and since when, so a
 * forgotten END shows even without the sanitizer.
 */
/*
 * Since when @h holds brackets: its first ioctl bracket's time, or for
 * brackets only its slot counts, when the daemon first saw them.
 */
static const struct timespec *brackets_since_locked(struct dmabuf_handle *h,
						    const struct timespec *now)
{
	if (h->cpu_brackets)
		return &h->bracket_since;
	if (!h->slot_seen.tv_sec && !h->slot_seen.tv_nsec)
		h->slot_seen = *now;
	return &h->slot_seen;
}

static void describe_brackets_locked(FILE *f, const struct dmabuf_buffer *buf)
{
	static const char *const dir_names[] = {"?", "READ", "WRITE",
						"READ|WRITE"};
	const struct timespec *since;
	struct dmabuf_handle *h;
	struct timespec now;
	unsigned int n;
	uint32_t dir;

	clock_gettime(CLOCK_MONOTONIC, &now);
	TAILQ_FOREACH (h, &buf->handles, link) {
		n = handle_brackets_locked(h, &dir);
		if (!n) {
			h->slot_seen = (struct timespec){0};
			continue;
		}
		since = brackets_since_locked(h, &now);
		/* A slot's brackets carry no range: the whole buffer. */
		fprintf(f,
			"\tCPU bracket: %u open (%s) on [%llu, +%llu) "
			"by uid %d pid %d for %.1f s\n",
			n, dir_names[dir & DMA_BUF_SYNC_RW],
			(unsigned long long)(h->cpu_brackets ? h->bracket_off
							     : 0),
			(unsigned long long)(h->cpu_brackets ? h->bracket_len
							     : buf->size),
			(int)h->owner, (int)h->pid,
			(double)(now.tv_sec - since->tv_sec) +
				(now.tv_nsec - since->tv_nsec) / 1e9);
	}
	TAILQ_FOREACH (h, &buf->handles, link)
		if (h->race.count)
			fprintf(f,
				"\tCPU bracket raced: %u device mapping(s) "
				"while pid %d held a bracket, the last by %s "
				"(pid %d)\n",
				h->race.count, (int)h->pid, h->race.device,
				(int)h->race.pid);
}

static void describe_buffer_locked(FILE *f, const struct dmabuf_buffer *buf)
{
	const struct dmabuf_attachment *att;
	unsigned int n = 0;

	fprintf(f, "%08llu\t%08x\t%08x\t%08lu\t%s\t%08llu\t",
		(unsigned long long)buf->size, 0u, fmode_locked(buf), buf->refs,
		buffer_exp_name_locked(buf) ? buffer_exp_name_locked(buf)
					    : "<none>",
		(unsigned long long)buf->ino);
	put_name(f, buf->name);
	fputc('\n', f);
	describe_brackets_locked(f, buf);
	TAILQ_FOREACH (att, &buf->attachments, buf_link)
		if (att->mapped)
			fprintf(f,
				"\t%s fence: dmabuffs %s seq %llu unsignalled\n",
				att->dir == DMABUF_DIR_TO_DEVICE ? "read"
								 : "write",
				att->dev->desc.name,
				(unsigned long long)att->map_seq);
	fputs("\tAttached Devices:\n", f);
	TAILQ_FOREACH (att, &buf->attachments, buf_link) {
		fprintf(f, "\t%s\n", att->dev->desc.name);
		n++;
	}
	fprintf(f, "Total %u devices attached\n\n", n);
}

static int by_ino(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/**
 * dmabuf_core_bufinfo() - the kernel's debugfs bufinfo
 * @core: the core
 * @inos: the inode numbers of the buffers to show, ascending; NULL for all
 * @nr_inos: their number
 * @text: out: malloc'ed report; the caller frees it
 * @len: out: its length
 *
 * The kernel's bufinfo is root's (debugfs); here each user may read it, so
 * the caller says which buffers that user may see.  The totals count those
 * only.
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_core_bufinfo(struct dmabuf_core *core, const uint64_t *inos,
			size_t nr_inos, char **text, size_t *len)
{
	const struct dmabuf_buffer *buf;
	FILE *f = open_memstream(text, len);
	uint64_t shown = 0, bytes = 0;

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&core->lock);
	fprintf(f,
		"\nDma-buf Objects:\n%-8s\t%-8s\t%-8s\t%-8s\texp_name\t%-8s\tname\n",
		"size", "flags", "mode", "count", "ino");
	TAILQ_FOREACH (buf, &core->buffers, link) {
		if (inos &&
		    !bsearch(&buf->ino, inos, nr_inos, sizeof(*inos), by_ino))
			continue;
		describe_buffer_locked(f, buf);
		shown++;
		bytes += buf->size;
	}
	fprintf(f, "\nTotal %llu objects, %llu bytes\n",
		(unsigned long long)shown, (unsigned long long)bytes);
	pthread_mutex_unlock(&core->lock);
	if (fclose(f))
		return -ENOMEM;
	return 0;
}
