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

#include <stdbool.h>
#include <stddef.h>

#include "../libdmabuf/sanitizer.h"

/* paths.c */
const char *compat_redirect(const char *path, char *buf, size_t len);
const char *compat_mount(void);
bool compat_ours(int fd, char *node, size_t len);

/* compat.c */
int compat_heap_alloc(const char *heap, unsigned long req, void *arg);
int compat_set_name(int fd, const void *user);
int compat_udmabuf_create(unsigned long req, const void *arg);
int compat_export_sync_file(int fd, void *arg);
int compat_import_sync_file(int fd, const void *arg);
int compat_sync_merge(int fd, void *arg);
int compat_sync_file_info(int fd, void *arg);

#endif /* DMABUF_COMPAT_H */
