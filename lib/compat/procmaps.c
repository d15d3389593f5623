// SPDX-License-Identifier: MIT
/*
 * DOC: /proc/self/maps and smaps, as the kernel shows a dma-buf's mappings
 *
 * The kernel names every mapping of a dma-buf "/dmabuf:NAME" (the name of
 * DMA_BUF_SET_NAME, empty without one), with the buffer's device and inode
 * numbers, whether or not an fd of it is still open.  Tools that account
 * dma-buf memory per process find a buffer's mappings that way (Android's
 * libdmabufinfo reads maps for "/dmabuf" lines and their inodes).
 *
 * Here a buffer's mapping is one of two things, and neither has that name:
 *
 *  - a mapping of its file on the mount, through passthrough: maps shows
 *    the file's path, "(deleted)" for a buffer without a name, with the
 *    mount's device and the buffer's inode;
 *  - for the buffers mmap(2) of the file cannot map (a udmabuf's memfds),
 *    a view of the memfds themselves: maps shows "/memfd:..." with the
 *    memfd's device and inode.  views.c knows which memfd lines are a
 *    buffer's, and at which offset of it.
 *
 * When a program opens a process's maps or smaps (its own through
 * /proc/self, thread-self or its pid, or another's), the layer reads the
 * kernel's text; if a line is a buffer's, it answers a copy, in a memfd,
 * where that line has the kernel's header (offset into the buffer, the
 * device and inode fstat(2) of its fd shows) and the name /dmabuf:NAME,
 * and in its own maps the rights it mapped it with (under the sanitizer,
 * which takes pages away outside brackets).  Every other line is the
 * kernel's, byte for byte.  Without such a line it opens the kernel's
 * file, as if it were not there.  Another process's views of memfds are
 * not known here: they show as the memfds.
 *
 * Built on fds.c (what a dev and inode are), procfd.c (whose /proc
 * path), views.c and libdmabuf (a buffer's name by inode); paths.c calls
 * it when a path is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../libdmabuf/private.h"
#include "../util/vec.h"

#include "compat.h"

/* The kernel pads a line's header to this many columns before the name:
 * 25 + sizeof(void *) * 6 - 1 (fs/proc/task_mmu.c). */
#define MAPS_HEADER_COLS ((int)(25 + sizeof(void *) * 6 - 1))

/* Is @path a process's maps or smaps?  Whose in @self. */
static bool maps_path(const char *path, bool *self)
{
	pid_t pid = 0;
	const char *p = compat_proc_pid(path, &pid);

	*self = p && pid == getpid();
	return p && (!strcmp(p, "maps") || !strcmp(p, "smaps"));
}

/* The whole of @path, NUL-terminated, malloc'ed; NULL on any failure. */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 1 << 16;
	char *text = malloc(cap), *grown;
	int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	*len = 0;
	while (text && fd >= 0 &&
	       (n = REAL(read)(fd, text + *len, cap - 1 - *len)) > 0) {
		*len += (size_t)n;
		if (cap - 1 - *len > 0)
			continue;
		grown = realloc(text, cap * 2);
		if (!grown)
			break;
		text = grown;
		cap *= 2;
	}
	if (fd >= 0)
		REAL(close)(fd);
	if (fd < 0 || n < 0 || !text || cap - 1 - *len == 0) {
		free(text);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* A line of maps: its header's fields; @name: where its name starts. */
struct maps_line {
	unsigned long lo, hi, off, ino;
	unsigned int maj, min;
	char perm[8];
	const char *name;
};

static bool parse_line(const char *line, struct maps_line *l)
{
	int n = 0;

	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu%n", &l->lo, &l->hi, l->perm,
		   &l->off, &l->maj, &l->min, &l->ino, &n) != 7 ||
	    !n)
		return false;
	l->name = line + n;
	while (*l->name == ' ')
		l->name++;
	return true;
}

/*
 * The buffer @l maps, and from which offset of it: a file of the mount
 * that is a buffer, or in this process's own maps (@self) a memfd inside
 * a view the layer made (then @name is the view's last name).
 */
static bool buffer_of(const struct maps_line *l, bool self, dev_t *dev,
		      ino_t *ino, unsigned long *off, char *name, size_t len)
{
	dev_t d = makedev(l->maj, l->min);
	struct compat_view v;

	name[0] = '\0';
	if (compat_kind_of(d, l->ino, S_IFREG) == COMPAT_BUFFER) {
		*dev = d;
		*ino = l->ino;
		*off = l->off;
		return true;
	}
	if (!self || strncmp(l->name, "/memfd:", 7) ||
	    compat_view_of(l->lo, l->hi, &v) < 0)
		return false;
	*dev = v.dev;
	*ino = v.ino;
	*off = v.off + (l->lo - v.start);
	snprintf(name, len, "%s", v.name);
	return true;
}

/* A buffer's name as the kernel's d_dname gives it, remembered per read. */
struct known_name {
	ino_t ino;
	char name[DMABUF_NAME_LEN + 1];
};

/*
 * The name of @dev, @ino from the daemon, once per read; a buffer gone
 * keeps @last, the name its view saw last; one that .bufinfo does not
 * show this caller has an empty name.
 */
static const char *name_of(dev_t dev, ino_t ino, const char *last,
			   struct known_name **known, size_t *nr, size_t *cap)
{
	struct known_name k = {.ino = ino};
	struct dmabuf_info info;
	size_t i;

	for (i = 0; i < *nr; i++)
		if ((*known)[i].ino == ino)
			return (*known)[i].name;
	if (!dmabuf_info_by_ino(compat_mount(), ino, &info)) {
		snprintf(k.name, sizeof(k.name), "%.*s", (int)sizeof(info.name),
			 info.name);
		compat_view_renamed(dev, ino, k.name);
	} else {
		snprintf(k.name, sizeof(k.name), "%s", last);
	}
	if (vec_push(*known, *nr, *cap, k))
		return last;
	return (*known)[*nr - 1].name;
}

/* @l's line as the kernel writes a dma-buf's mapping. */
static void put_buffer_line(FILE *out, const struct maps_line *l, dev_t dev,
			    ino_t ino, unsigned long off, const char *name)
{
	int n = fprintf(out, "%08lx-%08lx %s %08lx %02x:%02x %lu ", l->lo,
			l->hi, l->perm, off, major(dev), minor(dev),
			(unsigned long)ino);

	/* Padded to the column, then one more space, as seq_pad(m, ' '). */
	fprintf(out,
		"%*s /dmabuf:", n < MAPS_HEADER_COLS ? MAPS_HEADER_COLS - n : 0,
		"");
	for (; *name; name++) /* seq_file_path() escapes a newline */
		if (*name == '\n')
			fputs("\\012", out);
		else
			fputc(*name, out);
	fputc('\n', out);
}

/*
 * Under the sanitizer a watched mapping's pages are taken away outside
 * brackets, which maps would show: the line carries the protection the
 * program asked for instead.
 */
static void program_perm(struct maps_line *l)
{
	int prot =
		dmabuf_sanitizer_enabled() ? dmabuf_sanitizer_prot(l->lo) : -1;

	if (prot < 0)
		return;
	l->perm[0] = prot & PROT_READ ? 'r' : '-';
	l->perm[1] = prot & PROT_WRITE ? 'w' : '-';
	l->perm[2] = prot & PROT_EXEC ? 'x' : '-';
}

/*
 * @text with each buffer's line rewritten, to @out; how many were.  (A
 * program of the uapi brackets the whole buffer, so the sanitizer's page
 * rights never split one of its mappings into several lines.)
 */
static unsigned int rewrite(char *text, bool self, FILE *out)
{
	struct known_name *known = NULL;
	size_t nr_known = 0, cap_known = 0;
	char *line, *next, last[DMABUF_NAME_LEN + 1];
	unsigned int count = 0;

	for (line = text; *line; line = next) {
		struct maps_line l;
		unsigned long off;
		dev_t dev;
		ino_t ino;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (!parse_line(line, &l) ||
		    !buffer_of(&l, self, &dev, &ino, &off, last,
			       sizeof(last))) {
			fwrite(line, 1, (size_t)(next - line), out);
			continue;
		}
		if (self)
			program_perm(&l);
		put_buffer_line(
			out, &l, dev, ino, off,
			name_of(dev, ino, last, &known, &nr_known, &cap_known));
		count++;
	}
	free(known);
	return count;
}

/**
 * compat_maps_open() - open(2) of a process's /proc maps or smaps
 * @path: the path asked for
 * @flags: open(2)'s flags
 * @handled: out: whether the answer is this one
 *
 * Return: an fd of the kernel's text with each buffer's mapping as the
 * kernel shows it, when *@handled; not handled when no line is a
 * buffer's, or anything failed: the caller opens the kernel's file.
 */
int compat_maps_open(const char *path, int flags, bool *handled)
{
	unsigned int count = 0;
	FILE *out = NULL;
	bool self;
	char *text;
	size_t len;
	int mfd, w = -1;

	*handled = false;
	if (!path || (flags & O_ACCMODE) != O_RDONLY ||
	    !maps_path(path, &self) || !compat_armed())
		return 0;
	text = slurp(path, &len);
	if (!text)
		return 0;
	mfd = memfd_create("maps", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (mfd >= 0)
		w = REAL(dup)(mfd);
	if (w >= 0 && !(out = fdopen(w, "w")))
		REAL(close)(w);
	if (out)
		count = rewrite(text, self, out);
	free(text);
	if (!out || fclose(out) || !count) {
		if (mfd >= 0)
			REAL(close)(mfd);
		return 0;
	}
	lseek(mfd, 0, SEEK_SET);
	*handled = true;
	return mfd;
}
