// SPDX-License-Identifier: MIT
/*
 * Hostile and broken clients against a live daemon: random ioctls, clients
 * killed at random points, and the daemon itself killed.  Each test checks
 * that every call got a defined answer, that nothing leaked or was lost,
 * and that the daemon kept (or, killed, released) its clients.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <dmabuf/dmabuf.h>

#include "../../tools/mountd.h"
#include "channel.h"

TestSuite(hardening, .init = mount_default, .fini = unmount_all,
	  .timeout = 300);

/*
 * Under ASan freed memory waits in a quarantine, so RSS says nothing about
 * leaks there; LeakSanitizer checks the daemon at exit instead.
 */
#ifdef __SANITIZE_ADDRESS__
#define RSS_MEANINGFUL false
#else
#define RSS_MEANINGFUL true
#endif

static long daemon_rss_kib(void)
{
	return mountd_rss_kib(M.pid);
}

/* xorshift: reproducible from the printed seed */
static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const unsigned long known[] = {
	DMA_BUF_IOCTL_SYNC,
	DMABUF_IOCTL_EXPORT,
	DMABUF_IOCTL_INFO,
	DMABUF_IOCTL_SET_NAME,
	DMABUF_IOCTL_ATTACH,
	DMABUF_IOCTL_DETACH,
	DMABUF_IOCTL_MAP,
	DMABUF_IOCTL_GET_SG,
	DMABUF_IOCTL_UNMAP,
	DMABUF_IOCTL_BEGIN_CPU_ACCESS,
	DMABUF_IOCTL_END_CPU_ACCESS,
	DMABUF_IOCTL_GET_TOKEN,
	DMABUF_IOCTL_DEVICE_LIST,
	DMABUF_IOCTL_HEAP_INFO,
	DMABUF_IOCTL_BUFFER_INFO,
	DMABUF_IOCTL_DEVICE_REMOVE,
	DMABUF_IOCTL_SYNC_SLOT,
};

static bool defined_errno(int e)
{
	switch (e) {
	case EINVAL:
	case ENOTTY:
	case ENODEV:
	case EBUSY:
	case EAGAIN:
	case ENOMEM:
	case EPERM:
	case EFBIG:
	case ENOENT:
	case EACCES:
	case ENOSPC:
	case EEXIST:
	case EFAULT:
	case EOPNOTSUPP: /* a SYNC slot for a handle the page cache serves */
		return true;
	}
	return false;
}

/* A random command: a known one with garbage, or a random number. */
static unsigned long random_cmd(void)
{
	uint64_t r = next();

	if (r % 4)
		return known[(r >> 8) % (sizeof(known) / sizeof(*known))];
	return _IOC((unsigned int)(r >> 16) & 3, (r >> 24) & 0xff,
		    (r >> 32) & 0xff, (r >> 40) % 2048);
}

static void fill_random(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t r = next();

		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

Test(hardening, random_ioctl_storm)
{
	static uint8_t arg[16384];
	const char *env = getenv("DMABUF_STORM_IOCTLS");
	int fds[4], root, i, n = env ? atoi(env) : 1000000, odd = 0;
	long rss_mid = 0, rss_end;

	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = 88172645463325252ULL;
	fprintf(stderr, "storm: %d random ioctls, seed %llu\n", n,
		(unsigned long long)rng);
	root = open(M.mp, O_RDONLY | O_DIRECTORY);
	fds[0] = new_buffer("a", "cma", 1 << 20, O_NONBLOCK);
	fds[1] = open(at("a"), O_RDWR | O_NONBLOCK);
	fds[2] = open(at("fresh"), O_RDWR | O_CREAT | O_NONBLOCK, 0644);
	fds[3] = open(at(".bufinfo"), O_RDONLY);
	cr_assert_geq(root, 0);
	for (i = 0; i < n; i++) {
		uint64_t pick = next() % 5;
		int fd = pick == 4 ? root : fds[pick];
		unsigned long cmd = random_cmd();

		fill_random(arg, sizeof(arg));
		if (ioctl(fd, cmd, arg) && !defined_errno(errno)) {
			fprintf(stderr, "cmd %#lx on fd %d: %s\n", cmd, fd,
				strerror(errno));
			odd++;
		}
		if (i == n / 2)
			rss_mid = daemon_rss_kib();
	}
	rss_end = daemon_rss_kib();
	cr_assert_eq(odd, 0, "%d calls got an undefined errno", odd);
	cr_assert_eq(kill(M.pid, 0), 0, "the daemon is up");
	cr_assert(!RSS_MEANINGFUL || rss_end < rss_mid + rss_mid / 10 + 1024,
		  "memory stays flat: %ld KiB at half, %ld at the end", rss_mid,
		  rss_end);
	cr_assert_eq(pwrite(fds[1], "ok", 2, 0), 2, "and still serves");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(root);
}

/* One client: steps through attach, map, zero-copy, a fence wait. */
static void client(int fd, int report)
{
	struct dmabuf_mapping *m;
	struct dmabuf_sg *sg;
	uint64_t id, id2;
	char step = 's';

	if (dmabuf_attach(fd, "gpu0", &id) || write(report, &step, 1) != 1 ||
	    dmabuf_map_attachment(fd, id, DMABUF_DIR_FROM_DEVICE, &sg) ||
	    write(report, &step, 1) != 1 || dmabuf_mmap(fd, PROT_READ, &m) ||
	    write(report, &step, 1) != 1 ||
	    dmabuf_attach(fd, "encoder0", &id2) || write(report, &step, 1) != 1)
		_exit(1);
	/* Our own write fence: this wait never ends on its own. */
	dmabuf_begin_cpu_access(fd, 0, 0, DMABUF_CPU_READ);
	_exit(0);
}

Test(hardening, killed_clients_leave_nothing_behind)
{
	int fd = new_buffer("shared", "system", 1 << 20, 0), i, kills = 1000;
	long rss0 = 0, rss1;
	char *text;

	cr_assert_eq(pwrite(fd, "precious", 8, 4096), 8);
	for (i = 0; i < kills; i++) {
		int p[2], steps = 1 + (int)(next() % 5), got = 0, status;
		char c;
		pid_t pid;

		cr_assert_eq(pipe(p), 0);
		pid = fork();
		if (pid == 0) {
			int own = open(at("shared"), O_RDWR);

			close(p[0]);
			client(own, p[1]);
		}
		close(p[1]);
		while (got < steps && got < 4 && read(p[0], &c, 1) == 1)
			got++;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(p[0]);
		/*
		 * After the daemon's worker threads and their malloc arenas
		 * have grown to the load: measured, its memory then grows by
		 * the same ~300 KiB whether 1,000 or 4,000 clients are killed,
		 * so what grows after this point is what a kill leaks.
		 */
		if (i == kills / 4)
			rss0 = daemon_rss_kib();
	}
	cr_assert(WAIT_FOR(strstr(slurp(at(".bufinfo")),
				  "Total 0 devices attached") &&
				   !strstr(slurp(at(".bufinfo")), "fence:"),
			   20),
		  "no stray attachment or fence: %s", slurp(at(".bufinfo")));
	text = slurp(at(".bufinfo"));
	cr_assert_not_null(strstr(text, "Total 1 objects"),
			   "nothing freed early or leaked");
	{
		char got[8];

		cr_assert_eq(pread(fd, got, 8, 4096), 8);
		cr_assert_eq(memcmp(got, "precious", 8), 0, "no buffer lost");
	}
	cr_assert(WAIT_FOR(strstr(slurp(at(".stats")), "\nbuffers 1\n") != NULL,
			   10));
	rss1 = daemon_rss_kib();
	cr_assert(!RSS_MEANINGFUL || rss1 < rss0 + rss0 / 10 + 1024,
		  "daemon memory back near where it was: %ld -> %ld KiB", rss0,
		  rss1);
	close(fd);
}

Test(hardening, killed_daemon_frees_its_clients)
{
	int fd = new_buffer("b", "system", 1 << 20, 0), status, report[2],
	    bound;
	struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START |
					     DMA_BUF_SYNC_WRITE};
	struct dmabuf_mapping *m;
	pid_t waiter;
	double t;
	bool pt;
	char c;

	cr_assert_eq(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m), 0);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	memcpy(dmabuf_mapping_addr(m), "survives", 8);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	/* A request in flight: a SYNC parked behind a device's read. */
	do_map(fd, do_attach(fd, "gpu0"), DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(pipe(report), 0);
	waiter = fork();
	if (waiter == 0) {
		int ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);

		c = ret ? (char)errno : 0;
		_exit(write(report[1], &c, 1) == 1 ? 0 : 1);
	}
	cr_assert(WAIT_FOR(stat_of("parked_requests") == 1, 10));
	bound = open(at("b"), O_RDWR); /* opened after sizing: passthrough */
	cr_assert_geq(bound, 0);
	pt = passthrough_on();
	kill(M.pid, SIGKILL);
	waitpid(M.pid, &status, 0);
	M.pid = 0;
	t = now_s();
	cr_assert_eq(pread(fd, &c, 1, 0), -1, "the daemon served this one");
	cr_assert(errno == ENOTCONN || errno == EIO, "%s", strerror(errno));
	cr_assert_lt(now_s() - t, 1.0, "no hang");
	if (pt) { /* the kernel serves it: dmabuffs(8) SIGNALS */
		cr_assert_eq(pread(bound, &c, 1, 0), 1);
		cr_assert_eq(c, 's', "a bound handle reads on");
		cr_assert_eq(pwrite(bound, "S", 1, 0), 1, "and writes on");
	} else {
		cr_assert_eq(pread(bound, &c, 1, 0), -1);
		cr_assert(errno == ENOTCONN || errno == EIO, "%s",
			  strerror(errno));
	}
	close(bound);
	cr_assert_eq(read(report[0], &c, 1), 1);
	cr_assert_eq(c, ECONNABORTED, "the request in flight: %s", strerror(c));
	waitpid(waiter, &status, 0);
	close(report[0]);
	close(report[1]);
	cr_assert_eq(memcmp(dmabuf_mapping_addr(m) + 1, "urvives", 7), 0,
		     "the zero-copy mapping keeps its bytes");
	dmabuf_munmap(m);
	close(fd);
	run_quiet("fusermount3 -u -z '%s' 2>/dev/null", M.mp);
	cr_assert(WAIT_FOR(!is_mounted(M.mp), 10));
	run_quiet("rm -rf '%s'", M.dir);
	mount_default();
	cr_assert_eq(sh("truncate -s 4096 $MNT/again && test -e $MNT/again"), 0,
		     "a fresh mount works");
}

Test(hardening, full_token_pool_fails_only_the_request)
{
	struct dmabuf_mapping *m;
	struct dmabuf_token t;
	int fd, i, ret = 0;

	/* The whole pool, not one uid's share of it. */
	unmount_all();
	mount_with("max_tokens=0");
	fd = new_buffer("t", NULL, 8192, 0);

	for (i = 0; i < 5000 && ret == 0; i++) {
		memset(&t, 0, sizeof(t));
		ret = ioctl(fd, DMABUF_IOCTL_GET_TOKEN, &t) ? errno : 0;
	}
	cr_assert_eq(ret, ENOSPC, "a clear errno once the pool is full");
	cr_assert_eq(i, 4097, "after 4096 outstanding tokens");
	cr_assert_eq(dmabuf_mmap(fd, PROT_READ, &m), -ENOSPC,
		     "no token, no mapping");
	cr_assert_eq(pwrite(fd, "still", 5, 0), 5, "everything else works");
	cr_assert_eq(sh("grep -q 'token refused (ENOSPC)' %s", M.log), 0);
	close(fd);
}

/*
 * Connections that stay silent past the token lifetime are closed; ones
 * that speak in the same epoll batch as their expiry must not be touched
 * after that (a use-after-free under ASan before it was fixed).  Any local
 * user can do this: no token is needed.
 */
Test(hardening, silent_connections_expire_while_they_speak)
{
	struct dmabuf_redeem_reply reply;
	struct dmabuf_token t;
	int socks[40], fd, round, i, answered = 0, closed = 0;
	char junk[64] = {0};
	ssize_t n;

	unmount_all();
	mount_with("token_ttl_ms=20");
	fd = new_buffer("t", NULL, 8192, 0);
	cr_assert_eq(get_token(fd, 0, &t), 0, "only for the socket's name");
	/*
	 * Speak from 5 ms before the 20 ms deadline to 5 ms after it, a step
	 * per round, so that some rounds land in the batch where the
	 * connections expire, whatever this machine's timing.
	 */
	for (round = 0; round < 22; round++) {
		double expiry = now_s() + 0.015 + 0.0005 * round;

		for (i = 0; i < 40; i++) {
			socks[i] = connect_channel(&t);
			cr_assert_geq(socks[i], 0);
		}
		WAIT_FOR(now_s() >= expiry, 1);
		for (i = 0; i < 40; i++)
			send(socks[i], junk, sizeof(junk), MSG_NOSIGNAL);
		for (i = 0; i < 40; i++) {
			/* A refusal of the junk, or the close of an expired
			 * connection: nothing else. */
			n = recv(socks[i], &reply, sizeof(reply), 0);
			if (n == (ssize_t)sizeof(reply) &&
			    reply.status == -EINVAL)
				answered++;
			else if (n == 0 || (n < 0 && errno == ECONNRESET))
				closed++;
			else
				cr_assert_fail("connection %d: %zd bytes, %s",
					       i, n, strerror(errno));
			close(socks[i]);
		}
		cr_assert_eq(kill(M.pid, 0), 0, "the daemon lives (round %d)",
			     round);
		cr_assert_neq(waitpid(M.pid, NULL, WNOHANG), M.pid,
			      "the daemon has not exited (round %d)", round);
	}
	cr_assert_eq(answered + closed, 22 * 40);
	cr_assert_eq(pwrite(fd, "alive", 5, 0), 5, "the daemon serves on");
	close(fd);
}

static unsigned int log_lines_with(const char *needle)
{
	char cmd[PATH_MAX * 2], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s", needle, M.log);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	return (unsigned int)strtoul(out, NULL, 10);
}

/* One bad token from uid 0: connect, send junk, wait for the answer. */
static void refused_once(const struct dmabuf_token *t)
{
	struct dmabuf_redeem r = {.version = DMABUF_REDEEM_VERSION};
	int sock = connect_channel(t);
	char byte;

	cr_assert_geq(sock, 0);
	cr_assert_eq(send(sock, &r, sizeof(r), MSG_NOSIGNAL), sizeof(r));
	recv(sock, &byte, 1, 0);
	close(sock);
}

Test(hardening, refused_tokens_cannot_flood_the_log)
{
	struct dmabuf_token t;
	int fd = new_buffer("t", NULL, 8192, 0), i;
	double end;

	cr_assert_eq(get_token(fd, 0, &t), 0, "only for the socket's name");
	for (i = 0; i < 500; i++)
		refused_once(&t);
	cr_assert_leq(log_lines_with("zero-copy token from uid"), 3,
		      "at most a line a second for one uid");
	/* The next second's line says how many were left out. */
	end = now_s() + 5;
	while (!log_lines_with("more from uid") && now_s() < end)
		refused_once(&t);
	cr_assert_geq(log_lines_with("more from uid"), 1);
	close(fd);
}
