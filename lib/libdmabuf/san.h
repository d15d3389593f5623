/* SPDX-License-Identifier: MIT */
/*
 * DOC: the sanitizer's tables, shared by its files
 *
 * sanitizer.c holds the hooks libdmabuf and the compat layer call and the
 * start; san-fault.c the SIGSEGV handler, its reporter thread and the
 * system calls that touch the program's memory; san-table.c the buffers,
 * mappings and brackets; san-report.c the reports.  Each calls only those
 * after it in that list.  Everything lives in the one struct san_state,
 * written under san.lock and read by the signal handler without it.
 */
#ifndef DMABUF_SAN_H
#define DMABUF_SAN_H

#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <dmabuf/uapi.h>

#include "sanitizer.h"

#define MAX_BUFFERS 128
#define MAX_MAPS 512
#define MAX_SITES 256
#define MAX_FRAMES 16
#define MAX_SUPPRESSIONS 64
#define MAX_OPEN 16 /* distinct (range, direction) brackets per buffer */

enum san_kind {
	SAN_READ_OUTSIDE,
	SAN_WRITE_OUTSIDE,
	SAN_WRITE_IN_READ,
	SAN_END_WITHOUT_START,
	SAN_END_FLAGS_MISMATCH,
	SAN_BRACKET_LEAK,
	SAN_RACED_DEVICE,
	SAN_NR_KINDS,
};

/* Open brackets of one byte range and direction, nested @count deep. */
struct san_bracket {
	uint64_t start, end;
	uint32_t dir; /* DMA_BUF_SYNC_READ, WRITE or RW */
	unsigned int count;
};

/* A buffer the program mapped or bracketed, by inode; all handles. */
struct san_buffer {
	uint64_t ino, size;
	char name[256];
	char debug[DMABUF_NAME_LEN]; /* DMA_BUF_SET_NAME's, "" when unset */
	struct san_bracket open[MAX_OPEN];
	int nr_open;
	bool start_refused; /* the last START got EAGAIN: a device held it */
	char last_call[128]; /* the last bracket call, and its stack */
	void *last_stack[MAX_FRAMES];
	int last_depth;
	unsigned int findings[SAN_NR_KINDS];
};

struct san_map {
	uintptr_t start, end;
	int prot; /* what the program asked for */
	off_t off;
	struct san_buffer *buf; /* NULL: slot free */
};

/* A code site already reported for a buffer. */
struct san_site {
	struct san_buffer *buf;
	enum san_kind kind;
	uintptr_t pc;
};

struct san_state {
	bool on, started, halt, stats;
	int exitcode, log_fd;
	char suppress[MAX_SUPPRESSIONS][64];
	int nr_suppress;
	uintptr_t own_base; /* where this code is loaded, to skip its frames */
	pthread_mutex_t lock;
	struct san_buffer bufs[MAX_BUFFERS];
	int nr_bufs;
	struct san_map maps[MAX_MAPS];
	struct san_site sites[MAX_SITES];
	int nr_sites;
	struct sigaction chained; /* the program's SIGSEGV handler */
	unsigned long total;
};

extern struct san_state san;
extern const char *const kind_names[SAN_NR_KINDS];
/* DMA_BUF_SYNC_READ/WRITE/RW by value */
extern const char *const dir_names[4];

static inline uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* san-report.c */
const char *buffer_text(const struct san_buffer *b, char *out, size_t len);
int program_frames(void **frames, int depth, void ***first);
void report(struct san_buffer *b, enum san_kind kind, uintptr_t pc,
	    bool at_fault, const char *what, void *const *frames, int depth);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* san-table.c */
void apply_locked(struct san_buffer *b);
struct san_buffer *buffer_of_fd_locked(int fd);
void check_race_locked(struct san_buffer *b, int fd, void **frames, int depth);
void close_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
		   uint32_t dir, void **frames, int depth);
struct san_buffer *forget_range_locked(uintptr_t a, uintptr_t z);
struct san_map *free_map_slot(void);
struct san_map *map_at(uintptr_t addr);
void open_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
		  uint32_t dir);
void protect_locked(const struct san_map *m);
int rights_at(const struct san_map *m, uint64_t off);

/* san-fault.c */
struct sigaction our_action(void);
void reclaim_sigsegv_locked(void);
int reporter_start(void);
/* The reporter thread across fork(2) (pthread_atfork(3)). */
void fork_prepare(void);
void fork_parent(void);
void fork_child(void);

#endif /* DMABUF_SAN_H */
