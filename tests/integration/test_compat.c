// SPDX-License-Identifier: MIT
/*
 * Unmodified programs under `dmabufctl run`: the programs in tests/compat
 * are built against the system's uapi headers only and check, line by line,
 * what the kernel's /dev/dma_heap and /dev/udmabuf promise.  Here they run
 * on a real mount; so do the kernel's own dma-heap and udmabuf selftests
 * when ../shared/tools/kernel-selftests has built them.
 */
#include <sys/mman.h>

#include "mount.h"

TestSuite(compat, .init = mount_default, .fini = unmount_all, .timeout = 120);

static const char *ctl(void)
{
	static char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s", build_path("tools/dmabufctl"));
	return path;
}

static const char *prog(const char *name)
{
	static char path[PATH_MAX * 2];
	char rel[64];

	snprintf(rel, sizeof(rel), "tests/compat/%s", name);
	snprintf(path, sizeof(path), "%s", build_path(rel));
	return path;
}

/* Run @name under the layer; its exit status; its output in the log. */
static int run_compat(const char *name)
{
	return sh("%s -m $MNT run %s >%s/%s.out 2>&1; rc=$?; "
		  "[ $rc = 0 ] || cat %s/%s.out; exit $rc",
		  ctl(), prog(name), M.dir, name, M.dir, name);
}

Test(compat, heap_client_passes_every_check)
{
	cr_assert_eq(run_compat("heap_client"), 0);
	cr_assert_eq(sh("grep -q '^72 checks, 0 failed' %s/heap_client.out",
			M.dir),
		     0);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10),
		  "every buffer went with its fds");
}

Test(compat, udmabuf_client_passes_every_check)
{
	cr_assert_eq(run_compat("udmabuf_client"), 0);
	cr_assert_eq(sh("grep -q ' 0 failed' %s/udmabuf_client.out", M.dir), 0);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10),
		  "the memfds' pages are let go with the last fd");
}

/* A holder killed mid-use: its buffers show while it lives, then go. */
Test(compat, killed_program_leaves_nothing)
{
	char line[64] = "";
	int out[2];
	FILE *f;
	pid_t pid;

	cr_assert_eq(pipe(out), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		setenv("DMABUF_MOUNT", M.mp, 1);
		execl(ctl(), "dmabufctl", "run", "--", prog("heap_client"),
		      "--hold", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	cr_assert(fgets(line, sizeof(line), f) && !strcmp(line, "holding\n"),
		  "the program allocated and mapped: %s", line);
	cr_assert_eq(sh("grep -q '^04194304.*system' $MNT/.bufinfo"), 0,
		     "its buffer shows in .bufinfo");
	cr_assert_eq(sh("%s -m $MNT who | grep -q heap_client", ctl()), 0,
		     "and in dmabufctl who");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fclose(f);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10),
		  "killed: its buffer is gone");
}

Test(compat, run_reports_like_a_launcher)
{
	cr_assert_eq(sh("%s -m $MNT run -- sh -c 'exit 7'", ctl()), 7,
		     "the program's exit status is run's");
	cr_assert_eq(sh("%s -m $MNT run 2>/dev/null", ctl()), 2, "no program");
	cr_assert_eq(sh("%s -m $MNT run /no/such 2>/dev/null", ctl()), 127);
	cr_assert_eq(sh("%s -m /tmp run true 2>&1 | grep -q 'not a dmabuffs "
			"mount'",
			ctl()),
		     0);
	cr_assert_eq(sh("%s -m $MNT run -- sh -c 'test -d /dev/dma_heap && "
			"ls /dev/dma_heap | grep -qx cma && "
			"sh -c \"test -e /dev/udmabuf\"'",
			ctl()),
		     0, "children and exec'd programs see the paths too");
	cr_assert_eq(sh("%s -m $MNT run %s 2>&1 >/dev/null | grep -q "
			"'statically linked'",
			ctl(), prog("heap_client-static")),
		     0, "a static program gets a clear message");
}

/* Without the layer, the daemon says how to run the program. */
Test(compat, heap_ioctl_without_the_layer_says_how)
{
	struct {
		__u64 len;
		__u32 fd, fd_flags;
		__u64 heap_flags;
	} d = {.len = 4096, .fd_flags = O_RDWR};
	int heap = open(at(".heaps/system"), O_RDWR);

	cr_assert_geq(heap, 0);
	cr_assert_eq(ioctl(heap, _IOWR('H', 0, d), &d), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(sh("grep -q 'dmabufctl run' %s", M.log), 0);
	cr_assert_eq(write(heap, "x", 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(unlink(at(".heaps/system")), -1);
	cr_assert_eq(unlink(at(".udmabuf")), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(sh("ls $MNT/.heaps | tr '\\n' ' ' | grep -qx 'cma system '"),
		     0);
	close(heap);
}

static const char *kselftest(const char *name)
{
	static char path[PATH_MAX];
	const char *cache = getenv("KSELFTEST_CACHE");

	snprintf(path, sizeof(path), "%s/bin/%s",
		 cache ? cache : "/tmp/dmabuf-kselftests", name);
	return path;
}

/* The kernel's own selftests, unmodified (built by the shared tool). */
Test(compat, kernel_selftests)
{
	if (access(kselftest("dmabuf-heap"), X_OK))
		cr_skip_test("no kernel selftests built: run "
			     "../shared/tools/kernel-selftests");
	cr_assert_eq(sh("%s -m $MNT run %s </dev/null >%s/heap.tap 2>&1", ctl(),
			kselftest("dmabuf-heap"), M.dir),
		     0);
	cr_assert_eq(sh("grep -q 'fail:0 ' %s/heap.tap && ! grep -q '^not ok' "
			"%s/heap.tap",
			M.dir, M.dir),
		     0, "every dma-heap test ok (vgem import may skip)");
	sh("%s -m $MNT run %s </dev/null >%s/udmabuf.tap 2>&1", ctl(),
	   kselftest("udmabuf"), M.dir);
	/*
	 * Test 6 needs 2 GiB of huge pages and 4 KiB runs inside them, which
	 * no user-space mapping can give (dmabuf-compat(7)): 1 to 5 must pass.
	 */
	cr_assert_eq(sh("test $(grep -c '^ok [1-5] .*PASS' %s/udmabuf.tap) -eq 5",
			M.dir),
		     0);
}
