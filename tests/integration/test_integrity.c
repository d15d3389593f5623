// SPDX-License-Identifier: MIT
/*
 * DOC: data integrity against a model
 *
 * A seeded random workload over a few buffers, run by several worker
 * processes and checked byte for byte against a model the parent keeps.
 * Operations go one at a time, each to one worker, so the model is exact;
 * what varies is the path: write(2) and pwrite(2) through FUSE, the file
 * mmap(2)ed through the kernel's page cache with DMA_BUF_IOCTL_SYNC
 * brackets, libdmabuf's zero-copy mapping of the memory itself with ranged
 * brackets, fds passed between processes (SCM_RIGHTS, through the parent),
 * handles closed and reopened, and device mappings that migrate the
 * backing.  A byte written through one path by one process must be what
 * every other path in every other process reads next.
 *
 * DMABUF_INTEGRITY_OPS sets the number of operations (default 100000),
 * DMABUF_SEED the seed (default fixed, printed); a failure names both, the
 * operation and the first wrong byte, so it can be replayed.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <dmabuf/dmabuf.h>

#include "mount.h"

static void stop_run(void);

TestSuite(integrity, .init = mount_default, .fini = stop_run, .timeout = 900);

#define NR_BUFS 6
#define NR_WORKERS 4
#define MAX_IO (256 << 10)
#define DEFAULT_OPS 100000
#define DEFAULT_SEED 0x20261122ULL

enum op_kind {
	OP_PWRITE,
	OP_WRITE, /* lseek(2) + write(2) */
	OP_PREAD,
	OP_MMAP_WRITE,
	OP_MMAP_READ,
	OP_ZC_WRITE,
	OP_ZC_READ,
	OP_MIGRATE,
	OP_SEND_FD, /* worker -> parent */
	OP_RECV_FD, /* parent -> worker: replaces the worker's fd */
	OP_REOPEN,
	OP_EXIT,
	NR_OPS,
};

static const char *const op_names[NR_OPS] = {
	"pwrite",  "write",   "pread",	 "mmap-write", "mmap-read", "zc-write",
	"zc-read", "migrate", "send-fd", "recv-fd",    "reopen",    "exit",
};

struct op {
	uint32_t kind;
	uint32_t buf;
	uint64_t off;
	uint64_t len;
	uint64_t seed; /* of the bytes written; MIGRATE: device index */
};

struct reply {
	int32_t status; /* 0 or -errno */
	uint32_t line; /* where a worker failed */
	uint64_t before; /* MIGRATE: placement before and after */
	uint64_t after;
};

struct buf_desc {
	char name[16];
	const char *heap;
	uint64_t size;
	uint8_t *model;
};

struct worker {
	pid_t pid;
	int sock;
	uint8_t *scratch; /* shared with the parent: the bytes of one op */
};

/* ---- deterministic bytes ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(uint8_t *p, uint64_t len, uint64_t seed)
{
	uint64_t s = seed, i, v = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = splitmix(&s);
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

/* ---- the worker side ---- */

struct wbuf {
	int fd;
	uint8_t *file_map; /* mmap(2) of the buffer file */
	struct dmabuf_mapping *zc;
};

static struct wbuf wbufs[NR_BUFS];
static struct buf_desc bufs[NR_BUFS];

#define WFAIL(r, err)                 \
	do {                          \
		(r)->status = (err);  \
		(r)->line = __LINE__; \
		return;               \
	} while (0)

static void drop_maps(struct wbuf *w, uint64_t size)
{
	if (w->file_map)
		munmap(w->file_map, size);
	w->file_map = NULL;
	if (w->zc)
		dmabuf_munmap(w->zc);
	w->zc = NULL;
}

static int full_pwrite(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n, len -= (uint64_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int full_write(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	if (lseek(fd, (off_t)off, SEEK_SET) != (off_t)off)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n, len -= (uint64_t)n;
	}
	return 0;
}

static int full_pread(int fd, uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n, len -= (uint64_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int file_map(struct wbuf *w, uint64_t size)
{
	void *p;

	if (w->file_map)
		return 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	w->file_map = p;
	return 0;
}

static void do_mmap_io(struct wbuf *w, const struct op *op, uint8_t *scratch,
		       struct reply *r)
{
	bool wr = op->kind == OP_MMAP_WRITE;
	uint64_t dir = wr ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ;
	int ret = file_map(w, bufs[op->buf].size);

	if (ret)
		WFAIL(r, ret);
	ret = dmabuf_sync(w->fd, DMA_BUF_SYNC_START | dir);
	if (ret)
		WFAIL(r, ret);
	if (wr)
		memcpy(w->file_map + op->off, scratch, op->len);
	else
		memcpy(scratch, w->file_map + op->off, op->len);
	ret = dmabuf_sync(w->fd, DMA_BUF_SYNC_END | dir);
	if (ret)
		WFAIL(r, ret);
}

static void do_zc_io(struct wbuf *w, const struct op *op, uint8_t *scratch,
		     struct reply *r)
{
	bool wr = op->kind == OP_ZC_WRITE;
	uint32_t dir = wr ? DMABUF_CPU_WRITE : DMABUF_CPU_READ;
	uint8_t *base;
	int ret = 0;

	if (!w->zc)
		ret = dmabuf_mmap(w->fd, PROT_READ | PROT_WRITE, &w->zc);
	if (ret)
		WFAIL(r, ret);
	ret = dmabuf_mapping_begin(w->zc, op->off, op->len, dir);
	if (ret)
		WFAIL(r, ret);
	base = dmabuf_mapping_addr(w->zc);
	if (wr)
		memcpy(base + op->off, scratch, op->len);
	else
		memcpy(scratch, base + op->off, op->len);
	ret = dmabuf_mapping_end(w->zc, op->off, op->len, dir);
	if (ret)
		WFAIL(r, ret);
}

static void do_migrate(struct wbuf *w, const struct op *op, struct reply *r)
{
	static const char *const devices[] = {"camera0", "display0",
					      "encoder0"};
	struct dmabuf_info info;
	struct dmabuf_sg *sg;
	uint64_t id;
	int ret = dmabuf_info(w->fd, &info);

	if (ret)
		WFAIL(r, ret);
	r->before = info.phys_addr;
	ret = dmabuf_attach(w->fd, devices[op->seed % 3], &id);
	if (ret == -EBUSY || ret == -ENOMEM)
		return; /* no placement meets it: nothing moved, nothing lost */
	if (ret)
		WFAIL(r, ret);
	ret = dmabuf_map_attachment(w->fd, id, DMABUF_DIR_TO_DEVICE, &sg);
	if (ret && ret != -ENOMEM && ret != -EBUSY)
		WFAIL(r, ret);
	if (!ret) {
		dmabuf_sg_free(sg);
		ret = dmabuf_unmap_attachment(w->fd, id);
		if (ret)
			WFAIL(r, ret);
	}
	ret = dmabuf_detach(w->fd, id);
	if (ret)
		WFAIL(r, ret);
	ret = dmabuf_info(w->fd, &info);
	if (ret)
		WFAIL(r, ret);
	r->after = info.phys_addr;
}

static void serve_op(int sock, const struct op *op, uint8_t *scratch,
		     struct reply *r)
{
	struct wbuf *w = &wbufs[op->buf];
	uint64_t size = bufs[op->buf].size;
	int ret = 0, fd;

	switch (op->kind) {
	case OP_PWRITE:
	case OP_WRITE:
		ret = (op->kind == OP_PWRITE ? full_pwrite : full_write)(
			w->fd, scratch, op->len, op->off);
		break;
	case OP_PREAD:
		ret = full_pread(w->fd, scratch, op->len, op->off);
		break;
	case OP_MMAP_WRITE:
	case OP_MMAP_READ:
		do_mmap_io(w, op, scratch, r);
		return;
	case OP_ZC_WRITE:
	case OP_ZC_READ:
		do_zc_io(w, op, scratch, r);
		return;
	case OP_MIGRATE:
		do_migrate(w, op, r);
		return;
	case OP_SEND_FD:
		ret = dmabuf_send_fd(sock, w->fd);
		break;
	case OP_RECV_FD:
		fd = dmabuf_recv_fd(sock);
		if (fd < 0)
			WFAIL(r, fd);
		drop_maps(w, size);
		close(w->fd);
		w->fd = fd;
		break;
	case OP_REOPEN:
		drop_maps(w, size);
		close(w->fd);
		w->fd = open(at(bufs[op->buf].name), O_RDWR);
		ret = w->fd < 0 ? -errno : 0;
		break;
	}
	if (ret)
		WFAIL(r, ret);
}

static void worker_main(int sock, uint8_t *scratch)
{
	struct reply r;
	struct op op;
	int i;

	for (i = 0; i < NR_BUFS; i++) {
		wbufs[i].fd = open(at(bufs[i].name), O_RDWR);
		if (wbufs[i].fd < 0)
			_exit(10);
	}
	while (recv(sock, &op, sizeof(op), 0) == (ssize_t)sizeof(op) &&
	       op.kind != OP_EXIT) {
		memset(&r, 0, sizeof(r));
		serve_op(sock, &op, scratch, &r);
		if (send(sock, &r, sizeof(r), 0) != (ssize_t)sizeof(r))
			_exit(11);
	}
	for (i = 0; i < NR_BUFS; i++) {
		drop_maps(&wbufs[i], bufs[i].size);
		close(wbufs[i].fd);
	}
	_exit(0);
}

/* ---- the parent: the model and the schedule ---- */

struct run {
	uint64_t seed;
	uint64_t rng;
	uint64_t nr_ops;
	uint64_t done;
	uint64_t counts[NR_OPS];
	uint64_t bytes_checked;
	uint64_t migrations;
	struct worker workers[NR_WORKERS];
};

static uint64_t below_rng(uint64_t *rng, uint64_t n)
{
	return splitmix(rng) % n;
}

static uint64_t below(struct run *run, uint64_t n)
{
	return below_rng(&run->rng, n);
}

static struct reply call(struct run *run, int wi, const struct op *op)
{
	struct worker *w = &run->workers[wi];
	struct reply r;

	cr_assert_eq(send(w->sock, op, sizeof(*op), 0), (ssize_t)sizeof(*op));
	cr_assert_eq(recv(w->sock, &r, sizeof(r), 0), (ssize_t)sizeof(r),
		     "worker %d died during op %llu (%s)", wi,
		     (unsigned long long)run->done, op_names[op->kind]);
	cr_assert_eq(r.status, 0,
		     "seed %#llx op %llu: %s of buffer %u [%llu, +%llu) by "
		     "worker %d failed at line %u: %s",
		     (unsigned long long)run->seed,
		     (unsigned long long)run->done, op_names[op->kind], op->buf,
		     (unsigned long long)op->off, (unsigned long long)op->len,
		     wi, r.line, strerror(-r.status));
	return r;
}

static void check_bytes(struct run *run, int wi, const struct op *op)
{
	const uint8_t *want = bufs[op->buf].model + op->off;
	const uint8_t *got = run->workers[wi].scratch;
	uint64_t i;

	if (memcmp(want, got, op->len)) {
		for (i = 0; got[i] == want[i]; i++)
			;
		cr_assert_fail(
			"seed %#llx op %llu: %s of buffer %u [%llu, "
			"+%llu) by worker %d: byte %llu is %#x, the "
			"model says %#x",
			(unsigned long long)run->seed,
			(unsigned long long)run->done, op_names[op->kind],
			op->buf, (unsigned long long)op->off,
			(unsigned long long)op->len, wi,
			(unsigned long long)(op->off + i), got[i], want[i]);
	}
	run->bytes_checked += op->len;
}

/*
 * A range inside [lo, hi): mostly small and unaligned, sometimes large,
 * sometimes all of it (up to MAX_IO).
 */
static void range_in(uint64_t *rng, uint64_t lo, uint64_t hi, struct op *op)
{
	bool whole = below_rng(rng, 50) == 0;
	uint64_t max;

	op->off = whole ? lo : lo + below_rng(rng, hi - lo);
	max = hi - op->off < MAX_IO ? hi - op->off : MAX_IO;
	if (whole)
		op->len = max;
	else
		op->len = 1 + below_rng(rng, below_rng(rng, 8) && max > 4096
						     ? 4096
						     : max);
}

static void pick_range(struct run *run, struct op *op)
{
	range_in(&run->rng, 0, bufs[op->buf].size, op);
}

static void do_io(struct run *run, int wi, struct op *op)
{
	uint8_t *scratch = run->workers[wi].scratch;
	bool wr = op->kind == OP_PWRITE || op->kind == OP_WRITE ||
		  op->kind == OP_MMAP_WRITE || op->kind == OP_ZC_WRITE;

	pick_range(run, op);
	if (wr) {
		op->seed = splitmix(&run->rng);
		fill(scratch, op->len, op->seed);
		call(run, wi, op);
		memcpy(bufs[op->buf].model + op->off, scratch, op->len);
	} else {
		memset(scratch, 0xa5, op->len); /* stale bytes would show */
		call(run, wi, op);
		check_bytes(run, wi, op);
	}
}

static void pass_fd(struct run *run, int from, struct op *op)
{
	int to = (from + 1 + (int)below(run, NR_WORKERS - 1)) % NR_WORKERS;
	struct op recv_op = *op;
	int fd;

	op->kind = OP_SEND_FD;
	cr_assert_eq(send(run->workers[from].sock, op, sizeof(*op), 0),
		     (ssize_t)sizeof(*op));
	fd = dmabuf_recv_fd(run->workers[from].sock);
	cr_assert_geq(fd, 0, "fd from worker %d: %s", from, strerror(-fd));
	{
		struct reply r;

		cr_assert_eq(recv(run->workers[from].sock, &r, sizeof(r), 0),
			     (ssize_t)sizeof(r));
		cr_assert_eq(r.status, 0);
	}
	recv_op.kind = OP_RECV_FD;
	cr_assert_eq(send(run->workers[to].sock, &recv_op, sizeof(recv_op), 0),
		     (ssize_t)sizeof(recv_op));
	cr_assert_eq(dmabuf_send_fd(run->workers[to].sock, fd), 0);
	close(fd);
	{
		struct reply r;

		cr_assert_eq(recv(run->workers[to].sock, &r, sizeof(r), 0),
			     (ssize_t)sizeof(r));
		cr_assert_eq(r.status, 0, "worker %d took no fd (line %u: %s)",
			     to, r.line, strerror(-r.status));
	}
}

/* One operation: kinds weighted towards I/O, a few of the rest. */
static void step(struct run *run)
{
	static const uint8_t weights[NR_OPS] = {
		[OP_PWRITE] = 14,     [OP_WRITE] = 6,	   [OP_PREAD] = 20,
		[OP_MMAP_WRITE] = 12, [OP_MMAP_READ] = 12, [OP_ZC_WRITE] = 14,
		[OP_ZC_READ] = 14,    [OP_MIGRATE] = 2,	   [OP_SEND_FD] = 3,
		[OP_REOPEN] = 3,
	};
	struct op op = {.buf = (uint32_t)below(run, NR_BUFS)};
	int wi = (int)below(run, NR_WORKERS), total = 0, k, pick;
	struct reply r;

	for (k = 0; k < NR_OPS; k++)
		total += weights[k];
	pick = (int)below(run, (uint64_t)total);
	for (k = 0; pick >= weights[k]; k++)
		pick -= weights[k];
	op.kind = (uint32_t)k;
	run->counts[k]++;
	switch (k) {
	case OP_MIGRATE:
		op.seed = below(run, 3);
		r = call(run, wi, &op);
		run->migrations += r.before && r.after != r.before;
		break;
	case OP_SEND_FD:
		pass_fd(run, wi, &op);
		break;
	case OP_REOPEN:
		call(run, wi, &op);
		break;
	default:
		do_io(run, wi, &op);
	}
	run->done++;
}

/* Every byte of every buffer, through each worker and each read path. */
static void verify_all(struct run *run)
{
	static const uint32_t kinds[] = {OP_PREAD, OP_MMAP_READ, OP_ZC_READ};
	struct op op;
	int wi, b, k;

	for (wi = 0; wi < NR_WORKERS; wi++)
		for (b = 0; b < NR_BUFS; b++)
			for (k = 0; k < 3; k++)
				for (op = (struct op){.kind = kinds[k],
						  .buf = (uint32_t)b};
				     op.off < bufs[b].size; op.off += op.len) {
					op.len = bufs[b].size - op.off;
					if (op.len > MAX_IO)
						op.len = MAX_IO;
					memset(run->workers[wi].scratch, 0xa5,
					       op.len);
					call(run, wi, &op);
					check_bytes(run, wi, &op);
				}
}

static struct run *live_run;

/* After a failure too: workers hold fds that would keep the mount busy. */
static void stop_run(void)
{
	int i;

	for (i = 0; live_run && i < NR_WORKERS; i++)
		if (live_run->workers[i].pid > 0) {
			kill(live_run->workers[i].pid, SIGKILL);
			waitpid(live_run->workers[i].pid, NULL, 0);
		}
	live_run = NULL;
	unmount_all();
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static void setup_buffers(struct run *run)
{
	static const uint64_t sizes[] = {4096,	 12345,	  65536,
					 300001, 1 << 20, (2 << 20) + 4095};
	int i, fd;

	for (i = 0; i < NR_BUFS; i++) {
		snprintf(bufs[i].name, sizeof(bufs[i].name), "data%d", i);
		bufs[i].heap = i % 2 ? "cma" : "system";
		bufs[i].size = sizes[below(run, 6)];
		bufs[i].model = calloc(1, bufs[i].size);
		cr_assert_not_null(bufs[i].model);
		fd = dmabuf_export(M.mp, bufs[i].name, bufs[i].heap,
				   bufs[i].size, NULL, 0);
		cr_assert_geq(fd, 0, "export %s: %s", bufs[i].name,
			      strerror(-fd));
		close(fd);
	}
}

static void start_workers(struct run *run)
{
	int i, sv[2];

	for (i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &run->workers[i];

		w->scratch = mmap(NULL, MAX_IO, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(w->scratch, MAP_FAILED);
		cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		w->pid = fork();
		cr_assert_geq(w->pid, 0);
		if (w->pid == 0) {
			close(sv[0]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker_main(sv[1], w->scratch);
		}
		close(sv[1]);
		w->sock = sv[0];
	}
}

static void stop_workers(struct run *run)
{
	struct op op = {.kind = OP_EXIT};
	int i, status;

	for (i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &run->workers[i];

		cr_assert_eq(send(w->sock, &op, sizeof(op), 0),
			     (ssize_t)sizeof(op));
		cr_assert_eq(waitpid(w->pid, &status, 0), w->pid);
		w->pid = 0;
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "worker %d exit status %#x", i, status);
		close(w->sock);
		munmap(w->scratch, MAX_IO);
	}
}

Test(integrity, seeded_workload_matches_the_model)
{
	static struct run run;
	int i, k;

	run.seed = env_u64("DMABUF_SEED", DEFAULT_SEED);
	run.nr_ops = env_u64("DMABUF_INTEGRITY_OPS", DEFAULT_OPS);
	run.rng = run.seed;
	setup_buffers(&run);
	live_run = &run;
	start_workers(&run);
	while (run.done < run.nr_ops)
		step(&run);
	verify_all(&run);
	stop_workers(&run);

	fprintf(stderr,
		"integrity: seed %#llx, %llu operations by %d processes on %d "
		"buffers, %llu bytes checked, %llu migrations, 0 mismatches\n",
		(unsigned long long)run.seed, (unsigned long long)run.done,
		NR_WORKERS, NR_BUFS, (unsigned long long)run.bytes_checked,
		(unsigned long long)run.migrations);
	for (k = 0; k < NR_OPS; k++)
		if (run.counts[k])
			fprintf(stderr, "integrity:   %-10s %llu\n",
				op_names[k], (unsigned long long)run.counts[k]);
	cr_assert_gt(run.migrations, 0, "the workload moved some backing");
	for (i = 0; i < NR_BUFS; i++)
		free(bufs[i].model);
}

/*
 * ---- concurrently: each worker on its own pages of shared buffers ----
 *
 * The same paths with no ordering between processes: every worker owns a
 * page-aligned slice of each buffer and runs its own seeded stream there
 * while the others run theirs, so the daemon's cache invalidations, fences
 * and migrations race each other.  The model lives in shared memory; each
 * worker checks its slice, and the parent every byte at the end.
 */

static const uint32_t conc_kinds[] = {
	OP_PWRITE,    OP_WRITE,	   OP_PREAD,   OP_MMAP_WRITE,
	OP_MMAP_READ, OP_ZC_WRITE, OP_ZC_READ, OP_PWRITE,
	OP_PREAD,     OP_ZC_READ,  OP_MIGRATE, OP_REOPEN,
};

static bool is_write(uint32_t kind)
{
	return kind == OP_PWRITE || kind == OP_WRITE || kind == OP_MMAP_WRITE ||
	       kind == OP_ZC_WRITE;
}

static bool is_read(uint32_t kind)
{
	return kind == OP_PREAD || kind == OP_MMAP_READ || kind == OP_ZC_READ;
}

/* Worker @wi's pages of buffer @b: [*lo, *hi). */
static void slice_of(int b, int wi, uint64_t *lo, uint64_t *hi)
{
	uint64_t pages = bufs[b].size / 4096;

	*lo = pages * (uint64_t)wi / NR_WORKERS * 4096;
	*hi = wi == NR_WORKERS - 1
		      ? bufs[b].size
		      : pages * (uint64_t)(wi + 1) / NR_WORKERS * 4096;
}

/* Which path last wrote each page of a worker's slices, for the report. */
static uint8_t last_writer[NR_BUFS][(3 << 20) / 4096];

/* Run one op; 0, or the exit status that names what went wrong. */
static int conc_op(int wi, uint64_t n, struct op *op, uint8_t *scratch)
{
	struct reply r = {0};
	const uint8_t *want = bufs[op->buf].model + op->off;
	uint64_t i;

	if (is_write(op->kind))
		fill(scratch, op->len, op->seed);
	else if (is_read(op->kind))
		memset(scratch, 0xa5, op->len);
	serve_op(-1, op, scratch, &r);
	if (r.status) {
		fprintf(stderr,
			"integrity: worker %d op %llu: %s of buffer %u failed "
			"at line %u: %s\n",
			wi, (unsigned long long)n, op_names[op->kind], op->buf,
			r.line, strerror(-r.status));
		return 3;
	}
	if (is_write(op->kind)) {
		memcpy(bufs[op->buf].model + op->off, scratch, op->len);
		for (i = op->off / 4096; i <= (op->off + op->len - 1) / 4096;
		     i++)
			last_writer[op->buf][i] = (uint8_t)op->kind;
	}
	if (!is_read(op->kind) || !memcmp(scratch, want, op->len))
		return 0;
	for (i = 0; scratch[i] == want[i]; i++)
		;
	fprintf(stderr,
		"integrity: worker %d op %llu: %s of buffer %u [%llu, +%llu): "
		"byte %llu is %#x, the model says %#x (written by %s)\n",
		wi, (unsigned long long)n, op_names[op->kind], op->buf,
		(unsigned long long)op->off, (unsigned long long)op->len,
		(unsigned long long)(op->off + i), scratch[i], want[i],
		op_names[last_writer[op->buf][(op->off + i) / 4096]]);
	return 4;
}

/* Every byte of the worker's slices, through each read path. */
static int conc_verify(int wi, uint8_t *scratch)
{
	static const uint32_t kinds[] = {OP_PREAD, OP_MMAP_READ, OP_ZC_READ};
	uint64_t lo, hi;
	struct op op;
	int b, k, ret;

	for (b = 0; b < NR_BUFS; b++) {
		slice_of(b, wi, &lo, &hi);
		for (k = 0; k < 3; k++)
			for (op = (struct op){.kind = kinds[k],
					  .buf = (uint32_t)b,
					  .off = lo};
			     op.off < hi; op.off += op.len) {
				op.len = hi - op.off < MAX_IO ? hi - op.off
							      : MAX_IO;
				ret = conc_op(wi, UINT64_MAX, &op, scratch);
				if (ret)
					return ret;
			}
	}
	return 0;
}

static void conc_worker(int wi, uint64_t seed, uint64_t nr_ops,
			uint8_t *scratch)
{
	uint64_t rng = seed ^ ((uint64_t)(wi + 1) * 0x9e3779b97f4a7c15ULL);
	uint64_t n, lo, hi;
	struct op op;
	int i, ret = 0;

	for (i = 0; i < NR_BUFS; i++) {
		wbufs[i].fd = open(at(bufs[i].name), O_RDWR);
		if (wbufs[i].fd < 0)
			_exit(10);
	}
	for (n = 0; n < nr_ops && !ret; n++) {
		op = (struct op){.buf = (uint32_t)below_rng(&rng, NR_BUFS)};
		op.kind = conc_kinds[below_rng(
			&rng, sizeof(conc_kinds) / sizeof(conc_kinds[0]))];
		slice_of((int)op.buf, wi, &lo, &hi);
		range_in(&rng, lo, hi, &op);
		op.seed = op.kind == OP_MIGRATE ? below_rng(&rng, 3)
						: splitmix(&rng);
		ret = conc_op(wi, n, &op, scratch);
	}
	if (!ret)
		ret = conc_verify(wi, scratch);
	for (i = 0; i < NR_BUFS; i++) {
		drop_maps(&wbufs[i], bufs[i].size);
		close(wbufs[i].fd);
	}
	_exit(ret);
}

Test(integrity, concurrent_workers_on_their_own_pages)
{
	static const uint64_t sizes[NR_BUFS] = {
		65536, 300001, 1 << 20, (2 << 20) + 4095, 1 << 20, 524288};
	uint64_t seed = env_u64("DMABUF_SEED", DEFAULT_SEED);
	uint64_t nr_ops = env_u64("DMABUF_INTEGRITY_OPS", DEFAULT_OPS);
	uint8_t *scratch, *data;
	pid_t pids[NR_WORKERS];
	int i, fd, status, failed = 0;

	for (i = 0; i < NR_BUFS; i++) {
		snprintf(bufs[i].name, sizeof(bufs[i].name), "conc%d", i);
		bufs[i].heap = i % 2 ? "cma" : "system";
		bufs[i].size = sizes[i];
		bufs[i].model = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(bufs[i].model, MAP_FAILED);
		fd = dmabuf_export(M.mp, bufs[i].name, bufs[i].heap, sizes[i],
				   NULL, 0);
		cr_assert_geq(fd, 0, "export: %s", strerror(-fd));
		close(fd);
	}
	for (i = 0; i < NR_WORKERS; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			scratch = malloc(MAX_IO);
			if (!scratch)
				_exit(12);
			conc_worker(i, seed, nr_ops / NR_WORKERS, scratch);
		}
	}
	for (i = 0; i < NR_WORKERS; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = status;
	}
	cr_assert_eq(failed, 0, "seed %#llx: a worker failed (status %#x)",
		     (unsigned long long)seed, failed);
	data = malloc(sizes[3]);
	cr_assert_not_null(data);
	for (i = 0; i < NR_BUFS; i++) {
		fd = open(at(bufs[i].name), O_RDONLY);
		cr_assert_geq(fd, 0);
		cr_assert_eq(full_pread(fd, data, sizes[i], 0), 0);
		cr_assert_eq(memcmp(data, bufs[i].model, sizes[i]), 0,
			     "buffer %d as a fresh reader sees it", i);
		close(fd);
		munmap(bufs[i].model, sizes[i]);
	}
	free(data);
	fprintf(stderr,
		"integrity: seed %#llx, %llu operations by %d concurrent "
		"processes on their own pages of %d buffers, 0 mismatches\n",
		(unsigned long long)seed,
		(unsigned long long)(nr_ops / NR_WORKERS * NR_WORKERS),
		NR_WORKERS, NR_BUFS);
}
