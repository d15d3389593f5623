/* SPDX-License-Identifier: MIT */
/*
 * DOC: the buffer object model
 *
 * The dma-buf framework in plain C, with no FUSE type in it: buffers
 * exported by heaps, open handles (the shareable fds), attachments of
 * devices, device mappings with scatter-gather tables, ranged CPU access,
 * implicit fences derived from active mappings, deferred allocation and
 * migration.  The FUSE front end (fs/) decodes requests and calls this; the
 * unit tests call it directly.
 *
 * Concurrency: one mutex per core guards every object.  Calls that would
 * have to wait (a map stalled behind a migration, CPU access behind a fence)
 * never block: they return -EAGAIN and the caller retries when the buffer
 * changes.  A change is announced twice: the core's notify hook (called
 * without the lock held, so it may call back in) for event-driven callers,
 * and a per-buffer sequence number with dmabuf_buffer_wait() for blocking
 * ones.
 *
 * Errors are negative errno values.
 */
#ifndef DMABUF_CORE_H
#define DMABUF_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <dmabuf/dmabuf.h>
#include <dmabuf/heap.h>
#include <dmabuf/uapi.h>

#include "cpu-rules.h" /* dmabuf_cpu_dir_valid(), the SYNC flags rule */

struct dmabuf_core;
struct dmabuf_buffer;
struct dmabuf_handle;

#define DMABUF_DEFAULT_CMA_SIZE (256ULL << 20)
/* What the built-in heaps accept as their size: cma below 2 GiB, above 256. */
#define DMABUF_CMA_MIN_SIZE (1ULL << 20)
#define DMABUF_CMA_MAX_SIZE (1792ULL << 20)
#define DMABUF_SYSTEM_MIN_SIZE (16ULL << 20)
uint64_t dmabuf_system_ram(void);
#define DMABUF_DEFAULT_HEAP "system"

/**
 * struct dmabuf_core_config - how to build a core
 * @cma_size: capacity of the cma heap; 0 for DMABUF_DEFAULT_CMA_SIZE
 * @system_size: capacity of the system heap; 0 for the machine's RAM
 * @default_heap: heap for buffers sized without one; NULL for "system"
 */
struct dmabuf_core_config {
	uint64_t cma_size;
	uint64_t system_size;
	const char *default_heap;
};

/* ---- logging (log.c) ---- */

typedef void (*dmabuf_log_fn)(int prio, const char *msg);

void dmabuf_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dmabuf_log_set_handler(dmabuf_log_fn fn);
void dmabuf_log_set_level(int max_prio);

/* ---- the core (core.c) ---- */

int dmabuf_core_new(const struct dmabuf_core_config *cfg,
		    struct dmabuf_core **out);
void dmabuf_core_free(struct dmabuf_core *core);
/* What the accounting hook charges (dmabuf_core_set_accounting()). */
enum dmabuf_charge {
	DMABUF_CHARGE_ATTACHMENTS, /* to the handle's owner, 1 each */
	DMABUF_CHARGE_MAPPINGS, /* device mappings, to the handle's owner */
	DMABUF_CHARGE_BYTES, /* a placement's bytes, to the buffer's owner */
	DMABUF_CHARGE_FENCES, /* an imported fence, to its importer */
	DMABUF_CHARGE_FDS, /* a udmabuf's memfds, to the buffer's owner */
};

/**
 * struct dmabuf_accounting - who pays for what the object model holds
 * @charge: called with the core's lock held (so it may take only locks
 *          that come after it) before an attachment, a device mapping or a
 *          placement is made: 0 to go on, or a negative errno the caller
 *          gets instead; @heap names the heap for DMABUF_CHARGE_BYTES
 * @uncharge: called with the core's lock held when it ends; cannot fail
 *
 * An owner of DMABUF_NO_OWNER is never charged.
 */
struct dmabuf_accounting {
	int (*charge)(void *arg, uid_t owner, enum dmabuf_charge what,
		      const char *heap, uint64_t n);
	void (*uncharge)(void *arg, uid_t owner, enum dmabuf_charge what,
			 const char *heap, uint64_t n);
};

#define DMABUF_NO_OWNER ((uid_t)-1)

void dmabuf_core_set_accounting(struct dmabuf_core *core,
				const struct dmabuf_accounting *acct,
				void *arg);
void dmabuf_buffer_set_owner(struct dmabuf_buffer *buf, uid_t owner);
void dmabuf_handle_set_owner(struct dmabuf_handle *h, uid_t owner, pid_t pid);
int dmabuf_buffer_revoke(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			 uid_t spare, pid_t only);
int dmabuf_buffer_blockers(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			   uid_t *first_uid, char *text, size_t len);
void dmabuf_core_set_notify(struct dmabuf_core *core,
			    void (*fn)(void *arg, struct dmabuf_buffer *buf),
			    void *arg);
void dmabuf_core_set_closer(struct dmabuf_core *core,
			    void (*fn)(void *arg, int fd), void *arg);
int dmabuf_core_bufinfo(struct dmabuf_core *core, const uint64_t *inos,
			size_t nr_inos, char **text, size_t *len);
void dmabuf_core_totals(struct dmabuf_core *core, uint64_t *buffers,
			uint64_t *bytes);
const char *dmabuf_core_default_heap(struct dmabuf_core *core);

/* ---- heaps (heap.c) ---- */

int dmabuf_heap_register(struct dmabuf_core *core,
			 const struct dmabuf_heap_ops *ops,
			 const char *options);
int dmabuf_heap_load(struct dmabuf_core *core, const char *path,
		     const char *options);
int dmabuf_heap_load_dir(struct dmabuf_core *core, const char *dir);
unsigned int dmabuf_heap_count(struct dmabuf_core *core);
int dmabuf_heap_stats(struct dmabuf_core *core, unsigned int idx,
		      char name[DMABUF_NAME_LEN], struct dmabuf_heap_stats *st);
bool dmabuf_heap_exists(struct dmabuf_core *core, const char *name);

extern const struct dmabuf_heap_ops dmabuf_system_heap_ops;
extern const struct dmabuf_heap_ops dmabuf_cma_heap_ops;

/* ---- devices (device.c) ---- */

int dmabuf_device_desc_check(const struct dmabuf_device_desc *desc);
int dmabuf_core_device_add(struct dmabuf_core *core,
			   const struct dmabuf_device_desc *desc);
int dmabuf_core_device_remove(struct dmabuf_core *core, const char *name);
int dmabuf_core_device_list(struct dmabuf_core *core, uint32_t first,
			    uint32_t count, struct dmabuf_device_desc *out,
			    uint32_t *total);
int dmabuf_core_device_add_builtin(struct dmabuf_core *core);
int dmabuf_device_parse_line(const char *line, struct dmabuf_device_desc *desc);
int dmabuf_core_device_load_file(struct dmabuf_core *core, const char *path);

/* ---- buffers (buffer.c) ---- */

int dmabuf_buffer_create(struct dmabuf_core *core, struct dmabuf_buffer **out);
int dmabuf_buffer_export(struct dmabuf_core *core, const char *heap,
			 uint64_t size, uint64_t flags, const char *name,
			 struct dmabuf_buffer **out);
int dmabuf_buffer_setup(struct dmabuf_buffer *buf, const char *heap,
			uint64_t size, uint64_t flags, const char *name);
int dmabuf_buffer_set_heap(struct dmabuf_buffer *buf, const char *heap);
int dmabuf_buffer_set_size(struct dmabuf_buffer *buf, uint64_t size);
int dmabuf_buffer_set_name(struct dmabuf_buffer *buf, const char *name);
void dmabuf_buffer_get(struct dmabuf_buffer *buf);
void dmabuf_buffer_put(struct dmabuf_buffer *buf);
void dmabuf_buffer_link(struct dmabuf_buffer *buf);
void dmabuf_buffer_unlink(struct dmabuf_buffer *buf);
uint64_t dmabuf_buffer_ino(const struct dmabuf_buffer *buf);
uint64_t dmabuf_buffer_size(struct dmabuf_buffer *buf);
void dmabuf_buffer_info(struct dmabuf_buffer *buf, struct dmabuf_info *info);
int dmabuf_buffer_backing(struct dmabuf_buffer *buf);
int dmabuf_buffer_adopt_memfd(struct dmabuf_buffer *buf, int fd);
int dmabuf_buffer_memfd(struct dmabuf_buffer *buf, bool allocate);
void dmabuf_buffer_cpu_map_get(struct dmabuf_buffer *buf);
void dmabuf_buffer_cpu_map_put(struct dmabuf_buffer *buf);
uint32_t dmabuf_buffer_poll(struct dmabuf_buffer *buf);
uint64_t dmabuf_buffer_seq(struct dmabuf_buffer *buf);
int dmabuf_buffer_wait(struct dmabuf_buffer *buf, uint64_t seq, int timeout_ms);
int dmabuf_buffer_attachment_names(struct dmabuf_buffer *buf, char *out,
				   size_t len);

/**
 * struct dmabuf_memfd_range - a run of another memfd's pages (udmabuf)
 * @fd: the memfd; owned by the buffer once bound, and shared by every run
 *      of that memfd
 * @offset: first byte in it, page-aligned
 * @size: bytes, page-aligned, > 0
 */
struct dmabuf_memfd_range {
	int fd;
	uint64_t offset;
	uint64_t size;
};

#define DMABUF_UDMABUF_EXP_NAME "udmabuf"

int dmabuf_buffer_bind_memfds(struct dmabuf_buffer *buf,
			      struct dmabuf_memfd_range *ranges,
			      unsigned int count);
int dmabuf_buffer_ranges(struct dmabuf_buffer *buf,
			 struct dmabuf_memfd_range *out, unsigned int max);
ssize_t dmabuf_buffer_pread(struct dmabuf_buffer *buf, void *dst, size_t len,
			    uint64_t off);
ssize_t dmabuf_buffer_pwrite(struct dmabuf_buffer *buf, const void *src,
			     size_t len, uint64_t off);

/* ---- explicit fences (fence.c) ---- */

struct dmabuf_fence;

/**
 * struct dmabuf_fence_leaf - one device mapping a fence waits for
 * @seq: the mapping's sequence number (its dma_fence seqno)
 * @status: 0 pending, 1 signalled, a negative errno when torn down
 * @timestamp_ns: CLOCK_MONOTONIC when it signalled
 */
struct dmabuf_fence_leaf {
	uint64_t seq;
	int status;
	uint64_t timestamp_ns;
};

int dmabuf_fence_export(struct dmabuf_buffer *buf, uint32_t flags,
			struct dmabuf_fence **out);
int dmabuf_fence_merge(struct dmabuf_fence *a, struct dmabuf_fence *b,
		       struct dmabuf_fence **out);
void dmabuf_fence_get(struct dmabuf_fence *f);
void dmabuf_fence_put(struct dmabuf_fence *f);
int dmabuf_fence_status(struct dmabuf_fence *f);
unsigned int dmabuf_fence_leaves(struct dmabuf_fence *f, unsigned int first,
				 struct dmabuf_fence_leaf *out,
				 unsigned int max);
int dmabuf_buffer_import_fence(struct dmabuf_buffer *buf,
			       struct dmabuf_fence *f, bool write, uid_t owner,
			       pid_t pid);
bool dmabuf_core_fences_in_use(struct dmabuf_core *core);

/* ---- handles, attachments, mappings (attach.c), CPU access (cpu.c) ---- */

int dmabuf_handle_open(struct dmabuf_buffer *buf, int flags,
		       struct dmabuf_handle **out);
void dmabuf_handle_release(struct dmabuf_handle *h);
struct dmabuf_buffer *dmabuf_handle_buffer(struct dmabuf_handle *h);

int dmabuf_handle_attach(struct dmabuf_handle *h, const char *device,
			 uint64_t *attach_id);
int dmabuf_handle_detach(struct dmabuf_handle *h, uint64_t attach_id);
int dmabuf_handle_map(struct dmabuf_handle *h, uint64_t attach_id, uint32_t dir,
		      uint32_t *nents, uint64_t *total_len);
int dmabuf_handle_get_sg(struct dmabuf_handle *h, uint64_t attach_id,
			 uint32_t first, uint32_t count,
			 struct dmabuf_sg_entry *entries, uint32_t *nents);
int dmabuf_handle_unmap(struct dmabuf_handle *h, uint64_t attach_id);
int dmabuf_handle_begin_cpu(struct dmabuf_handle *h, uint64_t off, uint64_t len,
			    uint32_t dir);
int dmabuf_handle_end_cpu(struct dmabuf_handle *h, uint64_t off, uint64_t len,
			  uint32_t dir);
int dmabuf_handle_sync(struct dmabuf_handle *h, uint64_t flags);
void dmabuf_handle_take_race(struct dmabuf_handle *h,
			     struct dmabuf_cpu_race *race);
void dmabuf_handle_set_sync_slot(struct dmabuf_handle *h,
				 struct dmabuf_sync_slot *slot);

#endif /* DMABUF_CORE_H */
