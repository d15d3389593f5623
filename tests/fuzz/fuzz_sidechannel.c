// SPDX-License-Identifier: MIT
/*
 * DOC: libFuzzer harness over the zero-copy side channel
 *
 * The side channel is the one part of the daemon any local user reaches
 * without opening a buffer: connect to the abstract socket and send.  Each
 * input is a program of such steps against the daemon's own side channel
 * (fs/zerocopy.c and fs/udmabuf.c, with its serving thread running): issue
 * tokens on handles of every access mode (as DMABUF_IOCTL_GET_TOKEN would),
 * connect clients, send them redeem messages (a real token or random bytes,
 * a wrong version, flags, trailing garbage, memfds and backing runs that
 * may or may not make sense, descriptors of every kind that are no memfd),
 * read the answers, half-close and close
 * connections, and let the token lifetime pass so that expiry runs while
 * clients speak.  ASan and UBSan watch the daemon's thread; at the end the
 * channel is stopped and no buffer may still be mapped or charged, nor a
 * heap account a byte.
 *
 * The serving thread runs on its own, so a run is not exactly repeatable:
 * what it finds is a crash or a leak, with the input that led there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../fs/fs.h"
#include "input.h"

#define NR_CLIENTS 6
#define NR_TOKENS 8
#define NR_FILES 4
#define TTL_MS 2

#define FAIL(...)                                                  \
	do {                                                       \
		fprintf(stderr, "fuzz_sidechannel: " __VA_ARGS__); \
		abort();                                           \
	} while (0)

struct state {
	struct dmabuf_core *core;
	struct fs fs;
	struct fs_inode inodes[2];
	struct fs_file files[NR_FILES];
	uint8_t tokens[NR_TOKENS][DMABUF_TOKEN_LEN];
	unsigned int nr_tokens;
	int clients[NR_CLIENTS];
	struct sockaddr_un addr;
	socklen_t addr_len;
};

static unsigned long long counts[FS_NR_COUNTERS];

/* The daemon's counters, kept here to show what the inputs reached. */
void fs_count(enum fs_counter c)
{
	__atomic_add_fetch(&counts[c], 1, __ATOMIC_RELAXED);
}

static void report(void)
{
	fprintf(stderr,
		"fuzz_sidechannel: %llu tokens issued, %llu redeemed, "
		"%llu refused, %llu over a limit\n",
		counts[FS_TOKENS_ISSUED], counts[FS_TOKENS_REDEEMED],
		counts[FS_TOKENS_REFUSED], counts[FS_LIMIT_REFUSED]);
}

static void issue(struct state *s, struct input *in)
{
	struct fs_file *file = &s->files[take(in, 1) % NR_FILES];
	struct fuse_ctx ctx = {
		.uid = getuid(), .gid = getgid(), .pid = getpid()};
	struct dmabuf_token tok = {.flags = (uint32_t)take(in, 1) &
					    DMABUF_TOKEN_VALID_FLAGS};
	int ret = fs_zc_issue(&s->fs, &ctx, file, &tok);

	if (ret > 0 || ret < -4095)
		FAIL("issue answered %d\n", ret);
	if (ret)
		return;
	memcpy(s->tokens[s->nr_tokens++ % NR_TOKENS], tok.token,
	       DMABUF_TOKEN_LEN);
	if (!s->addr_len) { /* where to connect, as a client learns it */
		size_t len = strnlen(tok.socket, sizeof(tok.socket));

		memcpy(s->addr.sun_path, tok.socket, len);
		if (tok.socket[0] == '@')
			s->addr.sun_path[0] = '\0';
		s->addr_len =
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    len);
	}
}

static int *client(struct state *s, struct input *in)
{
	return &s->clients[take(in, 1) % NR_CLIENTS];
}

static void drop(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void connect_client(struct state *s, struct input *in)
{
	int *fd = client(s, in);

	drop(fd);
	if (!s->addr_len)
		return;
	*fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd >= 0 &&
	    connect(*fd, (struct sockaddr *)&s->addr, s->addr_len) &&
	    errno != EAGAIN)
		drop(fd);
}

/*
 * One descriptor of kind @kind to pass along: memfds with every mix of
 * seals, a read-only one, a hugetlbfs one where the machine has huge
 * pages, and things that are no memfd at all (a pipe, a directory, an
 * eventfd, a socket with SO_LINGER, /dev/null), which the daemon must
 * refuse without blocking on their close.
 */
static int make_fd(struct input *in, unsigned int kind)
{
	static const int seals[] = {0, F_SEAL_SHRINK,
				    F_SEAL_SHRINK | F_SEAL_WRITE,
				    F_SEAL_SHRINK | F_SEAL_GROW};
	struct linger l = {.l_onoff = 1, .l_linger = 5};
	int fd = -1, p[2];
	char path[64];

	switch (kind % 9) {
	case 0:
	case 1:
	case 2:
	case 3:
		fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, (off_t)(take(in, 1) % 17) * 4096))
			FAIL("memfd: %s\n", strerror(errno));
		if (seals[kind % 4])
			fcntl(fd, F_ADD_SEALS, seals[kind % 4]);
		if (kind % 4 != 3)
			break;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		p[0] = open(path, O_RDONLY | O_CLOEXEC); /* read-only */
		close(fd);
		fd = p[0];
		break;
	case 4:
		fd = memfd_create("fuzz-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case 5:
		if (pipe2(p, O_CLOEXEC))
			FAIL("pipe: %s\n", strerror(errno));
		close(p[1]);
		fd = p[0];
		break;
	case 6:
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	case 7:
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		break;
	default:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		FAIL("descriptor of kind %u: %s\n", kind % 9, strerror(errno));
	return fd;
}

/* Descriptors to pass along: sizes the runs may or may not fit. */
static unsigned int make_memfds(struct input *in, int *fds)
{
	unsigned int n = (unsigned int)take(in, 1) % 4, i;

	for (i = 0; i < n; i++)
		fds[i] = make_fd(in, (unsigned int)take(in, 1));
	return n;
}

static void send_redeem(struct state *s, struct input *in)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl = {0};
	uint8_t msg[sizeof(struct dmabuf_redeem) + 256] = {0};
	struct dmabuf_redeem *r = (struct dmabuf_redeem *)msg;
	unsigned int shape = (unsigned int)take(in, 1), nr_fds, i;
	size_t len = sizeof(*r);
	int *fd = client(s, in), fds[4];
	struct iovec iov = {msg, 0};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (*fd < 0)
		return;
	if (!(shape & 0x80))
		shape &= ~(1u | 2u | 4u | 16u); /* half the time well formed */
	r->version = shape & 1 ? (uint32_t)take(in, 4) : DMABUF_REDEEM_VERSION;
	r->flags = shape & 2 ? (uint32_t)take(in, 4) : 0;
	if (shape & 4 || !s->nr_tokens)
		for (i = 0; i < DMABUF_TOKEN_LEN; i++)
			r->token[i] = (uint8_t)take(in, 1);
	else
		memcpy(r->token, s->tokens[take(in, 1) % NR_TOKENS],
		       DMABUF_TOKEN_LEN);
	if (shape & 8) { /* a backing body, or any bytes */
		size_t extra = (size_t)take(in, 1);

		for (i = 0; i < extra; i++)
			msg[len + i] = (uint8_t)take(in, 1);
		len += extra;
	}
	if (shape & 16)
		len = (size_t)take(in, 1) % len; /* cut short */
	iov.iov_len = len;
	nr_fds = shape & 32 ? make_memfds(in, fds) : 0;
	if (nr_fds) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nr_fds * sizeof(int));
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(nr_fds * sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), fds, nr_fds * sizeof(int));
	}
	(void)sendmsg(*fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (i = 0; i < nr_fds; i++)
		close(fds[i]);
}

/* Read what the daemon answered; a memfd it sent must fit the reply. */
static void recv_reply(struct state *s, struct input *in)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(DMABUF_BACKING_MAX_FDS * sizeof(int))];
	} ctl;
	uint8_t msg[65536];
	struct iovec iov = {msg, sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	int *fd = client(s, in), fds[DMABUF_BACKING_MAX_FDS];
	struct cmsghdr *c;
	size_t n, i;

	if (*fd < 0 || recvmsg(*fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++)
			close(fds[i]);
	}
}

static void let_tokens_expire(void)
{
	struct timespec ts = {0, (TTL_MS + 1) * 1000000L};

	nanosleep(&ts, NULL);
}

static void one_step(struct state *s, struct input *in)
{
	int *fd;

	switch (take(in, 1) % 7) {
	case 0:
		issue(s, in);
		break;
	case 1:
		connect_client(s, in);
		break;
	case 2:
		send_redeem(s, in);
		break;
	case 3:
		recv_reply(s, in);
		break;
	case 4:
		drop(client(s, in));
		break;
	case 5:
		fd = client(s, in);
		if (*fd >= 0)
			shutdown(*fd, SHUT_WR);
		break;
	default:
		let_tokens_expire();
	}
}

static void setup(struct state *s)
{
	static const int modes[NR_FILES] = {O_RDWR, O_RDONLY, O_WRONLY, O_RDWR};
	struct dmabuf_core_config cfg = {.cma_size = 16 << 20,
					 .system_size = 64 << 20};
	const uint64_t max[FS_NR_LIMITS] = {
		[FS_LIMIT_HANDLES] = 16, [FS_LIMIT_TOKENS] = 8};
	unsigned int i;

	if (dmabuf_core_new(&cfg, &s->core) ||
	    dmabuf_buffer_export(s->core, "system", 65536, 0, NULL,
				 &s->inodes[0].buf) ||
	    dmabuf_buffer_create(s->core, &s->inodes[1].buf))
		abort();
	s->fs.core = s->core;
	fs_limits_init(&s->fs.limits, max);
	/* Three handles of the sized buffer, one of the EMPTY one. */
	for (i = 0; i < NR_FILES; i++) {
		s->files[i].inode = &s->inodes[i / 3];
		s->files[i].flags = modes[i];
	}
	for (i = 0; i < NR_CLIENTS; i++)
		s->clients[i] = -1;
	s->addr.sun_family = AF_UNIX;
	if (fs_reaper_start(&s->fs, false, &s->fs.closer))
		abort();
	dmabuf_core_set_closer(s->core, fs_close_later, &s->fs);
	if (fs_zc_start(&s->fs, TTL_MS))
		abort();
}

static void teardown(struct state *s)
{
	struct dmabuf_heap_stats st;
	char name[DMABUF_NAME_LEN];
	struct dmabuf_info info;
	unsigned int i;

	for (i = 0; i < NR_CLIENTS; i++)
		drop(&s->clients[i]);
	fs_zc_stop(&s->fs);
	dmabuf_core_set_closer(s->core, NULL, NULL);
	if (!fs_reaper_stop(s->fs.closer))
		FAIL("the closer did not finish\n");
	/* Every charge came back: the whole allowance can be taken again. */
	for (i = 0; i < 8; i++)
		if (fs_charge(&s->fs, getuid(), FS_LIMIT_TOKENS))
			FAIL("a token's charge was never returned\n");
	for (i = 0; i < 16; i++)
		if (fs_charge(&s->fs, getuid(), FS_LIMIT_HANDLES))
			FAIL("a connection's charge was never returned\n");
	for (i = 0; i < 2; i++) {
		dmabuf_buffer_info(s->inodes[i].buf, &info);
		if (info.cpu_maps)
			FAIL("buffer %u still mapped %u times\n", i,
			     info.cpu_maps);
		dmabuf_buffer_put(s->inodes[i].buf);
	}
	for (i = 0; dmabuf_heap_stats(s->core, i, name, &st) == 0; i++)
		if (st.used)
			FAIL("heap %s still accounts %llu bytes\n", name,
			     (unsigned long long)st.used);
	fs_limits_destroy(&s->fs.limits);
	dmabuf_core_free(s->core);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	struct input in = {data, size};
	struct state s;

	if (!registered)
		registered = atexit(report) == 0;
	memset(&s, 0, sizeof(s));
	dmabuf_log_set_handler(quiet);
	setup(&s);
	while (in.left)
		one_step(&s, &in);
	teardown(&s);
	return 0;
}
