/* SPDX-License-Identifier: MIT */
/*
 * DOC: libdmabuf, the dmabuffs client library
 *
 * Export, share, attach, map and touch dmabuffs buffers from a program.  A
 * buffer fd is an open handle of a file in a dmabuffs mount; the library
 * needs nothing but that fd, so a process that only received one over a
 * socket can use every call.
 *
 * Errors: every call that returns int returns 0 (or a count, or an fd) on
 * success and a negative errno on failure, and leaves errno alone.  Calls
 * that return a pointer return NULL and set errno.
 *
 * Zero-copy: dmabuf_mmap() maps the buffer's memory itself into the caller
 * (no FUSE round trip per access).  Bracket CPU access with
 * dmabuf_mapping_begin()/dmabuf_mapping_end() (or DMA_BUF_IOCTL_SYNC):
 * bytes written through the mapping are what read(2) and cat(1) show after
 * the writer's end, and the reverse.
 *
 * Link with `pkg-config --cflags --libs dmabuf`.
 */
#ifndef DMABUF_DMABUF_H
#define DMABUF_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <dmabuf/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMABUF_DEFAULT_MOUNT "/run/dmabuf"

/* dmabuf_export() flags, besides DMABUF_EXPORT_ALLOC_NOW. */
#define DMABUF_EXPORT_READONLY (1U << 16) /* return an O_RDONLY fd */

/**
 * struct dmabuf_sg - a mapped attachment's scatter-gather table
 * @nents: number of entries
 * @total_len: bytes covered
 * @entries: the entries, in buffer order
 */
struct dmabuf_sg {
	uint32_t nents;
	uint64_t total_len;
	struct dmabuf_sg_entry entries[];
};

struct dmabuf_mapping;

/* ---- mounts and buffers ---- */

const char *dmabuf_mount_path(void);
int dmabuf_export(const char *mount, const char *name, const char *heap,
		  uint64_t size, const char *debug_name, unsigned int flags);
/**
 * struct dmabuf_memfd_run - pages of a memfd that a udmabuf is made of
 * @memfd: the memfd (shmem or hugetlbfs, sealed F_SEAL_SHRINK)
 * @offset: first byte, page-aligned
 * @size: bytes, page-aligned, > 0
 */
struct dmabuf_memfd_run {
	int memfd;
	uint64_t offset;
	uint64_t size;
};

int dmabuf_export_memfds(const char *mount, const char *name,
			 const struct dmabuf_memfd_run *runs,
			 unsigned int count);
int dmabuf_open(const char *path, int flags);
int dmabuf_get(int fd);
int dmabuf_info(int fd, struct dmabuf_info *info);
const char *dmabuf_state_name(uint32_t state);
int dmabuf_set_name(int fd, const char *name);

/* ---- devices ---- */

int dmabuf_attach(int fd, const char *device, uint64_t *attach_id);
int dmabuf_detach(int fd, uint64_t attach_id);
int dmabuf_map_attachment(int fd, uint64_t attach_id, uint32_t dir,
			  struct dmabuf_sg **sg);
void dmabuf_sg_free(struct dmabuf_sg *sg);
int dmabuf_unmap_attachment(int fd, uint64_t attach_id);

/* ---- CPU access ---- */

int dmabuf_begin_cpu_access(int fd, uint64_t offset, uint64_t length,
			    uint32_t dir);
int dmabuf_end_cpu_access(int fd, uint64_t offset, uint64_t length,
			  uint32_t dir);
int dmabuf_sync(int fd, uint64_t flags);
int dmabuf_poll(int fd, short events, int timeout_ms);
int dmabuf_revoke(int fd, pid_t pid);

/* ---- zero-copy mapping ---- */

int dmabuf_mmap(int fd, int prot, struct dmabuf_mapping **mapping);
void *dmabuf_mapping_addr(const struct dmabuf_mapping *m);
uint64_t dmabuf_mapping_size(const struct dmabuf_mapping *m);
int dmabuf_mapping_begin(struct dmabuf_mapping *m, uint64_t offset,
			 uint64_t length, uint32_t dir);
int dmabuf_mapping_end(struct dmabuf_mapping *m, uint64_t offset,
		       uint64_t length, uint32_t dir);
void *dmabuf_kmap(struct dmabuf_mapping *m, uint64_t page);
void dmabuf_kunmap(struct dmabuf_mapping *m, uint64_t page);
int dmabuf_munmap(struct dmabuf_mapping *m);
void *dmabuf_map_memory(int fd, void *addr, size_t len, int prot, int flags,
			off_t off);

/* ---- passing fds between processes ---- */

int dmabuf_send_fd(int sock, int fd);
int dmabuf_recv_fd(int sock);

/* ---- the mount: heaps and device registry ---- */

int dmabuf_heap_info(const char *mount, uint32_t index,
		     struct dmabuf_heap_info *info);
int dmabuf_info_by_ino(const char *mount, uint64_t ino,
		       struct dmabuf_info *info);
int dmabuf_device_list(const char *mount, struct dmabuf_device_desc **devices,
		       uint32_t *count);
int dmabuf_device_add(const char *mount, const struct dmabuf_device_desc *desc);
int dmabuf_device_remove(const char *mount, const char *name);

/* ---- text ---- */

int dmabuf_parse_size(const char *s, uint64_t *out);
int dmabuf_device_parse(const char *line, struct dmabuf_device_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* DMABUF_DMABUF_H */
