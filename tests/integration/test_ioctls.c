// SPDX-License-Identifier: MIT
/*
 * The ioctls through a real mount: attach/map/sg/unmap/detach, CPU access
 * and DMA_BUF_IOCTL_SYNC, waiting without blocking the daemon (EAGAIN,
 * EINTR, wake-ups), poll, fd passing between processes, killed clients and
 * the device registry on the mount root.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "mount.h"

TestSuite(ioctls, .init = mount_default, .fini = unmount_all, .timeout = 60);

Test(ioctls, attach_map_sg_unmap_detach)
{
	int fd = new_buffer("f", "system", 4 << 20, 0);
	uint64_t id = do_attach(fd, "encoder0");
	struct dmabuf_get_sg g = {.attach_id = id, .count = DMABUF_SG_PAGE};
	struct dmabuf_attach_ref r = {.attach_id = id};
	uint32_t seen = 0, i;

	cr_assert_eq(do_map(fd, id, DMABUF_DIR_TO_DEVICE), 64);
	while (seen < 64) {
		g.first = seen;
		g.count = DMABUF_SG_PAGE;
		cr_assert_eq(ioctl(fd, DMABUF_IOCTL_GET_SG, &g), 0);
		for (i = 0; i < g.count; i++) {
			cr_assert_eq(g.entries[i].offset,
				     (seen + i) * 65536ULL);
			cr_assert_geq(g.entries[i].dma_addr, 1ULL << 32);
		}
		seen += g.count;
	}
	cr_assert_eq(info_of(fd).maps, 1);
	cr_assert_eq(info_of(fd).read_fences, 1);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_DETACH, &r), -1);
	cr_assert_eq(errno, EBUSY, "detach while mapped");
	do_unmap(fd, id);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_DETACH, &r), 0);
	cr_assert_eq(info_of(fd).attachments, 0);
	close(fd);
}

Test(ioctls, bad_input_gets_clear_errors)
{
	int fd = new_buffer("f", "system", 4 << 20, 0);
	struct dmabuf_attach a = {0};
	struct dmabuf_map m = {.attach_id = 99};
	struct dmabuf_get_sg g = {0};
	struct dmabuf_cpu_access c = {.flags = DMA_BUF_SYNC_READ, .pad = 1};
	struct dmabuf_name n;

	strcpy(a.device, "nosuch");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &a), -1);
	cr_assert_eq(errno, ENODEV);
	strcpy(a.device, "camera0");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &a), -1);
	cr_assert_eq(errno, EBUSY,
		     "4 MiB of system pages cannot be contiguous");
	memset(a.device, 'a', sizeof(a.device));
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &a), -1);
	cr_assert_eq(errno, EINVAL, "unterminated");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_MAP, &m), -1);
	cr_assert_eq(errno, EINVAL, "unknown attachment");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_GET_SG, &g), -1);
	cr_assert_eq(errno, EINVAL, "count 0");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_BEGIN_CPU_ACCESS, &c), -1);
	cr_assert_eq(errno, EINVAL, "padding");
	c.pad = 0;
	c.offset = 5 << 20;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_BEGIN_CPU_ACCESS, &c), -1);
	cr_assert_eq(errno, EINVAL, "range outside the buffer");
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START), -EINVAL, "no direction");
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_RW | 8), -EINVAL);
	memset(n.name, 'n', sizeof(n.name));
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SET_NAME, &n), -1);
	cr_assert_eq(errno, EINVAL, "32 bytes without NUL");
	strcpy(n.name, "ok-name");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SET_NAME, &n), 0);
	cr_assert_str_eq(info_of(fd).name, "ok-name");
	cr_assert_eq(ioctl(fd, 0xdead, 0), -1);
	cr_assert_eq(errno, ENOTTY);
	close(fd);
	cr_assert_eq(sh("grep -c refused %s | grep -qv '^0$'", M.log), 0);
}

Test(ioctls, cpu_access_ranges)
{
	int fd = new_buffer("f", "cma", 1 << 20, 0);
	struct dmabuf_cpu_access c = {
		.offset = 4096, .length = 8192, .flags = DMABUF_CPU_WRITE};

	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_BEGIN_CPU_ACCESS, &c), 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_END_CPU_ACCESS, &c), 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_END_CPU_ACCESS, &c), 0,
		     "END always succeeds");
	cr_assert_eq(info_of(fd).state, DMABUF_STATE_ALLOCATED,
		     "first CPU access placed it");
	close(fd);
}

Test(ioctls, nonblocking_sync_start_is_eagain_while_a_device_writes)
{
	int fd = new_buffer("f", NULL, 1 << 20, 0);
	int nb = open(at("f"), O_RDWR | O_NONBLOCK);
	uint64_t id = do_attach(fd, "gpu0");

	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     -EAGAIN);
	do_unmap(fd, id);
	cr_assert_eq(sync_buf(nb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	close(nb);
	close(fd);
}

/* Is thread @tid blocked in system call @nr? */
static bool in_syscall(pid_t tid, long nr)
{
	char path[64], text[256];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = (int)read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return atol(text) == nr;
}

struct blocked {
	int fd;
	pid_t tid;
	int result;
	struct pollfd pfd;
};

static void *sync_thread(void *arg)
{
	struct blocked *b = arg;

	__atomic_store_n(&b->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	b->result = sync_buf(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	return NULL;
}

static void start_blocked(struct blocked *b, void *(*fn)(void *), long nr,
			  pthread_t *t)
{
	pid_t tid;

	b->tid = 0;
	pthread_create(t, NULL, fn, b);
	cr_assert(WAIT_FOR((tid = __atomic_load_n(&b->tid, __ATOMIC_SEQ_CST)) &&
				   in_syscall(tid, nr),
			   10),
		  "thread never blocked");
}

Test(ioctls, blocking_sync_start_woken_by_unmap)
{
	int fd = new_buffer("f", NULL, 1 << 20, 0);
	struct blocked b = {.fd = open(at("f"), O_RDWR)};
	uint64_t id = do_attach(fd, "gpu0");
	pthread_t t;

	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	start_blocked(&b, sync_thread, SYS_ioctl, &t);
	do_unmap(fd, id);
	pthread_join(t, NULL);
	cr_assert_eq(b.result, 0, "woken and granted");
	close(b.fd);
	close(fd);
}

static void on_usr1(int sig)
{
	(void)sig;
}

Test(ioctls, signal_interrupts_a_waiting_sync)
{
	int fd = new_buffer("f", NULL, 1 << 20, 0);
	struct blocked b = {.fd = open(at("f"), O_RDWR)};
	struct sigaction sa = {.sa_handler = on_usr1};
	uint64_t id = do_attach(fd, "gpu0");
	pthread_t t;

	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART */
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	start_blocked(&b, sync_thread, SYS_ioctl, &t);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	cr_assert_eq(b.result, -EINTR);
	cr_assert_eq(info_of(fd).maps, 1, "the mapping is untouched");
	close(b.fd);
	close(fd);
}

static void *poll_thread(void *arg)
{
	struct blocked *b = arg;

	__atomic_store_n(&b->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	b->result = poll(&b->pfd, 1, 20000);
	return NULL;
}

Test(ioctls, poll_follows_fences_and_wakes)
{
	int fd = new_buffer("f", NULL, 1 << 20, 0);
	struct blocked b = {.fd = open(at("f"), O_RDWR)};
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	uint64_t w = do_attach(fd, "gpu0"), r = do_attach(fd, "encoder0");
	pthread_t t;

	cr_assert_eq(poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents, POLLIN | POLLOUT, "no fences");
	do_map(fd, r, DMABUF_DIR_TO_DEVICE);
	cr_assert_eq(poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents, POLLIN, "a reader: readable only");
	do_map(fd, w, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(poll(&p, 1, 0), 0, "a writer: nothing");
	b.pfd = (struct pollfd){.fd = b.fd, .events = POLLIN};
	start_blocked(&b, poll_thread, SYS_poll, &t);
	do_unmap(fd, w);
	pthread_join(t, NULL);
	cr_assert_eq(b.result, 1, "woken by the writer's unmap");
	cr_assert(b.pfd.revents & POLLIN);
	close(b.fd);
	close(fd);
}

Test(ioctls, migration_stalls_map_until_unmap)
{
	int fill = new_buffer("fill", "cma", 64 << 10,
			      DMABUF_EXPORT_ALLOC_NOW * 0);
	int fd = new_buffer("f", "cma", 4 << 20, 0);
	struct blocked b = {.fd = fd};
	struct dmabuf_cpu_access c = {.flags = DMABUF_CPU_WRITE};
	uint64_t cam = do_attach(fd, "camera0"), disp;
	struct dmabuf_map m = {0};
	uint64_t before;
	pthread_t t;
	(void)b, (void)t;

	cr_assert_eq(ioctl(fill, DMABUF_IOCTL_BEGIN_CPU_ACCESS, &c), 0);
	do_map(fd, cam, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(pwrite(fd, "frame", 5, 0), 5);
	before = info_of(fd).phys_addr;
	disp = do_attach(fd, "display0");
	cr_assert_eq(info_of(fd).state, DMABUF_STATE_MIGRATING);
	{
		int nb = open(at("f"), O_RDWR | O_NONBLOCK);
		uint64_t nd = do_attach(nb, "display0");

		m.attach_id = nd;
		m.dir = DMABUF_DIR_TO_DEVICE;
		cr_assert_eq(ioctl(nb, DMABUF_IOCTL_MAP, &m), -1);
		cr_assert_eq(errno, EAGAIN, "the move waits for the camera");
		close(nb);
	}
	do_unmap(fd, cam);
	cr_assert_eq(do_map(fd, disp, DMABUF_DIR_TO_DEVICE), 1);
	cr_assert_neq(info_of(fd).phys_addr, before, "moved");
	cr_assert_eq(info_of(fd).phys_addr % (1 << 20), 0);
	cr_assert_eq(sh("head -c 5 $MNT/f | grep -q frame"), 0, "bytes kept");
	close(fd);
	close(fill);
}

struct mapper {
	int fd;
	uint64_t id;
	pid_t tid;
	int result;
};

static void *map_thread(void *arg)
{
	struct mapper *m = arg;
	struct dmabuf_map req = {.attach_id = m->id,
				 .dir = DMABUF_DIR_TO_DEVICE};

	__atomic_store_n(&m->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	m->result =
		ioctl(m->fd, DMABUF_IOCTL_MAP, &req) ? -errno : (int)req.nents;
	return NULL;
}

Test(ioctls, blocked_map_completes_when_the_migration_can_run)
{
	int fill = new_buffer("fill", "cma", 64 << 10,
			      DMABUF_EXPORT_ALLOC_NOW * 0);
	int fd = new_buffer("f", "cma", 1 << 20, 0);
	struct dmabuf_cpu_access c = {.flags = DMABUF_CPU_WRITE};
	uint64_t cam = do_attach(fd, "camera0");
	struct mapper m = {.fd = fd};
	pthread_t t;
	pid_t tid;

	cr_assert_eq(ioctl(fill, DMABUF_IOCTL_BEGIN_CPU_ACCESS, &c), 0);
	do_map(fd, cam, DMABUF_DIR_FROM_DEVICE);
	m.id = do_attach(fd, "display0");
	pthread_create(&t, NULL, map_thread, &m);
	cr_assert(WAIT_FOR((tid = __atomic_load_n(&m.tid, __ATOMIC_SEQ_CST)) &&
				   in_syscall(tid, SYS_ioctl),
			   10));
	do_unmap(fd, cam);
	pthread_join(t, NULL);
	cr_assert_eq(m.result, 1, "parked, then mapped after the move");
	cr_assert_eq(info_of(fd).phys_addr % (1 << 20), 0);
	close(fd);
	close(fill);
}

static int send_fd(int sock, int fd)
{
	char data = 'f';
	struct iovec iov = {&data, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = {0};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return (int)sendmsg(sock, &msg, 0);
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = {&data, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	int fd = -1;

	if (recvmsg(sock, &msg, 0) <= 0 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

Test(ioctls, two_processes_share_one_buffer_through_scm_rights)
{
	int sv[2], fd = new_buffer("shared", NULL, 1 << 20, 0), status;
	pid_t pid;
	char ok;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		int got = recv_fd(sv[1]);
		uint64_t id;
		struct dmabuf_attach a = {.device = "gpu0"};
		struct dmabuf_map m = {.dir = DMABUF_DIR_TO_DEVICE};
		char buf[6] = {0};

		if (got < 0 || ioctl(got, DMABUF_IOCTL_ATTACH, &a))
			_exit(1);
		id = a.attach_id;
		m.attach_id = id;
		if (ioctl(got, DMABUF_IOCTL_MAP, &m) ||
		    pread(got, buf, 5, 0) != 5 || strcmp(buf, "hello"))
			_exit(2);
		ok = 'y';
		if (write(sv[1], &ok, 1) != 1 || read(sv[1], &ok, 1) != 1)
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(pwrite(fd, "hello", 5, 0), 5);
	cr_assert_eq(send_fd(sv[0], fd), 1);
	cr_assert_eq(read(sv[0], &ok, 1), 1, "the child attached and mapped");
	cr_assert_eq(info_of(fd).attachments, 1, "one handle: the same fd");
	cr_assert_eq(info_of(fd).read_fences, 1);
	cr_assert_eq(write(sv[0], &ok, 1), 1);
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_eq(info_of(fd).attachments, 1,
		     "still ours: our copy of the fd keeps the handle");
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

Test(ioctls, killed_process_leaves_no_attachment)
{
	int pipefd[2], status;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(pipefd), 0);
	close(new_buffer("victim", "cma", 1 << 20, 0));
	pid = fork();
	if (pid == 0) {
		int fd = open(at("victim"), O_RDWR);
		struct dmabuf_attach a = {.device = "camera0"};
		struct dmabuf_map m = {.dir = DMABUF_DIR_FROM_DEVICE};

		if (fd < 0 || ioctl(fd, DMABUF_IOCTL_ATTACH, &a))
			_exit(1);
		m.attach_id = a.attach_id;
		if (ioctl(fd, DMABUF_IOCTL_MAP, &m) ||
		    write(pipefd[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	cr_assert_not_null(
		strstr(slurp(at(".bufinfo")), "Total 1 devices attached"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert(WAIT_FOR(strstr(slurp(at(".bufinfo")),
				  "Total 0 devices attached") != NULL,
			   10),
		  "the dead process's attachment is torn down");
	cr_assert_null(strstr(slurp(at(".bufinfo")), "fence:"));
	cr_assert_eq(access(at("victim"), F_OK), 0,
		     "the buffer itself is kept");
}

Test(ioctls, device_registry_on_the_root)
{
	int root = open(M.mp, O_RDONLY | O_DIRECTORY);
	struct dmabuf_device_list l = {.count = DMABUF_DEVICE_PAGE};
	struct dmabuf_device_desc d = {
		.name = "isp9", .dma_bits = 32, .max_segments = 1};
	struct dmabuf_name n = {.name = "isp9"};
	int fd;

	cr_assert_geq(root, 0);
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_LIST, &l), 0);
	cr_assert_eq(l.total, 5);
	cr_assert_str_eq(l.devices[0].name, "cpu");
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_ADD, &d), 0);
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_ADD, &d), -1);
	cr_assert_eq(errno, EEXIST);
	d.dma_bits = 3;
	strcpy(d.name, "bad");
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_ADD, &d), -1);
	cr_assert_eq(errno, EINVAL);
	fd = new_buffer("f", "cma", 4096, 0);
	do_attach(fd, "isp9");
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_REMOVE, &n), -1);
	cr_assert_eq(errno, EBUSY, "attached");
	close(fd);
	cr_assert(
		WAIT_FOR(ioctl(root, DMABUF_IOCTL_DEVICE_REMOVE, &n) == 0, 10));
	cr_assert_eq(ioctl(root, DMABUF_IOCTL_DEVICE_REMOVE, &n), -1);
	cr_assert_eq(errno, ENODEV);
	close(root);
}
