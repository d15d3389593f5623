// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough: the kernel serves a buffer file's read, write and mmap
 * from the buffer's memfd.  These tests check that every view is the same
 * memory (no bracket needed for coherence), that brackets cost no page
 * traffic while fences still make them wait, that sizes stay exact, that
 * backing ids do not leak, and that a daemon without the privilege falls
 * back to the plain path.  Skipped where the kernel lacks passthrough.
 */
#include <dmabuf/dmabuf.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/xattr.h>

#include "mount.h"

static void mount_passthrough(void)
{
	mount_default();
	if (!passthrough_on()) {
		unmount_all();
		cr_skip_test("this kernel or daemon has no FUSE passthrough");
	}
}

/* One suite-wide timeout: criterion leaks a per-test one in parallel runs. */
TestSuite(passthrough, .init = mount_passthrough, .fini = unmount_all,
	  .timeout = 300);

/* A buffer through libdmabuf: the fd it returns is bound to the memfd. */
static int export(const char *name, const char *heap, uint64_t size)
{
	int fd = dmabuf_export(M.mp, name, heap, size, NULL, 0);

	cr_assert_geq(fd, 0, "export %s: %s", name, strerror(-fd));
	return fd;
}

static char *map_file(int fd, size_t size, int prot)
{
	char *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

static char *xattr(const char *name, const char *key)
{
	static char value[256];
	ssize_t n = getxattr(at(name), key, value, sizeof(value) - 1);

	cr_assert_geq(n, 0, "getxattr %s: %s", key, strerror(errno));
	value[n] = '\0';
	return value;
}

/* The page frame behind @addr, from /proc/self/pagemap (0 if hidden). */
static uint64_t pfn_of(const void *addr)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (off_t)((uintptr_t)addr / 4096 * sizeof(entry));

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &entry, sizeof(entry), off), sizeof(entry));
	close(fd);
	return entry & ((1ULL << 55) - 1);
}

Test(passthrough, every_view_is_the_same_memory)
{
	int fd = export("shared", NULL, 1 << 20);
	struct dmabuf_mapping *zc;
	char *file = map_file(fd, 1 << 20, PROT_READ | PROT_WRITE), *mem;
	unsigned long long writes = stat_of("write");
	char got[8];

	cr_assert_str_eq(xattr("shared", "user.dmabuf.passthrough"), "on");
	cr_assert_eq(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &zc), 0);
	mem = dmabuf_mapping_addr(zc);
	/* No bracket anywhere: coherence here is the hardware's own. */
	memcpy(file + 12345, "via-file", 8);
	cr_assert_eq(memcmp(mem + 12345, "via-file", 8), 0,
		     "file mapping -> zero-copy mapping");
	memcpy(mem + 500000, "via-zcpy", 8);
	cr_assert_eq(pread(fd, got, 8, 500000), 8);
	cr_assert_eq(memcmp(got, "via-zcpy", 8), 0, "zero-copy -> read(2)");
	cr_assert_eq(pwrite(fd, "via-wrte", 8, 1048000), 8);
	cr_assert_eq(memcmp(file + 1048000, "via-wrte", 8), 0,
		     "write(2) -> file mapping");
	cr_assert_eq(stat_of("write"), writes, "no WRITE reached the daemon");
	if (pfn_of(file + 12345))
		cr_assert_eq(pfn_of(file + 12345), pfn_of(mem + 12345),
			     "one physical page behind both mappings");
	cr_assert_eq(dmabuf_munmap(zc), 0);
	munmap(file, 1 << 20);
	close(fd);
}

Test(passthrough, reads_do_not_reach_the_daemon)
{
	int fd = export("quiet", NULL, 4 << 20);
	unsigned long long reads = stat_of("read");
	char page[4096];
	int i;

	for (i = 0; i < 1024; i++)
		cr_assert_eq(pread(fd, page, sizeof(page), i * 4096), 4096);
	/* The two reads of .stats itself are all the daemon saw. */
	cr_assert_leq(stat_of("read") - reads, 2, "1024 reads passed through");
	close(fd);
}

/* Child and parent write and read each other's pages, byte-exact. */
Test(passthrough, processes_share_bytes_without_brackets)
{
	int fd = export("xproc", NULL, 256 << 10), to_child[2], to_parent[2];
	char *p = map_file(fd, 256 << 10, PROT_READ | PROT_WRITE), c;
	unsigned char got[4096];
	int status, i;
	pid_t pid;

	cr_assert_eq(pipe(to_child), 0);
	cr_assert_eq(pipe(to_parent), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int own = open(at("xproc"), O_RDWR);
		char *q = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE,
			       MAP_SHARED, own, 0);

		if (q == MAP_FAILED)
			_exit(2);
		for (i = 0; i < 64; i += 2)
			memset(q + i * 4096, 'a' + i % 26, 4096);
		if (write(to_parent[1], "w", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		for (i = 1; i < 64; i += 2)
			if (q[i * 4096] != 'A' + i % 26 ||
			    q[i * 4096 + 4095] != 'A' + i % 26)
				_exit(4);
		_exit(0);
	}
	cr_assert_eq(read(to_parent[0], &c, 1), 1);
	for (i = 0; i < 64; i += 2) {
		cr_assert_eq(pread(fd, got, sizeof(got), i * 4096), 4096);
		cr_assert_eq(got[0], 'a' + i % 26, "page %d by read(2)", i);
		cr_assert_eq(got[4095], 'a' + i % 26);
		cr_assert_eq(p[i * 4096 + 100], 'a' + i % 26);
	}
	for (i = 1; i < 64; i += 2)
		memset(p + i * 4096, 'A' + i % 26, 4096);
	cr_assert_eq(write(to_child[1], "r", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child saw every page (status %#x)", status);
	munmap(p, 256 << 10);
	close(fd);
}

Test(passthrough, sync_costs_no_page_traffic_but_fences_still_wait)
{
	int fd = export("sync", NULL, 1 << 20), nb;
	unsigned long long invals = stat_of("notify_inval");
	char *p = map_file(fd, 1 << 20, PROT_READ | PROT_WRITE);
	struct pollfd pfd;
	uint64_t id;
	int i;

	for (i = 0; i < 100; i++) {
		cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW),
			     0);
		p[i * 4096] = (char)i;
		cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
			     0);
	}
	cr_assert_eq(stat_of("notify_inval"), invals,
		     "no bracket invalidated anything");
	/* A device that writes is a fence: START waits for it. */
	cr_assert_eq(dmabuf_attach(fd, "gpu0", &id), 0);
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	nb = open(at("sync"), O_RDWR | O_NONBLOCK);
	cr_assert_geq(nb, 0);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     -EAGAIN);
	pfd = (struct pollfd){.fd = nb, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 0), 0, "not readable behind a writer");
	do_unmap(fd, id);
	cr_assert_eq(poll(&pfd, 1, 5000), 1, "readable once it is done");
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	munmap(p, 1 << 20);
	close(nb);
	close(fd);
}

Test(passthrough, sizes_stay_exact)
{
	int fd = export("odd", NULL, 5000);
	struct stat st;
	char buf[8192];

	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, 904, 4096), 904, "up to the end");
	cr_assert_eq(pwrite(fd, buf, 1, 5000), -1);
	cr_assert_eq(errno, EPERM, "the memfd's seals keep the size");
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 0), 4096,
		     "cut before the page that crosses the end");
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 5000);
	cr_assert_eq(sh("test $(cat $MNT/odd | wc -c) -eq 5000"), 0,
		     "cat reads exactly the size");
	cr_assert_eq(sh("test $(stat -c %%s $MNT/odd) -eq 5000"), 0);
	cr_assert_eq(ftruncate(fd, 8192), -1);
	cr_assert_eq(errno, EPERM);
	close(fd);
}

/*
 * The handle that created a buffer was opened while it was EMPTY, with no
 * memory to bind: the daemon serves it, uncached, and it cannot be mapped.
 * What it reads and writes is the same memory all the same.
 */
Test(passthrough, the_creating_handle_is_served_by_the_daemon)
{
	int created = new_buffer("made", NULL, 64 << 10, 0);
	int fd = open(at("made"), O_RDWR);
	char *p, got[8];

	cr_assert_eq(mmap(NULL, 4096, PROT_READ, MAP_SHARED, created, 0),
		     MAP_FAILED);
	cr_assert_eq(errno, ENODEV, "open the buffer again to map it");
	p = map_file(fd, 64 << 10, PROT_READ | PROT_WRITE);
	cr_assert_eq(pwrite(created, "through", 7, 4000), 7);
	cr_assert_eq(memcmp(p + 4000, "through", 7), 0);
	memcpy(p + 9000, "mapping", 7);
	cr_assert_eq(pread(created, got, 7, 9000), 7);
	cr_assert_eq(memcmp(got, "mapping", 7), 0);
	munmap(p, 64 << 10);
	close(fd);
	close(created);
}

/* A device that needs another placement moves it; the mapping follows. */
Test(passthrough, migration_keeps_mappings_valid)
{
	int pad = export("pad", "cma", 64 << 10);
	int fd = export("mig", "cma", 1 << 20);
	struct dmabuf_info before, after;
	char *p = map_file(fd, 1 << 20, PROT_READ | PROT_WRITE);
	struct dmabuf_sg *sg;
	uint64_t id;
	int i;

	/* Place both, so that "mig" does not start on a 1 MiB boundary. */
	cr_assert_eq(sync_buf(pad, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	for (i = 0; i < 256; i++)
		memset(p + i * 4096, i, 4096);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(dmabuf_info(fd, &before), 0);
	cr_assert_neq(before.phys_addr % (1 << 20), 0);
	cr_assert_eq(dmabuf_attach(fd, "display0", &id), 0);
	cr_assert_eq(dmabuf_map_attachment(fd, id, DMABUF_DIR_TO_DEVICE, &sg),
		     0);
	dmabuf_sg_free(sg);
	cr_assert_eq(dmabuf_info(fd, &after), 0);
	cr_assert_neq(after.phys_addr, before.phys_addr, "the backing moved");
	cr_assert_eq(after.phys_addr % (1 << 20), 0);
	for (i = 0; i < 256; i++)
		cr_assert_eq((unsigned char)p[i * 4096 + 7], i,
			     "page %d kept its bytes", i);
	memcpy(p + 4096, "after", 5);
	cr_assert_eq(sh("dd if=$MNT/mig bs=1 skip=4096 count=5 status=none | "
			"grep -q after"),
		     0, "the mapping still writes the buffer");
	cr_assert_eq(dmabuf_unmap_attachment(fd, id), 0);
	munmap(p, 1 << 20);
	close(fd);
	close(pad);
}

static unsigned long cycles(void)
{
	const char *env = getenv("DMABUF_PASSTHROUGH_CYCLES");

	return env ? strtoul(env, NULL, 10) : 100000;
}

Test(passthrough, backing_ids_do_not_leak)
{
	unsigned long i, n = cycles();
	char *p;
	int fd;

	for (i = 0; i < n; i++) {
		fd = export("cycle", NULL, 4096);
		p = map_file(fd, 4096, PROT_READ | PROT_WRITE);
		p[0] = 1;
		munmap(p, 4096);
		close(fd);
		cr_assert_eq(unlink(at("cycle")), 0);
	}
	cr_assert(WAIT_FOR(stat_of("buffers") == 0, 30),
		  "every buffer released");
	cr_assert_eq(stat_of("backing_ids"), 0, "every backing id closed");
	cr_assert_geq(stat_of("backing_opened"), n);
}

static void set_mode_and_check(const char *opts, const char *expect)
{
	unmount_all();
	mount_with(opts);
	cr_assert_not_null(strstr(slurp(at(".stats")), expect), "%s: %s", opts,
			   slurp(at(".stats")));
}

Test(passthrough, modes)
{
	int fd;
	char *p;

	set_mode_and_check("passthrough=on", "\npassthrough on\n");
	set_mode_and_check("passthrough=off", "\npassthrough off\n");
	fd = new_buffer("plain", NULL, 8192, 0);
	cr_assert_str_eq(xattr("plain", "user.dmabuf.passthrough"), "off");
	p = map_file(fd, 8192, PROT_READ | PROT_WRITE);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	memcpy(p, "page-cache", 10);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(sh("head -c 10 $MNT/plain | grep -q page-cache"), 0);
	munmap(p, 8192);
	close(fd);
	cr_assert_eq(
		sh("%s -f -o passthrough=maybe %s/mnt 2>&1 | "
		   "grep -q 'passthrough: \"maybe\" is not auto, on or off'",
		   build_path("fs/dmabuffs"), M.dir),
		0, "a bad mode refuses to mount");
	cr_assert(is_mounted(M.mp));
}

/*
 * Without CAP_SYS_ADMIN the kernel will not take a backing file: "auto"
 * falls back with one log line, "on" refuses to run.  mount.fuse3's
 * drop_privileges mounts first, then runs the daemon with every capability
 * dropped, as a hardened system would.
 */
static int mount_unprivileged(const char *opts)
{
	return sh("mount.fuse3 %s %s -o drop_privileges,%s 2>%s/err.log",
		  build_path("fs/dmabuffs"), M.mp, opts, M.dir);
}

Test(passthrough, unprivileged_daemon_falls_back)
{
	unmount_all(); /* removes M.dir; M.mp keeps its place in a new one */
	snprintf(M.dir, sizeof(M.dir), "/tmp/dmabuffs-test.XXXXXX");
	cr_assert_not_null(mkdtemp(M.dir));
	snprintf(M.mp, sizeof(M.mp), "%s/mnt", M.dir);
	cr_assert_eq(sh("mkdir %s", M.mp), 0);
	cr_assert_neq(mount_unprivileged("passthrough=on"), 0);
	/* The daemon exits at once; its mount stays, dead, until removed. */
	sh("fusermount3 -u -z %s 2>/dev/null", M.mp);
	cr_assert_eq(sh("grep -q 'passthrough=on, but the daemon lacks "
			"CAP_SYS_ADMIN' %s/err.log",
			M.dir),
		     0, "on refuses, and says why");
	cr_assert_eq(mount_unprivileged("cma_size=16M"), 0);
	cr_assert_eq(
		sh("grep -qx 'passthrough off' $MNT/.stats && "
		   "grep -q 'off_because the daemon lacks CAP_SYS_ADMIN' "
		   "$MNT/.stats && truncate -s 8192 $MNT/b && "
		   "printf fallback | dd of=$MNT/b conv=notrunc status=none && "
		   "head -c 8 $MNT/b | grep -q fallback && "
		   "getfattr --absolute-names --only-values -n "
		   "user.dmabuf.passthrough "
		   "$MNT/b | grep -qx off"),
		0, "auto falls back to the plain path");
	cr_assert_eq(sh("fusermount3 -u $MNT"), 0);
	cr_assert(WAIT_FOR(!is_mounted(M.mp), 10));
	sh("rm -rf %s", M.dir);
	mount_default(); /* for the suite's fini */
}

/*
 * Full capabilities inside a user namespace are not CAP_SYS_ADMIN where
 * the kernel checks it for BACKING_OPEN: "on" refuses at start, "auto" runs
 * without passthrough and says why once.
 */
Test(passthrough, a_daemon_in_a_user_namespace_does_not_ask_for_it)
{
	const char *daemon = build_path("fs/dmabuffs");

	if (sh("unshare -Urm true 2>/dev/null"))
		cr_skip("no user namespaces here");
	cr_assert_eq(sh("mkdir %s/ns", M.dir), 0);
	cr_assert_neq(
		sh("timeout 10 unshare -Urm %s -f -o passthrough=on %s/ns "
		   "2>%s/on.log",
		   daemon, M.dir, M.dir),
		0);
	cr_assert_eq(sh("grep -q 'passthrough=on, but the daemon runs in a "
			"user namespace' %s/on.log",
			M.dir),
		     0, "on refuses, and says why");
	cr_assert_eq(
		sh("unshare -Urm sh -c '%s -o cma_size=16M %s/ns && "
		   "grep -q \"off_because the daemon runs in a user namespace\" "
		   "%s/ns/.stats && truncate -s 4096 %s/ns/b && "
		   "printf ns | dd of=%s/ns/b conv=notrunc status=none && "
		   "head -c 2 %s/ns/b | grep -q ns; r=$?; "
		   "fusermount3 -u %s/ns; exit $r'",
		   daemon, M.dir, M.dir, M.dir, M.dir, M.dir, M.dir),
		0, "auto runs on the plain path");
}
