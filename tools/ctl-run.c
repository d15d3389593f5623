// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl run: an unmodified program on the mount
 *
 * Starts PROGRAM with libdmabuf-compat.so preloaded (lib/compat), so that
 * its /dev/dma_heap and /dev/udmabuf are the mount's, and says why a
 * static program cannot be served.
 *
 * Calls ctl-util.c only.
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

int cmd_run(int argc, char **argv)
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
