/* SPDX-License-Identifier: MIT */
/*
 * DOC: the compat layer's rules, for its unit tests
 *
 * libdmabuf-compat.so exports libc's names (open, ioctl, ...); these are
 * the functions behind them that carry the kernel's rules, callable
 * directly.  See compat.c and dmabuf-compat(7).
 */
#ifndef DMABUF_COMPAT_H
#define DMABUF_COMPAT_H

#include <dlfcn.h>
#include <stddef.h>

/* The next definition of @name: libc's, or another preload's. */
#define REAL(name)                                                           \
	({                                                                   \
		static __typeof__(name) *real_##name;                        \
		if (!real_##name)                                            \
			real_##name =                                        \
				(__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
		real_##name;                                                 \
	})

const char *compat_redirect(const char *path, char *buf, size_t len);
int compat_heap_alloc(const char *heap, unsigned long req, void *arg);
int compat_set_name(int fd, const void *user);
int compat_udmabuf_create(unsigned long req, const void *arg);
int compat_export_sync_file(int fd, void *arg);
int compat_import_sync_file(int fd, const void *arg);
int compat_sync_merge(int fd, void *arg);
int compat_sync_file_info(int fd, void *arg);

/* sanitizer.c: the CPU-access sanitizer's hooks (DMABUF_SANITIZE=1) */
#include <stdint.h>
#include <sys/types.h>

#include <stdbool.h>

bool sanitizer_enabled(void);
void sanitizer_mapped(void *addr, size_t len, int prot, int fd, off_t off);
void sanitizer_unmapping(void *addr, size_t len);
void sanitizer_sync(int fd, uint64_t flags, int ret);
void dmabuf_sanitizer_watch(void *addr, size_t len, int prot, int fd);

#endif /* DMABUF_COMPAT_H */
