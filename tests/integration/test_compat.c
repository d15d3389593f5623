// SPDX-License-Identifier: MIT
/*
 * Unmodified programs under `dmabufctl run`: the programs in tests/compat
 * are built against the system's uapi headers only and check, line by line,
 * what the kernel's /dev/dma_heap and /dev/udmabuf promise.  Here they run
 * on a real mount; so do the kernel's own dma-heap and udmabuf selftests
 * when ../shared/tools/kernel-selftests has built them.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "../../fs/decode.h" /* struct sync_set_deadline on old headers */
#include "mount.h"

TestSuite(compat, .init = mount_default, .fini = unmount_all, .timeout = 120);

/* Run @name under the layer; its exit status; its output in the log. */
static int run_compat(const char *name)
{
	return sh("%s -m $MNT run %s >%s/%s.out 2>&1; rc=$?; "
		  "[ $rc = 0 ] || cat %s/%s.out; exit $rc",
		  ctl_path(), compat_prog(name), M.dir, name, M.dir, name);
}

Test(compat, heap_client_passes_every_check)
{
	cr_assert_eq(run_compat("heap_client"), 0);
	cr_assert_eq(
		sh("grep -q '^76 checks, 0 failed' %s/heap_client.out", M.dir),
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

Test(compat, sync_file_client_passes_every_check)
{
	cr_assert_eq(run_compat("sync_file_client"), 0);
	cr_assert_eq(sh("grep -q ' 0 failed' %s/sync_file_client.out", M.dir),
		     0);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10));
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
		execl(ctl_path(), "dmabufctl", "run", "--",
		      compat_prog("heap_client"), "--hold", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	cr_assert(fgets(line, sizeof(line), f) && !strcmp(line, "holding\n"),
		  "the program allocated and mapped: %s", line);
	cr_assert_eq(sh("grep -q '^04194304.*system' $MNT/.bufinfo"), 0,
		     "its buffer shows in .bufinfo");
	cr_assert_eq(sh("%s -m $MNT who | grep -q heap_client", ctl_path()), 0,
		     "and in dmabufctl who");
	cr_assert_eq(sh("%s -m $MNT ls | grep -q '^(anonymous) .* 4.0M "
			"system'",
			ctl_path()),
		     0, "and in dmabufctl ls");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fclose(f);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10),
		  "killed: its buffer is gone");
}

/* A file of the test's directory, beside the mount point. */
static char *slurp_beside(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", M.dir, name);
	return slurp(path);
}

Test(compat, ls_shows_the_device_nodes_as_the_kernel)
{
	cr_assert_eq(sh("%s -m $MNT run -- ls -l /dev/dma_heap/ /dev/udmabuf "
			">$MNT/../ls.out 2>$MNT/../ls.err",
			ctl_path()),
		     0, "ls -l lists them");
	cr_assert_eq(sh("test ! -s $MNT/../ls.err"), 0,
		     "with nothing on stderr: %s", slurp_beside("ls.err"));
	cr_assert_eq(sh("grep -q '^c.* system$' $MNT/../ls.out && "
			"grep -q '^c.* /dev/udmabuf$' $MNT/../ls.out"),
		     0, "character devices, as on the kernel: %s",
		     slurp_beside("ls.out"));
}

Test(compat, run_reports_like_a_launcher)
{
	cr_assert_eq(sh("%s -m $MNT run -- sh -c 'exit 7'", ctl_path()), 7,
		     "the program's exit status is run's");
	cr_assert_eq(sh("%s -m $MNT run 2>/dev/null", ctl_path()), 2,
		     "no program");
	cr_assert_eq(sh("%s -m $MNT run /no/such 2>/dev/null", ctl_path()),
		     127);
	cr_assert_eq(sh("%s -m /tmp run true 2>&1 | grep -q 'not a dmabuffs "
			"mount'",
			ctl_path()),
		     0);
	cr_assert_eq(sh("%s -m $MNT run -- sh -c 'test -d /dev/dma_heap && "
			"ls /dev/dma_heap | grep -qx cma && "
			"sh -c \"test -e /dev/udmabuf\"'",
			ctl_path()),
		     0, "children and exec'd programs see the paths too");
	cr_assert_eq(sh("%s -m $MNT run %s 2>&1 >/dev/null | grep -q "
			"'statically linked'",
			ctl_path(), compat_prog("heap_client-static")),
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
	cr_assert_eq(
		sh("ls $MNT/.heaps | tr '\\n' ' ' | grep -qx 'cma system '"),
		0);
	close(heap);
}

/* open(2) of .heaps/@NAME with O_CREAT: the fd, or -errno. */
static int allocate(const char *name, int flags)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), ".heaps/%s", name);
	fd = open(at(path), flags | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

Test(compat, an_allocation_is_one_create_in_heaps)
{
	unsigned long long before = stat_of("requests");
	struct stat a, b;
	int fd = allocate("system@8192", O_RDWR), again, dflt, tagged;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &a), 0);
	cr_assert_eq(a.st_size, 8192);
	cr_assert_eq(a.st_mode, S_IFREG | 0600, "as a kernel dma-buf's");
	cr_assert_eq(a.st_nlink, 0, "it never has a name");
	cr_assert_eq(sh("test \"$(ls -A $MNT | grep -v '^\\.')\" = ''"), 0);
	cr_assert_eq(
		sh("ls $MNT/.heaps | tr '\n' ' ' | grep -qx 'cma system '"), 0,
		"nor an entry in .heaps/");
	cr_assert_eq(write(fd, "abc", 3), 3, "a handle bound to its memory");
	cr_assert_eq(info_of(fd).state, DMABUF_STATE_ALLOCATED);
	again = allocate("system@8192", O_RDONLY);
	cr_assert_geq(again, 0, "the same name again is another buffer");
	cr_assert_eq(fstat(again, &b), 0);
	cr_assert_neq(a.st_ino, b.st_ino);
	dflt = allocate("@4096", O_RDWR);
	cr_assert_geq(dflt, 0, "the default heap");
	cr_assert_eq(allocate("nosuch@4096", O_RDWR), -ENODEV);
	cr_assert_eq(allocate("system@0", O_RDWR), -EINVAL);
	cr_assert_eq(allocate("system@12x", O_RDWR), -EINVAL);
	cr_assert_eq(allocate("system@4096,", O_RDWR), -EINVAL, "empty tag");
	tagged = allocate("system@4096,tag.1", O_RDWR);
	cr_assert_geq(tagged, 0, "a tag names nothing: %s", strerror(-tagged));
	close(tagged);
	cr_assert_eq(allocate("system", O_RDWR), -EEXIST, "a heap's own node");
	cr_assert_eq(allocate("frame0", O_RDWR), -EPERM, "no other files");
	cr_assert_eq(allocate("system@99999999999999", O_RDWR), -EFBIG);
	cr_assert_lt(stat_of("requests") - before, 48,
		     "a handful of requests each");
	close(fd);
	close(again);
	close(dflt);
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 10),
		  "each goes with its last fd");
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
	cr_assert_eq(sh("%s -m $MNT run %s </dev/null >%s/heap.tap 2>&1",
			ctl_path(), kselftest("dmabuf-heap"), M.dir),
		     0);
	cr_assert_eq(sh("grep -q 'fail:0 ' %s/heap.tap && ! grep -q '^not ok' "
			"%s/heap.tap",
			M.dir, M.dir),
		     0, "every dma-heap test ok (vgem import may skip)");
	sh("%s -m $MNT run %s </dev/null >%s/udmabuf.tap 2>&1", ctl_path(),
	   kselftest("udmabuf"), M.dir);
	/*
	 * Test 6 needs 2 GiB of huge pages and 4 KiB runs inside them, which
	 * no user-space mapping can give (dmabuf-compat(7)): 1 to 5 must pass.
	 */
	cr_assert_eq(
		sh("test $(grep -c '^ok [1-5] .*PASS' %s/udmabuf.tap) -eq 5",
		   M.dir),
		0);
}

/*
 * The mount's device nodes, spoken to directly: no stream, as the
 * kernel's character devices (the compat layer adds what only it can:
 * epoll and the VFS's generic ioctls, which kexact compares).
 */
Test(compat, device_nodes_are_no_files)
{
	const char *nodes[] = {".heaps/system", ".udmabuf"};
	char b[8] = {0};
	size_t i;

	for (i = 0; i < 2; i++) {
		int fd = open(at(nodes[i]), O_RDWR);
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};

		cr_assert_geq(fd, 0, "%s: %s", nodes[i], strerror(errno));
		cr_assert_eq(lseek(fd, 0, SEEK_SET), -1, "%s", nodes[i]);
		cr_assert_eq(errno, ESPIPE, "%s: no offset to seek", nodes[i]);
		cr_assert_eq(read(fd, b, sizeof(b)), -1);
		cr_assert_eq(errno, EINVAL, "%s: nothing to read", nodes[i]);
		cr_assert_eq(write(fd, b, sizeof(b)), -1);
		cr_assert_eq(errno, EINVAL, "%s: nothing to write", nodes[i]);
		cr_assert_eq(poll(&p, 1, 0), 1);
		cr_assert_eq(p.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT,
			     "%s: a file without poll is always ready",
			     nodes[i]);
		close(fd);
	}
}

/*
 * The layer answers another process's /proc/PID/fd, fdinfo and maps with
 * names it asks the daemon for; it must answer only what the kernel lets
 * the reader see.  Root, under the layer, sees its own process's buffer
 * by its name; uid nobody, under the layer too, gets the kernel's EACCES
 * for all three, and never the name.
 */
Test(compat, another_uid_learns_nothing_of_a_process_it_cannot_trace)
{
	struct dmabuf_name n = {.name = "secretname"};
	static char cmd[8192 + 256];
	void *p;
	int fd;

	unmount_all();
	mount_with("allow_other,root_mode=1777");
	fd = new_buffer("held", NULL, 4096, 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SET_NAME, &n), 0);
	close(fd);
	fd = open(at("held"), O_RDWR); /* sized: mmap maps it */
	cr_assert_geq(fd, 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	snprintf(cmd, sizeof(cmd),
		 "%s -m $MNT run -- sh -c 'readlink -v /proc/%d/fd/%d; "
		 "cat /proc/%d/fdinfo/%d; cat /proc/%d/maps'",
		 ctl_path(), (int)getpid(), fd, (int)getpid(), fd,
		 (int)getpid());
	cr_assert_eq(sh("%s 2>&1 | grep -q '^/dmabuf:secretname$'", cmd), 0,
		     "root sees its buffer by name: the test can fail");
	cr_assert_eq(sh("setpriv --reuid=65534 --regid=65534 --clear-groups "
			"%s >%s/nobody.out 2>&1; true",
			cmd, M.dir),
		     0);
	cr_assert_eq(sh("test $(grep -c 'Permission denied' %s/nobody.out) "
			"-eq 3",
			M.dir),
		     0, "the kernel's EACCES, three times: %s",
		     slurp_beside("nobody.out"));
	cr_assert_neq(sh("grep -q secretname %s/nobody.out", M.dir), 0,
		      "no name: %s", slurp_beside("nobody.out"));
	munmap(p, 4096);
	close(fd);
}

/* ---- the daemon's side of sync_file, spoken directly ---- */

static int fence_file(uint64_t id)
{
	struct dmabuf_fence_bind b = {.id = id};
	int fd = open(at(".sync_file"), O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_FENCE_BIND, &b), 0, "bind: %s",
		     strerror(errno));
	return fd;
}

static uint64_t export_fence(int buf, uint32_t flags)
{
	struct dmabuf_fence_export e = {.flags = flags};

	cr_assert_eq(ioctl(buf, DMABUF_IOCTL_FENCE_EXPORT, &e), 0);
	cr_assert_neq(e.id, 0);
	return e.id;
}

static struct dmabuf_fence_info fence_info(int sf)
{
	struct dmabuf_fence_info i = {.count = DMABUF_FENCE_PAGE};

	cr_assert_eq(ioctl(sf, DMABUF_IOCTL_FENCE_INFO, &i), 0);
	return i;
}

static bool polls_in(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

struct waiter {
	int fd;
	volatile int done;
};

static void *blocking_start(void *arg)
{
	struct waiter *w = arg;

	w->done = sync_buf(w->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) ? -1
									  : 1;
	return NULL;
}

/* A poll(2) of a sync_file that sleeps until it signals (or 10 s). */
static void *sleeping_poll(void *arg)
{
	struct waiter *w = arg;

	w->done = polls_in(w->fd, 10000) ? 1 : -1;
	return NULL;
}

/*
 * A fence exported from a buffer a device writes is pending until the
 * mapping ends; imported into another buffer, it holds that buffer's CPU
 * readers off too, and a reader parked there wakes when the first
 * buffer's device is done.
 */
Test(compat, fences_follow_device_mappings)
{
	int a = new_buffer("a", NULL, 65536, 0),
	    b = new_buffer("b", NULL, 65536, 0);
	struct dmabuf_fence_import imp = {.flags = DMA_BUF_SYNC_WRITE};
	struct waiter w = {.fd = b}, wp;
	uint64_t dev = do_attach(a, "gpu0");
	unsigned long long parked, polls, notified;
	pthread_t t, tp;
	int sf, nb;

	do_map(a, dev, DMABUF_DIR_FROM_DEVICE);
	sf = fence_file(export_fence(a, DMA_BUF_SYNC_READ));
	wp = (struct waiter){.fd = sf};
	cr_assert(!polls_in(sf, 0), "pending while the device writes");
	cr_assert_eq(fence_info(sf).status, 0);
	cr_assert_eq(fence_info(sf).num_fences, 1);
	imp.id = fence_info(sf).id;
	cr_assert_eq(ioctl(b, DMABUF_IOCTL_FENCE_IMPORT, &imp), 0);
	nb = open(at("b"), O_RDWR | O_NONBLOCK);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     -EAGAIN, "b's readers wait for a's device now");
	/* Both asleep in the daemon before the device lets go: a START
	 * parked on b, a poll of the sync_file with its handle armed. */
	parked = stat_of("parked_requests");
	polls = stat_of("poll");
	cr_assert_eq(pthread_create(&t, NULL, blocking_start, &w), 0);
	cr_assert_eq(pthread_create(&tp, NULL, sleeping_poll, &wp), 0);
	cr_assert(WAIT_FOR(stat_of("parked_requests") == parked + 1, 10));
	cr_assert(WAIT_FOR(stat_of("poll") > polls, 10));
	cr_assert(!w.done && !wp.done, "nobody woke before the device ended");
	notified = stat_of("notify_poll");
	do_unmap(a, dev);
	cr_assert(WAIT_FOR(wp.done, 5), "the sleeping poll of the fence woke");
	pthread_join(tp, NULL);
	cr_assert_eq(wp.done, 1, "POLLIN: signalled once the mapping ended");
	cr_assert_gt(stat_of("notify_poll"), notified,
		     "woken by a poll notification");
	cr_assert_eq(fence_info(sf).status, 1);
	cr_assert(WAIT_FOR(w.done, 5), "the parked reader of b woke");
	pthread_join(t, NULL);
	cr_assert_eq(w.done, 1);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	imp.id = 12345;
	cr_assert_eq(ioctl(b, DMABUF_IOCTL_FENCE_IMPORT, &imp), -1);
	cr_assert_eq(errno, EINVAL, "an id that names no fence");
	close(nb);
	close(sf);
	close(a);
	close(b);
}

/*
 * SYNC_IOC_SET_DEADLINE, spoken directly to a .sync_file handle: a hint,
 * accepted on a bound handle whether the fence is pending or not; pad
 * and an unbound handle are EINVAL, and a buffer does not know it.
 */
Test(compat, a_deadline_is_a_hint_of_a_bound_sync_file)
{
	int buf = new_buffer("dl", NULL, 65536, 0);
	struct sync_set_deadline d = {.deadline_ns = 1};
	uint64_t dev = do_attach(buf, "gpu0");
	int sf, unbound = open(at(".sync_file"), O_RDWR);

	cr_assert_geq(unbound, 0);
	cr_assert_eq(ioctl(unbound, SYNC_IOC_SET_DEADLINE, &d), -1);
	cr_assert_eq(errno, EINVAL, "an unbound handle stands for no fence");
	do_map(buf, dev, DMABUF_DIR_FROM_DEVICE);
	sf = fence_file(export_fence(buf, DMA_BUF_SYNC_READ));
	cr_assert_eq(ioctl(sf, SYNC_IOC_SET_DEADLINE, &d), 0, "%s",
		     strerror(errno));
	cr_assert(!polls_in(sf, 0), "a deadline hastens nothing here");
	d.pad = 1;
	cr_assert_eq(ioctl(sf, SYNC_IOC_SET_DEADLINE, &d), -1);
	cr_assert_eq(errno, EINVAL, "pad must be 0");
	d.pad = 0;
	cr_assert_eq(ioctl(buf, SYNC_IOC_SET_DEADLINE, &d), -1);
	cr_assert_eq(errno, ENOTTY, "not an ioctl of a buffer");
	do_unmap(buf, dev);
	cr_assert(WAIT_FOR(polls_in(sf, 0), 5));
	cr_assert_eq(ioctl(sf, SYNC_IOC_SET_DEADLINE, &d), 0,
		     "and once signalled, as the kernel");
	close(unbound);
	close(sf);
	close(buf);
}

/* The process holding the device mapping dies: the fence signals, failed. */
Test(compat, fence_of_a_killed_holder_signals_with_an_error)
{
	int a = new_buffer("k", NULL, 65536, 0), ready[2], sf;
	char c;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int own = open(at("k"), O_RDWR);
		struct dmabuf_attach at_ = {.device = "gpu0"};
		struct dmabuf_map m = {.dir = DMABUF_DIR_BIDIRECTIONAL};

		if (ioctl(own, DMABUF_IOCTL_ATTACH, &at_))
			_exit(2);
		m.attach_id = at_.attach_id;
		if (ioctl(own, DMABUF_IOCTL_MAP, &m) ||
		    write(ready[1], "m", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	sf = fence_file(export_fence(a, DMA_BUF_SYNC_WRITE));
	cr_assert(!polls_in(sf, 0));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert(polls_in(sf, 5000), "nothing waits forever");
	cr_assert_eq(fence_info(sf).status, -ECANCELED,
		     "signalled as an error");
	close(sf);
	close(a);
}

/* Run the sanitizer's client with @mistake; its output in @out. */
static int sanitized(const char *mistake, const char *opts, char *out,
		     size_t len)
{
	char cmd[PATH_MAX * 6];

	cr_assert_lt(snprintf(cmd, sizeof(cmd),
			      "DMABUF_SANITIZE_OPTIONS='%s' %s -m %s run "
			      "--sanitize -- %s %s",
			      opts, ctl_path(), M.mp,
			      compat_prog("sanitize_client"), mistake),
		     (int)sizeof(cmd));
	return capture(cmd, out, len);
}

static unsigned int count(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

Test(compat, sanitizer_reports_each_mistake_once)
{
	static const struct {
		const char *mistake, *kind, *where;
	} rows[] = {
		{"write-outside", "cpu-write-outside-bracket",
		 "offset 0x1010 in the buffer"},
		{"read-outside", "cpu-read-outside-bracket", "READ of 1 byte"},
		{"write-in-read", "write-in-read-bracket",
		 "brackets open: 1 READ"},
		{"end-without-start", "end-without-start", "in sync_"},
		{"end-mismatch", "end-flags-mismatch", "START|WRITE"},
		{"leak", "bracket-leak", "at close of the buffer's last fd"},
		{"exit-leak", "bracket-leak", "still open at exit"},
		{"thread", "cpu-write-outside-bracket", "in thread_writes"},
		{"fork", "cpu-write-outside-bracket", "offset 0xc8"},
		/* installed with signal(3), the program's handler gets its
		 * own fault and the sanitizer still gets the mapping's */
		{"own-handler-signal", "cpu-write-outside-bracket",
		 "offset 0x3000"},
		{"partial-unmap", "cpu-write-outside-bracket", "offset 0x2000"},
		{"mremap", "cpu-write-outside-bracket", "offset 0x4000"},
		{"many", "cpu-write-outside-bracket", "offset 0x10 in the"},
		{"named", "cpu-write-outside-bracket",
		 "on buffer '(anonymous)' (name 'camera-frame', inode"},
		/* system calls move every byte, and are reported */
		{"write-syscall", "cpu-read-outside-bracket", "by write(2)"},
		{"read-syscall", "cpu-write-outside-bracket", "by read(2)"},
		{"send-syscall", "cpu-read-outside-bracket", "by send(2)"},
	};
	static char out[1 << 16];
	char summary[128];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cr_assert_eq(sanitized(rows[i].mistake, "", out, sizeof(out)),
			     0, "%s goes on after the finding:\n%s",
			     rows[i].mistake, out);
		snprintf(summary, sizeof(summary),
			 "SUMMARY: dmabuf-sanitizer: %s ", rows[i].kind);
		cr_assert_eq(count(out, "ERROR: dmabuf-sanitizer:"), 1,
			     "%s: one finding:\n%s", rows[i].mistake, out);
		cr_assert_eq(count(out, summary), 1, "%s:\n%s", rows[i].mistake,
			     out);
		cr_assert_not_null(strstr(out, rows[i].where), "%s:\n%s",
				   rows[i].mistake, out);
		cr_assert_not_null(strstr(out, "on buffer '(anonymous)'"),
				   "a heap buffer has no name:\n%s", out);
		cr_assert_not_null(strstr(out, "sanitize_client.c:"),
				   "symbolized to a line:\n%s", out);
	}
	for (i = 0; i < 4; i++) {
		const char *clean[] = {"clean", "probe", "own-handler",
				       "unmap-then-end"};

		cr_assert_eq(sanitized(clean[i], "", out, sizeof(out)), 0,
			     "%s:\n%s", clean[i], out);
		cr_assert_null(strstr(out, "dmabuf-sanitizer"),
			       "%s reports nothing:\n%s", clean[i], out);
	}
}

/*
 * A program linked against libdmabuf, run two ways: with DMABUF_SANITIZE=1
 * and nothing preloaded, and under dmabufctl run --sanitize, where the
 * layer's copy of libdmabuf and the program's are both in the process.
 */
static int sanitized_lib(bool preloaded, const char *mistake, char *out,
			 size_t len)
{
	char cmd[PATH_MAX * 6], path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s",
		 build_path("tests/lib/sanitize_lib"));
	if (preloaded)
		cr_assert_lt(snprintf(cmd, sizeof(cmd),
				      "%s -m %s run --sanitize -- %s %s",
				      ctl_path(), M.mp, path, mistake),
			     (int)sizeof(cmd));
	else
		cr_assert_lt(snprintf(cmd, sizeof(cmd),
				      "DMABUF_SANITIZE=1 DMABUF_MOUNT=%s %s %s",
				      M.mp, path, mistake),
			     (int)sizeof(cmd));
	return capture(cmd, out, len);
}

Test(compat, sanitizer_ranges_races_and_libdmabuf)
{
	static const struct {
		const char *mistake, *kind, *where;
	} rows[] = {
		{"outside", "cpu-write-outside-bracket", "offset 0x2005"},
		{"range-outside", "cpu-write-outside-bracket",
		 "offset 0x2000 in the buffer"},
		{"range-write-in-read", "write-in-read-bracket", "offset 0x64"},
		{"range-end-mismatch", "end-without-start",
		 "END|WRITE of [0x1000, 0x2000) without a matching START"},
		{"race", "cpu-access-raced-device",
		 "device 'gpu0' mapped the buffer FROM_DEVICE"},
		{"race-no-wait", "cpu-access-raced-device",
		 "refused with EAGAIN"},
		/* the program's own handler, installed with the C library's
		 * sigaction(): its fault is its own, the mapping's ours */
		{"own-handler", "cpu-write-outside-bracket", "offset 0x3001"},
	};
	static char out[1 << 16];
	char summary[128];
	size_t i;
	int mode;

	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			const char *m = rows[i].mistake;

			cr_assert_eq(sanitized_lib(mode, m, out, sizeof(out)),
				     0, "%s (preloaded %d):\n%s", m, mode, out);
			snprintf(summary, sizeof(summary),
				 "SUMMARY: dmabuf-sanitizer: %s ",
				 rows[i].kind);
			cr_assert_eq(count(out, "ERROR: dmabuf-sanitizer:"), 1,
				     "%s (preloaded %d): one finding:\n%s", m,
				     mode, out);
			cr_assert_eq(count(out, summary), 1, "%s:\n%s", m, out);
			cr_assert_not_null(strstr(out, rows[i].where),
					   "%s:\n%s", m, out);
			cr_assert_not_null(strstr(out, "on buffer 'san-"),
					   "the buffer's name:\n%s", out);
			cr_assert_not_null(strstr(out, "sanitize_lib.c:"),
					   "symbolized to a line:\n%s", out);
		}
		cr_assert_eq(sanitized_lib(mode, "clean", out, sizeof(out)), 0,
			     "%s", out);
		cr_assert_null(strstr(out, "dmabuf-sanitizer"),
			       "clean (preloaded %d) reports nothing:\n%s",
			       mode, out);
	}
	cr_assert_eq(sh("grep -q 'device gpu0 mapped it FROM_DEVICE while pid "
			"[0-9]* holds a CPU bracket' %s",
			M.log),
		     0, "the daemon logs the race too");
}

Test(compat, sanitizer_options)
{
	static char out[1 << 16];
	char opts[PATH_MAX];

	cr_assert_eq(sanitized("write-outside", "halt_on_error=1:exitcode=23",
			       out, sizeof(out)),
		     23, "halt_on_error stops at the first finding:\n%s", out);
	cr_assert_null(strstr(out, "done write-outside"));
	snprintf(opts, sizeof(opts), "log_path=%s/san", M.dir);
	cr_assert_eq(sanitized("write-in-read", opts, out, sizeof(out)), 0);
	cr_assert_null(strstr(out, "ERROR"), "the report went to the log");
	cr_assert_eq(
		sh("cat %s/san.* | grep -q 'write-in-read-bracket'", M.dir), 0);
	cr_assert_eq(sh("echo mistake > %s/supp", M.dir), 0);
	snprintf(opts, sizeof(opts), "suppressions=%s/supp", M.dir);
	cr_assert_eq(sanitized("write-in-read", opts, out, sizeof(out)), 0);
	cr_assert_null(strstr(out, "ERROR"), "suppressed by function:\n%s",
		       out);
	cr_assert_eq(
		sanitized("clean", "print_stats_on_exit=1", out, sizeof(out)),
		0);
	cr_assert_not_null(strstr(out, "dmabuf-sanitizer: 0 finding(s)"));
}

/* Only what is really under /dev/dma_heap is redirected into the mount. */
Test(compat, dot_dot_out_of_dev_dma_heap_is_not_redirected)
{
	char out[256];
	char cmd[PATH_MAX * 4];

	cr_assert_eq(sh("truncate -s 6 $MNT/null && printf BUFFER > $MNT/null"),
		     0);
	snprintf(cmd, sizeof(cmd),
		 "%s -m %s run -- sh -c 'cat /dev/dma_heap/../null; "
		 "cat /dev//dma_heap/./../null; ls /dev/dma_heap/./'",
		 ctl_path(), M.mp);
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_null(strstr(out, "BUFFER"), "the mount's buffer: %s", out);
	cr_assert_null(strstr(out, "No such file"),
		       "/dev/null, as on the kernel: %s", out);
	cr_assert_not_null(strstr(out, "system"), "%s", out);
}

/* A fault that is not the sanitizer's kills as it would without it. */
Test(compat, sanitizer_lets_a_real_crash_crash)
{
	char cmd[PATH_MAX * 6], out[4096];
	double t = now_s();
	int st;

	snprintf(cmd, sizeof(cmd),
		 "timeout 10 sh -c '%s -m %s run --sanitize -- %s crash; "
		 "echo status $?'",
		 ctl_path(), M.mp, compat_prog("sanitize_client"));
	st = capture(cmd, out, sizeof(out));
	cr_assert_eq(st, 0, "it did not end (%d):\n%s", st, out);
	cr_assert_not_null(strstr(out, "status 139"),
			   "SIGSEGV, as without:\n%s", out);
	cr_assert_lt(now_s() - t, 5.0);
	cr_assert_null(strstr(out, "dmabuf-sanitizer: ERROR"), "%s", out);
}

/* log_path never follows a name planted before the program starts. */
Test(compat, sanitizer_log_path_refuses_a_planted_symlink)
{
	char cmd[PATH_MAX * 8], out[1 << 14];
	struct stat st;

	cr_assert_eq(sh("printf secret > %s/victim && chmod 600 %s/victim",
			M.dir, M.dir),
		     0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && DMABUF_SANITIZE_OPTIONS=log_path=%s/san sh -c "
		 "'ln -s %s/victim %s/san.$$ && exec %s -m %s run --sanitize "
		 "-- %s write-outside'",
		 M.dir, M.dir, M.dir, M.dir, ctl_path(), M.mp,
		 compat_prog("sanitize_client"));
	capture(cmd, out, sizeof(out));
	cr_assert_not_null(strstr(out, "log_path"), "the refusal is said:\n%s",
			   out);
	cr_assert_not_null(strstr(out, "cpu-write-outside-bracket"),
			   "the report goes to stderr instead:\n%s", out);
	cr_assert_eq(sh("test \"$(cat %s/victim)\" = secret", M.dir), 0,
		     "the victim's file is untouched");
	cr_assert_eq(sh("DMABUF_SANITIZE_OPTIONS=log_path=%s/own %s -m %s run "
			"--sanitize -- %s write-outside >/dev/null 2>&1; "
			"stat -c %%a %s/own.* | grep -qx 600 && "
			"! stat -c %%a %s/own.* | grep -vqx 600",
			M.dir, ctl_path(), M.mp, compat_prog("sanitize_client"),
			M.dir, M.dir),
		     0, "a log of its own is made 0600");
	(void)st;
}

/* Faults of eight threads at once: whole reports, each site once. */
Test(compat, sanitizer_reports_concurrent_faults_whole_and_once)
{
	static char out[1 << 16];
	const char *line, *next;
	int i;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(sanitized("eight-threads", "", out, sizeof(out)),
			     0, "%s", out);
		cr_assert_eq(count(out, "ERROR: dmabuf-sanitizer:"), 2,
			     "two sites, each reported once:\n%s", out);
		cr_assert_eq(count(out, "SUMMARY: dmabuf-sanitizer: "
					"cpu-write-outside-bracket in site_a"),
			     1, "%s", out);
		cr_assert_eq(count(out, "SUMMARY: dmabuf-sanitizer: "
					"cpu-read-outside-bracket in site_b"),
			     1, "%s", out);
		/* Whole: every line of a report before the next ERROR. */
		line = strstr(out, "ERROR: dmabuf-sanitizer:");
		next = strstr(line + 1, "ERROR: dmabuf-sanitizer:");
		cr_assert(next && strstr(line, "SUMMARY") < next,
			  "the first report ends before the second:\n%s", out);
	}
}

/*
 * The recipe of dmabuf-sanitizer(7) for Mesa: a driver module that reads
 * imported buffers without SYNC is suppressed by its name.
 */
Test(compat, sanitizer_suppresses_a_driver_module_by_name)
{
	static char out[1 << 16];
	char opts[PATH_MAX];

	cr_assert_eq(sanitized("device-module", "", out, sizeof(out)), 0, "%s",
		     out);
	cr_assert_eq(count(out, "ERROR: dmabuf-sanitizer:"), 1, "%s", out);
	cr_assert_not_null(strstr(out, "libfakedev.so"),
			   "the frame names the module:\n%s", out);
	cr_assert_eq(sh("printf '# Mesa reads imported buffers without SYNC\\n"
			"swrast_dri.so\\nlibgallium\\nlibvulkan_lvp.so\\n"
			"libfakedev.so\\n' > %s/mesa.supp",
			M.dir),
		     0);
	snprintf(opts, sizeof(opts), "suppressions=%s/mesa.supp", M.dir);
	cr_assert_eq(sanitized("device-module", opts, out, sizeof(out)), 0,
		     "%s", out);
	cr_assert_null(strstr(out, "ERROR: dmabuf-sanitizer:"),
		       "suppressed by module:\n%s", out);
}
