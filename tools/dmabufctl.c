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
 *
 * The top of the tool: it dispatches to the command files; nothing calls
 * into it.
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
#include "mountinfo.h"

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

void help(FILE *out)
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
	static char best[PATH_MAX];
	struct dmabuf_mountinfo m;
	char cwd[PATH_MAX];
	FILE *f;
	size_t len;

	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	f = fopen("/proc/self/mountinfo", "re");
	best[0] = '\0';
	while (f && dmabuf_mountinfo_next(f, &m)) {
		if (strcmp(m.fstype, "fuse.dmabuffs"))
			continue;
		len = strlen(m.mount_point);
		if (!strncmp(cwd, m.mount_point, len) &&
		    (cwd[len] == '/' || cwd[len] == '\0' || len == 1) &&
		    len > strlen(best))
			snprintf(best, sizeof(best), "%s", m.mount_point);
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
