// SPDX-License-Identifier: MIT
/*
 * SYNC in shared memory (dmabuf-ioctl(2), DMABUF_IOCTL_SYNC_SLOT): an
 * uncontended bracket takes no request, every bracket still shows where
 * the daemon shows brackets, a START racing a device mapping is either
 * made to wait or noted as a race (never neither), a killed holder's slot
 * is freed, and a uid scribbling on its own slot file misleads nobody
 * else.  The slot protocol needs passthrough (root).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <dmabuf/dmabuf.h>

#include "mount.h"

#define NOBODY 65534

static void mount_fast(void)
{
	mount_with("allow_other,root_mode=1777");
}

TestSuite(fastsync, .init = mount_fast, .fini = unmount_all, .timeout = 120);

static void need_passthrough(void)
{
	if (!passthrough_on())
		cr_skip_test("no passthrough here (needs root and Linux 6.9)");
}

/* The daemon's ioctl count, from .stats. */
static unsigned long long ioctls(void)
{
	return stat_of("ioctl");
}

static bool bufinfo_has(const char *needle)
{
	return strstr(slurp(at(".bufinfo")), needle) != NULL;
}

static struct dmabuf_mapping *mapped(int fd)
{
	struct dmabuf_mapping *m;

	cr_assert_eq(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m), 0);
	return m;
}

Test(fastsync, an_uncontended_bracket_takes_no_request_and_still_shows)
{
	char needle[128], cmd[PATH_MAX * 3], out[8192];
	struct dmabuf_sync_grant g;
	struct dmabuf_mapping *m;
	unsigned long long before;
	int fd, i;

	need_passthrough();
	fd = new_buffer("frame", "system", 65536, 0);
	close(fd);
	fd = open(at("frame"), O_RDWR);
	cr_assert_geq(fd, 0);
	m = mapped(fd);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	before = ioctls();
	for (i = 0; i < 10000; i++) {
		cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE),
			     0);
		cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	}
	cr_assert_eq(ioctls(), before, "10000 pairs, %llu ioctls",
		     ioctls() - before);

	/* Open: .bufinfo, dmabufctl who and info show it, as any bracket. */
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(ioctls(), before);
	snprintf(
		needle, sizeof(needle),
		"\tCPU bracket: 1 open (WRITE) on [0, +65536) by uid %d pid %d",
		(int)getuid(), (int)getpid());
	cr_assert(bufinfo_has(needle), "%s", slurp(at(".bufinfo")));
	snprintf(cmd, sizeof(cmd), "%s -m %s who", ctl_path(), M.mp);
	capture(cmd, out, sizeof(out));
	cr_assert(strstr(out, "1 open (WRITE)"), "dmabufctl who lists it: %s",
		  out);
	cr_assert_eq(sh("%s -m $MNT --json info frame | grep -q "
			"'\"cpu_brackets\":\\[.*1 open (WRITE)'",
			ctl_path()),
		     0, "dmabufctl info --json lists it");
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_not(bufinfo_has("CPU bracket"), "closed: gone");

	/* Bad ranges are the daemon's to refuse, as on the ioctl path. */
	cr_assert_eq(dmabuf_mapping_begin(m, 65536, 0, DMABUF_CPU_READ),
		     -EINVAL);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 65537, DMABUF_CPU_READ),
		     -EINVAL);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, 0), -EINVAL);

	/* The grant: the same slot for the same handle; EPERM elsewhere. */
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SYNC_SLOT, &g), 0);
	cr_assert_eq(g.size, 65536);
	cr_assert_lt(g.slot, g.nr_slots);
	dmabuf_munmap(m);
	close(fd);
}

Test(fastsync, a_device_mapping_sends_start_back_to_the_daemon)
{
	struct dmabuf_mapping *m;
	unsigned long long before;
	uint64_t att;
	int fd, dev;

	need_passthrough();
	fd = new_buffer("frame", "system", 65536, 0);
	close(fd);
	fd = open(at("frame"), O_RDWR | O_NONBLOCK);
	dev = open(at("frame"), O_RDWR);
	cr_assert_geq(fd, 0);
	m = mapped(fd);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	att = do_attach(dev, "gpu0");
	do_map(dev, att, DMABUF_DIR_FROM_DEVICE);
	before = ioctls();
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ), -EAGAIN,
		     "a writing device owns the bytes: the ioctl says so");
	cr_assert_gt(ioctls(), before, "it went to the daemon");
	do_unmap(dev, att);
	do_map(dev, att, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), -EAGAIN,
		     "a reading device holds off a writer too");
	do_unmap(dev, att);
	before = ioctls();
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(ioctls(), before, "and back in shared memory after (%llu)",
		     ioctls() - before);
	dmabuf_munmap(m);
	close(dev);
	close(fd);
}

/* A pending fence of a writing device on buffer "a", imported into @b. */
static int import_pending_fence(int b, uint64_t *att, int *a)
{
	struct dmabuf_fence_export e = {.flags = DMA_BUF_SYNC_READ};
	struct dmabuf_fence_import imp = {.flags = DMA_BUF_SYNC_WRITE};
	struct dmabuf_fence_info info = {.count = DMABUF_FENCE_PAGE};
	struct dmabuf_fence_bind bind;
	int sf;

	*a = new_buffer("a", "system", 4096, 0);
	*att = do_attach(*a, "gpu0");
	do_map(*a, *att, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(ioctl(*a, DMABUF_IOCTL_FENCE_EXPORT, &e), 0);
	bind.id = e.id;
	sf = open(at(".sync_file"), O_RDWR);
	cr_assert_geq(sf, 0);
	cr_assert_eq(ioctl(sf, DMABUF_IOCTL_FENCE_BIND, &bind), 0);
	cr_assert_eq(ioctl(sf, DMABUF_IOCTL_FENCE_INFO, &info), 0);
	cr_assert_eq(info.status, 0, "pending while the device writes");
	imp.id = info.id;
	cr_assert_eq(ioctl(b, DMABUF_IOCTL_FENCE_IMPORT, &imp), 0);
	return sf;
}

Test(fastsync, an_imported_fence_sends_start_back_to_the_daemon)
{
	struct dmabuf_mapping *m;
	uint64_t att;
	int a, b, sf;

	need_passthrough();
	close(new_buffer("b", "system", 65536, 0));
	b = open(at("b"), O_RDWR | O_NONBLOCK);
	m = mapped(b);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_READ), 0);
	sf = import_pending_fence(b, &att, &a);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ), -EAGAIN,
		     "b's readers wait for a's device now");
	do_unmap(a, att);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ), 0,
		     "the fence signalled");
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_READ), 0);
	dmabuf_munmap(m);
	close(sf);
	close(a);
	close(b);
}

/*
 * The race, both orders, many times: one thread brackets in shared memory,
 * another maps a writing device through another handle.  Each side, once
 * its call returned, stays a while and looks whether the other is inside:
 * the CPU side notes the device mapping it saw (by number), the device
 * side whether its mapping found a CPU bracket open.  Every such mapping
 * must have been noted as a race by the daemon (the device side takes the
 * note right after each map): an overlap not noted would be a START that
 * saw no device while the device's mapping saw no bracket.
 */
#define RACE_MAPS 3000
#define RACE_LOOKS 50000 /* the CPU side stays inside a while, looking */

static struct {
	int cpu_fd, dev_fd;
	uint64_t att;
	int cpu_in; /* the CPU side is inside a bracket */
	int dev_in; /* the device mapping live, by number (0: none) */
	bool overlapped[RACE_MAPS + 1];
	bool noted[RACE_MAPS + 1];
	int stop;
	unsigned long brackets;
} race;

static void *cpu_side(void *arg)
{
	struct dmabuf_mapping *m = arg;
	int seen, i;

	while (!__atomic_load_n(&race.stop, __ATOMIC_SEQ_CST)) {
		if (dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE))
			continue;
		__atomic_store_n(&race.cpu_in, 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < RACE_LOOKS; i++) {
			seen = __atomic_load_n(&race.dev_in, __ATOMIC_SEQ_CST);
			if (seen)
				race.overlapped[seen] = true;
		}
		__atomic_store_n(&race.cpu_in, 0, __ATOMIC_SEQ_CST);
		dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE);
		race.brackets++;
	}
	return NULL;
}

/* Map the device for the @i-th time; was a race noted for it? */
static void device_maps(int i)
{
	struct dmabuf_map map = {.attach_id = race.att,
				 .dir = DMABUF_DIR_FROM_DEVICE};
	struct dmabuf_attach_ref ref = {.attach_id = race.att};
	struct dmabuf_cpu_race r;
	int j;

	cr_assert_eq(ioctl(race.dev_fd, DMABUF_IOCTL_MAP, &map), 0,
		     "map %d: %s", i, strerror(errno));
	cr_assert_eq(ioctl(race.cpu_fd, DMABUF_IOCTL_TAKE_RACE, &r), 0);
	race.noted[i] = r.count > 0;
	__atomic_store_n(&race.dev_in, i, __ATOMIC_SEQ_CST);
	for (j = 0; j < 100; j++)
		if (__atomic_load_n(&race.cpu_in, __ATOMIC_SEQ_CST))
			race.overlapped[i] = true;
	__atomic_store_n(&race.dev_in, 0, __ATOMIC_SEQ_CST);
	cr_assert_eq(ioctl(race.dev_fd, DMABUF_IOCTL_UNMAP, &ref), 0);
}

Test(fastsync, a_start_racing_a_device_map_waits_or_is_noted)
{
	unsigned int seen = 0, noted = 0;
	struct dmabuf_sync_grant g;
	struct dmabuf_mapping *m;
	pthread_t cpu;
	int i;

	need_passthrough();
	close(new_buffer("frame", "system", 4096, 0));
	/* Reopened: the creating handle is served uncached, so no slot. */
	race.cpu_fd = open(at("frame"), O_RDWR);
	race.dev_fd = open(at("frame"), O_RDWR);
	cr_assert_eq(ioctl(race.cpu_fd, DMABUF_IOCTL_SYNC_SLOT, &g), 0,
		     "the CPU side brackets in shared memory");
	race.att = do_attach(race.dev_fd, "gpu0");
	m = mapped(race.cpu_fd);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(pthread_create(&cpu, NULL, cpu_side, m), 0);
	for (i = 1; i <= RACE_MAPS; i++)
		device_maps(i);
	__atomic_store_n(&race.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(cpu, NULL);
	for (i = 1; i <= RACE_MAPS; i++) {
		seen += race.overlapped[i];
		noted += race.noted[i];
		cr_assert(!race.overlapped[i] || race.noted[i],
			  "device mapping %d overlapped a CPU bracket and no "
			  "race was noted",
			  i);
	}
	cr_assert_gt(seen, 0, "the test made overlaps");
	cr_log_info("%u maps, %lu brackets, %u overlaps seen, %u races noted",
		    RACE_MAPS, race.brackets, seen, noted);
	dmabuf_munmap(m);
	close(race.dev_fd);
	close(race.cpu_fd);
}

Test(fastsync, a_holder_killed_mid_bracket_frees_its_slot)
{
	char needle[128];
	int p[2], fd;
	pid_t pid;

	need_passthrough();
	close(new_buffer("frame", "system", 65536, 0));
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct dmabuf_mapping *m;
		int cfd = open(at("frame"), O_RDWR);

		if (cfd < 0 || dmabuf_mmap(cfd, PROT_READ | PROT_WRITE, &m) ||
		    dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE) ||
		    dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE) ||
		    dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], needle, 1), 1, "the child holds a bracket");
	close(p[0]);
	snprintf(needle, sizeof(needle),
		 "1 open (READ) on [0, +65536) by uid 0 pid %d", (int)pid);
	cr_assert(bufinfo_has(needle), "%s", slurp(at(".bufinfo")));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert(WAIT_FOR(!bufinfo_has("CPU bracket"), 10),
		  "its slot went with its handle: %s", slurp(at(".bufinfo")));
	fd = open(at("frame"), O_RDWR);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE), 0);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE), 0);
	close(fd);
}

/* The first mapping of the process's file of SYNC slots, from maps. */
static void *slot_file(size_t *len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long lo, hi;
	char line[512];
	void *found = NULL;

	while (f && !found && fgets(line, sizeof(line), f))
		if (strstr(line, "dmabuffs-sync") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			found = (void *)lo;
			*len = hi - lo;
		}
	if (f)
		fclose(f);
	return found;
}

/*
 * As uid nobody: take slots, then keep writing random bytes over the whole
 * file of slots until told to stop.  Exits 0 if it could.
 */
static void scribbler(int go_fd, uint64_t roots_file)
{
	struct dmabuf_mapping *m;
	struct dmabuf_sync_grant g;
	unsigned char junk[4096];
	size_t len = 0, off;
	char *file;
	int fd, i;

	if (setgid(NOBODY) || setuid(NOBODY))
		_exit(10);
	fd = dmabuf_export(M.mp, "nobodys", "system", 65536, NULL, 0);
	if (fd < 0 || dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m) ||
	    dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE))
		_exit(11);
	/* root's buffer, as a reader: its grant is nobody's own file */
	i = open(at("frame"), O_RDONLY);
	if (i < 0 || ioctl(i, DMABUF_IOCTL_SYNC_SLOT, &g) ||
	    g.file == roots_file)
		_exit(12);
	file = slot_file(&len);
	if (!file || len < 4096)
		_exit(13);
	if (write(go_fd, "x", 1) != 1)
		_exit(14);
	for (;;) {
		for (off = 0; off < len; off += sizeof(junk)) {
			if (getrandom(junk, sizeof(junk), 0) < 0)
				_exit(15);
			memcpy(file + off, junk,
			       len - off < sizeof(junk) ? len - off
							: sizeof(junk));
		}
	}
}

Test(fastsync, a_uid_scribbling_its_slots_misleads_no_one_else)
{
	struct dmabuf_sync_grant g;
	struct dmabuf_mapping *m;
	struct dmabuf_cpu_race r;
	char needle[128], c;
	int fd, dev, p[2], i;
	uint64_t att;
	pid_t pid;

	need_passthrough();
	fd = new_buffer("frame", "system", 65536, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	close(fd);
	fd = open(at("frame"), O_RDWR);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SYNC_SLOT, &g), 0);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		scribbler(p[1], g.file); /* its file is not root's */
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the scribbler started");
	close(p[0]);

	dev = open(at("frame"), O_RDWR);
	m = mapped(fd);
	att = do_attach(dev, "gpu0");
	for (i = 0; i < 200; i++) {
		cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE),
			     0);
		snprintf(needle, sizeof(needle),
			 "1 open (WRITE) on [0, +65536) by uid 0 pid %d",
			 (int)getpid());
		cr_assert(bufinfo_has(needle), "%s", slurp(at(".bufinfo")));
		cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
		/* No bracket of root's is open: a device mapping races none. */
		do_map(dev, att, DMABUF_DIR_FROM_DEVICE);
		do_unmap(dev, att);
	}
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_TAKE_RACE, &r), 0);
	cr_assert_eq(r.count, 0, "root's handle raced nothing");
	snprintf(needle, sizeof(needle), "by uid 0 pid %d", (int)getpid());
	cr_assert_not(bufinfo_has(needle), "root holds no bracket now");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert(WAIT_FOR(!bufinfo_has("by uid 65534"), 10),
		  "nobody's brackets went with it");
	cr_assert_eq(access(at(".stats"), R_OK), 0, "the daemon serves on");
	dmabuf_munmap(m);
	close(dev);
	close(fd);
}

Test(fastsync, a_handle_passed_to_another_uid_keeps_the_ioctl)
{
	struct dmabuf_sync_grant g;
	int fd, status;
	pid_t pid;

	need_passthrough();
	fd = new_buffer("frame", "system", 4096, 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		if (!ioctl(fd, DMABUF_IOCTL_SYNC_SLOT, &g) || errno != EPERM)
			_exit(2);
		if (sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) ||
		    sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "as nobody: step %d", WEXITSTATUS(status));
	close(fd);
}

Test(fastsync, an_unmodified_program_syncs_in_shared_memory)
{
	unsigned long long before = ioctls();

	need_passthrough();
	cr_assert_eq(sh("%s -m $MNT run %s pairs 20000 >/dev/null", ctl_path(),
			compat_prog("sync_frames")),
		     0);
	cr_assert_lt(ioctls() - before, 100,
		     "100000 SYNC pairs cost %llu ioctls", ioctls() - before);
	cr_assert_eq(sh("%s -m $MNT run %s > %s/fast_fds.out 2>&1 || "
			"{ cat %s/fast_fds.out; exit 1; }",
			ctl_path(), compat_prog("fast_fds"), M.dir, M.dir),
		     0);
	cr_assert_eq(sh("grep -q ' 0 failed' %s/fast_fds.out", M.dir), 0);
}

/*
 * An allocation's handle gets its slot with it: allocate, map, SYNC around
 * a write, unmap, close costs five requests (GETATTR of .heaps after the
 * kernel's own invalidation of it, LOOKUP, CREATE, RELEASE, and the
 * inode's FORGET), its SYNCs none.  FORGETs come when the kernel lets the
 * inodes go, one each or batched, so they are left out of the count: four
 * others per cycle (and a few more when a one-second attribute cache
 * lapses during the run).  A process's own costs (its start, its first fetch of
 * the file of slots) cancel out between a short run and a long one.
 */
static unsigned long long not_forgets(void)
{
	return stat_of("requests") - stat_of("forget");
}

Test(fastsync, an_allocation_cycle_asks_five_requests)
{
	unsigned long long requests[2], io[2];
	static char cmd[PATH_MAX * 6];
	int i, cycles[2] = {100, 600};
	char out[64];

	need_passthrough();
	for (i = 0; i < 2; i++) {
		requests[i] = not_forgets();
		io[i] = ioctls();
		snprintf(cmd, sizeof(cmd), "%s -m %s run %s %d", ctl_path(),
			 M.mp, compat_prog("heap_cycle"), cycles[i]);
		cr_assert_eq(capture(cmd, out, sizeof(out)), 0);
		requests[i] = not_forgets() - requests[i];
		io[i] = ioctls() - io[i];
	}
	cr_assert_leq(io[1], io[0], "ioctls: %llu for 100 cycles, %llu for 600",
		      io[0], io[1]);
	/* A one-second attribute cache may lapse during a run: a few more. */
	cr_assert_leq(requests[1] - requests[0], 4 * 500 + 10,
		      "%llu requests for 100 cycles, %llu for 600 (FORGETs "
		      "apart)",
		      requests[0], requests[1]);
}

Test(fastsync, sync_fast_off_keeps_every_sync_in_the_daemon)
{
	struct dmabuf_sync_grant g;
	struct dmabuf_mapping *m;
	unsigned long long before;
	int fd;

	unmount_all();
	mount_with("sync_fast=off");
	fd = new_buffer("frame", "system", 4096, 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SYNC_SLOT, &g), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	m = mapped(fd);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	before = ioctls();
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(ioctls() - before, 2, "two ioctls");
	before = ioctls();
	cr_assert_eq(sh("%s -m $MNT run %s pairs 100 >/dev/null", ctl_path(),
			compat_prog("sync_frames")),
		     0);
	cr_assert_geq(ioctls() - before, 1000, "5 x 100 pairs by ioctl");
	dmabuf_munmap(m);
	close(fd);
}

Test(fastsync, the_option_is_checked)
{
	char cmd[PATH_MAX + 64], out[4096];

	unmount_all();
	snprintf(cmd, sizeof(cmd), "%s -o sync_fast=maybe %s 2>&1",
		 build_path("fs/dmabuffs"), M.dir);
	cr_assert_neq(capture(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "sync_fast: \"maybe\" is not on or off"), "%s",
		  out);
}
