// SPDX-License-Identifier: MIT
/*
 * DOC: the views of buffers the layer mapped itself
 *
 * mmap(2) of a buffer fd that the file system cannot map (a udmabuf made
 * of memfds) is carried out by the layer: it maps the memfds behind the
 * buffer (compat.c's map_buffer()).  The kernel sees a mapping of memfds;
 * a program on Linux would see a mapping of its dma-buf, which its maps
 * name /dmabuf:NAME and its fdinfo counts as a reference.  This file
 * remembers each such view (where, which buffer, at which offset), so
 * that procmaps.c and fds.c can show it as the kernel would.
 *
 * A view holds no reference in the daemon (the memfds' pages are its
 * own), so its buffer may be gone while it is mapped, where a kernel
 * dma-buf lives on with its name: a view keeps the last name seen, for
 * then.  Inode numbers are never reused.  A leaf of the layer: it calls
 * nothing of it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../util/vec.h"

#include "compat.h"

static struct {
	pthread_mutex_t lock;
	struct compat_view *v;
	size_t nr, cap;
} views = {.lock = PTHREAD_MUTEX_INITIALIZER};

/**
 * compat_view_add() - the layer mapped a buffer's memfds itself
 * @v: where, which buffer, from which offset, and its name now
 *
 * Without room to note it, the view shows as its memfds.
 */
void compat_view_add(const struct compat_view *v)
{
	pthread_mutex_lock(&views.lock);
	vec_push(views.v, views.nr, views.cap, *v);
	pthread_mutex_unlock(&views.lock);
}

/**
 * compat_view_unmapped() - [@addr, @addr + @len) was unmapped
 * @addr: as munmap(2)
 * @len: as munmap(2)
 *
 * Forgets the views wholly inside it.  What is left of one partly inside
 * still names its lines; a range no longer mapped has no line to name.
 */
void compat_view_unmapped(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	size_t i;

	pthread_mutex_lock(&views.lock);
	for (i = 0; i < views.nr;) {
		if (views.v[i].start >= lo && views.v[i].end <= hi)
			views.v[i] = views.v[--views.nr];
		else
			i++;
	}
	pthread_mutex_unlock(&views.lock);
}

/**
 * compat_view_moved() - mremap(2) moved the mapping at @from to @to
 * @from: the old address
 * @to: the new one
 * @to_len: the new length
 */
void compat_view_moved(void *from, void *to, size_t to_len)
{
	size_t i;

	pthread_mutex_lock(&views.lock);
	for (i = 0; i < views.nr; i++)
		if (views.v[i].start == (uintptr_t)from) {
			views.v[i].start = (uintptr_t)to;
			views.v[i].end = (uintptr_t)to + to_len;
		}
	pthread_mutex_unlock(&views.lock);
}

/**
 * compat_view_renamed() - the buffer @dev, @ino is called @name now
 * @dev: its st_dev
 * @ino: its st_ino
 * @name: the name DMA_BUF_SET_NAME gave it, or the daemon answered
 */
void compat_view_renamed(dev_t dev, ino_t ino, const char *name)
{
	size_t i;

	pthread_mutex_lock(&views.lock);
	for (i = 0; i < views.nr; i++)
		if (views.v[i].dev == dev && views.v[i].ino == ino)
			snprintf(views.v[i].name, sizeof(views.v[i].name), "%s",
				 name);
	pthread_mutex_unlock(&views.lock);
}

/**
 * compat_view_of() - the view that maps [@lo, @hi), if any
 * @lo: a line of maps: its start
 * @hi: its end
 * @out: out: a copy of the view
 *
 * Return: the view's index, the same for each line of one view while no
 * view is added or forgotten; -1 for none.
 */
int compat_view_of(uintptr_t lo, uintptr_t hi, struct compat_view *out)
{
	int found = -1;
	size_t i;

	pthread_mutex_lock(&views.lock);
	for (i = 0; i < views.nr && found < 0; i++)
		if (lo >= views.v[i].start && hi <= views.v[i].end) {
			*out = views.v[i];
			found = (int)i;
		}
	pthread_mutex_unlock(&views.lock);
	return found;
}
