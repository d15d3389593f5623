// SPDX-License-Identifier: MIT
/*
 * DOC: the sanitizer's tables: buffers, mappings and brackets
 *
 * Fixed tables, so that the signal handler reads them without a lock or
 * an allocation.  Brackets nest as the kernel allows: they are counted per
 * range and direction, and a mapping's page rights (mprotect(2)) follow the
 * brackets open over it.  Calls san-report.c only.
 */
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

#include "san.h"

/* ---- the tables ---- */

/* Say once that a table is full, and what is not watched because of it. */
static void say_full_once(bool *told, const char *what)
{
	if (*told)
		return;
	*told = true;
	say("==%d==dmabuf-sanitizer: more than %s at once: the rest are not "
	    "watched\n",
	    (int)getpid(), what);
}

/*
 * A slot for one more buffer: a new one, or that of a buffer that has no
 * mapping, no open bracket and no finding (nothing left to watch or to
 * summarize); NULL when every slot holds one of those.
 */
static struct san_buffer *buffer_slot_locked(void)
{
	static bool told;
	struct san_buffer *b;
	struct san_map *m;
	bool busy;
	int k;

	if (san.nr_bufs < MAX_BUFFERS)
		return &san.bufs[san.nr_bufs++];
	for (b = san.bufs; b < san.bufs + MAX_BUFFERS; b++) {
		busy = b->nr_open > 0;
		for (k = 0; k < SAN_NR_KINDS && !busy; k++)
			busy = b->findings[k] > 0;
		for (m = san.maps; m < san.maps + MAX_MAPS && !busy; m++)
			busy = m->buf == b;
		if (!busy) {
			memset(b, 0, sizeof(*b));
			return b;
		}
	}
	say_full_once(&told, "128 buffers mapped, bracketed or reported");
	return NULL;
}

struct san_buffer *buffer_of_fd_locked(int fd)
{
	char link[64], path[PATH_MAX];
	struct dmabuf_info info;
	struct san_buffer *b;
	struct stat st;
	ssize_t n;

	if (REAL(fstat)(fd, &st))
		return NULL;
	for (b = san.bufs; b < san.bufs + san.nr_bufs; b++)
		if (b->ino == st.st_ino)
			goto found;
	b = buffer_slot_locked();
	if (!b)
		return NULL;
	b->ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = REAL(readlink)(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	/* A buffer from /dev/dma_heap has no name: it has no link. */
	snprintf(b->name, sizeof(b->name), "%.255s",
		 n <= 0 || !st.st_nlink ? "(anonymous)"
		 : strrchr(path, '/')	? strrchr(path, '/') + 1
					: path);
	/* A debug name set before we first saw it (after: named()). */
	if (!REAL(ioctl)(fd, DMABUF_IOCTL_INFO, &info))
		memcpy(b->debug, info.name, sizeof(b->debug));
	b->debug[sizeof(b->debug) - 1] = '\0';
found:
	b->size = (uint64_t)st.st_size;
	return b;
}

/* Rights a mapping @m has on the page at buffer offset @off: the union of
 * the brackets that touch the page (mprotect cannot do less than one). */
int rights_at(const struct san_map *m, uint64_t off)
{
	const struct san_buffer *b = m->buf;
	uint64_t end = off + page_size();
	int i, prot = PROT_NONE;

	for (i = 0; i < b->nr_open; i++) {
		if (b->open[i].start >= end || b->open[i].end <= off)
			continue;
		if (b->open[i].dir & DMA_BUF_SYNC_WRITE)
			return m->prot;
		prot = m->prot & PROT_READ;
	}
	return prot;
}

/* The first page boundary after @off where a bracket of @b begins or ends. */
static uint64_t next_edge(const struct san_buffer *b, uint64_t off,
			  uint64_t end)
{
	uint64_t pg = page_size(), next = end, edge;
	int i;

	for (i = 0; i < b->nr_open; i++) {
		edge = b->open[i].start / pg * pg;
		if (edge > off && edge < next)
			next = edge;
		edge = (b->open[i].end + pg - 1) / pg * pg;
		if (edge > off && edge < next)
			next = edge;
	}
	return next;
}

/* Set @m's rights run by run: one mprotect per stretch of equal rights. */
void protect_locked(const struct san_map *m)
{
	uint64_t first = (uint64_t)m->off, end = first + (m->end - m->start);
	uint64_t run = first, off = first, next;
	int prot = rights_at(m, first);

	while (off < end) {
		next = next_edge(m->buf, off, end);
		if (next == end || rights_at(m, next) != prot) {
			mprotect((void *)(m->start + (run - first)), next - run,
				 prot);
			run = next;
			if (next < end)
				prot = rights_at(m, next);
		}
		off = next;
	}
}

void apply_locked(struct san_buffer *b)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf == b)
			protect_locked(m);
}

struct san_map *map_at(uintptr_t addr)
{
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (m->buf && addr >= m->start && addr < m->end)
			return m;
	return NULL;
}

struct san_map *free_map_slot(void)
{
	static bool told;
	struct san_map *m;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++)
		if (!m->buf)
			return m;
	say_full_once(&told, "512 mappings");
	return NULL;
}

/*
 * [@a, @z) is no longer what we mapped (munmap, or a MAP_FIXED mapping on
 * top): drop it from the table, trimming or splitting a mapping it covers
 * in part, so that no later fault there is taken for ours.
 *
 * Return: a buffer one of whose mappings went away entirely, or NULL.
 */
struct san_buffer *forget_range_locked(uintptr_t a, uintptr_t z)
{
	struct san_buffer *gone = NULL;
	struct san_map *m, *tail;

	for (m = san.maps; m < san.maps + MAX_MAPS; m++) {
		if (!m->buf || m->end <= a || m->start >= z)
			continue;
		if (m->start >= a && m->end <= z) {
			gone = m->buf;
			m->buf = NULL;
		} else if (m->start < a && m->end > z) {
			tail = free_map_slot();
			if (tail) { /* a hole in the middle: two mappings */
				*tail = *m;
				tail->off += (off_t)(z - m->start);
				tail->start = z;
			}
			m->end = a;
		} else if (m->start < a) {
			m->end = a;
		} else {
			m->off += (off_t)(z - m->start);
			m->start = z;
		}
	}
	return gone;
}

/* ---- brackets ---- */

void open_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
		  uint32_t dir)
{
	struct san_bracket *o;

	for (o = b->open; o < b->open + b->nr_open; o++)
		if (o->start == start && o->end == end && o->dir == dir)
			goto nest;
	if (b->nr_open == MAX_OPEN) {
		/* Out of slots: widen the last one, never report falsely. */
		o = &b->open[MAX_OPEN - 1];
		o->start = start < o->start ? start : o->start;
		o->end = end > o->end ? end : o->end;
		o->dir |= dir;
		goto nest;
	}
	o = &b->open[b->nr_open++];
	*o = (struct san_bracket){.start = start, .end = end, .dir = dir};
nest:
	o->count++;
}

static void drop_bracket(struct san_buffer *b, struct san_bracket *o)
{
	if (--o->count)
		return;
	*o = b->open[--b->nr_open];
}

static struct san_bracket *find_bracket(struct san_buffer *b, uint64_t start,
					uint64_t end, uint32_t dir)
{
	struct san_bracket *o;

	for (o = b->open; o < b->open + b->nr_open; o++)
		if (o->start == start && o->end == end &&
		    (!dir || o->dir == dir))
			return o;
	return NULL;
}

/* An END: it must name the range and direction of an open START. */
void close_bracket(struct san_buffer *b, uint64_t start, uint64_t end,
		   uint32_t dir, void **frames, int depth)
{
	struct san_bracket *o = find_bracket(b, start, end, dir);
	char what[256];

	if (o) {
		drop_bracket(b, o);
		return;
	}
	o = find_bracket(b, start, end, 0);
	if (o) {
		snprintf(what, sizeof(what),
			 "  END|%s of a bracket opened START|%s (the uapi "
			 "wants the same flags)",
			 dir_names[dir], dir_names[o->dir]);
		report(b, SAN_END_FLAGS_MISMATCH, (uintptr_t)frames[0], false,
		       what, frames, depth);
		drop_bracket(b, o);
		return;
	}
	snprintf(what, sizeof(what),
		 "  END|%s of [%#llx, %#llx) without a matching START",
		 dir_names[dir], (unsigned long long)start,
		 (unsigned long long)end);
	report(b, SAN_END_WITHOUT_START, (uintptr_t)frames[0], false, what,
	       frames, depth);
}

/*
 * Did a device map the buffer while the bracket that @fd's END closes was
 * open?  The daemon noted it on the handle; a finding at the END.
 */
void check_race_locked(struct san_buffer *b, int fd, void **frames, int depth)
{
	static const char *const dev_dirs[] = {"BIDIRECTIONAL", "TO_DEVICE",
					       "FROM_DEVICE"};
	struct dmabuf_cpu_race race = {0};
	char what[512];

	if (REAL(ioctl)(fd, DMABUF_IOCTL_TAKE_RACE, &race) || !race.count)
		return;
	snprintf(what, sizeof(what),
		 "  device '%.31s' mapped the buffer %s (pid %d, uid %u) "
		 "while this CPU bracket was open: the device and the CPU "
		 "used it at once (%u such mapping(s))",
		 race.device, dev_dirs[race.dir % 3], (int)race.pid, race.uid,
		 race.count);
	report(b, SAN_RACED_DEVICE, (uintptr_t)frames[0], false, what, frames,
	       depth);
}
