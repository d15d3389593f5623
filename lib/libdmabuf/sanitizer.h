/* SPDX-License-Identifier: MIT */
/*
 * DOC: the CPU-access sanitizer's hooks, private to libdmabuf
 *
 * sanitizer.c lives in libdmabuf, so that DMABUF_SANITIZE=1 works for a
 * program linked against it with nothing preloaded; the compat layer
 * (lib/compat), which carries libdmabuf, adds the calls of programs that
 * use the kernel's uapi.  Each hook does nothing unless the sanitizer is
 * on; callers ask dmabuf_sanitizer_enabled() first so that, off, no path
 * pays more than that test.  Not part of the API: no public header.
 */
#ifndef DMABUF_SANITIZER_H
#define DMABUF_SANITIZER_H

#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The next definition of @name: libc's, or another preload's. */
#define REAL(name)                                                           \
	({                                                                   \
		static __typeof__(name) *real_##name;                        \
		if (!real_##name)                                            \
			real_##name =                                        \
				(__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
		real_##name;                                                 \
	})

bool dmabuf_sanitizer_enabled(void);
void dmabuf_sanitizer_start(void);
void dmabuf_sanitizer_mapped(void *addr, size_t len, int prot, int fd,
			     off_t off);
void dmabuf_sanitizer_unmapping(void *addr, size_t len);
int dmabuf_sanitizer_prot(uintptr_t addr);
void dmabuf_sanitizer_closing(int fd);
void dmabuf_sanitizer_named(int fd, const char *name);
void dmabuf_sanitizer_moved(void *from, size_t from_len, void *to,
			    size_t to_len);
void dmabuf_sanitizer_ioctl(int fd, unsigned long req, const void *arg,
			    int err);
void dmabuf_sanitizer_user_memory(uintptr_t addr, size_t len, bool write,
				  const char *call);
bool dmabuf_sanitizer_keeps_sigsegv(const struct sigaction *act,
				    struct sigaction *old);

#endif /* DMABUF_SANITIZER_H */
