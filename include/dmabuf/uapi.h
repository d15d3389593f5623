/* SPDX-License-Identifier: MIT */
/*
 * DOC: dmabuffs user-space API
 *
 * The ioctls a program issues on a dmabuffs buffer file (one open handle is
 * one shareable dma-buf fd) and on the mount's root directory.
 *
 * FUSE passes ioctls on regular files in "restricted" mode: the kernel copies
 * exactly _IOC_SIZE(cmd) bytes in (for _IOC_WRITE) and out (for _IOC_READ)
 * and never follows a pointer.  Every structure here is therefore fixed-size,
 * built from __u64/__u32 fields and inline strings, with explicit padding that
 * must be zero, and identical for 32- and 64-bit callers.
 *
 * DMA_BUF_IOCTL_SYNC has the kernel's number, structure and flag rules, so a
 * program written for a kernel dma-buf works unchanged.  The dmabuffs ioctls
 * use the type byte 0xDB, which no VFS-intercepted ioctl (FS_IOC_GETFLAGS,
 * FS_IOC_FSGETXATTR, ...) uses.
 *
 * Unknown ioctls fail with ENOTTY; a known ioctl with a malformed field
 * (non-zero padding, unknown flag, unterminated string) fails with EINVAL.
 */
#ifndef DMABUF_UAPI_H
#define DMABUF_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ---- the kernel's dma-buf uapi (include/uapi/linux/dma-buf.h) ---- */

#ifndef DMA_BUF_BASE
/**
 * struct dma_buf_sync - synchronize with CPU access
 * @flags: DMA_BUF_SYNC_START or DMA_BUF_SYNC_END, ORed with READ and/or WRITE
 *
 * START waits for the device mappings (implicit fences) that conflict with
 * the access and makes the buffer coherent for the CPU; END publishes the
 * CPU's writes.  Any bit outside DMA_BUF_SYNC_VALID_FLAGS_MASK, or no access
 * bit at all, is EINVAL.
 */
struct dma_buf_sync {
	__u64 flags;
};

#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)
#define DMA_BUF_SYNC_VALID_FLAGS_MASK (DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)

#define DMA_BUF_NAME_LEN 32

#define DMA_BUF_BASE 'b'
#define DMA_BUF_IOCTL_SYNC _IOW(DMA_BUF_BASE, 0, struct dma_buf_sync)
#endif

/* ---- dmabuffs ioctls ---- */

#define DMABUF_IOC_MAGIC 0xDB

/**
 * DMABUF_PAGE_SIZE - the page: granule of mappings, of the emulated physical
 * address space and of heap accounting.
 */
#define DMABUF_PAGE_SIZE 4096ULL

/**
 * DMABUF_PAGE_ALIGN() - @x bytes rounded up to whole pages
 *
 * The one page rounding: what a buffer of @x bytes occupies on its heap and
 * in a mapping.  0 when @x is 0, or so large that the rounding wraps.
 */
#define DMABUF_PAGE_ALIGN(x) \
	(((__u64)(x) + DMABUF_PAGE_SIZE - 1) & ~(DMABUF_PAGE_SIZE - 1))

/*
 * Inode numbers, as stat(2) shows them: every node of the mount that is not
 * a buffer (.bufinfo, .stats, .heaps/ and its heaps, .udmabuf, .sync_file)
 * has DMABUF_INO_NODE set, and no buffer has it, so an fd's kind is known
 * from fstat(2) alone.  Fixed numbers: the device nodes of dmabuf-compat(7).
 */
#define DMABUF_INO_NODE (1ULL << 63)
#define DMABUF_INO_HEAPS_DIR (DMABUF_INO_NODE + 0x100)
#define DMABUF_INO_UDMABUF (DMABUF_INO_NODE + 0x101)
#define DMABUF_INO_SYNC_FILE (DMABUF_INO_NODE + 0x102)
#define DMABUF_INO_HEAP_BASE (DMABUF_INO_NODE + 0x200) /* .heaps/<heap> */
#define DMABUF_INO_MAX_HEAPS 64

/** DMABUF_NAME_LEN - inline string size, NUL included (the kernel's 32). */
#define DMABUF_NAME_LEN 32

/* DMA directions, numbered as the kernel's enum dma_data_direction. */
#define DMABUF_DIR_BIDIRECTIONAL 0 /* device reads and writes: write fence */
#define DMABUF_DIR_TO_DEVICE 1 /* device reads: read fence */
#define DMABUF_DIR_FROM_DEVICE 2 /* device writes: write fence */

/* CPU access directions for BEGIN/END_CPU_ACCESS: DMA_BUF_SYNC_READ/WRITE. */
#define DMABUF_CPU_READ DMA_BUF_SYNC_READ
#define DMABUF_CPU_WRITE DMA_BUF_SYNC_WRITE
#define DMABUF_CPU_RW DMA_BUF_SYNC_RW

/* Export flags. */
#define DMABUF_EXPORT_ALLOC_NOW (1ULL << 0) /* place the backing at once */
#define DMABUF_EXPORT_VALID_FLAGS DMABUF_EXPORT_ALLOC_NOW

/* Buffer states reported by DMABUF_IOCTL_INFO. */
#define DMABUF_STATE_EMPTY 0 /* created, not yet sized */
#define DMABUF_STATE_EXPORTED 1 /* sized; backing not yet placed */
#define DMABUF_STATE_ALLOCATED 2 /* backing placed */
#define DMABUF_STATE_MIGRATING 3 /* a move is pending until mappings end */

/* Device flags. */
#define DMABUF_DEVICE_IOMMU (1U << 0) /* private I/O virtual address space */
#define DMABUF_DEVICE_COHERENT (1U << 1) /* no CPU cache maintenance needed */
#define DMABUF_DEVICE_VALID_FLAGS (DMABUF_DEVICE_IOMMU | DMABUF_DEVICE_COHERENT)

/**
 * struct dmabuf_export - give a new, empty buffer file its heap and size
 * @size: bytes; rounded up to whole pages for placement, reported exactly
 * @flags: DMABUF_EXPORT_* flags
 * @heap: heap name, NUL-terminated; empty for the mount's default heap
 * @name: debug name (as DMA_BUF_SET_NAME), NUL-terminated, may be empty
 * @ino: out: the buffer's inode number
 */
struct dmabuf_export {
	__u64 size;
	__u64 flags;
	char heap[DMABUF_NAME_LEN];
	char name[DMABUF_NAME_LEN];
	__u64 ino;
};

/**
 * struct dmabuf_info - what a handle's buffer is
 * @size: exact size in bytes (0 while EMPTY)
 * @ino: inode number, as in .bufinfo and stat(2); in for
 *       DMABUF_IOCTL_BUFFER_INFO
 * @state: DMABUF_STATE_*
 * @attachments: attachments on the buffer, all handles together
 * @maps: active device mappings
 * @handles: open handles (shareable fds) of the buffer
 * @cpu_maps: live CPU mappings (zero-copy) holding the buffer
 * @write_fences: active mappings in which a device writes
 * @read_fences: active mappings in which a device only reads
 * @nr_chunks: emulated physical chunks of the backing (0 if not placed)
 * @phys_addr: emulated physical address of the first chunk (0 if none)
 * @heap: exporting heap (the kernel's exp_name)
 * @name: debug name, empty if unset
 */
struct dmabuf_info {
	__u64 size;
	__u64 ino;
	__u32 state;
	__u32 attachments;
	__u32 maps;
	__u32 handles;
	__u32 cpu_maps;
	__u32 write_fences;
	__u32 read_fences;
	__u32 nr_chunks;
	__u64 phys_addr;
	char heap[DMABUF_NAME_LEN];
	char name[DMABUF_NAME_LEN];
};

/**
 * struct dmabuf_name - inline debug name, at most 31 bytes plus NUL
 * @name: the name; a string that fills all 32 bytes without NUL is EINVAL
 */
struct dmabuf_name {
	char name[DMABUF_NAME_LEN];
};

/**
 * struct dmabuf_attach - attach a device to the handle's buffer
 * @device: device name from the registry, NUL-terminated
 * @flags: must be 0
 * @attach_id: out: id naming the attachment in later calls on this handle
 */
struct dmabuf_attach {
	char device[DMABUF_NAME_LEN];
	__u64 flags;
	__u64 attach_id;
};

/**
 * struct dmabuf_attach_ref - name an attachment of this handle
 * @attach_id: from DMABUF_IOCTL_ATTACH
 */
struct dmabuf_attach_ref {
	__u64 attach_id;
};

/**
 * struct dmabuf_map - map an attachment for the device
 * @attach_id: attachment of this handle
 * @dir: DMABUF_DIR_*
 * @nents: out: scatter-gather entries
 * @total_len: out: bytes covered (the page-rounded buffer size)
 */
struct dmabuf_map {
	__u64 attach_id;
	__u32 dir;
	__u32 nents;
	__u64 total_len;
};

/**
 * struct dmabuf_sg_entry - one scatter-gather segment
 * @dma_addr: address the device uses (physical, or I/O virtual with iommu)
 * @length: bytes
 * @offset: where the segment starts in the buffer
 */
struct dmabuf_sg_entry {
	__u64 dma_addr;
	__u64 length;
	__u64 offset;
};

#define DMABUF_SG_PAGE 64

/**
 * struct dmabuf_get_sg - read a mapped attachment's sg table, a page at once
 * @attach_id: a mapped attachment of this handle
 * @first: index of the first entry wanted
 * @count: in: entries wanted (1..DMABUF_SG_PAGE); out: entries returned
 * @nents: out: entries in the whole table
 * @pad: must be 0
 * @entries: out: the entries
 */
struct dmabuf_get_sg {
	__u64 attach_id;
	__u32 first;
	__u32 count;
	__u32 nents;
	__u32 pad;
	struct dmabuf_sg_entry entries[DMABUF_SG_PAGE];
};

/**
 * struct dmabuf_cpu_access - bracket CPU access to a byte range
 * @offset: first byte
 * @length: bytes; 0 means up to the end of the buffer
 * @flags: DMABUF_CPU_READ and/or DMABUF_CPU_WRITE
 * @pad: must be 0
 */
struct dmabuf_cpu_access {
	__u64 offset;
	__u64 length;
	__u32 flags;
	__u32 pad;
};

/**
 * struct dmabuf_device_desc - a device and its DMA constraints
 * @name: unique name, NUL-terminated
 * @dma_bits: addressable bits, 12..64
 * @max_segments: most sg segments per mapping; 1 means physically
 *                contiguous; 0 means no limit
 * @max_segment_size: largest segment in bytes; 0 means no limit
 * @segment_boundary: a segment never crosses a multiple of this mask + 1;
 *                    0 means no boundary, else 2^k - 1 with k >= 12
 * @alignment: power of two the buffer's first address honours; 0 = a page
 * @flags: DMABUF_DEVICE_* flags
 * @pad: must be 0
 */
struct dmabuf_device_desc {
	char name[DMABUF_NAME_LEN];
	__u32 dma_bits;
	__u32 max_segments;
	__u64 max_segment_size;
	__u64 segment_boundary;
	__u64 alignment;
	__u32 flags;
	__u32 pad;
};

#define DMABUF_DEVICE_PAGE 16

/**
 * struct dmabuf_device_list - read the device registry, a page at once
 * @first: index of the first device wanted
 * @count: in: wanted (1..DMABUF_DEVICE_PAGE); out: returned
 * @total: out: devices registered
 * @pad: must be 0
 * @devices: out: the devices
 */
struct dmabuf_device_list {
	__u32 first;
	__u32 count;
	__u32 total;
	__u32 pad;
	struct dmabuf_device_desc devices[DMABUF_DEVICE_PAGE];
};

/* ---- zero-copy side channel ---- */

#define DMABUF_TOKEN_LEN 16
#define DMABUF_SOCKET_LEN 108

/* Token flags. */
#define DMABUF_TOKEN_WRITE (1U << 0) /* a writable mapping (O_RDWR handle) */
/*
 * Bind memory to an EMPTY buffer (udmabuf): the redeem message carries
 * struct dmabuf_backing and the memfds.  Needs an O_RDWR handle.
 */
#define DMABUF_TOKEN_BACKING (1U << 1)
/* The caller's uid's file of SYNC slots (DMABUF_IOCTL_SYNC_SLOT); alone. */
#define DMABUF_TOKEN_SYNC (1U << 2)
#define DMABUF_TOKEN_VALID_FLAGS \
	(DMABUF_TOKEN_WRITE | DMABUF_TOKEN_BACKING | DMABUF_TOKEN_SYNC)

/**
 * struct dmabuf_token - a single-use capability for the buffer's memory
 * @flags: in: DMABUF_TOKEN_* flags
 * @ttl_ms: out: milliseconds the token stays valid
 * @token: out: random bytes to present on the side channel
 * @socket: out: the daemon's Unix socket (SOCK_SEQPACKET); a leading '@'
 *          names an abstract address
 *
 * The token is bound to the buffer, the handle's access mode and the
 * caller's uid, gid and process.  Redeem it with struct dmabuf_redeem.
 */
struct dmabuf_token {
	__u32 flags;
	__u32 ttl_ms;
	__u8 token[DMABUF_TOKEN_LEN];
	char socket[DMABUF_SOCKET_LEN];
};

#define DMABUF_REDEEM_VERSION 1

/**
 * struct dmabuf_redeem - first message on the side channel
 * @version: DMABUF_REDEEM_VERSION
 * @flags: must be 0
 * @token: from DMABUF_IOCTL_GET_TOKEN
 *
 * For a DMABUF_TOKEN_BACKING token the same message goes on with a struct
 * dmabuf_backing and carries its memfds (SCM_RIGHTS, in the order the
 * ranges' @memfd indices name them).
 */
struct dmabuf_redeem {
	__u32 version;
	__u32 flags;
	__u8 token[DMABUF_TOKEN_LEN];
};

/* The kernel's udmabuf list_limit, and what one SCM_RIGHTS message holds. */
#define DMABUF_BACKING_MAX_RANGES 1024
#define DMABUF_BACKING_MAX_FDS 253

/**
 * struct dmabuf_backing_range - a run of a memfd's pages
 * @memfd: index of the memfd among those the message carries
 * @pad: must be 0
 * @offset: first byte in the memfd, page-aligned
 * @size: bytes, page-aligned, > 0
 */
struct dmabuf_backing_range {
	__u32 memfd;
	__u32 pad;
	__u64 offset;
	__u64 size;
};

/**
 * struct dmabuf_backing - memory made of memfd runs (udmabuf)
 * @count: ranges, 1 to DMABUF_BACKING_MAX_RANGES
 * @nr_fds: memfds carried, 1 to DMABUF_BACKING_MAX_FDS
 * @ranges: the runs, in buffer order
 *
 * Sent after struct dmabuf_redeem to bind memory (with a
 * DMABUF_TOKEN_BACKING token: each memfd must be shmem or hugetlbfs, sealed
 * with F_SEAL_SHRINK and not F_SEAL_WRITE, and hold its runs; EINVAL
 * otherwise), and after struct dmabuf_redeem_reply when a mapping's memory
 * is such runs (DMABUF_REPLY_RANGES).
 */
struct dmabuf_backing {
	__u32 count;
	__u32 nr_fds;
	struct dmabuf_backing_range ranges[];
};

/* Reply flags, beside the DMABUF_TOKEN_* granted. */
#define DMABUF_REPLY_RANGES (1U << 31) /* a struct dmabuf_backing follows */

/**
 * struct dmabuf_redeem_reply - the daemon's answer
 * @status: 0, or a negative errno (EACCES, ETIMEDOUT, EPERM, ...)
 * @flags: DMABUF_TOKEN_* granted
 * @size: the buffer's exact size
 * @map_size: bytes of the memfd (whole pages) to map
 * @ino: the buffer's inode number
 *
 * With status 0 the message carries the memfd (SCM_RIGHTS), read-only
 * unless DMABUF_TOKEN_WRITE was granted, sealed against resizing.  Keep the
 * connection open while the memory is mapped: it is the mapping's reference
 * on the buffer, dropped when the connection closes (also when the process
 * dies).  A udmabuf's memory is runs of other memfds: then @flags has
 * DMABUF_REPLY_RANGES and the message goes on with a struct dmabuf_backing
 * and carries those memfds instead.  A backing token's answer carries no fd.
 */
struct dmabuf_redeem_reply {
	__s32 status;
	__u32 flags;
	__u64 size;
	__u64 map_size;
	__u64 ino;
};

/* ---- SYNC in shared memory (dmabuf-ioctl(2), DMABUF_IOCTL_SYNC_SLOT) ---- */

#define DMABUF_SYNC_READ_ONE 0x00000001U /* a READ bracket in @brackets */
#define DMABUF_SYNC_WRITE_ONE 0x00010000U /* a WRITE bracket in @brackets */
#define DMABUF_SYNC_COUNT_MASK 0xffffU /* one direction's count */
#define DMABUF_SYNC_COUNT_MAX 0x7fffU /* past it, brackets take the ioctl */

/**
 * struct dmabuf_sync_slot - one handle's CPU brackets, in shared memory
 * @slow: the daemon's: non-zero while a START must take the ioctl
 * @brackets: the client's: open brackets, READ count in bits 0-15, WRITE
 *            count in bits 16-31
 * @cookie: the daemon's: the grant's cookie while the slot serves that
 *          handle, 0 when free
 * @size: the daemon's: the buffer's size, for ranged brackets
 * @ino: the daemon's: for a slot given with an allocation (O_CREAT in
 *       .heaps/), the buffer's inode number, so that the allocating
 *       process finds the slot without asking: it is one of the
 *       DMABUF_SYNC_PROBE slots from @ino modulo the file's slots; else 0
 * @pad: reserved
 *
 * Every access is atomic and sequentially consistent.  A START adds to
 * @brackets and then reads @slow (undoing the add when it is set); the
 * daemon sets @slow and then reads @brackets; so of a START and a device
 * mapping racing, one always sees the other.
 */
struct dmabuf_sync_slot {
	__u32 slow;
	__u32 brackets;
	__u64 cookie;
	__u64 size;
	__u64 ino;
	__u64 pad[4];
};

#define DMABUF_SYNC_PROBE 64 /* slots an allocation's may be in */

/**
 * struct dmabuf_sync_grant - DMABUF_IOCTL_SYNC_SLOT, on a buffer handle
 * @file: out: the id of the caller's uid's slot file (a DMABUF_TOKEN_SYNC
 *        token is redeemed with it)
 * @cookie: out: names this handle in the slot's @cookie
 * @slot: out: the handle's slot in the file
 * @nr_slots: out: slots in the file (its size / sizeof(struct
 *            dmabuf_sync_slot))
 * @size: out: the buffer's size
 */
struct dmabuf_sync_grant {
	__u64 file;
	__u64 cookie;
	__u32 slot;
	__u32 nr_slots;
	__u64 size;
};

/* ---- explicit fences: what the compat layer's sync_file fds stand on ---- */

/**
 * struct dmabuf_fence_export - DMABUF_IOCTL_FENCE_EXPORT, on a buffer
 * @flags: DMA_BUF_SYNC_READ (the buffer's writers) and/or WRITE (all)
 * @pad: must be 0
 * @id: out: the fence, to bind to a sync_file handle within the token
 *      lifetime (else it is dropped); 0 on input
 */
struct dmabuf_fence_export {
	__u32 flags;
	__u32 pad;
	__u64 id;
};

/**
 * struct dmabuf_fence_import - DMABUF_IOCTL_FENCE_IMPORT, on a buffer
 * @flags: DMA_BUF_SYNC_WRITE: a write fence, else (READ) a read fence
 * @pad: must be 0
 * @id: a fence, from DMABUF_IOCTL_FENCE_INFO on its sync_file handle
 */
struct dmabuf_fence_import {
	__u32 flags;
	__u32 pad;
	__u64 id;
};

/**
 * struct dmabuf_fence_bind - DMABUF_IOCTL_FENCE_BIND, on an unbound
 * <mount>/.sync_file handle: from now on the handle stands for the fence
 * @id: from DMABUF_IOCTL_FENCE_EXPORT or DMABUF_IOCTL_FENCE_MERGE
 */
struct dmabuf_fence_bind {
	__u64 id;
};

/**
 * struct dmabuf_fence_merge - DMABUF_IOCTL_FENCE_MERGE, on a bound handle
 * @other: the other fence's id
 * @id: out: a fence that signals when both have (bind it); 0 on input
 * @name: the new fence's name, NUL-terminated
 */
struct dmabuf_fence_merge {
	__u64 other;
	__u64 id;
	char name[DMABUF_NAME_LEN];
};

#define DMABUF_FENCE_PAGE 32

/**
 * struct dmabuf_fence_leaf_info - one device mapping a fence waits for
 * @status: 1 signalled, 0 active, negative errno: torn down
 * @pad: 0
 * @seq: its sequence number on the mount's timeline
 * @timestamp_ns: CLOCK_MONOTONIC when it signalled
 */
struct dmabuf_fence_leaf_info {
	__s32 status;
	__u32 pad;
	__u64 seq;
	__u64 timestamp_ns;
};

/**
 * struct dmabuf_revoke - DMABUF_IOCTL_REVOKE: end device mappings of others
 * @pid: in: only those made through handles this process opened (any uid);
 *       0 for those of every handle opened by another uid than the caller
 * @count: in: must be 0; out: how many were ended
 *
 * For the buffer's owner, root and the mount's owner (else EPERM).  The
 * mappings' fences signal with an error, waiting CPU accesses go on, and
 * the holder's next unmap or get_sg of the mapping fails with EIO.  The
 * daemon does the same on its own to a mapping of another uid that keeps a
 * CPU access waiting longer than -o fence_timeout_ms.
 */
struct dmabuf_revoke {
	__s32 pid;
	__u32 count;
};

/**
 * struct dmabuf_cpu_race - DMABUF_IOCTL_TAKE_RACE: what raced this handle's
 * CPU brackets
 * @count: out: device mappings made, since the last call, while a CPU
 *         bracket of this handle was open and conflicting with it: a
 *         device that writes (FROM_DEVICE, BIDIRECTIONAL) against any
 *         bracket, a device that reads against a WRITE bracket
 * @dir: out: the last one's DMABUF_DIR_*
 * @pid: out: the process whose handle made it
 * @uid: out: that handle's uid
 * @device: out: its device
 *
 * A START waits for the device mappings it conflicts with, but a device
 * may map the buffer while the CPU holds a bracket: the kernel allows it
 * and so does dmabuffs.  The daemon notes each such mapping on the
 * bracket's handle and logs it; this call reads the note and clears it
 * (dmabuf-sanitizer(7) asks at every END).  Any handle may ask about
 * itself.
 */
struct dmabuf_cpu_race {
	__u32 count;
	__u32 dir;
	__s32 pid;
	__u32 uid;
	char device[DMABUF_NAME_LEN];
};

/**
 * struct dmabuf_fence_info - DMABUF_IOCTL_FENCE_INFO, on a bound handle
 * @id: out: the fence's id
 * @status: out: 1 signalled, 0 active, a negative errno
 * @num_fences: out: mappings it waits for, all of them
 * @first: in: index of the first leaf wanted
 * @count: in: 1 to DMABUF_FENCE_PAGE; out: leaves written
 * @name: out: the name given to FENCE_MERGE; empty for an exported fence,
 *        which has none (the compat layer shows the kernel's name for it)
 * @leaves: out
 */
struct dmabuf_fence_info {
	__u64 id;
	__s32 status;
	__u32 num_fences;
	__u32 first;
	__u32 count;
	char name[DMABUF_NAME_LEN];
	struct dmabuf_fence_leaf_info leaves[DMABUF_FENCE_PAGE];
};

/**
 * struct dmabuf_heap_info - one heap, for DMABUF_IOCTL_HEAP_INFO
 * @index: in: 0..; ENOENT past the last heap
 * @pad: must be 0
 * @capacity: out: bytes the heap can place
 * @used: out: bytes placed
 * @largest_free: out: largest contiguous free run (fragmentation)
 * @name: out: the heap's name
 */
struct dmabuf_heap_info {
	__u32 index;
	__u32 pad;
	__u64 capacity;
	__u64 used;
	__u64 largest_free;
	char name[DMABUF_NAME_LEN];
};

/* On a buffer file handle. */
#define DMABUF_IOCTL_EXPORT _IOWR(DMABUF_IOC_MAGIC, 0x00, struct dmabuf_export)
#define DMABUF_IOCTL_INFO _IOR(DMABUF_IOC_MAGIC, 0x01, struct dmabuf_info)
#define DMABUF_IOCTL_SET_NAME _IOW(DMABUF_IOC_MAGIC, 0x02, struct dmabuf_name)
#define DMABUF_IOCTL_ATTACH _IOWR(DMABUF_IOC_MAGIC, 0x03, struct dmabuf_attach)
#define DMABUF_IOCTL_DETACH \
	_IOW(DMABUF_IOC_MAGIC, 0x04, struct dmabuf_attach_ref)
#define DMABUF_IOCTL_MAP _IOWR(DMABUF_IOC_MAGIC, 0x05, struct dmabuf_map)
#define DMABUF_IOCTL_GET_SG _IOWR(DMABUF_IOC_MAGIC, 0x06, struct dmabuf_get_sg)
#define DMABUF_IOCTL_UNMAP \
	_IOW(DMABUF_IOC_MAGIC, 0x07, struct dmabuf_attach_ref)
#define DMABUF_IOCTL_BEGIN_CPU_ACCESS \
	_IOW(DMABUF_IOC_MAGIC, 0x08, struct dmabuf_cpu_access)
#define DMABUF_IOCTL_END_CPU_ACCESS \
	_IOW(DMABUF_IOC_MAGIC, 0x09, struct dmabuf_cpu_access)
#define DMABUF_IOCTL_GET_TOKEN \
	_IOWR(DMABUF_IOC_MAGIC, 0x0a, struct dmabuf_token)
#define DMABUF_IOCTL_FENCE_EXPORT \
	_IOWR(DMABUF_IOC_MAGIC, 0x0b, struct dmabuf_fence_export)
#define DMABUF_IOCTL_FENCE_IMPORT \
	_IOW(DMABUF_IOC_MAGIC, 0x0c, struct dmabuf_fence_import)
#define DMABUF_IOCTL_REVOKE _IOWR(DMABUF_IOC_MAGIC, 0x10, struct dmabuf_revoke)
#define DMABUF_IOCTL_TAKE_RACE \
	_IOR(DMABUF_IOC_MAGIC, 0x11, struct dmabuf_cpu_race)
#define DMABUF_IOCTL_SYNC_SLOT \
	_IOR(DMABUF_IOC_MAGIC, 0x12, struct dmabuf_sync_grant)
/* On <mount>/.sync_file handles: */
#define DMABUF_IOCTL_FENCE_BIND \
	_IOW(DMABUF_IOC_MAGIC, 0x0d, struct dmabuf_fence_bind)
#define DMABUF_IOCTL_FENCE_MERGE \
	_IOWR(DMABUF_IOC_MAGIC, 0x0e, struct dmabuf_fence_merge)
#define DMABUF_IOCTL_FENCE_INFO \
	_IOWR(DMABUF_IOC_MAGIC, 0x0f, struct dmabuf_fence_info)

/* On the mount's root directory. */
#define DMABUF_IOCTL_DEVICE_ADD \
	_IOW(DMABUF_IOC_MAGIC, 0x20, struct dmabuf_device_desc)
#define DMABUF_IOCTL_DEVICE_REMOVE \
	_IOW(DMABUF_IOC_MAGIC, 0x21, struct dmabuf_name)
#define DMABUF_IOCTL_DEVICE_LIST \
	_IOWR(DMABUF_IOC_MAGIC, 0x22, struct dmabuf_device_list)
#define DMABUF_IOCTL_HEAP_INFO \
	_IOWR(DMABUF_IOC_MAGIC, 0x23, struct dmabuf_heap_info)
/* DMABUF_IOCTL_INFO of buffer @ino, for one that has no name to open. */
#define DMABUF_IOCTL_BUFFER_INFO \
	_IOWR(DMABUF_IOC_MAGIC, 0x24, struct dmabuf_info)

#endif /* DMABUF_UAPI_H */
