// SPDX-License-Identifier: MIT
/*
 * Users who do not belong: per-uid limits on buffers, handles, waiting
 * requests and zero-copy tokens, silent side-channel connections, and a
 * second uid on an allow_other mount.  Limits are set low with mount
 * options; each refusal must be the kind's errno, logged, and must leave
 * every other buffer as it was.
 */
#include <poll.h>
#include <sys/mman.h>

#include <dmabuf/dmabuf.h>

#include "channel.h"

TestSuite(limits, .fini = unmount_all, .timeout = 120);

#define NOBODY 65534

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip("needs root to become another user");
}

static bool logged(const char *text)
{
	return sh("grep -qF '%s' %s", text, M.log) == 0;
}

/* Create @name (0644) with @len bytes of its name repeated; 0 or -errno. */
static int make_filled(const char *name, size_t len)
{
	char data[4096];
	int fd = open(at(name), O_RDWR | O_CREAT | O_EXCL, 0644);
	size_t i;

	if (fd < 0)
		return -errno;
	for (i = 0; i < len; i++)
		data[i] = name[i % strlen(name)];
	if (ftruncate(fd, (off_t)len) ||
	    pwrite(fd, data, len, 0) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static bool holds_its_name(const char *name, size_t len)
{
	char data[4096];
	int fd = open(at(name), O_RDONLY);
	bool ok = fd >= 0 && pread(fd, data, len, 0) == (ssize_t)len;
	size_t i;

	for (i = 0; ok && i < len; i++)
		ok = data[i] == name[i % strlen(name)];
	if (fd >= 0)
		close(fd);
	return ok;
}

Test(limits, buffers_per_uid_edquot)
{
	char name[16];
	int i;

	mount_with("max_buffers=4");
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		cr_assert_eq(make_filled(name, 1000), 0, "buffer %d", i);
	}
	cr_assert_eq(make_filled("b4", 1000), -EDQUOT, "the fifth is refused");
	cr_assert_eq(sh("truncate -s 1 $MNT/b5 2>/dev/null"), 1);
	cr_assert(
		logged("reached its limit of 4 buffers (Disk quota exceeded)"));
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		cr_assert(holds_its_name(name, 1000), "%s intact", name);
	}
	cr_assert_eq(unlink(at("b0")), 0);
	/* The kernel forgets the unlinked inode asynchronously. */
	cr_assert(WAIT_FOR(make_filled("b4", 1000) == 0, 10),
		  "a freed buffer frees its share");
	cr_assert_geq(stat_of("refused_over_limit"), 2);
}

Test(limits, handles_per_uid_emfile)
{
	int fds[4], extra, dir, i;
	struct dmabuf_mapping *m, *m2;

	mount_with("max_handles=4");
	fds[0] = new_buffer("h", NULL, 8192, 0);
	fds[1] = open(at("h"), O_RDWR);
	fds[2] = open(at("h"), O_RDONLY);
	cr_assert(fds[1] >= 0 && fds[2] >= 0);
	dir = open(M.mp, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(dir, 0, "a directory listing is a handle too");
	cr_assert_eq(open(at("h"), O_RDONLY), -1);
	cr_assert_eq(errno, EMFILE);
	cr_assert_eq(open(at(".stats"), O_RDONLY), -1, "snapshots count");
	cr_assert_eq(errno, EMFILE);
	cr_assert_eq(open(M.mp, O_RDONLY | O_DIRECTORY), -1);
	cr_assert_eq(errno, EMFILE);
	cr_assert(logged("reached its limit of 4 handles"));
	cr_assert_eq(pwrite(fds[0], "kept", 4, 0), 4, "open handles work");

	/* Releases reach the daemon asynchronously. */
	close(dir);
	cr_assert(WAIT_FOR((extra = open(at("h"), O_RDONLY)) >= 0, 10));
	close(extra);
	close(fds[2]);
	close(fds[1]);

	/* A zero-copy mapping holds a connection: one handle each. */
	cr_assert(WAIT_FOR(dmabuf_mmap(fds[0], PROT_READ, &m) == 0, 10));
	cr_assert(WAIT_FOR((fds[1] = open(at("h"), O_RDONLY)) >= 0, 10));
	cr_assert(WAIT_FOR((fds[2] = open(at("h"), O_RDONLY)) >= 0, 10),
		  "fd, mapping and two opens");
	i = dmabuf_mmap(fds[0], PROT_READ, &m2);
	cr_assert_eq(i, -EMFILE,
		     "the fifth handle would be the mapping's connection: %s",
		     strerror(-i));
	cr_assert_eq(memcmp(dmabuf_mapping_addr(m), "kept", 4), 0,
		     "the first mapping lives");
	dmabuf_munmap(m);
	cr_assert(WAIT_FOR(dmabuf_mmap(fds[0], PROT_READ, &m2) == 0, 10));
	dmabuf_munmap(m2);
	close(fds[2]);
	close(fds[1]);
	close(fds[0]);
}

Test(limits, snapshots_per_uid_emfile)
{
	int info, dir, stats, fd;
	char text[4096];
	ssize_t n;

	mount_with("max_snapshots=2");
	fd = new_buffer("s", NULL, 4096, 0);
	info = open(at(".bufinfo"), O_RDONLY);
	dir = open(M.mp, O_RDONLY | O_DIRECTORY);
	cr_assert(info >= 0 && dir >= 0);
	cr_assert_eq(open(at(".stats"), O_RDONLY), -1,
		     "a third copy of the namespace");
	cr_assert_eq(errno, EMFILE);
	cr_assert_eq(open(M.mp, O_RDONLY | O_DIRECTORY), -1);
	cr_assert_eq(errno, EMFILE);
	cr_assert(logged("reached its limit of 2 snapshots"));
	close(fd);
	fd = open(at("s"), O_RDWR);
	cr_assert_geq(fd, 0, "buffers still open: %s", strerror(errno));
	close(dir);
	cr_assert(WAIT_FOR((stats = open(at(".stats"), O_RDONLY)) >= 0, 10));
	n = read(stats, text, sizeof(text) - 1);
	cr_assert_gt(n, 0);
	text[n] = '\0';
	cr_assert_not_null(strstr(text, "\nmax_snapshots 2\n"),
			   ".stats shows the limits");
	close(stats);
	close(info);
	close(fd);
}

/* A child that blocks in SYNC(START|READ) on @name; exits 0 if it got 0. */
static pid_t blocked_reader(const char *name)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(at(name), O_RDWR);

		_exit(fd >= 0 && sync_buf(fd, DMA_BUF_SYNC_START |
						      DMA_BUF_SYNC_READ) == 0
			      ? 0
			      : 1);
	}
	return pid;
}

Test(limits, waiters_per_uid_eagain)
{
	int fd, fd2, status, i;
	unsigned long long parked;
	pid_t kids[2];
	uint64_t id;

	mount_with("max_waiters=2");
	fd = new_buffer("w", NULL, 4096, 0);
	id = do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE); /* a device writes: a fence */
	parked = stat_of("parked_requests");
	for (i = 0; i < 2; i++)
		kids[i] = blocked_reader("w");
	cr_assert(WAIT_FOR(stat_of("parked_requests") == parked + 2, 10));
	fd2 = open(at("w"), O_RDWR); /* blocking: only the limit says EAGAIN */
	cr_assert_eq(sync_buf(fd2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     -EAGAIN);
	cr_assert(logged("reached its limit of 2 waiting requests"));
	do_unmap(fd, id);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "parked reader %d woken with success", i);
	}
	cr_assert_eq(sync_buf(fd2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(sync_buf(fd2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	close(fd2);
	close(fd);
}

Test(limits, tokens_per_uid_eagain_until_redeemed_or_expired)
{
	struct dmabuf_mapping *m;
	struct dmabuf_token t;
	int fd, i;

	mount_with("max_tokens=3,token_ttl_ms=1000");
	fd = new_buffer("t", NULL, 4096, 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(get_token(fd, 0, &t), 0);
	cr_assert_eq(get_token(fd, 0, &t), -EAGAIN);
	cr_assert_eq(dmabuf_mmap(fd, PROT_READ, &m), -EAGAIN);
	cr_assert(logged("reached its limit of 3 zero-copy tokens"));
	cr_assert_eq(pwrite(fd, "fine", 4, 0), 4);
	/* Expired tokens stop counting. */
	cr_assert(WAIT_FOR(get_token(fd, 0, &t) == 0, 10));
	cr_assert(WAIT_FOR(dmabuf_mmap(fd, PROT_READ, &m) == 0, 10),
		  "a redeemed token stops counting");
	cr_assert_eq(memcmp(dmabuf_mapping_addr(m), "fine", 4), 0);
	dmabuf_munmap(m);
	close(fd);
}

static bool closed_by_peer(int sock)
{
	char c;

	return recv(sock, &c, 1, MSG_DONTWAIT) == 0;
}

Test(limits, silent_connections_are_closed)
{
	struct dmabuf_token t;
	int fd, socks[8], i;

	mount_with("token_ttl_ms=300");
	fd = new_buffer("s", NULL, 4096, 0);
	cr_assert_eq(get_token(fd, 0, &t), 0);
	for (i = 0; i < 8; i++)
		cr_assert_geq(socks[i] = connect_channel(&t), 0);
	for (i = 0; i < 8; i++)
		cr_assert(WAIT_FOR(closed_by_peer(socks[i]), 10),
			  "connection %d closed by the daemon", i);
	cr_assert(logged("no token within 300 ms"));
	for (i = 0; i < 8; i++)
		close(socks[i]);
	close(fd);
}

/* In a child that is uid 65534: exit with the failing line, or 0. */
#define CHECK(cond)                             \
	do {                                    \
		if (!(cond))                    \
			_exit(__LINE__ & 0xff); \
	} while (0)

static void nobody_checks(void)
{
	struct dmabuf_attach a = {.device = "gpu0"};
	struct dmabuf_map mp = {.dir = DMABUF_DIR_FROM_DEVICE};
	struct dmabuf_name gpu = {.name = "gpu0"};
	struct dmabuf_mapping *m;
	struct dmabuf_token tok;
	int fd, memfd;

	/* Its own share of buffers, then EDQUOT. */
	CHECK(make_filled("n0", 10) == 0);
	CHECK(make_filled("n1", 10) == 0);
	CHECK(make_filled("n2", 10) == 0);
	CHECK(make_filled("n3", 10) == -EDQUOT);
	/* Mode bits: no open, so no attach, map or token. */
	CHECK(open(at("root-private"), O_RDONLY) < 0 && errno == EACCES);
	CHECK(open(at("root-shared"), O_RDWR) < 0 && errno == EACCES);
	CHECK(rename(at("root-shared"), at("mine")) < 0);
	CHECK(unlink(at("root-shared")) < 0);
	/* Read-only: a device may read, never write. */
	fd = open(at("root-shared"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK(ioctl(fd, DMABUF_IOCTL_ATTACH, &a) == 0);
	mp.attach_id = a.attach_id;
	CHECK(ioctl(fd, DMABUF_IOCTL_MAP, &mp) < 0 && errno == EACCES);
	mp.dir = DMABUF_DIR_TO_DEVICE;
	CHECK(ioctl(fd, DMABUF_IOCTL_MAP, &mp) == 0);
	/* A read-only mapping; the memfd behind it cannot change size. */
	CHECK(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m) == -EACCES);
	CHECK(dmabuf_mmap(fd, PROT_READ, &m) == 0);
	CHECK(mprotect(dmabuf_mapping_addr(m), 4096, PROT_READ | PROT_WRITE) <
	      0);
	dmabuf_munmap(m);
	CHECK(get_token(fd, 0, &tok) == 0);
	CHECK(present(&tok, &memfd, NULL) == 0 && memfd >= 0);
	CHECK(ftruncate(memfd, 1 << 20) < 0);
	CHECK(ftruncate(memfd, 0) < 0);
	CHECK(fcntl(memfd, F_GET_SEALS) & F_SEAL_SEAL);
	close(memfd);
	close(fd);
	/* The device registry: the mount's owner only. */
	fd = open(M.mp, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	CHECK(ioctl(fd, DMABUF_IOCTL_DEVICE_REMOVE, &gpu) < 0 &&
	      errno == EPERM);
	close(fd);
}

Test(limits, another_uid_cannot_exhaust_or_reach_what_is_not_its)
{
	int status;
	pid_t pid;

	need_root();
	mount_with("allow_other,root_mode=1777,max_buffers=3");
	cr_assert_eq(make_filled("root-private", 100), 0);
	cr_assert_eq(chmod(at("root-private"), 0600), 0);
	cr_assert_eq(make_filled("root-shared", 100), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		nobody_checks();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "check at line %d failed as uid %d", WEXITSTATUS(status),
		  NOBODY);
	cr_assert(logged("uid 65534 reached its limit of 3 buffers"));
	/* The other uid's limit is its own: root still creates. */
	cr_assert_eq(make_filled("r1", 100), 0);
	cr_assert_eq(make_filled("r2", 100), -EDQUOT, "root has its own limit");
	cr_assert(holds_its_name("root-private", 100));
	cr_assert(holds_its_name("root-shared", 100));
	cr_assert(holds_its_name("n0", 10), "its buffers are intact too");
}

Test(limits, zero_lifts_a_limit_and_bad_options_are_refused)
{
	int i, fd;
	char name[16];

	mount_with("max_buffers=0,max_handles=0");
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "z%d", i);
		fd = open(at(name), O_RDWR | O_CREAT, 0644);
		cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
		close(fd);
	}
	unmount_all();
	cr_assert_eq(sh("%s -f -o root_mode=17777 /nonexistent 2>&1 | "
			"grep -q 'root_mode: \"17777\" is not an octal mode'",
			build_path("fs/dmabuffs")),
		     0, "an impossible mode is refused");
}

Test(limits, attachments_and_device_mappings_per_uid_edquot)
{
	struct dmabuf_attach a = {.device = "gpu0"};
	uint64_t ids[3];
	int fd, fd2, i;

	mount_with("cma_size=16M,max_attachments=3,max_mappings=2");
	fd = new_buffer("b", NULL, 1 << 20, 0);
	for (i = 0; i < 3; i++)
		ids[i] = do_attach(fd, "gpu0");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &a), -1);
	cr_assert_eq(errno, EDQUOT, "a fourth attachment");
	cr_assert(logged("reached its limit of 3 attachments"));
	do_map(fd, ids[0], DMABUF_DIR_TO_DEVICE);
	do_map(fd, ids[1], DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_MAP,
			   &(struct dmabuf_map){.attach_id = ids[2],
						.dir = DMABUF_DIR_TO_DEVICE}),
		     -1);
	cr_assert_eq(errno, EDQUOT, "a third device mapping");
	do_unmap(fd, ids[1]);
	do_map(fd, ids[2], DMABUF_DIR_TO_DEVICE);
	do_unmap(fd, ids[2]);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_DETACH,
			   &(struct dmabuf_attach_ref){.attach_id = ids[2]}),
		     0);
	do_attach(fd, "gpu0");
	/* A closed handle gives back what it held, mapped or not. */
	close(fd);
	fd2 = open(at("b"), O_RDWR);
	cr_assert_geq(fd2, 0);
	cr_assert(WAIT_FOR(ioctl(fd2, DMABUF_IOCTL_ATTACH, &a) == 0, 10));
	do_map(fd2, a.attach_id, DMABUF_DIR_TO_DEVICE);
	cr_assert(strstr(slurp(at(".stats")), "attachments=1 mappings=1"));
	close(fd2);
}

Test(limits, bytes_per_uid_and_heap_edquot)
{
	struct dmabuf_export e = {.size = 1 << 20,
				  .flags = DMABUF_EXPORT_ALLOC_NOW};
	int fd, i, status;
	char name[16];
	pid_t pid;

	mount_with("cma_size=16M,max_bytes=3M,cma_max_bytes=1M,allow_other,"
		   "root_mode=1777");
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		fd = open(at(name), O_RDWR | O_CREAT, 0644);
		cr_assert_geq(fd, 0);
		strcpy(e.heap, i == 2 ? "cma" : "system");
		cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), 0, "%s: %s",
			     name, strerror(errno));
		close(fd);
	}
	/* 3 MiB placed in all, 1 MiB of it on cma: both quotas are full. */
	fd = open(at("more"), O_RDWR | O_CREAT, 0644);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EDQUOT);
	cr_assert(logged("reached its limit of 3145728 bytes"));
	close(fd);
	/* Sized but not placed costs nothing; placing it does. */
	cr_assert_eq(sh("truncate -s 1M $MNT/lazy"), 0);
	fd = open(at("lazy"), O_RDWR);
	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC,
			   &(struct dma_buf_sync){.flags = DMA_BUF_SYNC_START |
							   DMA_BUF_SYNC_READ}),
		     -1);
	cr_assert_eq(errno, EDQUOT, "placing it passes the quota");
	close(fd);
	cr_assert_eq(unlink(at("s0")), 0,
		     "a freed buffer gives its bytes back");
	/* Freed once the kernel forgets the inode: wait for that. */
	fd = open(at("lazy"), O_RDWR);
	cr_assert(WAIT_FOR(
		ioctl(fd, DMA_BUF_IOCTL_SYNC,
		      &(struct dma_buf_sync){.flags = DMA_BUF_SYNC_START |
						      DMA_BUF_SYNC_READ}) == 0,
		10));
	close(fd);
	if (geteuid() != 0)
		return;
	pid = fork();
	if (pid == 0) {
		int ok = setgid(NOBODY) == 0 && setuid(NOBODY) == 0;
		int f = ok ? open(at("theirs"), O_RDWR | O_CREAT, 0644) : -1;

		e.heap[0] = '\0';
		_exit(f >= 0 && ioctl(f, DMABUF_IOCTL_EXPORT, &e) == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "another uid has its own quota");
}

/* A process of uid nobody that holds a device read of a buffer. */
struct foreign {
	int ready[2], go[2], result[2];
	pid_t pid;
};

/* Mount with a short fence timeout; a buffer "frame" others may open. */
static int shared_frame(struct foreign *f)
{
	int fd;

	need_root();
	mount_with("cma_size=16M,allow_other,fence_timeout_ms=300");
	fd = new_buffer("frame", NULL, 1 << 20, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	cr_assert(pipe(f->ready) == 0 && pipe(f->go) == 0 &&
		  pipe(f->result) == 0);
	return fd;
}

static void foreign_child(struct foreign *f)
{
	struct dmabuf_attach a = {.device = "gpu0"};
	struct dmabuf_map m = {.dir = DMABUF_DIR_TO_DEVICE};
	struct dmabuf_attach_ref r;
	char c = 0;
	int fd;

	if (setgid(NOBODY) || setuid(NOBODY))
		_exit(1);
	fd = open(at("frame"), O_RDONLY);
	if (fd < 0 || ioctl(fd, DMABUF_IOCTL_ATTACH, &a))
		_exit(2);
	m.attach_id = r.attach_id = a.attach_id;
	if (ioctl(fd, DMABUF_IOCTL_MAP, &m) || write(f->ready[1], "r", 1) != 1)
		_exit(3);
	if (read(f->go[0], &c, 1) != 1)
		_exit(4);
	c = ioctl(fd, DMABUF_IOCTL_UNMAP, &r) ? (char)errno : 0;
	_exit(write(f->result[1], &c, 1) == 1 ? 0 : 5);
}

/* As uid nobody: map "frame" for a device read, and hold it. */
static void foreign_holds(struct foreign *f)
{
	char c;

	f->pid = fork();
	cr_assert_geq(f->pid, 0);
	if (f->pid == 0)
		foreign_child(f);
	cr_assert_eq(read(f->ready[0], &c, 1), 1, "the reader holds a fence");
}

/* Tell the holder to unmap: the errno its unmap got. */
static int foreign_unmaps(struct foreign *f)
{
	char c;

	cr_assert_eq(write(f->go[1], "g", 1), 1);
	cr_assert_eq(read(f->result[0], &c, 1), 1);
	waitpid(f->pid, NULL, 0);
	return c;
}

Test(limits, another_uid_cannot_stall_the_owner)
{
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
					  DMA_BUF_SYNC_WRITE};
	struct foreign f;
	int fd = shared_frame(&f), err;
	double t;

	foreign_holds(&f);
	t = now_s();
	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), 0,
		     "the owner's write goes on once the fence is revoked");
	cr_assert_lt(now_s() - t, 10.0);
	cr_assert(logged("mapping held by uid 65534"));
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), 0);
	err = foreign_unmaps(&f);
	cr_assert_eq(err, EIO, "the holder learns at its next use: %s",
		     strerror(err));
	cr_assert(strstr(slurp(at(".stats")), "\nrevocations 1\n"));

	/* The owner revokes by hand; a stranger may not. */
	foreign_holds(&f);
	cr_assert_eq(sh("%s -m $MNT revoke frame | grep -q 'revoked 1 device'",
			build_path("tools/dmabufctl")),
		     0);
	cr_assert_eq(sh("setpriv --reuid=%d --regid=%d --clear-groups "
			"%s -m $MNT revoke frame 2>&1 | "
			"grep -q 'Operation not permitted'",
			NOBODY, NOBODY, build_path("tools/dmabufctl")),
		     0);
	cr_assert_eq(foreign_unmaps(&f), EIO);
	close(fd);
}

/* A poll(2) or O_NONBLOCK STARTs wait too, and are bounded the same way. */
Test(limits, another_uid_cannot_stall_a_poller_or_a_nonblocking_owner)
{
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
					  DMA_BUF_SYNC_WRITE};
	struct foreign f;
	int fd = shared_frame(&f), nb, err;
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	foreign_holds(&f);
	cr_assert_eq(poll(&p, 1, 0), 0, "not writable while a device reads");
	cr_assert_eq(poll(&p, 1, 20000), 1,
		     "a poller's wait ends the foreign mapping too");
	cr_assert(p.revents & POLLOUT);
	cr_assert(logged("mapping held by uid 65534"),
		  "the revocation was logged");
	err = foreign_unmaps(&f);
	cr_assert_eq(err, EIO, "revoked: %s", strerror(err));

	foreign_holds(&f);
	nb = open(at("frame"), O_RDWR | O_NONBLOCK);
	cr_assert_geq(nb, 0);
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert(WAIT_FOR(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s) == 0, 20),
		  "STARTs retried on an O_NONBLOCK fd are a wait too");
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), 0);
	cr_assert_eq(foreign_unmaps(&f), EIO);
	cr_assert(strstr(slurp(at(".stats")), "\nrevocations 2\n"));
	close(nb);
	close(fd);
}

Test(limits, own_mappings_are_waited_for_and_the_wait_is_logged)
{
	int fd, fd2, status;
	uint64_t id;
	pid_t pid;

	mount_with("cma_size=16M,fence_timeout_ms=100");
	fd = new_buffer("mine", NULL, 1 << 20, 0);
	id = do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_TO_DEVICE);
	pid = fork();
	if (pid == 0) {
		struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
						  DMA_BUF_SYNC_WRITE};

		fd2 = open(at("mine"), O_RDWR);
		_exit(fd2 >= 0 && ioctl(fd2, DMA_BUF_IOCTL_SYNC, &s) == 0 ? 0
									  : 1);
	}
	cr_assert(WAIT_FOR(logged("for CPU access to buffer"), 10),
		  "a wait over a second says who it waits for");
	cr_assert(logged("it waits for gpu0 (device reads, uid"));
	cr_assert(!logged("revoking"),
		  "a uid's own mappings outlive fence_timeout_ms");
	do_unmap(fd, id);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}
