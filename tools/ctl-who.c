// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl ls, info and who: the buffers and their holders
 *
 * ls lists the buffers of the mount (anonymous ones too, found through
 * their holders); who scans /proc/PID/fd and /proc/PID/maps, as Android's
 * dmabuf_dump does, for the processes that hold each buffer; info shows
 * one buffer in full, with the CPU brackets open on it.
 *
 * Calls ctl-util.c and libdmabuf.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "ctl.h"
#include "vec.h"

/* ---- who: holders from /proc ---- */

struct holding {
	pid_t pid;
	char comm[32];
	uint64_t ino;
	unsigned int fds;
	unsigned int maps;
	char fd_path[64]; /* one of its fds in /proc, "" if only mapped */
};

struct holdings {
	struct holding *v;
	size_t n, cap;
};

static struct holding *holding_of(struct holdings *h, pid_t pid,
				  const char *comm, uint64_t ino)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].pid == pid && h->v[i].ino == ino)
			return &h->v[i];
	if (vec_reserve_one(&h->v, h->n, &h->cap, sizeof(*h->v)))
		return NULL;
	h->v[h->n] = (struct holding){.pid = pid, .ino = ino};
	snprintf(h->v[h->n].comm, sizeof(h->v[h->n].comm), "%s", comm);
	return &h->v[h->n++];
}

static void read_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f || !fgets(out, (int)len, f))
		snprintf(out, len, "?");
	else
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* A buffer, not one of the mount's own nodes (<dmabuf/uapi.h>). */
static bool is_buffer(const struct stat *st)
{
	return S_ISREG(st->st_mode) && !(st->st_ino & DMABUF_INO_NODE);
}

static void scan_fds(struct holdings *h, pid_t pid, const char *comm, dev_t dev)
{
	char path[64], fdpath[64 + 256];
	struct dirent *d;
	struct stat st;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		struct holding *x;

		if (d->d_name[0] == '.')
			continue;
		if (snprintf(fdpath, sizeof(fdpath), "%s/%s", path,
			     d->d_name) >= (int)sizeof(fdpath) ||
		    stat(fdpath, &st) || st.st_dev != dev || !is_buffer(&st))
			continue;
		x = holding_of(h, pid, comm, st.st_ino);
		if (x && !x->fds++)
			snprintf(x->fd_path, sizeof(x->fd_path), "%.63s",
				 fdpath);
	}
	closedir(dir);
}

/* A maps line of the mount's files, or of a zero-copy memfd. */
static uint64_t mapped_ino(const char *line, dev_t dev)
{
	unsigned int maj, min;
	unsigned long long ino;
	const char *memfd = strstr(line, "/memfd:dmabuf:");

	if (memfd)
		return strtoull(memfd + strlen("/memfd:dmabuf:"), NULL, 10);
	if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
	    makedev(maj, min) == dev && ino)
		return ino;
	return 0;
}

static void scan_maps(struct holdings *h, pid_t pid, const char *comm,
		      dev_t dev)
{
	char path[64], line[1024];
	uint64_t last = 0, ino;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct holding *x;

		ino = mapped_ino(line, dev);
		if (!ino || ino == last) /* one mapping may span several VMAs */
			continue;
		last = ino;
		x = holding_of(h, pid, comm, ino);
		if (x)
			x->maps++;
	}
	fclose(f);
}

static int scan_holders(struct holdings *h)
{
	struct dirent *d;
	struct stat st;
	DIR *proc;

	if (stat(mount_dir, &st))
		return -errno;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((d = readdir(proc))) {
		char comm[32];
		pid_t pid;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = (pid_t)atoi(d->d_name);
		if (pid == getpid())
			continue; /* our own look at the buffers */
		read_comm(pid, comm, sizeof(comm));
		scan_fds(h, pid, comm, st.st_dev);
		scan_maps(h, pid, comm, st.st_dev);
	}
	closedir(proc);
	return 0;
}

static unsigned int holders_of(const struct holdings *h, uint64_t ino)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < h->n; i++)
		n += h->v[i].ino == ino;
	return n;
}

/* ---- buffers of the mount ---- */

struct entry {
	char name[256];
	struct stat st;
	struct dmabuf_info info;
	bool have_info;
};

static bool info_of(const char *name, struct entry *e)
{
	char path[4096];
	int fd;

	if (path_in_mount(name, path, sizeof(path)) || stat(path, &e->st))
		return false;
	snprintf(e->name, sizeof(e->name), "%s", name);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	e->have_info = fd >= 0 && dmabuf_info(fd, &e->info) == 0;
	if (fd >= 0)
		close(fd);
	return true;
}

/* The named buffers, into @v (@n of @cap); -errno. */
static int list_entries(struct entry **out, size_t *n, size_t *cap)
{
	struct entry *v = NULL;
	struct dirent *d;
	DIR *dir = opendir(mount_dir);

	*n = *cap = 0;
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue; /* ., .., .bufinfo, anonymous leftovers */
		if (vec_reserve_one(&v, *n, cap, sizeof(*v))) {
			closedir(dir);
			free(v);
			return -ENOMEM;
		}
		memset(&v[*n], 0,
		       sizeof(v[*n])); /* no info: zeros, not garbage */
		if (info_of(d->d_name, &v[*n]))
			(*n)++;
	}
	closedir(dir);
	*out = v;
	return 0;
}

static bool listed(const struct entry *v, size_t n, uint64_t ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((uint64_t)v[i].st.st_ino == ino)
			return true;
	return false;
}

/*
 * Anonymous buffers have no name to list: find them through the fds that
 * hold them (/proc/PID/fd), as `who` does, and list those too.
 */
static int add_anonymous(const struct holdings *h, struct entry **v, size_t *n,
			 size_t *cap)
{
	struct entry *e;
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (!h->v[i].fd_path[0] || listed(*v, *n, h->v[i].ino))
			continue;
		if (vec_reserve_one(v, *n, cap, sizeof(**v)))
			return -ENOMEM;
		e = memset(&(*v)[*n], 0, sizeof(**v));
		/* Not opened: a buffer without a name cannot be (ENXIO). */
		if (stat(h->v[i].fd_path, &e->st))
			continue; /* gone meanwhile, or not ours to see */
		snprintf(e->name, sizeof(e->name), "(anonymous)");
		e->have_info = dmabuf_info_by_ino(mount_dir, h->v[i].ino,
						  &e->info) == 0;
		(*n)++;
	}
	return 0;
}

static const char *name_of_ino(const struct entry *v, size_t n, uint64_t ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((uint64_t)v[i].st.st_ino == ino)
			return v[i].name;
	return "(anonymous)";
}

/* Size of buffer @ino as listed (anonymous ones by add_anonymous()). */
static uint64_t size_of_ino(const struct entry *v, size_t n, uint64_t ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((uint64_t)v[i].st.st_ino == ino)
			return (uint64_t)v[i].st.st_size;
	return 0;
}

static struct json_object *entry_json(const struct entry *e,
				      unsigned int holders)
{
	struct json_object *o = json_object_new_object();

	json_add_name(o, "name", e->name);
	json_add_u64(o, "ino", e->st.st_ino);
	json_add_u64(o, "size", (uint64_t)e->st.st_size);
	if (e->have_info) {
		json_add_name(o, "heap", e->info.heap);
		json_add_name(o, "debug_name", e->info.name);
		json_object_object_add(o, "state",
				       json_object_new_string(dmabuf_state_name(
					       e->info.state)));
		json_add_u64(o, "attachments", e->info.attachments);
		json_add_u64(o, "maps", e->info.maps);
		json_add_u64(o, "write_fences", e->info.write_fences);
		json_add_u64(o, "read_fences", e->info.read_fences);
		json_add_u64(o, "chunks", e->info.nr_chunks);
	}
	json_add_u64(o, "holders", holders);
	return o;
}

int cmd_ls(int argc, char **argv)
{
	struct holdings h = {0};
	struct entry *v;
	char size[16], name[256 * 4 + 1];
	size_t n, cap, i;
	int ret;

	(void)argv;
	if (argc > 1)
		return usage_error("ls takes no arguments");
	ret = list_entries(&v, &n, &cap);
	if (ret)
		return fail(mount_dir, ret);
	scan_holders(&h);
	ret = add_anonymous(&h, &v, &n, &cap);
	if (ret)
		return fail("listing anonymous buffers", ret);
	if (json) {
		struct json_object *a = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(
				a, entry_json(&v[i],
					      holders_of(&h, v[i].st.st_ino)));
		json_print(a);
	} else {
		printf("%-20s %8s %8s %-8s %-10s %4s %4s %7s\n", "NAME", "INO",
		       "SIZE", "HEAP", "STATE", "ATT", "MAPS", "HOLDERS");
		for (i = 0; i < n; i++) {
			struct entry *e = &v[i];

			human((uint64_t)e->st.st_size, size, sizeof(size));
			printf("%-20s %8llu %8s %-8s %-10s %4u %4u %7u\n",
			       shown(e->name, name, sizeof(name)),
			       (unsigned long long)e->st.st_ino, size,
			       e->have_info ? e->info.heap : "-",
			       e->have_info ? dmabuf_state_name(e->info.state)
					    : "-",
			       e->info.attachments, e->info.maps,
			       holders_of(&h, e->st.st_ino));
		}
	}
	free(v);
	free(h.v);
	return 0;
}

#define LONG_BRACKET_S 5.0

/*
 * Call @fn for each open CPU bracket and each race a device made with one,
 * from .bufinfo (the buffers this user may see), of inode @only or of all
 * (0); @secs is how long the bracket has been held (0 for a race).
 */
static void each_bracket(unsigned long long only,
			 void (*fn)(unsigned long long ino, const char *text,
				    double secs, void *arg),
			 void *arg)
{
	char path[4096], line[512], *p;
	unsigned long long ino = 0;
	size_t skip;
	FILE *f;

	if (path_in_mount(".bufinfo", path, sizeof(path)))
		return;
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] >= '0' && line[0] <= '9')
			sscanf(line, "%*s %*s %*s %*s %*s %llu", &ino);
		if (!strncmp(line, "\tCPU bracket: ", 14))
			skip = 14;
		else if (!strncmp(line, "\tCPU bracket raced: ", 20))
			skip = 1;
		else
			continue;
		if (only && ino != only)
			continue;
		p = skip == 14 ? strstr(line, " for ") : NULL;
		line[strcspn(line, "\n")] = '\0';
		fn(ino, line + skip, p ? strtod(p + 5, NULL) : 0, arg);
	}
	if (f)
		fclose(f);
}

/* Those held longer than LONG_BRACKET_S are flagged: a missing END. */
static void print_bracket(unsigned long long ino, const char *text, double secs,
			  void *arg)
{
	bool *header = arg;

	if (!*header)
		puts("\nopen CPU brackets:");
	*header = true;
	printf("  inode %llu: %s%s\n", ino, text,
	       secs > LONG_BRACKET_S ? "  <- held long: a missing SYNC END?"
				     : "");
}

static void json_bracket(unsigned long long ino, const char *text, double secs,
			 void *arg)
{
	(void)ino, (void)secs;
	json_object_array_add(arg, json_object_new_string(text));
}

static void print_open_brackets(void)
{
	bool header = false;

	each_bracket(0, print_bracket, &header);
}

/* Where a buffer's bytes are, in words. */
static const char *placement_text(const struct dmabuf_info *i, char *out,
				  size_t len)
{
	if (i->state == DMABUF_STATE_EMPTY)
		snprintf(out, len, "none: the buffer has no size yet");
	else if (!strcmp(i->heap, "udmabuf"))
		snprintf(out, len, "the creator's own memfd pages (udmabuf)");
	else if (!i->nr_chunks)
		snprintf(out, len,
			 "not placed yet (at the first device map, CPU "
			 "bracket, or write)");
	else
		snprintf(out, len, "%u chunk(s), first at %#llx", i->nr_chunks,
			 (unsigned long long)i->phys_addr);
	return out;
}

int cmd_info(int argc, char **argv)
{
	char path[4096], atts[1024] = "", pt[16] = "", where[96];
	char name[256 * 4 + 1], dbg[DMABUF_NAME_LEN * 4];
	struct holdings h = {0};
	struct entry e = {0};
	bool header = false;
	ssize_t n;

	if (argc != 2)
		return usage_error("usage: info NAME");
	if (!info_of(argv[1], &e))
		return fail(argv[1], errno);
	if (!e.have_info)
		return fail(argv[1], EACCES);
	path_in_mount(argv[1], path, sizeof(path));
	n = getxattr(path, "user.dmabuf.attachments", atts, sizeof(atts) - 1);
	atts[n > 0 ? n : 0] = '\0';
	n = getxattr(path, "user.dmabuf.passthrough", pt, sizeof(pt) - 1);
	pt[n > 0 ? n : 0] = '\0';
	scan_holders(&h);
	if (json) {
		struct json_object *o =
			entry_json(&e, holders_of(&h, e.st.st_ino));
		struct json_object *devs = json_object_new_array(), *brackets;
		char *dev, *save = NULL;

		for (dev = strtok_r(atts, ", ", &save); dev;
		     dev = strtok_r(NULL, ", ", &save))
			json_object_array_add(devs,
					      json_object_new_string(dev));
		json_object_object_add(o, "devices", devs);
		json_add_u64(o, "phys_addr", e.info.phys_addr);
		json_object_object_add(
			o, "passthrough",
			json_object_new_string(pt[0] ? pt : "-"));
		brackets = json_object_new_array();
		each_bracket(e.st.st_ino, json_bracket, brackets);
		json_object_object_add(o, "cpu_brackets", brackets);
		json_print(o);
	} else {
		printf("name:         %s\ninode:        %llu\nsize:         %lld\n"
		       "heap:         %s\ndebug name:   %s\nstate:        %s\n"
		       "attachments:  %u%s%s%s\nmaps:         %u (write fences %u, read fences %u)\n"
		       "placement:    %s\npassthrough:  %s\n"
		       "holders:      %u process(es)\n",
		       shown(e.name, name, sizeof(name)),
		       (unsigned long long)e.st.st_ino, (long long)e.st.st_size,
		       e.info.heap,
		       e.info.name[0] ? shown(e.info.name, dbg, sizeof(dbg))
				      : "<none>",
		       dmabuf_state_name(e.info.state), e.info.attachments,
		       atts[0] ? " (" : "", atts, atts[0] ? ")" : "",
		       e.info.maps, e.info.write_fences, e.info.read_fences,
		       placement_text(&e.info, where, sizeof(where)),
		       pt[0] ? pt : "-", holders_of(&h, e.st.st_ino));
		each_bracket(e.st.st_ino, print_bracket, &header);
	}
	free(h.v);
	return 0;
}

int cmd_who(int argc, char **argv)
{
	char size[16], comm[32 * 4 + 1], shown_name[256 * 4 + 1];
	struct json_object *a = NULL;
	struct holdings h = {0};
	struct entry *v = NULL;
	size_t n = 0, cap = 0, i, j;

	(void)argv;
	if (argc > 1)
		return usage_error("who takes no arguments");
	list_entries(&v, &n, &cap);
	if (scan_holders(&h))
		return fail(mount_dir, errno);
	add_anonymous(&h, &v, &n, &cap); /* their sizes, through their fds */
	if (json)
		a = json_object_new_array();
	else
		printf("%7s %-16s %8s %-20s %9s %4s %4s\n", "PID", "COMMAND",
		       "INO", "BUFFER", "SIZE", "FDS", "MAPS");
	for (i = 0; i < h.n; i++) {
		struct holding *x = &h.v[i];
		const char *name = name_of_ino(v, n, x->ino);
		uint64_t bytes = size_of_ino(v, n, x->ino);

		if (json) {
			struct json_object *o = json_object_new_object();

			json_add_u64(o, "pid", (uint64_t)x->pid);
			json_add_name(o, "command", x->comm);
			json_add_u64(o, "ino", x->ino);
			json_add_name(o, "buffer", name);
			json_add_u64(o, "size", bytes);
			json_add_u64(o, "fds", x->fds);
			json_add_u64(o, "maps", x->maps);
			json_object_array_add(a, o);
			continue;
		}
		human(bytes, size, sizeof(size));
		printf("%7d %-16s %8llu %-20s %9s %4u %4u\n", (int)x->pid,
		       shown(x->comm, comm, sizeof(comm)),
		       (unsigned long long)x->ino,
		       shown(name, shown_name, sizeof(shown_name)),
		       bytes ? size : "?", x->fds, x->maps);
	}
	if (json) {
		json_print(a);
	} else {
		/* per-process totals */
		puts("\nper process:");
		for (i = 0; i < h.n; i++) {
			uint64_t total = 0;
			unsigned int nb = 0;

			for (j = 0; j < i; j++)
				if (h.v[j].pid == h.v[i].pid)
					break;
			if (j < i)
				continue;
			for (j = i; j < h.n; j++) {
				if (h.v[j].pid != h.v[i].pid)
					continue;
				nb++;
				total += size_of_ino(v, n, h.v[j].ino);
			}
			human(total, size, sizeof(size));
			printf("%7d %-16s %u buffer(s), %s\n", (int)h.v[i].pid,
			       shown(h.v[i].comm, comm, sizeof(comm)), nb,
			       size);
		}
		print_open_brackets();
	}
	free(v);
	free(h.v);
	return 0;
}
