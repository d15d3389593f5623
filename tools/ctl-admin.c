// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl export, heaps, devices, top and revoke
 *
 * Making buffers, the heaps and devices of the mount, the daemon's
 * counters and per-uid quotas (top), and ending other holders' device
 * mappings (revoke).  Errors say what to do next: which heaps exist, which
 * option raises a capacity, which device word is wrong.
 *
 * Calls ctl-util.c, ctl-io.c (open_buffer), ctl-who.c (top's tables) and
 * libdmabuf.
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

int cmd_export(int argc, char **argv)
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

int cmd_heaps(int argc, char **argv)
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

int cmd_devices(int argc, char **argv)
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
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

int cmd_top(int argc, char **argv)
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

/* ---- revoke: end other holders' device mappings ---- */

int cmd_revoke(int argc, char **argv)
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
