// SPDX-License-Identifier: MIT
/*
 * Users who do not belong: per-uid limits on buffers, handles, waiting
 * requests and zero-copy tokens, silent side-channel connections, and a
 * second uid on an allow_other mount.  Limits are set low with mount
 * options; each refusal must be the kind's errno, logged, and must leave
 * every other buffer as it was.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>

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

/* Root's buffer without a name, which the child inherits an fd of. */
static int anon_fd;
static struct stat anon_st, shared_st;

static void nobody_checks(void)
{
	char path[64];
	struct dmabuf_info info;

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
	/* An allocation in .heaps/ is a buffer too, charged to its maker. */
	fd = open(at(".heaps/system@4096"), O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd < 0 && errno == EDQUOT);
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
	/* Root's buffer without a name: not reopened, not seen by inode. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", anon_fd);
	CHECK(open(path, O_RDONLY) < 0);
	CHECK(dmabuf_info_by_ino(M.mp, anon_st.st_ino, &info) == -ENOENT);
	CHECK(dmabuf_info_by_ino(M.mp, shared_st.st_ino, &info) == 0 &&
	      info.size == 100);
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
	cr_assert_eq(stat(at("root-shared"), &shared_st), 0);
	anon_fd = dmabuf_export(M.mp, NULL, NULL, 4096, NULL, 0);
	cr_assert_geq(anon_fd, 0);
	cr_assert_eq(fstat(anon_fd, &anon_st), 0);
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
	close(anon_fd);
	cr_assert(WAIT_FOR(stat_of("buffers") == 5, 10),
		  "root's buffer without a name goes with its last fd");
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
	fd = open(at("lazy"), O_RDONLY);
	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC,
			   &(struct dma_buf_sync){.flags = DMA_BUF_SYNC_START |
							   DMA_BUF_SYNC_READ}),
		     -1);
	cr_assert_eq(errno, EDQUOT, "placing it passes the quota");
	close(fd);
	cr_assert_eq(unlink(at("s0")), 0,
		     "a freed buffer gives its bytes back");
	/* Freed once the kernel forgets the inode: wait for that. */
	fd = open(at("lazy"), O_RDONLY);
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

/* ---- fences: owned, charged, bounded (issue: one owner, one account) */

static uint64_t fence_export(int fd, uint32_t flags)
{
	struct dmabuf_fence_export e = {.flags = flags};

	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_FENCE_EXPORT, &e), 0,
		     "fence export: %s", strerror(errno));
	return e.id;
}

/* A .sync_file handle bound to @id. */
static int sync_file_of(uint64_t id)
{
	struct dmabuf_fence_bind b = {.id = id};
	int fd = open(at(".sync_file"), O_RDWR);

	cr_assert_geq(fd, 0, ".sync_file: %s", strerror(errno));
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_FENCE_BIND, &b), 0, "bind: %s",
		     strerror(errno));
	return fd;
}

/* As uid nobody, in a child: import a write fence of its own buffer into
 * "frame" through a read-only handle each time it reads a byte from @go,
 * answering the import's errno on @done; exits when @go closes. */
static pid_t foreign_importer(int go[2], int done[2])
{
	struct dmabuf_export e = {.size = 1 << 20};
	struct dmabuf_attach a = {.device = "gpu0"};
	struct dmabuf_map m = {.dir = DMABUF_DIR_FROM_DEVICE};
	struct dmabuf_fence_import imp = {.flags = DMA_BUF_SYNC_WRITE};
	struct dmabuf_fence_export fe = {.flags = DMA_BUF_SYNC_WRITE};
	pid_t pid = fork();
	int own, frame;
	char c;

	cr_assert_geq(pid, 0);
	if (pid)
		return pid;
	close(go[1]);
	close(done[0]);
	if (setgid(NOBODY) || setuid(NOBODY))
		_exit(1);
	own = open(at("theirs"), O_RDWR | O_CREAT | O_EXCL, 0600);
	frame = open(at("frame"), O_RDONLY);
	if (own < 0 || frame < 0 || ioctl(own, DMABUF_IOCTL_EXPORT, &e) ||
	    ioctl(own, DMABUF_IOCTL_ATTACH, &a))
		_exit(2);
	m.attach_id = a.attach_id;
	if (ioctl(own, DMABUF_IOCTL_MAP, &m))
		_exit(3);
	while (read(go[0], &c, 1) == 1) {
		fe.id = 0;
		c = ioctl(own, DMABUF_IOCTL_FENCE_EXPORT, &fe) ? (char)errno
							       : 0;
		imp.id = fe.id;
		if (!c && ioctl(frame, DMABUF_IOCTL_FENCE_IMPORT, &imp))
			c = (char)errno;
		if (write(done[1], &c, 1) != 1)
			_exit(4);
	}
	_exit(0);
}

static void importer_imports(int go, int done)
{
	char c;

	cr_assert_eq(write(go, "i", 1), 1);
	cr_assert_eq(read(done, &c, 1), 1);
	cr_assert_eq(c, 0, "the import: %s", strerror(c));
}

Test(limits, another_uids_imported_fence_cannot_stall_the_owner)
{
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
	int go[2], done[2], fd, nb;
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other,root_mode=1777,"
		   "fence_timeout_ms=300");
	fd = new_buffer("frame", NULL, 1 << 20, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	cr_assert(pipe(go) == 0 && pipe(done) == 0);
	pid = foreign_importer(go, done);
	importer_imports(go[1], done[0]);

	nb = open(at("frame"), O_RDWR | O_NONBLOCK);
	cr_assert_geq(nb, 0);
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), -1,
		     "the import is a write fence");
	cr_assert_eq(errno, EAGAIN);
	cr_assert(WAIT_FOR(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s) == 0, 10),
		  "fence_timeout_ms drops a foreign import");
	cr_assert(logged("dropping the write fence imported by uid 65534"));
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), 0);

	/* The owner's revoke covers imports too. */
	importer_imports(go[1], done[0]);
	cr_assert_eq(sh("%s -m $MNT revoke frame | grep -q 'revoked 1 '",
			build_path("tools/dmabufctl")),
		     0, "dmabufctl revoke drops the import");
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), 0);
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	cr_assert_eq(ioctl(nb, DMA_BUF_IOCTL_SYNC, &s), 0);
	close(go[1]);
	waitpid(pid, NULL, 0);
	close(nb);
	close(fd);
}

Test(limits, a_readers_wait_never_revokes_the_owner)
{
	struct dmabuf_get_sg g = {.count = 1};
	int fd, status;
	uint64_t id;
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other,fence_timeout_ms=300");
	fd = new_buffer("frame", NULL, 1 << 20, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	id = do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
						  DMA_BUF_SYNC_READ};
		int r = setgid(NOBODY) || setuid(NOBODY)
				? -1
				: open(at("frame"), O_RDONLY);

		_exit(r >= 0 && ioctl(r, DMA_BUF_IOCTL_SYNC, &s) == 0 ? 0 : 1);
	}
	cr_assert(WAIT_FOR(logged("uid 65534 pid"), 10),
		  "the reader's wait is logged after a second");
	g.attach_id = id;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_GET_SG, &g), 0,
		     "the owner's mapping is not revoked: %s", strerror(errno));
	cr_assert(!logged("revoking"), "a reader's wait never revokes");
	do_unmap(fd, id);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the reader goes on once the owner unmaps");
	close(fd);
}

/* The fences a uid holds, from its .stats line. */
static unsigned long long fences_held(void)
{
	char *p = strstr(slurp(at(".stats")), " fences=");

	cr_assert_not_null(p);
	return strtoull(p + 8, NULL, 10);
}

Test(limits, fences_are_charged_deduplicated_and_bounded)
{
	struct dmabuf_fence_import imp = {.flags = DMA_BUF_SYNC_WRITE};
	struct dmabuf_fence_merge m = {0};
	struct dmabuf_fence_info fi = {.count = 1};
	int fd, other, sf, merged, leaf, i, n, fds[32];
	uint64_t id;

	mount_with("cma_size=16M,max_fences=16,allow_other");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	other = new_buffer("b", NULL, 1 << 20, 0);
	id = do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	imp.id = fence_export(fd, DMA_BUF_SYNC_WRITE);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(ioctl(other, DMABUF_IOCTL_FENCE_IMPORT, &imp), 0,
			     "import %d: %s", i, strerror(errno));
	cr_assert_eq(fences_held(), 2,
		     "one id and one import, however often imported");

	/* Merging never names more leaves than there are live mappings. */
	do_unmap(fd, id);
	sf = sync_file_of(fence_export(fd, DMA_BUF_SYNC_WRITE));
	for (i = 0; i < 300; i++) {
		do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
		m = (struct dmabuf_fence_merge){
			.other = fence_export(fd, DMA_BUF_SYNC_WRITE)};
		leaf = sync_file_of(m.other); /* as the compat layer binds */
		do_unmap(fd, id);
		cr_assert_eq(ioctl(sf, DMABUF_IOCTL_FENCE_MERGE, &m), 0,
			     "merge %d: %s", i, strerror(errno));
		merged = sync_file_of(m.id);
		close(leaf);
		close(sf);
		sf = merged;
	}
	cr_assert_eq(ioctl(sf, DMABUF_IOCTL_FENCE_INFO, &fi), 0);
	cr_assert_eq(fi.num_fences, 0, "signalled leaves are not kept: %u",
		     fi.num_fences);
	close(sf);

	/* Ids and .sync_file handles count against max_fences: EMFILE. */
	for (n = 0; n < 32; n++) {
		fds[n] = open(at(".sync_file"), O_RDWR);
		if (fds[n] < 0)
			break;
	}
	cr_assert_lt(n, 16, "at most max_fences .sync_file handles");
	cr_assert_eq(errno, EMFILE);
	cr_assert(logged("reached its limit of 16 fences"));
	if (geteuid() == 0) { /* another uid has its own account */
		pid_t pid = fork();
		int status;

		cr_assert_geq(pid, 0);
		if (pid == 0)
			_exit(setgid(NOBODY) || setuid(NOBODY) ||
					      open(at(".sync_file"), O_RDWR) < 0
				      ? 1
				      : 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "uid nobody is not refused for root's fences");
	}
	while (n--)
		close(fds[n]);
	close(other);
	close(fd);
}

Test(limits, a_sync_file_poll_sees_a_signal_between_arming_and_checking)
{
	char path[128], armed[160];
	struct pollfd p = {.events = POLLIN};
	int fd, status;
	uint64_t id;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/dmabuffs-pause.%d", (int)getpid());
	snprintf(armed, sizeof(armed), "%s.armed", path);
	unlink(armed);
	setenv("DMABUFFS_TEST_POLL_PAUSE", path, 1);
	mount_with("cma_size=16M");
	unsetenv("DMABUFFS_TEST_POLL_PAUSE");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	id = do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	p.fd = sync_file_of(fence_export(fd, DMA_BUF_SYNC_READ));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(poll(&p, 1, -1) == 1 && (p.revents & POLLIN) ? 0 : 1);
	cr_assert(WAIT_FOR(access(armed, F_OK) == 0, 10),
		  "the poll is inside the window");
	do_unmap(fd, id); /* the fence signals inside it */
	unlink(armed);
	if (!WAIT_FOR(waitpid(pid, &status, WNOHANG) == pid, 5)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("poll(-1) missed the signal");
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p.fd);
	close(fd);
}

/* ---- descriptors: what the daemon hands out, keeps and is sent ---- */

/* A sealed memfd of @len bytes of @c, mode as memfd_create() makes it. */
static int filled_memfd(size_t len, char c)
{
	int fd = memfd_create("frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char page[4096];
	size_t off;

	memset(page, c, sizeof(page));
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	for (off = 0; off < len; off += sizeof(page))
		cr_assert_eq(pwrite(fd, page, sizeof(page), (off_t)off),
			     (ssize_t)sizeof(page));
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	return fd;
}

/*
 * Present @t and take every descriptor the answer carries (a udmabuf's
 * answer has one per memfd).  Return: the status; the fds in @fds.
 */
static int present_all(const struct dmabuf_token *t, int *fds, int max, int *n)
{
	struct dmabuf_redeem r = {.version = DMABUF_REDEEM_VERSION};
	static char reply[1 << 16];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * DMABUF_BACKING_MAX_FDS)];
	} u;
	struct iovec iov = {reply, sizeof(reply)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	int sock = connect_channel(t);
	struct cmsghdr *c;

	*n = 0;
	if (sock < 0)
		return sock;
	memcpy(r.token, t->token, sizeof(r.token));
	if (send(sock, &r, sizeof(r), 0) != (ssize_t)sizeof(r) ||
	    recvmsg(sock, &msg, 0) <
		    (ssize_t)sizeof(struct dmabuf_redeem_reply))
		return -EPROTO;
	c = CMSG_FIRSTHDR(&msg);
	if (c) {
		*n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		*n = *n < max ? *n : max;
		memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)*n);
	}
	return ((struct dmabuf_redeem_reply *)reply)->status;
}

Test(limits, a_reader_of_a_udmabuf_cannot_write_its_memfd)
{
	struct dmabuf_memfd_run run = {.size = 65536};
	char path[64];
	struct stat st;
	int buf, ro, status;
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other");
	run.memfd = filled_memfd(65536, 'o');
	buf = dmabuf_export_memfds(M.mp, "u", &run, 1);
	cr_assert_geq(buf, 0, "export: %s", strerror(-buf));
	cr_assert_eq(fchmod(buf, 0644), 0);
	cr_assert_eq(fstat(run.memfd, &st), 0);
	cr_assert_eq(st.st_mode & 077, 0, "the memfd is private: %o",
		     st.st_mode & 0777);

	/* A memfd passed read-only is not made writable backing. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", run.memfd);
	ro = open(path, O_RDONLY);
	run.memfd = ro;
	cr_assert_eq(dmabuf_export_memfds(M.mp, "ro", &run, 1), -EACCES);
	cr_assert(logged("memfd not open for reading and writing"));
	close(ro);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct dmabuf_token t;
		int fds[8], n = 0, i, fd, bad = 0;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(10);
		fd = open(at("u"), O_RDONLY);
		if (fd < 0 || get_token(fd, 0, &t) ||
		    present_all(&t, fds, 8, &n) || !n)
			_exit(11);
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d",
				 fds[i]);
			bad += open(path, O_RDWR) >= 0;
			bad += open(path, O_WRONLY) >= 0;
			bad += fcntl(fds[i], F_GETFL) & O_ACCMODE;
		}
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the reader got a read-only fd it cannot reopen writable "
		  "(status %d)",
		  WEXITSTATUS(status));
	close(buf);
}

/* Descriptors the daemon holds of the test's memfds, from /proc. */
static int daemon_memfds(void)
{
	char cmd[96], out[32];

	snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd | grep -c memfd:frame",
		 (int)M.pid);
	capture(cmd, out, sizeof(out));
	return atoi(out);
}

Test(limits, udmabuf_runs_of_one_memfd_cost_one_descriptor)
{
	static struct dmabuf_memfd_run runs[1024];
	int memfd, fd, fds[8], i;
	char name[16];

	mount_with("cma_size=16M,max_fds=4");
	memfd = filled_memfd(1 << 20, 'r');
	for (i = 0; i < 1024; i++)
		runs[i] = (struct dmabuf_memfd_run){.memfd = memfd,
						    .offset = 4096 * (i % 256),
						    .size = 4096};
	fd = dmabuf_export_memfds(M.mp, "runs", runs, 1024);
	cr_assert_geq(fd, 0, "export: %s", strerror(-fd));
	/* The received descriptors go to the closer thread, which may
	 * close them after the reply: wait for it. */
	cr_assert(WAIT_FOR(daemon_memfds() == 1, 10),
		  "1024 runs of one memfd keep one descriptor, not %d",
		  daemon_memfds());
	cr_assert(strstr(slurp(at(".stats")), " fds=1"),
		  "charged as one daemon descriptor");

	/*
	 * max_fds: the connection that brings memfds counts while it is open,
	 * so with one memfd kept, two more fit under max_fds=4.
	 */
	for (i = 0; i < 8; i++) {
		runs[0] = (struct dmabuf_memfd_run){
			.memfd = filled_memfd(4096, 'a'), .size = 4096};
		snprintf(name, sizeof(name), "u%d", i);
		fds[i] = dmabuf_export_memfds(M.mp, name, runs, 1);
		close(runs[0].memfd);
		if (fds[i] < 0)
			break;
	}
	cr_assert_eq(i, 2, "two more fit under max_fds=4 (%d)", i);
	cr_assert_eq(fds[i], -EMFILE, "then EMFILE: %s", strerror(-fds[i]));
	cr_assert(logged("reached its limit of 4 daemon descriptors"));
	while (i--)
		close(fds[i]);
	close(fd);
	close(memfd);
}

/*
 * A TCP connection on loopback whose close would linger: unsent data, a
 * peer that does not read, SO_LINGER of a minute.  *srv: the peer's end.
 */
static int lingering_socket(int *lst, int *srv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct linger l = {.l_onoff = 1, .l_linger = 60};
	socklen_t len = sizeof(sa);
	int small = 4096, cli;
	char junk[4096] = {0};

	*lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(*lst, 0);
	setsockopt(*lst, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	cr_assert_eq(bind(*lst, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(*lst, 1), 0);
	cr_assert_eq(getsockname(*lst, (struct sockaddr *)&sa, &len), 0);
	cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	cr_assert_eq(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*srv = accept(*lst, NULL, NULL);
	cr_assert_geq(*srv, 0);
	while (send(cli, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	cr_assert_eq(setsockopt(cli, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	return cli;
}

/* In a child: a mapping of @fd over the channel; its status, or -ETIME. */
static int mapping_within(int fd, double seconds)
{
	int status, memfd;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct dmabuf_token t;

		_exit(get_token(fd, 0, &t) == 0 &&
				      present(&t, &memfd, NULL) == 0
			      ? 0
			      : 1);
	}
	if (!WAIT_FOR(waitpid(pid, &status, WNOHANG) == pid, seconds)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ETIME;
	}
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

/*
 * Send "junk" on @sock with @n of @fds, in one SCM_RIGHTS header or, when
 * @split, two (the first with @split of them).  Return: sendmsg(2)'s.
 */
static ssize_t send_junk_with_fds(int sock, const int *fds, unsigned int n,
				  unsigned int split)
{
	static union {
		struct cmsghdr h;
		char buf[2 * CMSG_SPACE(sizeof(int) * DMABUF_BACKING_MAX_FDS)];
	} u;
	unsigned int first = split ? split : n;
	char junk[8] = "junk";
	struct iovec iov = {junk, sizeof(junk)};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen =
			CMSG_SPACE(sizeof(int) * first) +
			(split ? CMSG_SPACE(sizeof(int) * (n - first)) : 0)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * first);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * first);
	if (split) {
		c = CMSG_NXTHDR(&msg, c);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (n - first));
		memcpy(CMSG_DATA(c), fds + first, sizeof(int) * (n - first));
	}
	return sendmsg(sock, &msg, 0);
}

Test(limits, a_descriptor_sent_to_the_channel_cannot_hang_it)
{
	struct dmabuf_token t;
	int fd, lst, srv, cli, status;
	pid_t pid;

	need_root();
	/*
	 * Valgrind runs one thread at a time and does not let go of that
	 * while a thread is in close(2): the reaper's lingering close stops
	 * the whole daemon there, which says nothing about the daemon.
	 */
	if (getenv("DMABUF_VALGRIND"))
		cr_skip("valgrind serializes the daemon's threads");
	mount_with("cma_size=16M,allow_other");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	cr_assert_eq(get_token(fd, 0, &t), 0);
	cli = lingering_socket(&lst, &srv);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) { /* uid nobody, no token: a datagram and the socket */
		int sock;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		sock = connect_channel(&t);
		_exit(sock >= 0 && send_junk_with_fds(sock, &cli, 1, 0) == 8
			      ? 0
			      : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(cli); /* the daemon holds the last reference */
	cr_assert(WAIT_FOR(logged("not a memfd came with it"), 10));
	cr_assert_eq(mapping_within(fd, 5), 0,
		     "other users' mappings go on while it closes");
	close(srv); /* the linger ends: unmounting waits for nothing */
	close(lst);
	close(fd);
}

/* No reader is left on the pipe @wr writes: POLLERR. */
static bool writes_to_nobody(int wr)
{
	struct pollfd p = {.fd = wr, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/*
 * As many descriptors as one message can carry (SCM_MAX_FD), in two
 * SCM_RIGHTS headers, memfds and pipes mixed, from another uid with no
 * token: every one is closed (the pipes by the reaper), and the daemon
 * holds no more descriptors than before.
 */
Test(limits, a_full_load_of_descriptors_in_two_headers_is_all_closed)
{
	struct dmabuf_token t;
	int fd, status, p[2];
	char cmd[128];
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	cr_assert_eq(get_token(fd, 0, &t), 0);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fds[DMABUF_BACKING_MAX_FDS], i, sock;
		struct rlimit many = {1024, 1024};
		char junk;

		close(p[1]);
		if (setrlimit(RLIMIT_NOFILE, &many) || setgid(NOBODY) ||
		    setuid(NOBODY))
			_exit(1);
		for (i = 0; i < DMABUF_BACKING_MAX_FDS; i++)
			fds[i] = i % 2 ? p[0] : memfd_create("m", MFD_CLOEXEC);
		sock = connect_channel(&t);
		if (sock < 0 ||
		    send_junk_with_fds(sock, fds, DMABUF_BACKING_MAX_FDS,
				       126) != 8)
			_exit(2);
		_exit(recv(sock, &junk, 1, 0) >= 0 ? 0 : 3); /* the refusal */
	}
	close(p[0]); /* the daemon holds the pipe's only readers now */
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
		  status);
	cr_assert(WAIT_FOR(logged("not a memfd came with it"), 10));
	cr_assert(WAIT_FOR(writes_to_nobody(p[1]), 10),
		  "the reaper closed every pipe it was sent");
	snprintf(cmd, sizeof(cmd),
		 "ls -l /proc/%d/fd | grep -q 'memfd:m (deleted)'", (int)M.pid);
	cr_assert(WAIT_FOR(sh("%s", cmd) != 0, 10),
		  "the closer closed every memfd it was sent");
	cr_assert_eq(mapping_within(fd, 5), 0, "and serves on");
	close(p[1]);
	close(fd);
}

/* Lines of the daemon's log that hold @text. */
static int log_lines(const char *text)
{
	char cmd[PATH_MAX], out[32];

	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s", text, M.log);
	capture(cmd, out, sizeof(out));
	return atoi(out);
}

Test(limits, accept_out_of_descriptors_rests_instead_of_spinning)
{
	struct rlimit low = {64, 64};
	struct dmabuf_token t;
	int fd, socks[80], silent[2], n, memfd, lines;
	struct timeval tv = {.tv_sec = 1};

	need_root();
	mount_with("cma_size=16M");
	cr_assert_eq(prlimit(M.pid, RLIMIT_NOFILE, &low, NULL), 0,
		     "the daemon gets 64 descriptors");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	for (n = 0; n < 80; n++) { /* each mapping holds a connection */
		cr_assert_eq(get_token(fd, 0, &t), 0);
		socks[n] = connect_channel(&t);
		cr_assert_geq(socks[n], 0);
		setsockopt(socks[n], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (present(&t, &memfd, &socks[n]))
			break;
		close(memfd);
	}
	cr_assert_lt(n, 80, "the daemon ran out of descriptors");
	/* Silent connections: the last descriptor, then none for accept(). */
	silent[0] = connect_channel(&t);
	silent[1] = connect_channel(&t);
	cr_assert(silent[0] >= 0 && silent[1] >= 0);
	cr_assert(WAIT_FOR(log_lines("accept:") > 0, 10));
	lines = log_lines("accept:");
	nanosleep(&(struct timespec){2, 0}, NULL); /* a window to count in */
	lines = log_lines("accept:") - lines;
	if (lines > 3)
		show_log();
	cr_assert_leq(lines, 3, "%d accept lines in two seconds: it spins",
		      lines);
	while (n >= 0)
		close(socks[n--]);
	close(silent[0]);
	close(silent[1]);
	cr_assert_eq(mapping_within(fd, 10), 0,
		     "accepting again once descriptors are free");
	close(fd);
}

/* ---- the smaller holes: the log, tokens on time ---- */

Test(limits, refusals_are_logged_once_a_second_per_uid)
{
	struct dmabuf_fence_export e = {0}; /* no direction: EINVAL */
	double start = now_s();
	int fd, status, lines;
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other");
	fd = new_buffer("a", NULL, 4096, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int i, r = setgid(NOBODY) || setuid(NOBODY)
				   ? -1
				   : open(at("a"), O_RDONLY);

		for (i = 0; r >= 0 && i < 20000; i++)
			if (!ioctl(r, DMABUF_IOCTL_FENCE_EXPORT, &e) ||
			    errno != EINVAL)
				_exit(2);
		_exit(r >= 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	lines = log_lines("refused (Invalid argument)");
	cr_assert_leq(lines, (int)(now_s() - start) + 2,
		      "%d lines for 20000 refusals in %.1f s", lines,
		      now_s() - start);
	/* Another uid's refusal is logged at once. */
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_FENCE_EXPORT, &e), -1);
	cr_assert(logged("from uid 0 pid"));
	close(fd);
}

/* Buffers the core holds, from .stats. */
static unsigned long long buffers_alive(void)
{
	return stat_of("buffers");
}

Test(limits, an_expired_token_lets_its_buffer_go_on_time)
{
	struct dmabuf_token t;
	int fd;

	mount_with("cma_size=16M,token_ttl_ms=200");
	fd = new_buffer("a", NULL, 1 << 20, 0);
	cr_assert_eq(get_token(fd, 0, &t), 0);
	cr_assert_eq(unlink(at("a")), 0);
	close(fd);
	cr_assert(WAIT_FOR(buffers_alive() == 0, 10),
		  "the expired token no longer holds the buffer (%llu)",
		  buffers_alive());
}

Test(limits, another_uids_names_cannot_forge_rows_of_who)
{
	int ready[2], go[2], i, n;
	char out[8192], cmd[PATH_MAX], c;
	pid_t pid;

	need_root();
	mount_with("cma_size=16M,allow_other,root_mode=1777");
	cr_assert(pipe(ready) == 0 && pipe(go) == 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid ==
	    0) { /* uid nobody holds "x\n666 forged" under a name alike */
		int fd;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		prctl(PR_SET_NAME, "ev\033[31mil\n1");
		fd = open(at("x\n    666 forged\033[2J"), O_RDWR | O_CREAT,
			  0644);
		if (fd < 0 || ftruncate(fd, 4096) ||
		    write(ready[1], "r", 1) != 1)
			_exit(2);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 3);
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	snprintf(cmd, sizeof(cmd), "%s -m %s who",
		 build_path("tools/dmabufctl"), M.mp);
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(write(go[1], "g", 1), 1);
	waitpid(pid, NULL, 0);
	n = (int)strlen(out);
	for (i = 0; i < n; i++)
		cr_assert(out[i] == '\n' || (out[i] >= 0x20 && out[i] < 0x7f),
			  "a raw byte %#x reaches the terminal:\n%s",
			  (unsigned char)out[i], out);
	cr_assert_not_null(strstr(out, "x\\012    666 forged\\033[2J"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "ev\\033[31mil"), "%s", out);
}

/* A user refused at the mount's root is told why and what to do. */
Test(limits, dmabufctl_says_how_to_let_users_create_buffers)
{
	char cmd[PATH_MAX * 2], out[4096];

	need_root();
	mount_with("cma_size=16M,allow_other"); /* root_mode 0755 */
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=%d --regid=%d --clear-groups %s -m %s export "
		 "x 1M",
		 NOBODY, NOBODY, build_path("tools/dmabufctl"), M.mp);
	cr_assert_eq(capture(cmd, out, sizeof(out)), 1, "%s", out);
	cr_assert_not_null(strstr(out, "you may not create buffers in"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "-o root_mode=1777"), "%s", out);
}

/*
 * Bytes a creating handle writes before its buffer has a size are the
 * writer's: another uid is held to its own max_bytes (EDQUOT) and cannot
 * write into them through the name; root's account is untouched.
 */
Test(limits, staged_bytes_are_the_writers_and_bounded)
{
	int status, fd;
	pid_t pid;

	need_root();
	mount_with("allow_other,root_mode=1777,max_bytes=1M");
	fd = open(at("root-new"), O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "root", 4), 4, "staged, not yet sized");
	cr_assert_eq(fchmod(fd, 0666), 0, "anyone may write it");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int other;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		/* Root's handle is writing it: no bytes of another go in. */
		other = open(at("root-new"), O_WRONLY);
		if (other < 0 || write(other, "x", 1) != -1 || errno != EBUSY)
			_exit(2);
		if (sh("head -c 2000000 /dev/zero > $MNT/n 2>/dev/null") == 0)
			_exit(3); /* past its max_bytes: what fit stays */
		if (sh("test $(stat -c %%s $MNT/n) -le 1048576") ||
		    sh("head -c 500000 /dev/zero > $MNT/m 2>/dev/null") == 0)
			_exit(4); /* its account is full */
		_exit(sh("rm $MNT/n && head -c 500000 /dev/zero > $MNT/m") == 0
			      ? 0
			      : 5);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "as nobody: check %d failed", WEXITSTATUS(status));
	cr_assert(logged("uid 65534 reached its limit of 1048576 bytes"),
		  "the refusal is logged");
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(sh("test $(stat -c %%s $MNT/root-new) -eq 4 && "
			"head -c 4 $MNT/root-new | grep -qx root"),
		     0, "root's own bytes, untouched");
	cr_assert_eq(sh("head -c 900000 /dev/zero > $MNT/root-big"), 0,
		     "root has its own max_bytes");
}
