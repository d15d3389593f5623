// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl, the command-line tool
 *
 * dmabufctl [-m MOUNT] [--json] COMMAND [ARGS]
 *
 * export, ls, info, heaps, devices, who, top, fill, dump, run.  Tables for
 * people, --json for scripts.  Uses libdmabuf only; who scans /proc/PID/fd
 * and /proc/PID/maps as Android's dmabuf_dump does; fill and dump move file
 * bytes straight into or out of the zero-copy mapping with io_uring; run
 * starts an unmodified program under the compat layer (lib/compat).
 *
 * Exit status: 0 on success, 1 on failure, 2 on a usage error.
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

#define EXIT_USAGE 2

static const char *mount_dir;
static bool json;

static int fail(const char *what, int err)
{
	fprintf(stderr, "dmabufctl: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return EXIT_FAILURE;
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dmabufctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dmabufctl --help'.\n", stderr);
	return EXIT_USAGE;
}

static void human(uint64_t bytes, char *out, size_t len)
{
	static const char units[] = "BKMGTP";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%" PRIu64, bytes);
	else
		snprintf(out, len, "%.1f%c", v, units[u]);
}

/* Print @s as a JSON string. */
/*
 * A name as a JSON string.  JSON is UTF-8 and file or debug names need not
 * be: a byte that does not belong to a UTF-8 sequence becomes U+FFFD, and
 * the exact bytes go along in hex under "<key>_hex" so nothing is lost.
 */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n = *s < 0x80   ? 1
		   : *s < 0xc2 ? 0
		   : *s < 0xe0 ? 2
		   : *s < 0xf0 ? 3
		   : *s < 0xf5 ? 4
			       : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 &&
	    ((*s == 0xe0 && s[1] < 0xa0) || (*s == 0xed && s[1] > 0x9f)))
		return 0; /* overlong, or a surrogate */
	if (n == 4 &&
	    ((*s == 0xf0 && s[1] < 0x90) || (*s == 0xf4 && s[1] > 0x8f)))
		return 0; /* overlong, or past U+10FFFF */
	return n;
}

static void json_add_name(struct json_object *o, const char *key,
			  const char *name)
{
	const unsigned char *c = (const unsigned char *)name;
	char text[256 * 3 + 1], hex[256 * 2 + 1], hex_key[64];
	size_t t = 0, h = 0, n;
	bool exact = true;

	for (; *c && t + 4 < sizeof(text); c += n ? n : 1) {
		n = utf8_seq(c);
		if (n) {
			memcpy(text + t, c, n);
			t += n;
		} else {
			memcpy(text + t, "\xef\xbf\xbd", 3); /* U+FFFD */
			t += 3;
			exact = false;
		}
	}
	text[t] = '\0';
	json_object_object_add(o, key, json_object_new_string(text));
	if (exact)
		return;
	for (c = (const unsigned char *)name; *c && h + 3 < sizeof(hex); c++)
		h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x", *c);
	snprintf(hex_key, sizeof(hex_key), "%s_hex", key);
	json_object_object_add(o, hex_key, json_object_new_string(hex));
}

static void json_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* Print @o as one line and drop it. */
static void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/*
 * @s as a table shows it: a backslash, a control character or DEL as \ooo,
 * so that no name breaks a row or a column (as ls -b does).
 */
static const char *shown(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

static int path_in_mount(const char *name, char *out, size_t len)
{
	if (snprintf(out, len, "%s/%s", mount_dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

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
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		struct holding *grown = realloc(h->v, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		h->v = grown;
		h->cap = cap;
	}
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

/*
 * Is the file behind @fdpath a buffer?  The mount's other files (.bufinfo,
 * .stats, the compat layer's device nodes) have names that start with a
 * dot and are never deleted; an anonymous buffer's name was deleted.
 */
static bool is_buffer(const char *fdpath)
{
	char target[4096], *base;
	ssize_t n = readlink(fdpath, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strstr(target, "/.heaps/"))
		return false;
	base = strrchr(target, '/');
	return !base || base[1] != '.' || strstr(target, " (deleted)");
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
		    stat(fdpath, &st) || st.st_dev != dev ||
		    !S_ISREG(st.st_mode) || !is_buffer(fdpath))
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

static int list_entries(struct entry **out, size_t *n)
{
	struct entry *v = NULL, *grown;
	struct dirent *d;
	size_t cap = 0;
	DIR *dir = opendir(mount_dir);

	*n = 0;
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue; /* ., .., .bufinfo, anonymous leftovers */
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				closedir(dir);
				free(v);
				return -ENOMEM;
			}
			v = grown;
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
static int add_anonymous(const struct holdings *h, struct entry **v, size_t *n)
{
	struct entry *grown, *e;
	size_t i;
	int fd;

	for (i = 0; i < h->n; i++) {
		if (!h->v[i].fd_path[0] || listed(*v, *n, h->v[i].ino))
			continue;
		grown = realloc(*v, (*n + 1) * sizeof(**v));
		if (!grown)
			return -ENOMEM;
		*v = grown;
		e = memset(&(*v)[*n], 0, sizeof(**v));
		fd = open(h->v[i].fd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &e->st)) {
			if (fd >= 0)
				close(fd);
			continue; /* gone meanwhile, or not ours to see */
		}
		snprintf(e->name, sizeof(e->name), "(anonymous)");
		e->have_info = dmabuf_info(fd, &e->info) == 0;
		close(fd);
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

/* Size of buffer @ino if it has a name; anonymous ones are not listed. */
static uint64_t size_of_ino(const struct entry *v, size_t n, uint64_t ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((uint64_t)v[i].st.st_ino == ino)
			return (uint64_t)v[i].st.st_size;
	return 0;
}

static const char *state_name(uint32_t state)
{
	static const char *const names[] = {"empty", "exported", "allocated",
					    "migrating"};

	return state < 4 ? names[state] : "?";
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
		json_object_object_add(
			o, "state",
			json_object_new_string(state_name(e->info.state)));
		json_add_u64(o, "attachments", e->info.attachments);
		json_add_u64(o, "maps", e->info.maps);
		json_add_u64(o, "write_fences", e->info.write_fences);
		json_add_u64(o, "read_fences", e->info.read_fences);
		json_add_u64(o, "chunks", e->info.nr_chunks);
	}
	json_add_u64(o, "holders", holders);
	return o;
}

static int cmd_ls(int argc, char **argv)
{
	struct holdings h = {0};
	struct entry *v;
	char size[16], name[256 * 4 + 1];
	size_t n, i;
	int ret;

	(void)argv;
	if (argc > 1)
		return usage_error("ls takes no arguments");
	ret = list_entries(&v, &n);
	if (ret)
		return fail(mount_dir, ret);
	scan_holders(&h);
	ret = add_anonymous(&h, &v, &n);
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
			       e->have_info ? state_name(e->info.state) : "-",
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

static int cmd_info(int argc, char **argv)
{
	char path[4096], atts[1024] = "", pt[16] = "";
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
		       "placement:    %u chunk(s), first at %#llx\npassthrough:  %s\n"
		       "holders:      %u process(es)\n",
		       shown(e.name, name, sizeof(name)),
		       (unsigned long long)e.st.st_ino, (long long)e.st.st_size,
		       e.info.heap,
		       e.info.name[0] ? shown(e.info.name, dbg, sizeof(dbg))
				      : "<none>",
		       state_name(e.info.state), e.info.attachments,
		       atts[0] ? " (" : "", atts, atts[0] ? ")" : "",
		       e.info.maps, e.info.write_fences, e.info.read_fences,
		       e.info.nr_chunks, (unsigned long long)e.info.phys_addr,
		       pt[0] ? pt : "-", holders_of(&h, e.st.st_ino));
		each_bracket(e.st.st_ino, print_bracket, &header);
	}
	free(h.v);
	return 0;
}

/* May this user create files in the mount's root? */
static bool root_writable(void)
{
	return access(mount_dir, W_OK) == 0;
}

/* EACCES at the root: say why and what the mount's owner can do. */
static int root_not_writable(void)
{
	struct stat st;

	if (stat(mount_dir, &st))
		return fail(mount_dir, -errno);
	fprintf(stderr,
		"dmabufctl: you may not create buffers in %s: its root is mode "
		"%04o, owned by uid %u. Mount it with -o root_mode=1777 to let "
		"every user create buffers (as on /dev/shm), or ask its owner.\n",
		mount_dir, (unsigned int)(st.st_mode & 07777),
		(unsigned int)st.st_uid);
	return EXIT_FAILURE;
}

/* The mount's heaps, "system, cma", into @out. */
static const char *heap_names(char *out, size_t len)
{
	struct dmabuf_heap_info hi;
	size_t used = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; dmabuf_heap_info(mount_dir, i, &hi) == 0 && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? ", " : "", hi.name);
	return out;
}

static int no_such_heap(const char *heap)
{
	char names[512];

	fprintf(stderr, "dmabufctl: no heap '%s' on %s (heaps: %s)\n", heap,
		mount_dir, heap_names(names, sizeof(names)));
	return EXIT_FAILURE;
}

/* EFBIG: more than the heap can ever hold; say how much it can. */
static int too_big(const char *name, const char *heap, uint64_t size)
{
	struct dmabuf_heap_info hi;
	char want[16], cap[16];
	const char *option;
	uint32_t i;

	heap = heap ? heap : "system";
	for (i = 0; dmabuf_heap_info(mount_dir, i, &hi) == 0; i++)
		if (!strcmp(hi.name, heap))
			break;
	if (strcmp(hi.name, heap))
		return fail(name, -EFBIG);
	option = !strcmp(heap, "cma")	   ? "cma_size"
		 : !strcmp(heap, "system") ? "system_size"
					   : NULL; /* a plugin's own */
	human(size, want, sizeof(want));
	human(hi.capacity, cap, sizeof(cap));
	fprintf(stderr,
		"dmabufctl: %s: %s does not fit heap '%s', whose capacity is "
		"%s",
		name, want, heap, cap);
	if (option)
		fprintf(stderr, " (the mount option %s= sets it)", option);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"heap", required_argument, NULL, 'H'},
		{"name", required_argument, NULL, 'n'},
		{"alloc-now", no_argument, NULL, 'a'},
		{0},
	};
	const char *heap = NULL, *dbg = NULL;
	unsigned int flags = 0;
	struct dmabuf_info info;
	uint64_t size;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "H:n:a", opts, NULL)) != -1) {
		if (c == 'H')
			heap = optarg;
		else if (c == 'n')
			dbg = optarg;
		else if (c == 'a')
			flags |= DMABUF_EXPORT_ALLOC_NOW;
		else
			return usage_error(
				"usage: export [--heap H] [--name DBG] [--alloc-now] NAME SIZE");
	}
	if (argc - optind != 2)
		return usage_error(
			"usage: export [--heap H] [--name DBG] [--alloc-now] NAME SIZE");
	if (dmabuf_parse_size(argv[optind + 1], &size) || !size)
		return usage_error("bad size '%s' (e.g. 4096, 64K, 8M, 1G)",
				   argv[optind + 1]);
	fd = dmabuf_export(mount_dir, argv[optind], heap, size, dbg, flags);
	if (fd == -ENODEV && heap)
		return no_such_heap(heap);
	if (fd == -EFBIG)
		return too_big(argv[optind], heap, size);
	if (fd == -EACCES && !root_writable())
		return root_not_writable();
	if (fd < 0)
		return fail(argv[optind], fd);
	dmabuf_info(fd, &info);
	close(fd);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_add_name(o, "name", argv[optind]);
		json_add_u64(o, "ino", info.ino);
		json_add_u64(o, "size", info.size);
		json_add_name(o, "heap", info.heap);
		json_print(o);
	} else
		printf("exported %s: %llu bytes on heap %s (inode %llu)\n",
		       argv[optind], (unsigned long long)info.size, info.heap,
		       (unsigned long long)info.ino);
	return 0;
}

static int cmd_heaps(int argc, char **argv)
{
	struct json_object *a = json ? json_object_new_array() : NULL;
	struct dmabuf_heap_info hi;
	char cap[16], used[16], fr[16], largest[16];
	uint32_t i;
	int ret;

	(void)argv;
	if (argc > 1)
		return usage_error("heaps takes no arguments");
	if (!json)
		printf("%-10s %9s %9s %9s %9s %6s\n", "HEAP", "CAPACITY",
		       "USED", "FREE", "LARGEST", "FRAG");
	for (i = 0; (ret = dmabuf_heap_info(mount_dir, i, &hi)) == 0; i++) {
		uint64_t free_b = hi.capacity - hi.used;
		double frag = free_b ? 100.0 * (1.0 - (double)hi.largest_free /
							      (double)free_b)
				     : 0.0;

		if (frag < 0)
			frag = 0;
		if (json) {
			struct json_object *o = json_object_new_object();

			json_add_name(o, "name", hi.name);
			json_add_u64(o, "capacity", hi.capacity);
			json_add_u64(o, "used", hi.used);
			json_add_u64(o, "largest_free", hi.largest_free);
			json_object_object_add(
				o, "fragmentation",
				json_object_new_double(
					(double)(long)(frag * 10 + 0.5) / 10));
			json_object_array_add(a, o);
			continue;
		}
		human(hi.capacity, cap, sizeof(cap));
		human(hi.used, used, sizeof(used));
		human(free_b, fr, sizeof(fr));
		human(hi.largest_free, largest, sizeof(largest));
		printf("%-10s %9s %9s %9s %9s %5.1f%%\n", hi.name, cap, used,
		       fr, largest, frag);
	}
	if (a && ret == -ENOENT)
		json_print(a);
	else if (a)
		json_object_put(a);
	return ret == -ENOENT ? 0 : fail(mount_dir, ret);
}

static struct json_object *device_json(const struct dmabuf_device_desc *d)
{
	struct json_object *o = json_object_new_object();

	json_add_name(o, "name", d->name);
	json_add_u64(o, "dma_bits", d->dma_bits);
	json_add_u64(o, "max_segments", d->max_segments);
	json_add_u64(o, "max_segment_size", d->max_segment_size);
	json_add_u64(o, "segment_boundary", d->segment_boundary);
	json_add_u64(o, "alignment", d->alignment);
	json_object_object_add(
		o, "iommu",
		json_object_new_boolean(!!(d->flags & DMABUF_DEVICE_IOMMU)));
	json_object_object_add(
		o, "coherent",
		json_object_new_boolean(!!(d->flags & DMABUF_DEVICE_COHERENT)));
	return o;
}

static void print_device(const struct dmabuf_device_desc *d)
{
	printf("%-12s %4u %8u %10llu %12llx %9llu  %s%s\n", d->name,
	       d->dma_bits, d->max_segments,
	       (unsigned long long)d->max_segment_size,
	       (unsigned long long)d->segment_boundary,
	       (unsigned long long)d->alignment,
	       d->flags & DMABUF_DEVICE_IOMMU ? "iommu " : "",
	       d->flags & DMABUF_DEVICE_COHERENT ? "coherent" : "");
}

/* What each word of a device description takes, for the error message. */
static const struct {
	const char *key, *takes;
} device_words[] = {
	{"dma_bits", "a number from 0 to 64 (addressable bits)"},
	{"max_segments", "a number from 0 to 4294967295 (1: contiguous)"},
	{"max_segment_size", "a size, e.g. 64K or 4M"},
	{"segment_boundary", "a mask, e.g. 0xffffffff, or a size"},
	{"alignment", "a size, e.g. 4K"},
	{"iommu", "no value"},
	{"coherent", "no value"},
};

/*
 * dmabuf_device_parse() said EINVAL: name the first word it refuses and
 * what that word takes, or the words there are.
 */
static int bad_device_word(int argc, char **argv)
{
	struct dmabuf_device_desc d;
	char one[512];
	size_t i, n;
	int a;

	for (a = 2; a < argc; a++) {
		snprintf(one, sizeof(one), "x %s", argv[a]);
		if (dmabuf_device_parse(one, &d) == 1)
			continue;
		n = strcspn(argv[a], "=");
		for (i = 0; i < sizeof(device_words) / sizeof(device_words[0]);
		     i++)
			if (strlen(device_words[i].key) == n &&
			    !strncmp(argv[a], device_words[i].key, n))
				return usage_error("devices add: '%s' is not "
						   "valid: %s takes %s",
						   argv[a], device_words[i].key,
						   device_words[i].takes);
		return usage_error("devices add: unknown word '%s' (words: "
				   "dma_bits=, max_segments=, "
				   "max_segment_size=, segment_boundary=, "
				   "alignment=, iommu, coherent)",
				   argv[a]);
	}
	return usage_error("devices add: bad device name '%s'", argv[1]);
}

static int devices_add(int argc, char **argv)
{
	struct dmabuf_device_desc d;
	char line[512] = "";
	size_t used = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		int n = snprintf(line + used, sizeof(line) - used, "%s ",
				 argv[i]);

		if (n < 0 || (size_t)n >= sizeof(line) - used)
			return usage_error("device description too long");
		used += (size_t)n;
	}
	if (argc > 2 && dmabuf_device_parse(line, &d) == -EINVAL)
		return bad_device_word(argc, argv);
	if (dmabuf_device_parse(line, &d) != 1)
		return usage_error(
			"usage: devices add NAME [dma_bits=N] [max_segments=N] "
			"[max_segment_size=SIZE] [segment_boundary=MASK] "
			"[alignment=SIZE] [iommu] [coherent]");
	ret = dmabuf_device_add(mount_dir, &d);
	if (ret)
		return fail(d.name, ret);
	if (!json)
		printf("added device %s\n", d.name);
	return 0;
}

static int cmd_devices(int argc, char **argv)
{
	struct dmabuf_device_desc *v;
	uint32_t n, i;
	int ret;

	if (argc > 1 && !strcmp(argv[1], "add"))
		return devices_add(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "remove")) {
		if (argc != 3)
			return usage_error("usage: devices remove NAME");
		ret = dmabuf_device_remove(mount_dir, argv[2]);
		if (ret)
			return fail(argv[2], ret);
		if (!json)
			printf("removed device %s\n", argv[2]);
		return 0;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "list")))
		return usage_error(
			"usage: devices [list | add NAME ... | remove NAME]");
	ret = dmabuf_device_list(mount_dir, &v, &n);
	if (ret)
		return fail(mount_dir, ret);
	if (json) {
		struct json_object *a = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(a, device_json(&v[i]));
		json_print(a);
	} else {
		printf("%-12s %4s %8s %10s %12s %9s  %s\n", "DEVICE", "BITS",
		       "MAXSEGS", "MAXSEGSIZE", "BOUNDARY", "ALIGN", "FLAGS");
		for (i = 0; i < n; i++)
			print_device(&v[i]);
	}
	free(v);
	return 0;
}

static int cmd_who(int argc, char **argv)
{
	char size[16], comm[32 * 4 + 1], shown_name[256 * 4 + 1];
	struct json_object *a = NULL;
	struct holdings h = {0};
	struct entry *v = NULL;
	size_t n = 0, i, j;

	(void)argv;
	if (argc > 1)
		return usage_error("who takes no arguments");
	list_entries(&v, &n);
	if (scan_holders(&h))
		return fail(mount_dir, errno);
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * A whole decimal number between @min and @max, or a message naming the
 * option: the one check for every numeric argument.
 */
static int count_arg(const char *opt, const char *text, long min, long max,
		     long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	if (*text < '0' || *text > '9' || *end || errno || *out < min ||
	    *out > max)
		return usage_error("%s: \"%s\" is not a number between %ld "
				   "and %ld",
				   opt, text, min, max);
	return 0;
}

/* Seconds, with a fraction: 0.1 to 3600. */
static int seconds_arg(const char *opt, const char *text, long *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (*text < '0' || *text > '9' || *end || errno || s < 0.1 || s > 3600)
		return usage_error("%s: \"%s\" is not a number of seconds "
				   "between 0.1 and 3600",
				   opt, text);
	*ms = (long)(s * 1000 + 0.5);
	return 0;
}

/* A number in .stats text: the value of "KEY N" or "KEY=N" after @from. */
static unsigned long long stat_value(const char *from, const char *key)
{
	const char *p = strstr(from, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void quota_text(unsigned long long held, unsigned long long max,
		       char *out, size_t len)
{
	char h[16], m[16];

	human(held, h, sizeof(h));
	human(max, m, sizeof(m));
	if (max)
		snprintf(out, len, "%s/%s", h, m);
	else
		snprintf(out, len, "%s", h);
}

/*
 * What each uid holds against its limits, from .stats (which shows root
 * and the mount's owner every uid, anyone else its own).
 */
static void print_uids(void)
{
	unsigned long long max_bytes, max_cma;
	char path[4096], *text = NULL, *line, bytes[40], cma[40];
	size_t len = 0;
	FILE *f;

	if (path_in_mount(".stats", path, sizeof(path)))
		return;
	f = fopen(path, "re");
	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		if (f)
			fclose(f);
		free(text);
		return;
	}
	fclose(f);
	max_bytes = stat_value(text, "\nmax_bytes ");
	max_cma = stat_value(text, "\ncma_max_bytes ");
	printf("%7s %8s %8s %8s %19s %19s\n", "UID", "BUFFERS", "ATTACH",
	       "DEVMAPS", "BYTES/QUOTA", "CMA/QUOTA");
	for (line = strstr(text, "\nuid "); line;
	     line = strstr(line + 1, "\nuid ")) {
		quota_text(stat_value(line, " bytes="), max_bytes, bytes,
			   sizeof(bytes));
		quota_text(stat_value(line, " cma_bytes="), max_cma, cma,
			   sizeof(cma));
		printf("%7llu %8llu %8llu %8llu %19s %19s\n",
		       stat_value(line, "\nuid "),
		       stat_value(line, " buffers="),
		       stat_value(line, " attachments="),
		       stat_value(line, " mappings="), bytes, cma);
	}
	free(text);
}

static int cmd_top(int argc, char **argv)
{
	long count = -1, interval_ms = 1000;
	struct timespec ts;
	bool tty = isatty(STDOUT_FILENO);
	char *noargs[] = {argv[0], NULL};
	int c, ret = 0;

	if (json)
		return usage_error("top has no JSON output: use ls --json or "
				   "heaps --json");
	optind = 1;
	while (!ret && (c = getopt(argc, argv, "n:d:")) != -1) {
		if (c == 'n')
			ret = count_arg("-n", optarg, 1, 1000000, &count);
		else if (c == 'd')
			ret = seconds_arg("-d", optarg, &interval_ms);
		else
			ret = usage_error("usage: top [-n COUNT] [-d SECONDS]");
	}
	if (ret)
		return ret;
	if (optind != argc)
		return usage_error("usage: top [-n COUNT] [-d SECONDS]");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	json = false;
	while (!stop && count != 0) {
		if (tty)
			fputs("\033[H\033[2J", stdout);
		if (count == 1) /* the last (or only) screen: nothing to quit */
			printf("dmabuffs at %s\n\n", mount_dir);
		else
			printf("dmabuffs at %s — refreshing every %.1f s, "
			       "Ctrl-C to quit\n\n",
			       mount_dir, (double)interval_ms / 1000);
		if (cmd_heaps(1, noargs))
			return EXIT_FAILURE;
		putchar('\n');
		cmd_ls(1, noargs);
		putchar('\n');
		cmd_who(1, noargs);
		putchar('\n');
		print_uids();
		fflush(stdout);
		if (count > 0 && --count == 0)
			break;
		ts.tv_sec = interval_ms / 1000;
		ts.tv_nsec = (interval_ms % 1000) * 1000000L;
		nanosleep(&ts,
			  NULL); /* a display refresh, not a wait on anyone */
	}
	return 0;
}

/* ---- fill and dump: file I/O with io_uring into the zero-copy mapping ---- */

#define CHUNK (1u << 20)
#define DEPTH 8

static void progress(uint64_t done, uint64_t total, bool show)
{
	int width = 40, filled;

	if (!show)
		return;
	filled = total ? (int)(done * (uint64_t)width / total) : width;
	fprintf(stderr, "\r[%.*s%*s] %3d%%", filled,
		"########################################", width - filled, "",
		total ? (int)(done * 100 / total) : 100);
	if (done == total)
		fputc('\n', stderr);
}

/* One request of a copy: the part of its chunk not yet moved. */
struct copy_slot {
	uint64_t off;
	unsigned int len;
};

/*
 * A stream (pipe, terminal) has no offsets: one request at a time, at its
 * current position.
 */
static void queue_slot(struct io_uring *ring, int file, char *mem,
		       struct copy_slot *slot, bool to_mem, bool stream)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint64_t pos = stream ? (uint64_t)-1 : slot->off;

	if (to_mem)
		io_uring_prep_read(sqe, file, mem + slot->off, slot->len, pos);
	else
		io_uring_prep_write(sqe, file, mem + slot->off, slot->len, pos);
	io_uring_sqe_set_data(sqe, slot);
}

/*
 * A completion: a short one queues the rest of its chunk again.  Return 1
 * when the slot is free, 0 when requeued, -errno on error; *@eof is set
 * when a stream ended.
 */
static int complete_slot(struct io_uring *ring, struct io_uring_cqe *cqe,
			 int file, char *mem, bool to_mem, bool stream,
			 uint64_t *done, bool *eof)
{
	struct copy_slot *slot = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	if (res < 0)
		return res;
	if (res == 0 && stream && to_mem) {
		*eof = true;
		return 1;
	}
	if (res == 0)
		return -EIO; /* the file ended early, or took nothing */
	*done += (uint64_t)res;
	if ((unsigned int)res == slot->len)
		return 1;
	slot->off += (uint64_t)res;
	slot->len -= (unsigned int)res;
	queue_slot(ring, file, mem, slot, to_mem, stream);
	return 0;
}

/*
 * Move up to @len bytes between @file and @mem with up to DEPTH requests in
 * flight, resubmitting the rest of any short read or write.  A stream is
 * read until it ends.  Return 0 or -errno; *@moved is what was copied.
 */
static int uring_copy(int file, char *mem, uint64_t len, bool to_mem,
		      bool stream, uint64_t *moved)
{
	bool show = isatty(STDERR_FILENO) && len >= (16u << 20), eof = false;
	unsigned int depth = stream ? 1 : DEPTH, inflight = 0, i;
	struct copy_slot slots[DEPTH], *free_slots[DEPTH];
	uint64_t queued = 0, done = 0;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int ret = io_uring_queue_init(DEPTH, &ring, 0), r;

	if (ret)
		return ret;
	for (i = 0; i < depth; i++)
		free_slots[i] = &slots[i];
	while ((done < len && !eof) || inflight) {
		while (!ret && !eof && inflight < depth && queued < len) {
			struct copy_slot *slot = free_slots[inflight++];

			slot->off = queued;
			slot->len = len - queued < CHUNK
					    ? (unsigned int)(len - queued)
					    : CHUNK;
			queued += slot->len;
			queue_slot(&ring, file, mem, slot, to_mem, stream);
		}
		if (!inflight)
			break;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR) {
			ret = ret ? ret : r;
			break;
		}
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct copy_slot *slot = io_uring_cqe_get_data(cqe);

			r = complete_slot(&ring, cqe, file, mem, to_mem, stream,
					  &done, &eof);
			io_uring_cqe_seen(&ring, cqe);
			if (r != 0) {
				free_slots[--inflight] = slot;
				ret = ret ? ret : (r < 0 ? r : 0);
			}
		}
		progress(done, len, show && !ret && !eof);
	}
	io_uring_queue_exit(&ring);
	*moved = done;
	return ret;
}

static int open_buffer(const char *name, int flags)
{
	char path[4096];

	if (path_in_mount(name, path, sizeof(path)))
		return -ENAMETOOLONG;
	return dmabuf_open(path, flags);
}

/*
 * A CPU bracket waits while devices own the bytes: say for what, so that a
 * person sees why fill or dump does not finish.
 */
static void say_what_it_waits_for(const char *name, int buf, bool write)
{
	char path[4096], who[1024];
	struct dmabuf_info info;
	ssize_t n;

	if (dmabuf_info(buf, &info) ||
	    !(write ? info.write_fences + info.read_fences
		    : info.write_fences) ||
	    path_in_mount(name, path, sizeof(path)))
		return;
	n = getxattr(path, "user.dmabuf.waits_for", who, sizeof(who) - 1);
	who[n > 0 ? n : 0] = '\0';
	fprintf(stderr,
		"dmabufctl: %s: waiting for device mappings to end: %s\n"
		"  (another user's end after the mount's fence_timeout_ms; "
		"the owner may run dmabufctl revoke %s)\n",
		name, n > 0 ? who : "?", name);
}

/* A buffer not exported yet has no memory to fill: say what to do. */
static int unsized(const char *name, int buf)
{
	struct dmabuf_info info;

	if (dmabuf_info(buf, &info) || info.size)
		return 0;
	fprintf(stderr,
		"dmabufctl: %s has no size yet: export it first "
		"(dmabufctl export NAME SIZE, or truncate -s SIZE)\n",
		name);
	close(buf);
	return EXIT_FAILURE;
}

static int cmd_fill(int argc, char **argv)
{
	uint64_t len, moved = 0;
	struct dmabuf_mapping *m;
	bool stream;
	struct stat st;
	int buf, file, ret;
	char more;

	if (argc != 3)
		return usage_error("usage: fill NAME FILE");
	file = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (file < 0 || fstat(file, &st))
		return fail(argv[2], errno);
	stream = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	buf = open_buffer(argv[1], O_RDWR);
	if (buf < 0)
		return fail(argv[1], buf);
	ret = unsized(argv[1], buf);
	if (ret)
		return ret;
	ret = dmabuf_mmap(buf, PROT_READ | PROT_WRITE, &m);
	if (ret)
		return fail(argv[1], ret);
	if ((uint64_t)st.st_size > dmabuf_mapping_size(m)) {
		fprintf(stderr,
			"dmabufctl: %s (%lld bytes) does not fit in %s (%llu bytes)\n",
			argv[2], (long long)st.st_size, argv[1],
			(unsigned long long)dmabuf_mapping_size(m));
		return EXIT_FAILURE;
	}
	len = stream ? dmabuf_mapping_size(m) : (uint64_t)st.st_size;
	say_what_it_waits_for(argv[1], buf, true);
	ret = dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE);
	if (!ret && len)
		ret = uring_copy(file, dmabuf_mapping_addr(m), len, true,
				 stream, &moved);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE);
	if (!ret && stream && moved == len && read(file, &more, 1) == 1) {
		fprintf(stderr,
			"dmabufctl: %s: more than the %llu bytes of %s\n",
			argv[2], (unsigned long long)len, argv[1]);
		ret = -EFBIG;
	}
	dmabuf_munmap(m);
	close(buf);
	close(file);
	if (ret)
		return fail(argv[2], ret);
	if (!json)
		printf("filled %s with %llu bytes from %s\n", argv[1],
		       (unsigned long long)moved, argv[2]);
	return 0;
}

static int cmd_dump(int argc, char **argv)
{
	struct dmabuf_mapping *m;
	uint64_t size, moved;
	int buf, file, ret;
	struct stat st;

	if (argc != 3)
		return usage_error("usage: dump NAME FILE");
	buf = open_buffer(argv[1], O_RDONLY);
	if (buf < 0)
		return fail(argv[1], buf);
	ret = unsized(argv[1], buf);
	if (ret)
		return ret;
	ret = dmabuf_mmap(buf, PROT_READ, &m);
	if (ret)
		return fail(argv[1], ret);
	size = dmabuf_mapping_size(m);
	file = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (file < 0)
		return fail(argv[2], errno);
	if (fstat(file, &st))
		return fail(argv[2], errno);
	say_what_it_waits_for(argv[1], buf, false);
	ret = dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ);
	if (!ret)
		ret = uring_copy(file, dmabuf_mapping_addr(m), size, false,
				 !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode),
				 &moved);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_READ);
	dmabuf_munmap(m);
	close(buf);
	if (close(file) && !ret)
		ret = -errno;
	if (ret)
		return fail(argv[2], ret);
	if (!json)
		printf("dumped %llu bytes of %s to %s\n",
		       (unsigned long long)size, argv[1], argv[2]);
	return 0;
}

/* ---- revoke: end other holders' device mappings ---- */

static int cmd_revoke(int argc, char **argv)
{
	long pid = 0;
	int buf, n, ret;

	if (argc < 2 || argc > 3)
		return usage_error("usage: revoke NAME [PID]");
	if (argc == 3) {
		ret = count_arg("PID", argv[2], 1, INT32_MAX, &pid);
		if (ret)
			return ret;
	}
	buf = open_buffer(argv[1], O_RDONLY);
	if (buf < 0)
		return fail(argv[1], buf);
	n = dmabuf_revoke(buf, (pid_t)pid);
	close(buf);
	if (n < 0)
		return fail(argv[1], n);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_add_name(o, "name", argv[1]);
		json_add_u64(o, "revoked", (uint64_t)n);
		json_print(o);
	} else {
		printf("revoked %d device mapping(s) of %s\n", n, argv[1]);
	}
	return 0;
}

/* ---- run: unmodified programs under the compat layer ---- */

/*
 * Where libdmabuf-compat.so is: $DMABUF_COMPAT_LIB, else beside this
 * program's own lib directory (build/tools -> build/lib, PREFIX/bin ->
 * PREFIX/lib), else left to the dynamic loader's search path.
 */
static void compat_lib_path(char *out, size_t len)
{
	const char *env = getenv("DMABUF_COMPAT_LIB");
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	snprintf(out, len, "libdmabuf-compat.so");
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (snprintf(out, len, "%s/../lib/libdmabuf-compat.so", exe) >=
		    (int)len ||
	    access(out, R_OK))
		snprintf(out, len, "libdmabuf-compat.so");
}

/* @prog as execvp(3) would find it, for the static-binary check. */
static bool find_program(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save;
	bool found = false;

	if (strchr(prog, '/')) {
		snprintf(out, len, "%s", prog);
		return access(out, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *dir ? dir : ".", prog);
		found = access(out, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* An ELF executable with no program interpreter is statically linked. */
static bool is_static_elf(const char *path)
{
	unsigned char ehdr[64], phdr[56];
	uint64_t phoff;
	uint16_t phnum, phentsize, i;
	bool is_static = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (pread(fd, ehdr, sizeof(ehdr), 0) != sizeof(ehdr) ||
	    memcmp(ehdr, "\177ELF", 4) || ehdr[4] != 2 /* ELFCLASS64 */)
		goto out;
	memcpy(&phoff, ehdr + 32, 8);
	memcpy(&phentsize, ehdr + 54, 2);
	memcpy(&phnum, ehdr + 56, 2);
	is_static = phentsize >= sizeof(phdr);
	for (i = 0; i < phnum && is_static; i++) {
		uint32_t type;

		if (pread(fd, phdr, sizeof(phdr),
			  (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    sizeof(phdr))
			break;
		memcpy(&type, phdr, 4);
		if (type == 3 /* PT_INTERP */)
			is_static = false;
	}
out:
	close(fd);
	return is_static;
}

static int cmd_run(int argc, char **argv)
{
	char lib[4096], mnt[4096], heaps[4096 + 8], prog[4096], *preload;
	const char *old = getenv("LD_PRELOAD");
	bool sanitize = false;
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--sanitize")) {
		sanitize = true; /* dmabuf-sanitizer(7) */
		i++;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		return usage_error(
			"usage: run [--sanitize] [--] PROGRAM [ARGS...]");
	if (!realpath(mount_dir, mnt))
		return fail(mount_dir, errno);
	snprintf(heaps, sizeof(heaps), "%s/.heaps", mnt);
	if (access(heaps, F_OK)) {
		fprintf(stderr,
			"dmabufctl: %s is not a dmabuffs mount with device "
			"nodes (no .heaps); mount one or name it with -m\n",
			mnt);
		return EXIT_FAILURE;
	}
	if (find_program(argv[i], prog, sizeof(prog)) && is_static_elf(prog))
		fprintf(stderr,
			"dmabufctl: %s is statically linked: the compat layer "
			"(an LD_PRELOAD library) cannot reach it, so it sees "
			"no /dev/dma_heap or /dev/udmabuf; see "
			"dmabuf-compat(7)\n",
			prog);
	compat_lib_path(lib, sizeof(lib));
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "",
		     old && *old ? old : "") < 0)
		return fail("LD_PRELOAD", ENOMEM);
	if (setenv("LD_PRELOAD", preload, 1) ||
	    setenv("DMABUF_MOUNT", mnt, 1) ||
	    (sanitize && setenv("DMABUF_SANITIZE", "1", 1)))
		return fail("environment", errno);
	free(preload);
	/* The program's exit status is ours: it replaces this process. */
	execvp(argv[i], argv + i);
	fprintf(stderr, "dmabufctl: cannot run %s: %s\n", argv[i],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* ---- main ---- */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct command commands[] = {
	{"export", cmd_export,
	 "[--heap H] [--name DBG] [--alloc-now] NAME SIZE",
	 "create and size a buffer (SIZE takes K/M/G)"},
	{"ls", cmd_ls, "",
	 "list buffers: name, inode, size, heap, state, attachments, maps, holders"},
	{"info", cmd_info, "NAME", "everything about one buffer"},
	{"heaps", cmd_heaps, "", "heap capacity, use and fragmentation"},
	{"devices", cmd_devices, "[list | add NAME key=value... | remove NAME]",
	 "the device registry (see dmabuffs-devices(5))"},
	{"who", cmd_who, "",
	 "which processes hold which buffers (fds, mappings), per-process totals"},
	{"top", cmd_top, "[-n COUNT] [-d SECONDS]",
	 "a live view of heaps, buffers and holders"},
	{"fill", cmd_fill, "NAME FILE",
	 "copy FILE into a buffer through its zero-copy mapping"},
	{"dump", cmd_dump, "NAME FILE",
	 "copy a buffer into FILE through its zero-copy mapping"},
	{"revoke", cmd_revoke, "NAME [PID]",
	 "end the device mappings other users (or process PID) keep of a "
	 "buffer you own"},
	{"run", cmd_run, "[--sanitize] [--] PROGRAM [ARGS...]",
	 "run an unmodified program with /dev/dma_heap and /dev/udmabuf served "
	 "by the mount (see dmabuf-compat(7))"},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(*commands))

static void help(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: dmabufctl [-m MOUNT] [--json] COMMAND [ARGS]\n\n"
		"Inspect and use a dmabuffs mount (default $DMABUF_MOUNT or %s).\n\n"
		"commands:\n",
		DMABUF_DEFAULT_MOUNT);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n           %s\n", commands[i].name,
			commands[i].args, commands[i].help);
	fprintf(out,
		"\noptions:\n  -m, --mount DIR  the dmabuffs mount\n"
		"  -j, --json       JSON output for scripts\n"
		"  -h, --help       this help; COMMAND --help for one command\n"
		"\nExit status: 0 success, 1 failure, 2 usage error. See dmabufctl(1).\n");
}

/*
 * The dmabuffs mount the working directory is in, if any: the longest
 * fuse.dmabuffs mount point above it, from mountinfo.
 */
static const char *mount_of_cwd(void)
{
	static char best[4096];
	char cwd[4096], line[8192], mp[4096], type[64];
	FILE *f;
	size_t len;

	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	f = fopen("/proc/self/mountinfo", "re");
	best[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*d %*d %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s", type) != 1 ||
		    strcmp(type, "fuse.dmabuffs"))
			continue;
		len = strlen(mp);
		if (!strncmp(cwd, mp, len) &&
		    (cwd[len] == '/' || cwd[len] == '\0' || len == 1) &&
		    len > strlen(best))
			snprintf(best, sizeof(best), "%s", mp);
	}
	if (f)
		fclose(f);
	return best[0] ? best : NULL;
}

/* -m, then $DMABUF_MOUNT, then the mount we are in, then /run/dmabuf. */
static const char *default_mount(void)
{
	const char *env = getenv("DMABUF_MOUNT"), *here;

	if (env && *env)
		return env;
	here = mount_of_cwd();
	return here ? here : dmabuf_mount_path();
}

/* A mount of ours answers statfs as FUSE and has .stats at its root. */
static int check_mount(void)
{
	char path[4096];
	struct statfs sfs;
	struct stat st;

	if (statfs(mount_dir, &sfs) && errno == ENOTCONN) {
		fprintf(stderr,
			"dmabufctl: the daemon of %s is gone (the mount is dead: "
			"Transport endpoint is not connected); unmount it with "
			"'fusermount3 -u %s' and mount it again\n",
			mount_dir, mount_dir);
		return EXIT_FAILURE;
	}
	if (statfs(mount_dir, &sfs) || sfs.f_type != FUSE_SUPER_MAGIC ||
	    path_in_mount(".stats", path, sizeof(path)) || stat(path, &st)) {
		fprintf(stderr,
			"dmabufctl: %s is not a dmabuffs mount (use -m DIR or "
			"set DMABUF_MOUNT)\n",
			mount_dir);
		return EXIT_FAILURE;
	}
	return 0;
}

/*
 * -m/--mount and -j/--json may come before the command or after it, as in
 * ip(8) or git(1): take them out of the command's arguments.  run's
 * program and its arguments are left alone.
 *
 * Return: the number of arguments left, or -1 after a usage message.
 */
static int take_global_options(int argc, char **argv, bool stop_at_operand)
{
	int i, out = 1;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (!strcmp(a, "--") || (stop_at_operand && a[0] != '-')) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			json = true;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--mount")) {
			if (++i == argc) {
				usage_error("%s needs a directory", a);
				return -1;
			}
			mount_dir = argv[i];
		} else if (!strncmp(a, "--mount=", 8)) {
			mount_dir = a + 8;
		} else {
			argv[out++] = a;
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mount", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, i, ret;
	size_t k;

	mount_dir = default_mount();
	while ((c = getopt_long(argc, argv, "+m:jh", opts, NULL)) != -1) {
		if (c == 'm')
			mount_dir = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'h')
			break;
		else
			return usage_error("unknown option");
	}
	if (c == 'h') {
		help(stdout);
		return 0;
	}
	if (optind >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}
	for (k = 0; k < NR_COMMANDS; k++) {
		if (strcmp(argv[optind], commands[k].name))
			continue;
		/* run's arguments after the first are the program's */
		for (i = optind + 1; i < argc && (commands[k].run != cmd_run ||
						  i == optind + 1);
		     i++)
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h")) {
				printf("usage: dmabufctl %s %s\n  %s\n",
				       commands[k].name, commands[k].args,
				       commands[k].help);
				return 0;
			}
		argc = take_global_options(argc - optind, argv + optind,
					   commands[k].run == cmd_run);
		if (argc < 0)
			return EXIT_USAGE;
		ret = check_mount();
		return ret ? ret : commands[k].run(argc, argv + optind);
	}
	return usage_error("unknown command '%s'", argv[optind]);
}
