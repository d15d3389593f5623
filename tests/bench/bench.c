// SPDX-License-Identifier: MIT
/*
 * DOC: make bench
 *
 * Measures each dmabuffs path side by side with its baseline in the same
 * run (machines here are shared and noisy: only ratios mean anything),
 * prints a table (metric, dmabuffs, baseline, ratio, target) and writes the
 * same as JSON.  Round trips per path come from the daemon's .stats
 * counters.  It reports; it never fails on a timing.
 *
 * Usage: bench BUILD_DIR [JSON_FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../../tools/mountd.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

struct result {
	char metric[64];
	double ours;
	double base;
	char unit[16];
	char target[48];
	double ratio;
	int met; /* 1 met, 0 not, -1 no target */
	char note[96];
};

static struct result results[64];
static int nr_results;
static char mnt[256], plain_mnt[256], floor_mnt[256], slow_mnt[256], tmpdir[64];
static struct mountd fsd, plaind, flrd, slowd;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	mountd_stop(&fsd);
	mountd_stop(&plaind);
	mountd_stop(&flrd);
	mountd_stop(&slowd);
	exit(1);
}

/*
 * Record a result.  @ratio is expressed so that the target reads as
 * "ratio >= @min" (or "<= @max" when @max > 0).
 */
static struct result *record(const char *metric, double ours, double base,
			     const char *unit, double ratio, double min,
			     double max, const char *target)
{
	struct result *r = &results[nr_results++];

	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	snprintf(r->target, sizeof(r->target), "%s", target);
	r->ours = ours;
	r->base = base;
	r->ratio = ratio;
	r->met = min > 0 ? ratio >= min : max > 0 ? ratio <= max : -1;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (double)(n - 1))];
}

static unsigned long long stat_of(const char *key)
{
	char path[300], line[128], name[64];
	unsigned long long v = 0, x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.stats", mnt);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu", name, &x) == 2 &&
		    !strcmp(name, key))
			v = x;
	if (f)
		fclose(f);
	return v;
}

static int unlink_at(const char *m, const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", m, name);
	return unlink(path);
}

/* ---- 1. the zero-copy mapping against a raw memfd mapping ---- */

static double write_gbs(uint64_t *p, size_t words)
{
	double t = now_s();
	size_t i;

	for (i = 0; i < words; i++)
		p[i] = i;
	return (double)words * 8 / (now_s() - t) / 1e9;
}

static double read_gbs(const uint64_t *p, size_t words)
{
	volatile uint64_t sink;
	uint64_t sum = 0;
	double t = now_s();
	size_t i;

	for (i = 0; i < words; i++)
		sum += p[i];
	sink = sum;
	(void)sink;
	return (double)words * 8 / (now_s() - t) / 1e9;
}

static void best_of(uint64_t *p, size_t words, double *w, double *r)
{
	int i;

	memset(p, 1, words * 8); /* fault everything in first */
	*w = *r = 0;
	for (i = 0; i < 3; i++) {
		double x = write_gbs(p, words), y = read_gbs(p, words);

		*w = x > *w ? x : *w;
		*r = y > *r ? y : *r;
	}
}

static void bench_zero_copy(void)
{
	size_t words = GiB / 8;
	struct dmabuf_mapping *m;
	double zw, zr, bw, br;
	void *raw;
	int fd, memfd, ret;

	fd = dmabuf_export(mnt, "big", "system", GiB, "bench", 0);
	if (fd < 0)
		die("export 1 GiB", fd);
	ret = dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m);
	if (ret)
		die("dmabuf_mmap", ret);
	dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_RW);
	best_of(dmabuf_mapping_addr(m), words, &zw, &zr);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_RW);
	memfd = memfd_create("baseline", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)GiB))
		die("memfd", errno);
	raw = mmap(NULL, GiB, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (raw == MAP_FAILED)
		die("mmap", errno);
	best_of(raw, words, &bw, &br);
	munmap(raw, GiB);
	close(memfd);
	record("zero-copy seq write 1 GiB", zw, bw, "GB/s", zw / bw, 0.95, 0,
	       ">= 0.95x raw memfd");
	record("zero-copy seq read 1 GiB", zr, br, "GB/s", zr / br, 0.95, 0,
	       ">= 0.95x raw memfd");
	dmabuf_munmap(m);
	close(fd);
}

/*
 * ---- 2. mmap(2) of the buffer file with SYNC brackets, frame by frame ----
 *
 * What every kernel dma-buf client does: map the fd once, then per frame
 * SYNC START, touch every byte, SYNC END.  The baseline touches a memfd
 * mapping of the same size with no brackets.
 */
/* One frame: SYNC START (if @fd >= 0), touch every byte, SYNC END. */
static double one_frame(uint64_t *p, size_t bytes, int fd, uint64_t dir)
{
	double t = now_s();

	if (fd >= 0)
		dmabuf_sync(fd, DMA_BUF_SYNC_START | dir);
	if (dir & DMA_BUF_SYNC_WRITE)
		write_gbs(p, bytes / 8);
	else
		read_gbs(p, bytes / 8);
	if (fd >= 0)
		dmabuf_sync(fd, DMA_BUF_SYNC_END | dir);
	return (double)bytes / (now_s() - t) / 1e9;
}

/*
 * Best frame of each side after a first one, the two sides taking turns
 * frame by frame so that a noisy neighbour hits both alike.
 */
static void frames_gbs(uint64_t *ours, int fd, uint64_t *base, int base_fd,
		       size_t bytes, uint64_t dir, int frames, double *o,
		       double *b)
{
	int i;

	*o = *b = 0;
	for (i = 0; i <= frames; i++) {
		double x = one_frame(base, bytes, base_fd, dir);
		double y = one_frame(ours, bytes, fd, dir);

		if (i && x > *b)
			*b = x;
		if (i && y > *o)
			*o = y;
	}
}

static void *map_or_die(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

static void bench_frames(const char *m, const char *mode, size_t bytes,
			 int frames, double min)
{
	int fd = dmabuf_export(m, "frames", "system", bytes, NULL, 0);
	int memfd = memfd_create("baseline", MFD_CLOEXEC);
	double w, r, bw, br;
	char metric[64], target[48];
	void *p, *raw;

	if (fd < 0)
		die("export frames", fd);
	if (memfd < 0 || ftruncate(memfd, (off_t)bytes))
		die("memfd", errno);
	p = map_or_die(fd, bytes);
	raw = map_or_die(memfd, bytes);
	frames_gbs(p, fd, raw, -1, bytes, DMA_BUF_SYNC_WRITE, frames, &w, &bw);
	frames_gbs(p, fd, raw, -1, bytes, DMA_BUF_SYNC_READ, frames, &r, &br);
	munmap(p, bytes);
	munmap(raw, bytes);
	close(memfd);
	close(fd);
	snprintf(target, sizeof(target), min > 0 ? ">= %.2fx memfd" : "", min);
	snprintf(metric, sizeof(metric), "mmap+SYNC ioctl write %zu MiB, %s",
		 (size_t)(bytes / MiB), mode);
	record(metric, w, bw, "GB/s", w / bw, min, 0, target);
	snprintf(metric, sizeof(metric), "mmap+SYNC ioctl read %zu MiB, %s",
		 (size_t)(bytes / MiB), mode);
	record(metric, r, br, "GB/s", r / br, min, 0, target);
	if (unlink_at(m, "frames"))
		die("unlink frames", errno);
}

/*
 * What no FUSE file system can beat: the same frames on a memfd mapping,
 * each bracketed by two SYNC round trips to the floor server.  After a
 * frame's worth of work the server's thread has gone idle, and waking it
 * costs more than the back-to-back round trips of the SYNC pair row.
 */
static void bench_frame_ceiling(size_t bytes, int frames)
{
	int memfd = memfd_create("baseline", MFD_CLOEXEC), fd;
	char path[300], metric[64];
	double with, without;
	void *raw;

	snprintf(path, sizeof(path), "%s/f", floor_mnt);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || memfd < 0 || ftruncate(memfd, (off_t)bytes))
		die("floor frames", errno);
	raw = map_or_die(memfd, bytes);
	frames_gbs(raw, fd, raw, -1, bytes, DMA_BUF_SYNC_WRITE, frames, &with,
		   &without);
	munmap(raw, bytes);
	close(memfd);
	close(fd);
	snprintf(metric, sizeof(metric),
		 "memfd write %zu MiB frame + floor SYNC pair",
		 (size_t)(bytes / MiB));
	record(metric, with, without, "GB/s", with / without, 0, 0,
	       "(the ceiling for FUSE)");
}

/* ---- 3. dd through the mount against dd on tmpfs ---- */

static double dd_once(const char *args)
{
	char cmd[1024];
	double t = now_s();

	snprintf(cmd, sizeof(cmd), "dd %s bs=1M count=1024 status=none", args);
	if (system(cmd) != 0)
		die(cmd, EIO);
	return (double)GiB / (now_s() - t) / 1e9;
}

/* Best of five each, ours and the baseline taking turns. */
static void dd_pair(const char *ours, const char *base, double *o, double *b)
{
	int i;

	*o = *b = 0;
	for (i = 0; i < 5; i++) {
		double x = dd_once(base), y = dd_once(ours);

		*b = x > *b ? x : *b;
		*o = y > *o ? y : *o;
	}
}

static void bench_dd(const char *m, const char *mode, double rmin, double wmin)
{
	char ours[600], base[600], shm[128], metric[64], target[48];
	double r, w, br, bw;

	snprintf(shm, sizeof(shm), "/dev/shm/dmabuf-bench-%d", (int)getpid());
	snprintf(base, sizeof(base), "if=/dev/zero of=%s conv=notrunc", shm);
	snprintf(ours, sizeof(ours), "if=/dev/zero of=%s/big conv=notrunc", m);
	dd_pair(ours, base, &w, &bw);
	snprintf(base, sizeof(base), "if=%s of=/dev/null", shm);
	snprintf(ours, sizeof(ours), "if=%s/big of=/dev/null", m);
	dd_pair(ours, base, &r, &br);
	unlink(shm);
	snprintf(metric, sizeof(metric), "dd bs=1M read 1 GiB, %s", mode);
	snprintf(target, sizeof(target), ">= %.2fx tmpfs", rmin);
	record(metric, r, br, "GB/s", r / br, rmin, 0, target);
	snprintf(metric, sizeof(metric), "dd bs=1M write 1 GiB, %s", mode);
	snprintf(target, sizeof(target), ">= %.2fx tmpfs", wmin);
	record(metric, w, bw, "GB/s", w / bw, wmin, 0, target);
}

/* The same rows on a mount with passthrough=off, for comparison. */
static void bench_plain(void)
{
	int fd = dmabuf_export(plain_mnt, "big", "system", GiB, NULL, 0);

	if (fd < 0)
		die("export on the plain mount", fd);
	close(fd);
	bench_frames(plain_mnt, "plain", 8 * MiB, 5, 0);
	bench_frames(plain_mnt, "plain", 256 * MiB, 2, 0);
	bench_dd(plain_mnt, "plain", 0, 0);
}

/* ---- 4. ioctl round trips against the FUSE floor ---- */

#define RT_ITERS 20000

static double floor_us; /* median of a bare FUSE ioctl round trip */
static double floor_p99_us;
static double floor_mean_us;

static void bench_floor(void)
{
	static double lat[RT_ITERS];
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
	char path[300];
	double total = 0;
	int fd, i;

	snprintf(path, sizeof(path), "%s/f", floor_mnt);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("open floor file", errno);
	for (i = 0; i < 1000; i++)
		ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
	for (i = 0; i < RT_ITERS; i++) {
		double t = now_s();

		ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
		lat[i] = (now_s() - t) * 1e6;
		total += lat[i];
	}
	close(fd);
	floor_mean_us = total / RT_ITERS;
	floor_us = percentile(lat, RT_ITERS, 0.5);
	floor_p99_us = percentile(lat, RT_ITERS, 0.99);
	record("FUSE floor ioctl round trip, median", floor_us, floor_us, "us",
	       1, 0, 0, "(the baseline)");
	record("FUSE floor ioctl round trip, p99", floor_p99_us, floor_p99_us,
	       "us", 1, 0, 0, "(the baseline)");
}

static void bench_sync(void)
{
	static double lat[RT_ITERS];
	double med, p99;
	int fd = dmabuf_export(mnt, "sync", "system", 4096, NULL, 0), i;
	unsigned long long before;

	if (fd < 0)
		die("export", fd);
	for (i = 0; i < 1000; i++) {
		dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	}
	before = stat_of("ioctl");
	for (i = 0; i < RT_ITERS; i++) {
		double t = now_s();

		dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		lat[i] = (now_s() - t) * 1e6;
	}
	med = percentile(lat, RT_ITERS, 0.5);
	p99 = percentile(lat, RT_ITERS, 0.99);
	snprintf(record("SYNC pair by ioctl, median", med, 2 * floor_us, "us",
			med / 2 / floor_us, 0, 1.3,
			"<= 1.3x floor per round trip")
			 ->note,
		 sizeof(results[0].note), "%.2f round trips per pair",
		 (double)(stat_of("ioctl") - before) / RT_ITERS);
	record("SYNC pair by ioctl, p99", p99, 2 * floor_p99_us, "us",
	       p99 / 2 / floor_p99_us, 0, 1.3,
	       "<= 1.3x floor p99 per round trip");
	close(fd);
}

static int ioctl_ok(int fd, unsigned long cmd, void *arg)
{
	if (ioctl(fd, cmd, arg))
		die("ioctl", errno);
	return 0;
}

static void bench_cycle(void)
{
	int fd = dmabuf_export(mnt, "cyc", "system", 4 * MiB, NULL, 0), i,
	    n = 5000;
	unsigned long long before = stat_of("ioctl");
	double t, per_cycle, rts;

	if (fd < 0)
		die("export", fd);
	t = now_s();
	for (i = 0; i < n; i++) {
		struct dmabuf_attach a = {.device = "gpu0"};
		struct dmabuf_map m = {.dir = DMABUF_DIR_TO_DEVICE};
		struct dmabuf_get_sg g = {.count = DMABUF_SG_PAGE};
		struct dmabuf_attach_ref r;

		ioctl_ok(fd, DMABUF_IOCTL_ATTACH, &a);
		m.attach_id = g.attach_id = r.attach_id = a.attach_id;
		ioctl_ok(fd, DMABUF_IOCTL_MAP, &m);
		ioctl_ok(fd, DMABUF_IOCTL_GET_SG, &g);
		ioctl_ok(fd, DMABUF_IOCTL_UNMAP, &r);
		ioctl_ok(fd, DMABUF_IOCTL_DETACH, &r);
	}
	per_cycle = (now_s() - t) * 1e6 / n;
	rts = (double)(stat_of("ioctl") - before) / n;
	snprintf(record("attach-map-sg-unmap-detach cycle", per_cycle,
			rts * floor_mean_us, "us",
			per_cycle / rts / floor_mean_us, 0, 1.3,
			"<= 1.3x floor per round trip")
			 ->note,
		 sizeof(results[0].note), "%.2f round trips per cycle", rts);
	close(fd);
}

static void bench_export(void)
{
	unsigned long long before = stat_of("requests");
	double t, ours, base, reqs;
	char path[400];
	int i, n = 2000, fd;

	t = now_s();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/e%d", mnt, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || ftruncate(fd, 65536))
			die("export cycle", errno);
		close(fd);
		unlink(path);
	}
	ours = (now_s() - t) * 1e6 / n;
	reqs = (double)(stat_of("requests") - before) / n;
	t = now_s();
	for (i = 0; i < n; i++) {
		fd = memfd_create("e", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 65536))
			die("memfd", errno);
		close(fd);
	}
	base = (now_s() - t) * 1e6 / n;
	snprintf(record("export cycle (create, size, close, unlink)", ours,
			base, "us", ours / base, 0, 0, "report vs memfd")
			 ->note,
		 sizeof(results[0].note),
		 "%.1f FUSE requests per cycle; %.1fx the floor round trip",
		 reqs, ours / floor_mean_us);
}

static void bench_fd_to_mapping(void)
{
	int fd = dmabuf_export(mnt, "zc", "system", MiB, NULL, 0), i, n = 1000;
	struct dmabuf_mapping *m;
	double total = 0;

	if (fd < 0)
		die("export", fd);
	for (i = 0; i < n; i++) {
		double t = now_s();

		if (dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m))
			die("dmabuf_mmap", EIO);
		total += now_s() - t;
		dmabuf_munmap(m);
	}
	total = total * 1e6 / n;
	snprintf(record("received fd -> zero-copy mapped", total, floor_mean_us,
			"us", total / floor_mean_us, 0, 4,
			"<= 4 floor round trips")
			 ->note,
		 sizeof(results[0].note),
		 "1 ioctl + connect/send/recv on the side channel + mmap");
	close(fd);
}

/* ---- 4. 100,000 live buffers ---- */

static void create_named(int from, int to)
{
	char path[400];
	int i, fd;

	for (i = from; i < to; i++) {
		snprintf(path, sizeof(path), "%s/n%06d", mnt, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || ftruncate(fd, 4096))
			die("create", errno);
		close(fd);
	}
}

struct scale {
	double ls_s, bufinfo_s, export_us;
};

/* The best of three ls -l of @dir: what the listing costs, not the noise. */
static double ls_l_s(const char *dir)
{
	char cmd[400];
	double best = 1e9, t;
	int i;

	snprintf(cmd, sizeof(cmd), "ls -l %s > /dev/null", dir);
	for (i = 0; i < 3; i++) {
		t = now_s();
		if (system(cmd) != 0)
			die("ls -l", EIO);
		t = now_s() - t;
		best = t < best ? t : best;
	}
	return best;
}

/* ls -l of @count files of 4 KiB on tmpfs, created as the buffers are. */
static double ls_l_tmpfs_s(int count)
{
	char dir[64], path[128];
	double t;
	int i, fd;

	snprintf(dir, sizeof(dir), "/dev/shm/dmabuf-bench-ls-%d",
		 (int)getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		die("mkdir", errno);
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/n%06d", dir, i);
		fd = open(path, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || ftruncate(fd, 4096))
			die("tmpfs file", errno);
		close(fd);
	}
	t = ls_l_s(dir);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		die("rm -rf", EIO);
	return t;
}

static void measure_scale(struct scale *s)
{
	char path[400];
	static double lat[200];
	double t;
	int i, fd;

	s->ls_s = ls_l_s(mnt);
	snprintf(path, sizeof(path), "%s/.bufinfo", mnt);
	t = now_s();
	fd = open(path, O_RDONLY);
	{
		static char chunk[1 << 20];

		while (read(fd, chunk, sizeof(chunk)) > 0)
			;
	}
	close(fd);
	s->bufinfo_s = now_s() - t;
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "%s/x%d", mnt, i);
		t = now_s();
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || ftruncate(fd, 4096))
			die("export", errno);
		close(fd);
		lat[i] = (now_s() - t) * 1e6;
		unlink(path);
	}
	s->export_us = percentile(lat, 200, 0.5);
}

static void bench_scale(void)
{
	struct scale small, big;
	double t, ls10k, tmpfs10k, tmpfs100k;
	long rss0, rss1;

	create_named(0, 100);
	measure_scale(&small);
	rss0 = mountd_rss_kib(fsd.pid);
	t = now_s();
	create_named(100, 10000);
	ls10k = ls_l_s(mnt);
	tmpfs10k = ls_l_tmpfs_s(10000);
	record("ls -l of 10,000 buffers", ls10k, tmpfs10k, "s",
	       ls10k / tmpfs10k, 0, 1.5, "<= 1.5x tmpfs (10,000 files)");
	create_named(10000, 100000);
	fprintf(stderr, "bench: created 100,000 buffers in %.1f s\n",
		now_s() - t);
	measure_scale(&big);
	rss1 = mountd_rss_kib(fsd.pid);
	tmpfs100k = ls_l_tmpfs_s(100000);
	record("ls -l of 100,000 buffers", big.ls_s, tmpfs100k, "s", big.ls_s,
	       0, 2.0, "<= 2 s (baseline: tmpfs, 100,000 files)");
	record("read .bufinfo of 100,000 buffers", big.bufinfo_s,
	       small.bufinfo_s, "s", big.bufinfo_s, 0, 2.0,
	       "<= 2 s (baseline: 100 buffers)");
	record("one export at 100,000 buffers, median", big.export_us,
	       small.export_us, "us", big.export_us / small.export_us, 0, 1.5,
	       "<= 1.5x at 100 buffers");
	record("daemon memory per live buffer",
	       (double)(rss1 - rss0) * 1024 / 99900, 0, "bytes",
	       (double)(rss1 - rss0) * 1024 / 99900, 0, 1024,
	       "<= 1 KiB (backing excluded)");
}

/* ---- 5. concurrent clients ---- */

static double sync_pairs_per_s(int clients, double seconds)
{
	int pipes[2], go[2], i;
	pid_t pids[16];
	double total = 0;
	char c = 'g';

	if (pipe(pipes) || pipe(go))
		die("pipe", errno);
	for (i = 0; i < clients; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char name[32];
			int fd;
			double end, count = 0;

			snprintf(name, sizeof(name), "c%d", i);
			fd = dmabuf_export(mnt, name, "system", 4096, NULL, 0);
			if (fd < 0 || read(go[0], &c, 1) != 1)
				_exit(1);
			end = now_s() + seconds;
			while (now_s() < end) {
				dmabuf_sync(fd, DMA_BUF_SYNC_START |
							DMA_BUF_SYNC_RW);
				dmabuf_sync(fd,
					    DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
				count++;
			}
			if (write(pipes[1], &count, sizeof(count)) !=
			    sizeof(count))
				_exit(2);
			close(fd);
			_exit(0);
		}
	}
	for (i = 0; i < clients; i++)
		if (write(go[1], &c, 1) != 1)
			die("start", errno);
	for (i = 0; i < clients; i++) {
		double n;

		if (read(pipes[0], &n, sizeof(n)) != sizeof(n))
			die("client", EIO);
		total += n;
	}
	for (i = 0; i < clients; i++)
		waitpid(pids[i], NULL,
			0); /* not wait(): the daemons are ours too */
	close(pipes[0]);
	close(pipes[1]);
	close(go[0]);
	close(go[1]);
	for (i = 0; i < clients; i++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/c%d", mnt, i);
		unlink(path);
	}
	return total / seconds;
}

static void bench_clients(void)
{
	double one = sync_pairs_per_s(1, 2.0), eight = sync_pairs_per_s(8, 2.0);

	record("8 clients SYNC pairs, aggregate", eight, one, "pairs/s",
	       eight / one, 1.5, 0, ">= 1.5x one client");
}

/*
 * ---- an unmodified program's buffer cycle, under dmabufctl run ----
 *
 * tests/compat/heap_cycle allocates from /dev/dma_heap, maps, brackets a
 * write with SYNC, unmaps and closes, through the kernel's uapi only; the
 * baseline is the same cycle through libdmabuf in this process.
 */
static double libdmabuf_cycle_us(int n, size_t size)
{
	static double t[1000];
	int i;

	for (i = 0; i < n; i++) {
		double start = now_s();
		int fd = dmabuf_export(mnt, NULL, "system", size, NULL, 0);
		void *p;

		if (fd < 0)
			die("export", fd);
		p = map_or_die(fd, size);
		dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		memset(p, i, size);
		dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		munmap(p, size);
		close(fd);
		t[i] = (now_s() - start) * 1e6;
	}
	return percentile(t, (size_t)n, 0.5);
}

/* The same cycle on a memfd: what a program pays without any dma-buf. */
static double memfd_cycle_us(int n, size_t size)
{
	static double t[1000];
	int i;

	for (i = 0; i < n; i++) {
		double start = now_s();
		int fd = memfd_create("cycle", MFD_CLOEXEC);
		void *p;

		if (fd < 0 || ftruncate(fd, (off_t)size))
			die("memfd", errno);
		p = map_or_die(fd, size);
		memset(p, i, size);
		munmap(p, size);
		close(fd);
		t[i] = (now_s() - start) * 1e6;
	}
	return percentile(t, (size_t)n, 0.5);
}

static void bench_compat_cycle(const char *build)
{
	char cmd[1024], out[64] = "";
	unsigned long long before = stat_of("requests");
	double ours, base, reqs;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "%s/tools/dmabufctl -m %s run %s/tests/compat/heap_cycle 1000",
		 build, mnt, build);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p) || pclose(p))
		die("heap_cycle under dmabufctl run", EIO);
	ours = strtod(out, NULL);
	/* FORGETs of the allocations' entries may trail the last close. */
	reqs = (double)(stat_of("requests") - before) / 1000;
	base = libdmabuf_cycle_us(1000, 65536);
	snprintf(record("/dev/dma_heap alloc+mmap+SYNC+close, 64 KiB", ours,
			base, "us", ours / base, 0, 0, "report vs libdmabuf")
			 ->note,
		 sizeof(results[0].note),
		 "unmodified program under dmabufctl run; median");
	base = memfd_cycle_us(1000, 65536);
	snprintf(record("the same cycle against a memfd cycle", ours, base,
			"us", ours / base, 0, 0, "report vs memfd")
			 ->note,
		 sizeof(results[0].note),
		 "%.2f daemon requests per cycle (issue 25: <= 5)", reqs);
}

/*
 * ---- the sanitizer's cost: the same frames with it on and off ----
 *
 * heap_cycle's frames under dmabufctl run, with --sanitize and without,
 * in the same run: a SYNC pair around a 4 KiB write, and an 8 MiB frame.
 */
static double heap_frames_us(const char *build, const char *how, int n,
			     size_t size)
{
	char cmd[1024], out[64] = "";
	FILE *p;

	snprintf(
		cmd, sizeof(cmd),
		"%s/tools/dmabufctl -m %s run %s -- %s/tests/compat/heap_cycle "
		"%d %zu frames",
		build, mnt, how, build, n, size);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p) || pclose(p))
		die("heap_cycle frames under dmabufctl run", EIO);
	return strtod(out, NULL);
}

static void bench_sanitizer(const char *build)
{
	static const struct {
		const char *metric;
		int n;
		size_t size;
	} rows[] = {
		{"SYNC pair + 4 KiB write, sanitizer on vs off", 2000, 4096},
		{"8 MiB frame, sanitizer on vs off", 40, 8u << 20},
	};
	double on, off;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		off = heap_frames_us(build, "", rows[i].n, rows[i].size);
		on = heap_frames_us(build, "--sanitize", rows[i].n,
				    rows[i].size);
		snprintf(record(rows[i].metric, on, off, "us", on / off, 0, 0,
				"report")
				 ->note,
			 sizeof(results[0].note),
			 "unmodified program; median per frame");
	}
}

/*
 * ---- SYNC in shared memory: against two real system calls ----
 *
 * An uncontended SYNC START+END pair with the fast path (a slot in shared
 * memory), through libdmabuf's mapping and under dmabufctl run, beside two
 * fcntl(F_GET_SEALS) on a memfd in the same process: the bar is
 * that the pair cost no more than those two calls.  Then frames under
 * dmabufctl run, with the fast path and with sync_fast=off.
 */
#define FAST_PAIRS 200000

/* Best of five rounds: ns per two F_GET_SEALS of @memfd. */
static double seals_pair_ns(int memfd)
{
	double best = 1e9, t;
	int round, i;

	for (round = 0; round < 5; round++) {
		t = now_s();
		for (i = 0; i < FAST_PAIRS; i++)
			if (fcntl(memfd, F_GET_SEALS) < 0 ||
			    fcntl(memfd, F_GET_SEALS) < 0)
				die("F_GET_SEALS", errno);
		t = (now_s() - t) / FAST_PAIRS * 1e9;
		best = t < best ? t : best;
	}
	return best;
}

static void bench_fast_sync(void)
{
	int fd = dmabuf_export(mnt, "fast", "system", 4096, NULL, 0);
	int memfd = memfd_create("seals", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct dmabuf_mapping *m;
	unsigned long long before;
	double best = 1e9, t;
	int round, i;

	if (fd < 0 || dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m))
		die("fast sync buffer", fd < 0 ? fd : EIO);
	if (memfd < 0)
		die("memfd", errno);
	dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE);
	dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE);
	before = stat_of("ioctl");
	for (round = 0; round < 5; round++) {
		t = now_s();
		for (i = 0; i < FAST_PAIRS; i++)
			if (dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE) ||
			    dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE))
				die("bracket", EIO);
		t = (now_s() - t) / FAST_PAIRS * 1e9;
		best = t < best ? t : best;
	}
	t = seals_pair_ns(memfd);
	snprintf(record("SYNC pair in shared memory, libdmabuf", best, t, "ns",
			best / t, 0, 1.0, "<= two syscalls (F_GET_SEALS)")
			 ->note,
		 sizeof(results[0].note), "%.4f ioctls per pair",
		 (double)(stat_of("ioctl") - before) / (5.0 * FAST_PAIRS));
	dmabuf_munmap(m);
	close(memfd);
	close(fd);
	unlink_at(mnt, "fast");
}

/* sync_frames (tests/compat) under dmabufctl run on @mount: @n figures. */
static void sync_frames(const char *build, const char *mount, const char *args,
			double *v, int n)
{
	char cmd[1024], out[256] = "", *p = out;
	FILE *f;
	int i;

	snprintf(cmd, sizeof(cmd),
		 "%s/tools/dmabufctl -m %s run %s/tests/compat/sync_frames %s",
		 build, mount, build, args);
	f = popen(cmd, "r");
	if (!f || !fgets(out, sizeof(out), f) || pclose(f))
		die("sync_frames under dmabufctl run", EIO);
	for (i = 0; i < n; i++)
		v[i] = strtod(p, &p);
}

static void bench_fast_frames(const char *build, size_t bytes, int frames,
			      double min)
{
	static const char *const how[] = {"fast", "sync_fast=off"};
	const char *mounts[] = {mnt, slow_mnt};
	char args[64], metric[64], target[48];
	double v[4];
	int i;

	snprintf(args, sizeof(args), "frames %d %zu", frames, bytes);
	for (i = 0; i < 2; i++) {
		sync_frames(build, mounts[i], args, v, 4);
		snprintf(target, sizeof(target),
			 i ? "report" : ">= %.2fx memfd", min);
		snprintf(metric, sizeof(metric),
			 "run: SYNC write %zu MiB frame, %s",
			 (size_t)(bytes / MiB), how[i]);
		record(metric, v[0], v[1], "GB/s", v[0] / v[1], i ? 0 : min, 0,
		       target);
		snprintf(metric, sizeof(metric),
			 "run: SYNC read %zu MiB frame, %s",
			 (size_t)(bytes / MiB), how[i]);
		record(metric, v[2], v[3], "GB/s", v[2] / v[3], i ? 0 : min, 0,
		       target);
	}
}

static void bench_fast_compat(const char *build)
{
	unsigned long long before = stat_of("ioctl");
	double v[2];

	sync_frames(build, mnt, "pairs 200000", v, 2);
	snprintf(record("SYNC pair under dmabufctl run", v[0], v[1], "ns",
			v[0] / v[1], 0, 1.0, "<= two syscalls (F_GET_SEALS)")
			 ->note,
		 sizeof(results[0].note), "%llu ioctls for 1000000 pairs",
		 stat_of("ioctl") - before);
	sync_frames(build, slow_mnt, "pairs 2000", v, 2);
	record("SYNC pair under run, sync_fast=off", v[0], v[1], "ns",
	       v[0] / v[1], 0, 0, "report");
	bench_fast_frames(build, 8 * MiB, 20, 0.95);
	bench_fast_frames(build, 256 * MiB, 16, 0.97);
}

/* ---- output ---- */

static void print_table(void)
{
	int i;

	printf("\n%-44s %12s %12s %8s  %-30s %s\n", "metric", "dmabuffs",
	       "baseline", "ratio", "target", "");
	for (i = 0; i < nr_results; i++) {
		struct result *r = &results[i];

		printf("%-44s %12.3f %12.3f %8.3f  %-30s %s %s\n", r->metric,
		       r->ours, r->base, r->ratio, r->target,
		       r->met < 0 ? ""
		       : r->met	  ? "met"
				  : "NOT MET",
		       r->note);
	}
}

static void write_json(const char *path, const char *commit)
{
	struct utsname u;
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return;
	}
	uname(&u);
	fprintf(f,
		"{\"commit\":\"%s\",\"machine\":\"%s %s, %ld cpus\",\"results\":[",
		commit, u.machine, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < nr_results; i++) {
		struct result *r = &results[i];

		fprintf(f,
			"%s{\"metric\":\"%s\",\"dmabuffs\":%.6g,\"baseline\":%.6g,"
			"\"unit\":\"%s\",\"ratio\":%.6g,\"target\":\"%s\","
			"\"met\":%s,\"note\":\"%s\"}",
			i ? "," : "", r->metric, r->ours, r->base, r->unit,
			r->ratio, r->target,
			r->met < 0 ? "null"
			: r->met   ? "true"
				   : "false",
			r->note);
	}
	fprintf(f, "]}\n");
	fclose(f);
	printf("\nwritten: %s\n", path);
}

/* Does the main mount's .stats contain @needle? */
static bool stat_text_has(const char *needle)
{
	char path[300], text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.stats", mnt);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = '\0';
	return strstr(text, needle) != NULL;
}

int main(int argc, char **argv)
{
	char prog[PATH_MAX], json[PATH_MAX], commit[64] = "unknown";
	const char *mode;
	FILE *git;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: bench BUILD_DIR [JSON_FILE]\n");
		return 2;
	}
	snprintf(json, sizeof(json), "%s", argc > 2 ? argv[2] : "bench.json");
	git = popen("git rev-parse --short HEAD 2>/dev/null", "r");
	if (git && fgets(commit, sizeof(commit), git))
		commit[strcspn(commit, "\n")] = '\0';
	if (git)
		pclose(git);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dmabuf-bench.XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp", errno);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	snprintf(floor_mnt, sizeof(floor_mnt), "%s/floor", tmpdir);
	snprintf(plain_mnt, sizeof(plain_mnt), "%s/plain", tmpdir);
	snprintf(slow_mnt, sizeof(slow_mnt), "%s/slow", tmpdir);
	mkdir(mnt, 0755);
	mkdir(plain_mnt, 0755);
	mkdir(floor_mnt, 0755);
	mkdir(slow_mnt, 0755);
	snprintf(prog, sizeof(prog), "%s/fs/dmabuffs", argv[1]);
	ret = mountd_start(&fsd, prog, "cma_size=64M", mnt, "/dev/null");
	if (ret)
		die("mount dmabuffs", ret);
	ret = mountd_start(&plaind, prog, "cma_size=64M,passthrough=off",
			   plain_mnt, "/dev/null");
	if (ret)
		die("mount dmabuffs with passthrough=off", ret);
	ret = mountd_start(&slowd, prog, "cma_size=64M,sync_fast=off", slow_mnt,
			   "/dev/null");
	if (ret)
		die("mount dmabuffs with sync_fast=off", ret);
	snprintf(prog, sizeof(prog), "%s/tests/bench/floor", argv[1]);
	ret = mountd_start(&flrd, prog, "fsname=floor", floor_mnt, "/dev/null");
	if (ret)
		die("mount the FUSE floor", ret);
	setvbuf(stdout, NULL, _IOLBF, 0);
	mode = stat_text_has("\npassthrough on\n") ? "passthrough" : "plain";
	printf("dmabuffs benchmarks, commit %s; each figure beside its baseline from this run\n",
	       commit);
	bench_floor();
	bench_sync();
	bench_fast_sync();
	bench_cycle();
	bench_export();
	bench_fd_to_mapping();
	bench_clients();
	bench_zero_copy();
	bench_frame_ceiling(8 * MiB, 20);
	bench_frames(mnt, mode, 8 * MiB, 20, 0.8);
	bench_frames(mnt, mode, 256 * MiB, 10, 0.95);
	bench_dd(mnt, mode, 0.85, 0.9);
	bench_plain();
	bench_compat_cycle(argv[1]);
	bench_fast_compat(argv[1]);
	bench_sanitizer(argv[1]);
	bench_scale();
	print_table();
	write_json(json, commit);
	mountd_stop(&fsd);
	mountd_stop(&plaind);
	mountd_stop(&flrd);
	mountd_stop(&slowd);
	rmdir(slow_mnt);
	rmdir(mnt);
	rmdir(plain_mnt);
	rmdir(floor_mnt);
	rmdir(tmpdir);
	return 0;
}
