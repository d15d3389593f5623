/* SPDX-License-Identifier: MIT */
/*
 * DOC: object model internals
 *
 * Structures shared by the files of the core; nothing outside lib/ sees
 * them.  Every field is guarded by dmabuf_core.lock unless noted.
 */
#ifndef DMABUF_INTERNAL_H
#define DMABUF_INTERNAL_H

#include <pthread.h>
#include <sys/queue.h>

/* glibc's <sys/queue.h> lacks the BSD _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head);            \
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif

#include "dmabuf-core.h"

#define DMABUF_MAX_HEAPS 16
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define IS_POW2(x) ((x) != 0 && ((x) & ((x)-1)) == 0)

/* I/O virtual address spaces start above page 0 and stop at 2^48. */
#define IOVA_BASE DMABUF_PAGE_SIZE
#define IOVA_TOP (1ULL << 48)

/* ---- range.c: first-fit allocator over an address range ---- */

struct range_extent {
	uint64_t start;
	uint64_t end; /* exclusive */
};

/**
 * struct range_pool - free extents of [base, end), sorted by address
 * @base: first address managed
 * @end: one past the last address managed
 * @free: free extents, sorted, never adjacent (merged on free)
 * @nr_free: extents in @free
 * @cap_free: room in @free
 * @used: bytes handed out
 */
struct range_pool {
	uint64_t base;
	uint64_t end;
	struct range_extent *free;
	size_t nr_free;
	size_t cap_free;
	uint64_t used;
};

int range_pool_init(struct range_pool *pool, uint64_t base, uint64_t size);
void range_pool_fini(struct range_pool *pool);
int range_alloc(struct range_pool *pool, uint64_t size, uint64_t align,
		uint64_t limit, uint64_t boundary, uint64_t *addr);
void range_free(struct range_pool *pool, uint64_t addr, uint64_t size);
uint64_t range_largest_free(const struct range_pool *pool);

/* ---- sg.c: the emulated DMA API ---- */

void constraints_of_desc(const struct dmabuf_device_desc *desc,
			 struct dmabuf_constraints *c);
void constraints_init(struct dmabuf_constraints *c);
void constraints_intersect(struct dmabuf_constraints *acc,
			   const struct dmabuf_constraints *c);
uint64_t constraints_limit(const struct dmabuf_constraints *c);
uint64_t constraints_seg_max(const struct dmabuf_constraints *c);
int sg_check_placement(const struct dmabuf_placement *pl,
		       const struct dmabuf_constraints *c);
int sg_iova_feasible(const struct dmabuf_device *dev, uint64_t size);
int sg_dma_map(struct dmabuf_device *dev, const struct dmabuf_placement *pl,
	       struct dmabuf_sg_table *sgt);
void sg_dma_unmap(struct dmabuf_device *dev, struct dmabuf_sg_table *sgt);
extern const struct dmabuf_heap_host dmabuf_host;

/* ---- device.c ---- */

/**
 * struct dmabuf_device - a registered device
 * @desc: name and constraints as registered
 * @c: the constraints in placement form
 * @iova: I/O virtual address space (iommu devices only)
 * @users: attachments naming this device; removal waits for none
 * @link: entry in dmabuf_core.devices
 */
struct dmabuf_device {
	struct dmabuf_device_desc desc;
	struct dmabuf_constraints c;
	struct range_pool iova;
	unsigned int users;
	TAILQ_ENTRY(dmabuf_device) link;
};

struct dmabuf_device *device_find_locked(struct dmabuf_core *core,
					 const char *name);
void devices_free(struct dmabuf_core *core);

/* ---- heap.c ---- */

/**
 * struct dmabuf_heap - a registered heap
 * @ops: the exporter's ops
 * @priv: what the heap's init returned
 * @dl: dlopen handle for a plugin, NULL when built in
 */
struct dmabuf_heap {
	const struct dmabuf_heap_ops *ops;
	void *priv;
	void *dl;
};

struct dmabuf_heap *heap_find_locked(struct dmabuf_core *core,
				     const char *name);
void heaps_free(struct dmabuf_core *core);

/* ---- buffer.c ---- */

/**
 * struct dmabuf_attachment - a device attached through one handle
 * @id: the id the handle's owner names it by
 * @dev: the device
 * @handle: owning handle
 * @buf: the buffer
 * @mapped: an sg table is live
 * @dir: direction of the live mapping
 * @map_seq: fence sequence number of the live mapping
 * @sgt: the live mapping's table
 * @buf_link: entry in dmabuf_buffer.attachments
 * @handle_link: entry in dmabuf_handle.attachments
 */
struct dmabuf_attachment {
	uint64_t id;
	struct dmabuf_device *dev;
	struct dmabuf_handle *handle;
	struct dmabuf_buffer *buf;
	bool mapped;
	bool revoked; /* its mapping was ended by dmabuf_buffer_revoke() */
	uint32_t dir;
	uint64_t map_seq;
	struct dmabuf_sg_table sgt;
	TAILQ_ENTRY(dmabuf_attachment) buf_link;
	TAILQ_ENTRY(dmabuf_attachment) handle_link;
};

TAILQ_HEAD(attachment_list, dmabuf_attachment);

struct dmabuf_handle {
	struct dmabuf_buffer *buf;
	int flags;
	uid_t owner;
	pid_t pid;
	uint64_t next_attach_id;
	unsigned int cpu_brackets;
	uint32_t bracket_dir; /* directions of the brackets open */
	uint64_t bracket_off, bracket_len; /* the first one's range */
	struct timespec bracket_since; /* when the first was opened */
	struct dmabuf_cpu_race race; /* device mappings that raced a bracket */
	/*
	 * Brackets in shared memory (cpu.c): the slot the file system gave
	 * the handle, or NULL; its @brackets are the client's hints.  When
	 * the daemon first saw them open, for .bufinfo's age.
	 */
	struct dmabuf_sync_slot *slot;
	struct timespec slot_seen;
	struct attachment_list attachments;
	TAILQ_ENTRY(dmabuf_handle) link;
};

/* slots.c: brackets in shared memory */
void cpu_slots_publish_locked(struct dmabuf_buffer *buf);
unsigned int handle_brackets_locked(const struct dmabuf_handle *h,
				    uint32_t *dir);

TAILQ_HEAD(handle_list, dmabuf_handle);

/* ---- fence.c ---- */

/**
 * struct dmabuf_fence - an explicit fence (a sync_file's)
 * @core: owning core
 * @refs: sync_file handles and imports holding it
 * @leaves: the device mappings it waits for, by sequence number
 * @nr_leaves: their number; 0 for a fence signalled from the start
 * @link: entry in dmabuf_core.fences
 */
struct dmabuf_fence {
	struct dmabuf_core *core;
	unsigned long refs;
	struct dmabuf_fence_leaf *leaves;
	unsigned int nr_leaves;
	LIST_ENTRY(dmabuf_fence) link;
};

/**
 * struct dmabuf_import - a fence imported into a buffer's implicit fences
 * @fence: the fence, one reference
 * @write: a write fence (holds CPU readers too)
 * @owner: the uid charged for it (DMABUF_CHARGE_FENCES)
 * @pid: the process that imported it
 * @link: entry in dmabuf_buffer.imports
 */
struct dmabuf_import {
	struct dmabuf_fence *fence;
	bool write;
	uid_t owner;
	pid_t pid;
	TAILQ_ENTRY(dmabuf_import) link;
};

void imports_prune_locked(struct dmabuf_buffer *buf, bool all);
int imports_revoke_locked(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			  uid_t spare, pid_t only);
int imports_describe_locked(struct dmabuf_buffer *buf, uint32_t cpu_dir,
			    char *text, size_t len, size_t *used);
bool imports_block_locked(struct dmabuf_buffer *buf, uint32_t dir);
void fences_mapping_ended_locked(struct dmabuf_core *core, uint64_t seq,
				 bool torn_down);

/**
 * struct dmabuf_buffer - the struct dma_buf
 * @core: owning core
 * @ino: inode number, unique for the core's lifetime
 * @refs: open handles + the directory entry + live CPU mappings + callers'
 * @linked: a directory entry names the buffer
 * @size: exact size (0 while EMPTY)
 * @heap: exporter; NULL until chosen (the default heap applies at sizing)
 * @name: debug name
 * @placed: @pl is valid
 * @pl: the backing's placement
 * @pending: a migration target waiting for mappings to end
 * @has_pending: @pending is valid
 * @memfd: the bytes, -1 until the first placement
 * @ranges: udmabuf: the bytes are these ranges of other memfds (no @memfd)
 * @nr_ranges: entries in @ranges, 0 for a buffer with its own memfd
 * @nr_range_fds: distinct fds among @ranges (charged, DMABUF_CHARGE_FDS)
 * @exp_name: the exporter's name when not the heap's (udmabuf)
 * @nr_maps: live device mappings
 * @write_fences: live mappings in which a device writes
 * @read_fences: live mappings in which a device only reads
 * @cpu_maps: live CPU mappings of the memfd
 * @cpu_brackets: open begin_cpu_access brackets
 * @migrations: placements moved so far
 * @seq: bumped on each change a waiter may care about
 * @attachments: all attachments, every handle's
 * @handles: open handles
 * @imports: fences imported into its implicit fences (fence.c)
 * @link: entry in dmabuf_core.buffers
 */
struct dmabuf_buffer {
	struct dmabuf_core *core;
	uint64_t ino;
	unsigned long refs;
	bool linked;
	uint64_t size;
	struct dmabuf_heap *heap;
	char name[DMABUF_NAME_LEN];
	bool placed;
	uid_t owner;
	uint64_t charged; /* bytes charged to @owner for the placement */
	struct dmabuf_placement pl;
	bool has_pending;
	struct dmabuf_placement pending;
	int memfd;
	struct dmabuf_memfd_range *ranges;
	unsigned int nr_ranges;
	unsigned int nr_range_fds;
	char exp_name[DMABUF_NAME_LEN];
	unsigned int nr_maps;
	unsigned int write_fences;
	unsigned int read_fences;
	unsigned int cpu_maps;
	unsigned int cpu_brackets;
	unsigned int migrations;
	uint64_t seq;
	struct attachment_list attachments;
	struct handle_list handles;
	TAILQ_HEAD(, dmabuf_import) imports;
	void (*close_fd)(void *arg, int fd);
	void *close_arg;
	TAILQ_ENTRY(dmabuf_buffer) link;
};

TAILQ_HEAD(buffer_list, dmabuf_buffer);

void buffers_free_all(struct dmabuf_core *core);
const char *buffer_exp_name_locked(const struct dmabuf_buffer *buf);
TAILQ_HEAD(device_list, dmabuf_device);

/**
 * struct dmabuf_core - one instance of the framework
 * @lock: guards everything below and every object reachable from here
 * @changed: broadcast when any buffer's @seq moves
 * @heaps: registered heaps
 * @nr_heaps: entries in @heaps
 * @default_heap: heap name used when a buffer is sized without one
 * @devices: the device registry
 * @buffers: every live buffer, named or anonymous
 * @nr_buffers: entries in @buffers
 * @bytes: sum of the sizes of @buffers
 * @next_ino: next inode number
 * @next_fence_seq: fence sequence numbers, as a dma_fence timeline
 * @fences: live explicit fences (fence.c)
 * @nr_imports: fences imported into buffers, all buffers together
 * @notify: called without @lock after a buffer changed
 * @notify_arg: its argument
 * @close_fd: called without @lock for each descriptor a dying buffer lets
 *            go of, which it owns from then on; NULL: close(2) at once
 * @close_arg: its argument
 * @cfg: the configuration built with
 */
struct dmabuf_core {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct dmabuf_heap heaps[DMABUF_MAX_HEAPS];
	unsigned int nr_heaps;
	char default_heap[DMABUF_NAME_LEN];
	struct device_list devices;
	struct buffer_list buffers;
	uint64_t nr_buffers;
	uint64_t bytes;
	uint64_t next_ino;
	uint64_t next_fence_seq;
	LIST_HEAD(, dmabuf_fence) fences;
	unsigned int nr_imports;
	void (*notify)(void *arg, struct dmabuf_buffer *buf);
	void *notify_arg;
	void (*close_fd)(void *arg, int fd);
	void *close_arg;
	const struct dmabuf_accounting *acct;
	void *acct_arg;
	struct dmabuf_core_config cfg;
};

/*
 * Charge @n of @what to @owner through the accounting hook (core.lock
 * held): 0 or the hook's -errno; nothing to charge without a hook or an
 * owner.  Every charge of the core goes through these two.
 */
static inline int charge_locked(struct dmabuf_core *core, uid_t owner,
				enum dmabuf_charge what, const char *heap,
				uint64_t n)
{
	if (!core->acct || owner == DMABUF_NO_OWNER)
		return 0;
	return core->acct->charge(core->acct_arg, owner, what, heap, n);
}

static inline void uncharge_locked(struct dmabuf_core *core, uid_t owner,
				   enum dmabuf_charge what, const char *heap,
				   uint64_t n)
{
	if (core->acct && owner != DMABUF_NO_OWNER)
		core->acct->uncharge(core->acct_arg, owner, what, heap, n);
}

/*
 * Does a CPU access in @cpu_dir (DMA_BUF_SYNC_READ and/or WRITE; 0: any)
 * wait for a fence whose holder @writes the buffer?  Readers wait for
 * writers, writers for everyone, as dma_resv_usage_rw() orders them.  The
 * one rule for device mappings (a mapping writes unless DMA_TO_DEVICE),
 * imported fences, fence export, revocation and race notes; the counters
 * nr_maps and write_fences are its sums for SYNC and poll.
 */
static inline bool fence_blocks_cpu(bool writes, uint32_t cpu_dir)
{
	return !cpu_dir || (cpu_dir & DMA_BUF_SYNC_WRITE) || writes;
}

/* Does a device mapping in DMA direction @dir write the buffer? */
static inline bool dma_dir_writes(uint32_t dir)
{
	return dir != DMABUF_DIR_TO_DEVICE;
}

/* Largest buffer accepted at all: 1 PiB keeps page rounding from wrapping. */
#define DMABUF_MAX_SIZE (1ULL << 50)

/* What a placement of @buf takes: its size in whole pages. */
static inline uint64_t buffer_placed_size(const struct dmabuf_buffer *buf)
{
	return DMABUF_PAGE_ALIGN(buf->size);
}

/* buffer.c: the buffer itself; all under core.lock */
void buffer_changed_locked(struct dmabuf_buffer *buf);
void buffer_free_locked(struct dmabuf_buffer *buf);
void buffer_unlock_notify(struct dmabuf_buffer *buf, bool changed);
unsigned int buffer_ranges_fds(const struct dmabuf_memfd_range *r,
			       unsigned int n, int *fds);
int buffer_set_heap_locked(struct dmabuf_buffer *buf, const char *name);
int buffer_set_size_locked(struct dmabuf_buffer *buf, uint64_t size);

/* placement.c: where the bytes live; under core.lock */
int buffer_place_locked(struct dmabuf_buffer *buf);
bool buffer_placement_suits_all_locked(const struct dmabuf_buffer *buf,
				       const struct dmabuf_placement *pl,
				       const struct dmabuf_device *extra);
int buffer_allocate_for_locked(struct dmabuf_buffer *buf,
			       const struct dmabuf_device *extra,
			       struct dmabuf_placement *pl);

/* Copy a NUL-terminated name of at most DMABUF_NAME_LEN - 1 bytes. */
int name_copy(char dst[DMABUF_NAME_LEN], const char *src);

#endif /* DMABUF_INTERNAL_H */
