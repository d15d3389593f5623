// SPDX-License-Identifier: MIT
/*
 * kexact: what a program sees of dma-buf, one line per case.
 *
 * Built against the system's uapi headers only, like a program from
 * elsewhere.  Each line is "group.case: outcome", and an outcome is only
 * what the kernel's uapi makes visible and stable from run to run (an
 * errno's name, a size, a mode, a line of fdinfo), never an fd number, an
 * address or an inode number.  The same binary runs on a real kernel
 * (tests/kernel/run record) and under dmabufctl run (tests/kernel/run
 * check); tests/kernel/expected holds the kernel's lines and
 * tests/kernel/allow-list the few where dmabuffs means to differ.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PAGE 4096

/* Linux 6.6's SYNC_IOC_SET_DEADLINE, for older <linux/sync_file.h>. */
#ifndef SYNC_IOC_SET_DEADLINE
struct sync_set_deadline {
	__u64 deadline_ns;
	__u64 pad;
};
#define SYNC_IOC_SET_DEADLINE _IOW(SYNC_IOC_MAGIC, 5, struct sync_set_deadline)
#endif

static void say(const char *c, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", c);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* "ok", or the errno's name: the outcome of a call that returns 0 or -1. */
static int rc(const char *c, int ret)
{
	if (ret < 0)
		say(c, "%s", strerrorname_np(errno));
	else
		say(c, "ok");
	return ret;
}

/* The same for calls that return an fd, which stays open. */
static int fdrc(const char *c, int fd)
{
	return rc(c, fd) < 0 ? -1 : fd;
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case 0:
		return "none";
	case S_IFREG:
		return "reg";
	case S_IFCHR:
		return "chr";
	case S_IFDIR:
		return "dir";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	case S_IFLNK:
		return "lnk";
	default:
		return "other";
	}
}

/* A device node's owner and mode are the system's policy (udev): not
 * shown.  A dma-buf's or sync_file's are the kernel's. */
static void show_stat(const char *c, int fd)
{
	struct stat st;

	if (fstat(fd, &st)) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	if (S_ISCHR(st.st_mode))
		say(c, "type=%s size=%lld", ftype(st.st_mode),
		    (long long)st.st_size);
	else
		say(c, "type=%s perm=%03o size=%lld uid=%s", ftype(st.st_mode),
		    (unsigned int)(st.st_mode & 0777), (long long)st.st_size,
		    st.st_uid == geteuid() ? "self" : "other");
}

/*
 * statfs(2) of a dma-buf or sync_file: the kernel's pseudo file system,
 * every field; of a device node, its type and whether it is /dev's own
 * (devtmpfs: sizes are the machine's).
 */
static void say_statfs(const char *c, int ret, const struct statfs *f,
		       bool node)
{
	struct statfs dev;

	if (ret) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	if (node) {
		say(c, "type=%#lx as_dev=%s", (unsigned long)f->f_type,
		    !statfs("/dev", &dev) && !memcmp(&dev, f, sizeof(dev))
			    ? "yes"
			    : "no");
		return;
	}
	say(c,
	    "type=%#lx bsize=%ld frsize=%ld namelen=%ld blocks=%lu bfree=%lu "
	    "bavail=%lu files=%lu ffree=%lu flags=%#lx",
	    (unsigned long)f->f_type, (long)f->f_bsize, (long)f->f_frsize,
	    (long)f->f_namelen, (unsigned long)f->f_blocks,
	    (unsigned long)f->f_bfree, (unsigned long)f->f_bavail,
	    (unsigned long)f->f_files, (unsigned long)f->f_ffree,
	    (unsigned long)f->f_flags);
}

/* fstatfs(2) and fcntl(F_GETFL) of @fd: its file system, its open flags. */
static void show_fs(const char *g, int fd, bool node)
{
	struct statfs f;
	struct stat st;
	char c[64];
	int ret = fstatfs(fd, &f);

	snprintf(c, sizeof(c), "%s.fstatfs", g);
	say_statfs(c, ret, &f, node);
	if (!ret && !node && !fstat(fd, &st)) {
		/* The kernel's huge_encode_dev() of fstat's device. */
		unsigned long long dev =
			(minor(st.st_dev) & 0xffu) | (major(st.st_dev) << 8) |
			((unsigned long long)(minor(st.st_dev) & ~0xffu) << 12);

		snprintf(c, sizeof(c), "%s.fstatfs.fsid", g);
		say(c, "%s",
		    (unsigned int)f.f_fsid.__val[0] == (unsigned int)dev &&
				    (unsigned int)f.f_fsid.__val[1] ==
					    (unsigned int)(dev >> 32)
			    ? "fstat"
			    : "other");
	}
	snprintf(c, sizeof(c), "%s.getfl", g);
	say(c, "%#o", fcntl(fd, F_GETFL));
}

static void show_path_statfs(const char *c, const char *path)
{
	struct statfs f;
	int ret = statfs(path, &f);

	say_statfs(c, ret, &f, true);
}

static void show_path_stat(const char *c, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	say(c, "type=%s", ftype(st.st_mode));
}

/*
 * Every line of fdinfo @path but mnt_id; ino only as "the same as
 * @st's".
 */
static void show_fdinfo_at(const char *c, const char *path,
			   const struct stat *st)
{
	char line[256], key[64], val[192];
	FILE *f = fopen(path, "r");

	if (!f) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char sub[128];

		if (sscanf(line, "%63[^:]:%*[ \t]%191[^\n]", key, val) < 1)
			continue;
		if (sscanf(line, "%63[^:]:", key) == 1 && !strchr(line, '\t') &&
		    !strchr(line, ' '))
			val[0] = '\0';
		if (!strcmp(key, "mnt_id"))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", c, key);
		if (!strcmp(key, "ino"))
			say(sub, "%s",
			    strtoull(val, NULL, 10) == st->st_ino ? "fstat"
								  : "other");
		else
			say(sub, "%s", val);
	}
	fclose(f);
}

static void show_fdinfo(const char *c, int fd)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (fstat(fd, &st))
		st.st_ino = 0;
	show_fdinfo_at(c, path, &st);
}

static void show_dir(const char *c, const char *dir, const char *want)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	bool found = false;

	if (!d) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	while (!found && (e = readdir(d)))
		found = !strcmp(e->d_name, want);
	say(c, "%s", found ? "yes" : "no");
	if (found) {
		char sub[80];

		snprintf(sub, sizeof(sub), "%s.d_type", c);
		say(sub, "%s",
		    e->d_type == DT_CHR	  ? "chr"
		    : e->d_type == DT_REG ? "reg"
					  : "other");
	}
	closedir(d);
}

static void show_link_at(const char *c, const char *path)
{
	char target[512];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	target[n] = '\0';
	say(c, "%s", target);
}

static void show_link(const char *c, int fd)
{
	char path[64], target[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	target[n] = '\0';
	say(c, "%s", target);
}

static void reopen(const char *c, int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = fdrc(c, open(path, flags | O_CLOEXEC));
	if (nfd >= 0)
		close(nfd);
}

static void show_poll(const char *c, int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n = poll(&p, 1, 0);

	if (n < 0)
		say(c, "%s", strerrorname_np(errno));
	else
		say(c, "n=%d%s%s%s%s", n, p.revents & POLLIN ? " in" : "",
		    p.revents & POLLOUT ? " out" : "",
		    p.revents & POLLERR ? " err" : "",
		    p.revents & POLLNVAL ? " nval" : "");
}

/* A count, or the errno's name. */
static void say_n(const char *c, ssize_t n)
{
	if (n < 0)
		say(c, "%s", strerrorname_np(errno));
	else
		say(c, "%zd", n);
}

/* Extended attributes of the fd: none are, or can be, on these files. */
static void xattr_cases(const char *g, int fd)
{
	char c[64], v[256];

	snprintf(c, sizeof(c), "%s.xattr.list", g);
	say_n(c, flistxattr(fd, v, sizeof(v)));
	snprintf(c, sizeof(c), "%s.xattr.get_user", g);
	say_n(c, fgetxattr(fd, "user.kexact", v, sizeof(v)));
	snprintf(c, sizeof(c), "%s.xattr.set_user", g);
	rc(c, fsetxattr(fd, "user.kexact", "1", 1, 0));
	snprintf(c, sizeof(c), "%s.xattr.remove_user", g);
	rc(c, fremovexattr(fd, "user.kexact"));
	snprintf(c, sizeof(c), "%s.xattr.get_trusted", g);
	say_n(c, fgetxattr(fd, "trusted.kexact", v, sizeof(v)));
}

/*
 * What the VFS answers of any file, the way it answers it of these: the
 * generic ioctls that only regular files answer themselves, epoll, and
 * moving bytes out without read(2).  Last of a group: the bytes moved may
 * move the offset, which is put back.
 */
static void generic_cases(const char *g, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT}, out;
	char c[64];
	int ep = epoll_create1(EPOLL_CLOEXEC), nul, pipefd[2], mfd, n;
	unsigned int flags;
	long long size;
	struct fsxattr fsx;

	snprintf(c, sizeof(c), "%s.epoll", g);
	if (rc(c, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) == 0) {
		n = epoll_wait(ep, &out, 1, 0);
		snprintf(c, sizeof(c), "%s.epoll_wait", g);
		say(c, "n=%d%s%s", n,
		    n > 0 && (out.events & EPOLLIN) ? " in" : "",
		    n > 0 && (out.events & EPOLLOUT) ? " out" : "");
	}
	close(ep);
	snprintf(c, sizeof(c), "%s.fionread", g);
	rc(c, ioctl(fd, FIONREAD, &n));
	snprintf(c, sizeof(c), "%s.fioqsize", g);
	rc(c, ioctl(fd, FIOQSIZE, &size));
	snprintf(c, sizeof(c), "%s.getflags", g);
	rc(c, ioctl(fd, FS_IOC_GETFLAGS, &flags));
	snprintf(c, sizeof(c), "%s.fsgetxattr", g);
	rc(c, ioctl(fd, FS_IOC_FSGETXATTR, &fsx));
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	snprintf(c, sizeof(c), "%s.sendfile", g);
	say_n(c, sendfile(nul, fd, NULL, 16));
	close(nul);
	if (!pipe2(pipefd, O_CLOEXEC | O_NONBLOCK)) {
		snprintf(c, sizeof(c), "%s.splice", g);
		say_n(c,
		      splice(fd, NULL, pipefd[1], NULL, 16, SPLICE_F_NONBLOCK));
		close(pipefd[0]);
		close(pipefd[1]);
	}
	xattr_cases(g, fd);
	mfd = memfd_create("kexact", MFD_CLOEXEC);
	snprintf(c, sizeof(c), "%s.copy_file_range", g);
	say_n(c, copy_file_range(fd, NULL, mfd, NULL, 16, 0));
	close(mfd);
	lseek(fd, 0, SEEK_SET);
}

/* A device node: no stream, no file. */
static void node_cases(const char *g, int fd)
{
	char c[64], b[8];

	snprintf(c, sizeof(c), "%s.lseek", g);
	say_n(c, lseek(fd, 0, SEEK_SET));
	snprintf(c, sizeof(c), "%s.read", g);
	say_n(c, read(fd, b, sizeof(b)));
	snprintf(c, sizeof(c), "%s.write", g);
	say_n(c, write(fd, b, sizeof(b)));
	snprintf(c, sizeof(c), "%s.poll", g);
	show_poll(c, fd, POLLIN | POLLOUT);
	generic_cases(g, fd);
}

static int sync_ioctl(int fd, __u64 flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

static void map_case(const char *c, int fd, size_t len, int prot, int flags,
		     off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED) {
		say(c, "%s", strerrorname_np(errno));
		return;
	}
	say(c, "ok");
	munmap(p, len);
}

static void seek_case(const char *c, int fd, off_t off, int whence)
{
	off_t r = lseek(fd, off, whence);

	if (r < 0)
		say(c, "%s", strerrorname_np(errno));
	else
		say(c, "%lld", (long long)r);
}

static void rw_case(const char *c, int fd, bool write_it)
{
	char b[16] = "kexact";
	ssize_t n = write_it ? pwrite(fd, b, sizeof(b), 0)
			     : pread(fd, b, sizeof(b), 0);

	if (n < 0)
		say(c, "%s", strerrorname_np(errno));
	else
		say(c, "%zd", n);
}

/* ---- dma-heap ---- */

static int heap_alloc(int heap, __u64 len, __u32 fd_flags, __u64 heap_flags)
{
	struct dma_heap_allocation_data d = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags};

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return -1;
	return (int)d.fd;
}

static void alloc_case(const char *c, int heap, __u64 len, __u32 fd_flags,
		       __u64 heap_flags)
{
	int fd = fdrc(c, heap_alloc(heap, len, fd_flags, heap_flags));

	if (fd >= 0)
		close(fd);
}

static int heap_cases(void)
{
	struct dma_heap_allocation_data d = {.len = PAGE, .fd_flags = O_RDWR};
	int heap, fd;

	show_path_stat("heap.dir.stat", "/dev/dma_heap");
	show_path_stat("heap.system.stat", "/dev/dma_heap/system");
	show_path_statfs("heap.system.statfs", "/dev/dma_heap/system");
	heap = fdrc("heap.open",
		    open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC));
	if (heap < 0)
		return -1;
	show_dir("heap.dir.lists_system", "/dev/dma_heap", "system");
	fd = fdrc("heap.open_rdwr",
		  open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC));
	if (fd >= 0)
		close(fd);
	rc("heap.open_missing", open("/dev/dma_heap/kexact-none", O_RDONLY));
	show_stat("heap.fstat", heap);
	show_fs("heap", heap, true);
	node_cases("heap", heap);
	show_link("heap.link", heap);
	show_fdinfo("heap.fdinfo", heap);
	alloc_case("heap.alloc.page", heap, PAGE, O_RDWR | O_CLOEXEC, 0);
	alloc_case("heap.alloc.zero", heap, 0, O_RDWR | O_CLOEXEC, 0);
	alloc_case("heap.alloc.heap_flags", heap, PAGE, O_RDWR, 1);
	alloc_case("heap.alloc.fd_flags_trunc", heap, PAGE, O_RDWR | O_TRUNC,
		   0);
	alloc_case("heap.alloc.fd_flags_nonblock", heap, PAGE,
		   O_RDWR | O_NONBLOCK, 0);
	d.fd = 3;
	rc("heap.alloc.fd_not_zero", ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d));
	rc("heap.ioctl.nr1", ioctl(heap, _IOWR('H', 1, __u64), &d));
	rc("heap.ioctl.nr0_wrong_size",
	   ioctl(heap, _IOWR('H', 0, __u64), &(__u64[2]){0}));
	rc("heap.ioctl.tcgets", ioctl(heap, TCGETS, &(char[64]){0}));
	fd = heap_alloc(heap, 5000, O_RDWR | O_CLOEXEC, 0);
	seek_case("heap.alloc.rounded_size", fd, 0, SEEK_END);
	close(fd);
	return heap;
}

/* ---- a dma-buf ---- */

static void buffer_identity(const char *g, int fd)
{
	char c[64];

	snprintf(c, sizeof(c), "%s.fstat", g);
	show_stat(c, fd);
	snprintf(c, sizeof(c), "%s.link", g);
	show_link(c, fd);
	snprintf(c, sizeof(c), "%s.fdinfo", g);
	show_fdinfo(c, fd);
	show_fs(g, fd, false);
}

static void name_cases(int fd)
{
	char longname[64];

	rc("buf.set_name", ioctl(fd, DMA_BUF_SET_NAME_B, "kexact"));
	show_link("buf.named.link", fd);
	show_fdinfo("buf.named.fdinfo", fd);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	rc("buf.set_name.too_long", ioctl(fd, DMA_BUF_SET_NAME_B, longname));
	longname[DMA_BUF_NAME_LEN - 1] = '\0';
	rc("buf.set_name.max", ioctl(fd, DMA_BUF_SET_NAME_A, longname));
	rc("buf.set_name.empty", ioctl(fd, DMA_BUF_SET_NAME_B, ""));
	show_link("buf.empty_name.link", fd);
	rc("buf.set_name.fault", ioctl(fd, DMA_BUF_SET_NAME_B, (void *)8));
	rc("buf.set_name.back", ioctl(fd, DMA_BUF_SET_NAME_B, "kexact"));
}

static void sync_cases(int fd)
{
	rc("buf.sync.start_rw",
	   sync_ioctl(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	rc("buf.sync.end_rw",
	   sync_ioctl(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	rc("buf.sync.end_unopened",
	   sync_ioctl(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	rc("buf.sync.no_direction", sync_ioctl(fd, DMA_BUF_SYNC_START));
	rc("buf.sync.unknown_flag",
	   sync_ioctl(fd, DMA_BUF_SYNC_RW | (1ULL << 3)));
	rc("buf.sync.high_flag",
	   sync_ioctl(fd, DMA_BUF_SYNC_RW | (1ULL << 40)));
	rc("buf.sync.fault", ioctl(fd, DMA_BUF_IOCTL_SYNC, (void *)8));
	rc("buf.ioctl.unknown_nr",
	   ioctl(fd, _IOW(DMA_BUF_BASE, 9, __u64), &(__u64){0}));
	rc("buf.ioctl.tcgets", ioctl(fd, TCGETS, &(char[64]){0}));
	rc("buf.ioctl.sync_deadline",
	   ioctl(fd, SYNC_IOC_SET_DEADLINE, &(struct sync_set_deadline){0}));
}

static void map_cases(int fd, const char *g, size_t size)
{
	char c[64];

#define MAP(name, len, prot, flags, off)                       \
	do {                                                   \
		snprintf(c, sizeof(c), "%s.mmap.%s", g, name); \
		map_case(c, fd, len, prot, flags, off);        \
	} while (0)
	MAP("whole", size, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	MAP("last_page", PAGE, PROT_READ, MAP_SHARED, size - PAGE);
	MAP("at_end", PAGE, PROT_READ, MAP_SHARED, size);
	MAP("past_end", size + PAGE, PROT_READ, MAP_SHARED, 0);
	MAP("far_offset", PAGE, PROT_READ, MAP_SHARED, 1 << 30);
	MAP("private", size, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	MAP("private_ro", size, PROT_READ, MAP_PRIVATE, 0);
	MAP("shared_validate", size, PROT_READ, MAP_SHARED_VALIDATE, 0);
	MAP("exec", PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, 0);
#undef MAP
}

/* Does a MAP_PRIVATE write reach the buffer? */
static void private_write_case(const char *c, int fd, size_t size)
{
	unsigned char *priv, *shared;

	shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	priv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (shared == MAP_FAILED || priv == MAP_FAILED) {
		say(c, "cannot map");
	} else {
		shared[0] = 1;
		say(c, "%s", priv[0] == 1 ? "sees buffer" : "stale");
		priv[0] = 2;
		say(c, "%s", shared[0] == 2 ? "write shared" : "write private");
	}
	if (shared != MAP_FAILED)
		munmap(shared, size);
	if (priv != MAP_FAILED)
		munmap(priv, size);
}

static void file_cases(int fd, const char *g)
{
	char c[64];

	snprintf(c, sizeof(c), "%s.ftruncate", g);
	rc(c, ftruncate(fd, 3 * PAGE));
	snprintf(c, sizeof(c), "%s.reopen_rw", g);
	reopen(c, fd, O_RDWR);
	snprintf(c, sizeof(c), "%s.reopen_ro", g);
	reopen(c, fd, O_RDONLY);
	snprintf(c, sizeof(c), "%s.fchmod", g);
	rc(c, fchmod(fd, 0600));
	snprintf(c, sizeof(c), "%s.poll", g);
	show_poll(c, fd, POLLIN | POLLOUT);
	snprintf(c, sizeof(c), "%s.fsync", g);
	rc(c, fsync(fd));
	snprintf(c, sizeof(c), "%s.fallocate", g);
	rc(c, fallocate(fd, 0, 0, PAGE));
}

static void seek_rw_cases(int fd, const char *g)
{
	char c[64];

#define SEEK(name, off, whence)                                 \
	do {                                                    \
		snprintf(c, sizeof(c), "%s.lseek.%s", g, name); \
		seek_case(c, fd, off, whence);                  \
	} while (0)
	SEEK("end", 0, SEEK_END);
	SEEK("set0", 0, SEEK_SET);
	SEEK("set100", 100, SEEK_SET);
	SEEK("cur", 0, SEEK_CUR);
	SEEK("end_minus", -PAGE, SEEK_END);
	SEEK("data", 0, SEEK_DATA);
#undef SEEK
	snprintf(c, sizeof(c), "%s.pread", g);
	rw_case(c, fd, false);
	snprintf(c, sizeof(c), "%s.pwrite", g);
	rw_case(c, fd, true);
}

static void count_cases(int fd)
{
	void *p;
	int d;

	d = dup(fd);
	show_fdinfo("buf.dup.fdinfo", d);
	close(d);
	d = fcntl(fd, F_DUPFD, 0);
	show_fdinfo("buf.dupfd_nocloexec.fdinfo", d);
	close(d);
	d = dup3(fd, 100, O_CLOEXEC);
	show_fdinfo("buf.dup3_cloexec.fdinfo", d);
	close(d);
	show_fdinfo("buf.after_close.fdinfo", fd);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	show_fdinfo("buf.mapped.fdinfo", fd);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
}

/*
 * The line of /proc/self/@file (maps or smaps) that maps @addr: its
 * protection, offset and name, and whether its device and inode are
 * fstat's; "none" when no line maps it.  Read with stdio, or with
 * read(2) when @raw, the two ways programs read it.
 */
static void show_maps_at(const char *c, const char *path, bool raw, bool rights,
			 const void *addr, const struct stat *st)
{
	static char text[1 << 20];
	char perm[8], *line, *next;
	unsigned long lo, hi, off, ino;
	unsigned int maj, min;
	size_t len = 0;
	ssize_t n;
	int fd, at;
	FILE *f;

	if (raw) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		while (fd >= 0 && len < sizeof(text) - 1 &&
		       (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
			len += (size_t)n;
		if (fd >= 0)
			close(fd);
	} else if ((f = fopen(path, "re"))) {
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[len] = '\0';
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perm,
			   &off, &maj, &min, &ino, &at) != 7 ||
		    lo != (unsigned long)(uintptr_t)addr)
			continue;
		say(c, "%s%s%08lx %s at=%d dev=%s ino=%s", rights ? perm : "",
		    rights ? " " : "", off, line + at, at,
		    makedev(maj, min) == st->st_dev ? "fstat" : "other",
		    ino == st->st_ino ? "fstat" : "other");
		return;
	}
	say(c, "none");
}

/* The same, of this process's own /proc/self/@file. */
static void show_maps_line(const char *c, const char *file, bool raw,
			   const void *addr, const struct stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	show_maps_at(c, path, raw, true, addr, st);
}

/*
 * A buffer's mappings in /proc/self/maps and smaps, as tools that count
 * dma-buf memory by them (Android's libdmabufinfo) read them: the kernel
 * names them /dmabuf:NAME, also once the fd is closed, and not after
 * munmap.
 */
static void maps_cases(int fd, const char *g)
{
	char c[64];
	struct stat st;
	void *rw, *ro;
	int d = dup(fd);

	if (d < 0 || fstat(fd, &st))
		return;
	rw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, d, PAGE);
	close(d);
	if (rw == MAP_FAILED || ro == MAP_FAILED) {
		say(g, "cannot map");
		return;
	}
	snprintf(c, sizeof(c), "%s.maps.rw", g);
	show_maps_line(c, "maps", false, rw, &st);
	snprintf(c, sizeof(c), "%s.maps.ro", g);
	show_maps_line(c, "maps", false, ro, &st);
	snprintf(c, sizeof(c), "%s.maps.read", g);
	show_maps_line(c, "maps", true, rw, &st);
	snprintf(c, sizeof(c), "%s.smaps.rw", g);
	show_maps_line(c, "smaps", false, rw, &st);
	munmap(rw, 2 * PAGE);
	snprintf(c, sizeof(c), "%s.maps.unmapped", g);
	show_maps_line(c, "maps", false, rw, &st);
	munmap(ro, PAGE);
}

/* A name with a newline: maps escapes it (seq_file_path), nothing else. */
static void escaped_name_case(int fd)
{
	struct stat st;
	void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED || fstat(fd, &st) ||
	    ioctl(fd, DMA_BUF_SET_NAME_B, "two\nlines")) {
		say("buf.maps.newline_name", "cannot map or name");
		return;
	}
	show_maps_line("buf.maps.newline_name", "maps", false, p, &st);
	munmap(p, PAGE);
	ioctl(fd, DMA_BUF_SET_NAME_B, "kexact");
}

/* A buffer without a name, mapped: "/dmabuf:", and counted in fdinfo. */
static void unnamed_maps_case(const char *g, int fd)
{
	char c[64];
	struct stat st;
	void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED || fstat(fd, &st)) {
		say(g, "cannot map");
		return;
	}
	snprintf(c, sizeof(c), "%s.maps", g);
	show_maps_line(c, "maps", false, p, &st);
	snprintf(c, sizeof(c), "%s.mapped.fdinfo", g);
	show_fdinfo(c, fd);
	munmap(p, PAGE);
}

/*
 * Another process's buffer, as tools that account every process's dma-buf
 * memory (dmabuf_dump, lsfd) read it: the link of its fd, its fdinfo and
 * the line of its mapping in that process's maps.  The child holds the
 * only fd and a mapping; the parent reads its /proc.
 */
static void other_process_cases(int heap)
{
	int fd = heap_alloc(heap, 2 * PAGE, O_RDWR | O_CLOEXEC, 0), up[2],
	    down[2];
	char path[64], c[32], go;
	struct stat st;
	void *addr;
	pid_t pid;
	int status;

	if (fd < 0 || ioctl(fd, DMA_BUF_SET_NAME_B, "other") ||
	    fstat(fd, &st) || pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) {
		say("other", "no buffer");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]); /* so that the parent's close ends the read */
		addr = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
		if (write(up[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		_exit(read(down[0], &go, 1) < 0);
	}
	close(fd); /* the child's are the only references left */
	close(up[1]);
	close(down[0]);
	if (pid < 0 || read(up[0], &addr, sizeof(addr)) != sizeof(addr)) {
		say("other", "no child");
		close(up[0]);
		close(down[1]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	show_link_at("other.link", path);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	show_fdinfo_at("other.fdinfo", path, &st);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	/* Not its rights: under dmabufctl run --sanitize they are what that
	 * process's sanitizer left of them (dmabuf-compat(7) LIMITS). */
	show_maps_at("other.maps", path, false, false, addr, &st);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	snprintf(c, sizeof(c), "other.reopen");
	rc(c, open(path, O_RDONLY | O_CLOEXEC));
	close(down[1]);
	waitpid(pid, &status, 0);
	close(up[0]);
}

/* fork: the child's writes through its mapping are the parent's. */
static void fork_case(int fd)
{
	unsigned char *p =
		mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int status;
	pid_t pid;

	if (p == MAP_FAILED) {
		say("buf.fork", "cannot map");
		return;
	}
	p[1] = 0;
	pid = fork();
	if (pid == 0) {
		unsigned char *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					MAP_SHARED, fd, 0);
		if (q == MAP_FAILED)
			_exit(2);
		sync_ioctl(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		q[1] = 0x5a;
		sync_ioctl(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	say("buf.fork", "child %d, parent sees %#x", WEXITSTATUS(status), p[1]);
	munmap(p, PAGE);
}

/* SCM_RIGHTS to ourselves: the received fd is the same buffer. */
static void scm_case(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int sv[2], got = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) == 1 && recvmsg(sv[1], &m, 0) == 1 &&
	    (cm = CMSG_FIRSTHDR(&m)))
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
	if (got < 0) {
		say("buf.scm", "not received");
	} else {
		show_stat("buf.scm.fstat", got);
		show_link("buf.scm.link", got);
		close(got);
	}
	close(sv[0]);
	close(sv[1]);
}

static void heap_buffer_cases(int heap)
{
	int fd, ro;

	fd = heap_alloc(heap, 2 * PAGE, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		say("buf", "no buffer: %s", strerrorname_np(errno));
		return;
	}
	buffer_identity("buf", fd);
	name_cases(fd);
	sync_cases(fd);
	map_cases(fd, "buf", 2 * PAGE);
	private_write_case("buf.private_write", fd, 2 * PAGE);
	file_cases(fd, "buf");
	seek_rw_cases(fd, "buf");
	count_cases(fd);
	generic_cases("buf", fd);
	maps_cases(fd, "buf");
	escaped_name_case(fd);
	fork_case(fd);
	scm_case(fd);
	ro = heap_alloc(heap, PAGE, O_RDONLY | O_CLOEXEC, 0);
	show_fdinfo("buf.rdonly.fdinfo", ro);
	show_fs("buf.rdonly", ro, false);
	map_case("buf.rdonly.mmap_write", ro, PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, 0);
	map_case("buf.rdonly.mmap_read", ro, PAGE, PROT_READ, MAP_SHARED, 0);
	unnamed_maps_case("buf.rdonly", ro);
	rc("buf.rdonly.sync_write",
	   sync_ioctl(ro, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	close(ro);
	ro = heap_alloc(heap, PAGE, O_WRONLY | O_CLOEXEC, 0);
	show_fdinfo("buf.wronly.fdinfo", ro);
	map_case("buf.wronly.mmap_read", ro, PAGE, PROT_READ, MAP_SHARED, 0);
	close(ro);
	close(fd);
	rc("buf.closed.fstat", fstat(fd, &(struct stat){0}));
}

/* ---- sync_file ---- */

static int export_sync(int buf, __u32 flags)
{
	struct dma_buf_export_sync_file x = {.flags = flags, .fd = -1};

	return ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &x) ? -1 : x.fd;
}

static int import_sync(int buf, __u32 flags, int fd)
{
	struct dma_buf_import_sync_file x = {.flags = flags, .fd = fd};

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &x);
}

static void sync_file_info(int sf)
{
	struct sync_file_info info = {0};
	struct sync_fence_info fi[2] = {0};

	if (rc("sync.info.count", ioctl(sf, SYNC_IOC_FILE_INFO, &info)) == 0)
		say("sync.info.count.value", "num_fences=%u status=%d name=%s",
		    info.num_fences, info.status, info.name);
	info.num_fences = 2;
	info.sync_fence_info = (__u64)(uintptr_t)fi;
	if (rc("sync.info.array", ioctl(sf, SYNC_IOC_FILE_INFO, &info)) == 0)
		say("sync.info.array.value", "num_fences=%u status=%d",
		    info.num_fences, fi[0].status);
	info.flags = 1;
	rc("sync.info.flags", ioctl(sf, SYNC_IOC_FILE_INFO, &info));
	memset(&info, 0, sizeof(info));
	info.pad = 1;
	rc("sync.info.pad", ioctl(sf, SYNC_IOC_FILE_INFO, &info));
}

static void sync_file_merge(int sf)
{
	struct sync_merge_data m = {.fd2 = sf};
	int fd;

	strcpy(m.name, "merged");
	if (rc("sync.merge.self", ioctl(sf, SYNC_IOC_MERGE, &m)) == 0) {
		struct sync_file_info info = {0};

		ioctl((int)m.fence, SYNC_IOC_FILE_INFO, &info);
		say("sync.merge.self.info", "num_fences=%u status=%d name=%s",
		    info.num_fences, info.status, info.name);
		close((int)m.fence);
	}
	m.fd2 = 0; /* stdin: not a sync_file */
	fd = open("/dev/null", O_RDONLY);
	m.fd2 = fd;
	rc("sync.merge.not_sync_file", ioctl(sf, SYNC_IOC_MERGE, &m));
	close(fd);
	m.fd2 = sf;
	m.flags = 1;
	rc("sync.merge.flags", ioctl(sf, SYNC_IOC_MERGE, &m));
}

/* A deadline is a hint: the kernel checks only pad. */
static void sync_file_deadline(int sf)
{
	struct sync_set_deadline d = {.deadline_ns = 1};

	rc("sync.deadline", ioctl(sf, SYNC_IOC_SET_DEADLINE, &d));
	d.deadline_ns = ~0ULL;
	rc("sync.deadline.max", ioctl(sf, SYNC_IOC_SET_DEADLINE, &d));
	d.pad = 1;
	rc("sync.deadline.pad", ioctl(sf, SYNC_IOC_SET_DEADLINE, &d));
	rc("sync.deadline.fault", ioctl(sf, SYNC_IOC_SET_DEADLINE, (void *)8));
}

static void sync_file_cases(int heap)
{
	char b[8];
	int buf, sf, nul;

	buf = heap_alloc(heap, PAGE, O_RDWR | O_CLOEXEC, 0);
	sf = fdrc("sync.export.read", export_sync(buf, DMA_BUF_SYNC_READ));
	rc("sync.export.none", export_sync(buf, 0));
	rc("sync.export.unknown", export_sync(buf, DMA_BUF_SYNC_RW | 8));
	if (sf < 0)
		return;
	show_stat("sync.fstat", sf);
	show_fs("sync", sf, false);
	show_link("sync.link", sf);
	show_fdinfo("sync.fdinfo", sf);
	show_poll("sync.poll", sf, POLLIN | POLLOUT);
	rc("sync.read", (int)read(sf, b, sizeof(b)));
	rc("sync.write", (int)write(sf, b, sizeof(b)));
	seek_case("sync.lseek", sf, 0, SEEK_SET);
	map_case("sync.mmap", sf, PAGE, PROT_READ, MAP_SHARED, 0);
	reopen("sync.reopen", sf, O_RDONLY);
	sync_file_info(sf);
	sync_file_merge(sf);
	sync_file_deadline(sf);
	rc("sync.import.write", import_sync(buf, DMA_BUF_SYNC_WRITE, sf));
	rc("sync.import.none", import_sync(buf, 0, sf));
	nul = open("/dev/null", O_RDONLY);
	rc("sync.import.not_sync_file", import_sync(buf, DMA_BUF_SYNC_RW, nul));
	rc("sync.import.bad_fd", import_sync(buf, DMA_BUF_SYNC_RW, -1));
	close(nul);
	rc("sync.ioctl.unknown", ioctl(sf, _IOWR('>', 9, __u64), &(__u64){0}));
	generic_cases("sync", sf);
	close(sf);
	close(buf);
}

/* ---- udmabuf ---- */

static int sealed_memfd(size_t size, unsigned int seals)
{
	int fd = memfd_create("kexact", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals)))
		return -1;
	return fd;
}

static int ucreate(int dev, int memfd, __u32 flags, __u64 off, __u64 size)
{
	struct udmabuf_create c = {.memfd = (__u32)memfd,
				   .flags = flags,
				   .offset = off,
				   .size = size};

	return ioctl(dev, UDMABUF_CREATE, &c);
}

static void ucase(const char *c, int dev, int memfd, __u32 flags, __u64 off,
		  __u64 size)
{
	int fd = fdrc(c, ucreate(dev, memfd, flags, off, size));

	if (fd >= 0)
		close(fd);
}

static void ulist_case(const char *c, int dev, int memfd, __u32 flags,
		       __u32 count)
{
	struct udmabuf_create_list *l =
		calloc(1, sizeof(*l) + (count + 1) * sizeof(l->list[0]));
	int fd;

	if (!l)
		return;
	l->flags = flags;
	l->count = count;
	for (__u32 i = 0; i < count; i++)
		l->list[i] = (struct udmabuf_create_item){
			.memfd = (__u32)memfd,
			.offset = (__u64)(i % 2) * PAGE,
			.size = PAGE};
	fd = fdrc(c, ioctl(dev, UDMABUF_CREATE_LIST, l));
	if (fd >= 0) {
		char sub[64];

		snprintf(sub, sizeof(sub), "%s.size", c);
		seek_case(sub, fd, 0, SEEK_END);
		close(fd);
	}
	free(l);
}

static void udmabuf_cases(void)
{
	int dev, memfd, loose, wsealed, pipefd[2], fd, nfd;
	struct stat st;

	show_path_stat("udmabuf.stat", "/dev/udmabuf");
	show_path_statfs("udmabuf.statfs", "/dev/udmabuf");
	dev = fdrc("udmabuf.open", open("/dev/udmabuf", O_RDWR | O_CLOEXEC));
	if (dev < 0)
		return;
	show_stat("udmabuf.fstat", dev);
	show_fs("udmabuf", dev, true);
	node_cases("udmabuf", dev);
	show_link("udmabuf.link", dev);
	memfd = sealed_memfd(4 * PAGE, F_SEAL_SHRINK);
	loose = sealed_memfd(4 * PAGE, 0);
	wsealed = sealed_memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_WRITE);
	if (pipe(pipefd))
		return;
	ucase("udmabuf.create", dev, memfd, 0, 0, 2 * PAGE);
	ucase("udmabuf.create.cloexec", dev, memfd, UDMABUF_FLAGS_CLOEXEC, 0,
	      PAGE);
	ucase("udmabuf.create.unknown_flag", dev, memfd, 0x10, 0, PAGE);
	ucase("udmabuf.create.no_seal", dev, loose, 0, 0, PAGE);
	ucase("udmabuf.create.write_sealed", dev, wsealed, 0, 0, PAGE);
	ucase("udmabuf.create.unaligned_offset", dev, memfd, 0, 100, PAGE);
	ucase("udmabuf.create.unaligned_size", dev, memfd, 0, 0, 100);
	ucase("udmabuf.create.zero_size", dev, memfd, 0, 0, 0);
	ucase("udmabuf.create.past_memfd", dev, memfd, 0, 2 * PAGE, 4 * PAGE);
	ucase("udmabuf.create.bad_fd", dev, -1, 0, 0, PAGE);
	ucase("udmabuf.create.pipe", dev, pipefd[0], 0, 0, PAGE);
	ulist_case("udmabuf.list", dev, memfd, 0, 2);
	ulist_case("udmabuf.list.zero", dev, memfd, 0, 0);
	ulist_case("udmabuf.list.unknown_flag", dev, memfd, 0x10, 1);
	ulist_case("udmabuf.list.too_many", dev, memfd, 0, 1025);
	rc("udmabuf.ioctl.unknown",
	   ioctl(dev, _IOW('u', 0x44, __u64), &(__u64){0}));
	fd = ucreate(dev, memfd, UDMABUF_FLAGS_CLOEXEC, 0, 2 * PAGE);
	if (fd >= 0) {
		unsigned char *m, *b;

		buffer_identity("ubuf", fd);
		unnamed_maps_case("ubuf", fd);
		generic_cases("ubuf", fd);
		map_cases(fd, "ubuf", 2 * PAGE);
		file_cases(fd, "ubuf");
		seek_rw_cases(fd, "ubuf");
		rc("ubuf.sync.start",
		   sync_ioctl(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
		rc("ubuf.sync.end",
		   sync_ioctl(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
		nfd = fdrc("ubuf.export_sync_file",
			   export_sync(fd, DMA_BUF_SYNC_WRITE));
		if (nfd >= 0) {
			show_poll("ubuf.sync_file.poll", nfd, POLLIN);
			close(nfd);
		}
		rc("ubuf.set_name", ioctl(fd, DMA_BUF_SET_NAME_B, "u"));
		show_link("ubuf.named.link", fd);
		maps_cases(fd, "ubuf");
		m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 memfd, 0);
		b = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		if (m != MAP_FAILED && b != MAP_FAILED) {
			m[PAGE + 7] = 0x42;
			say("ubuf.memfd_write_seen", "%#x", b[PAGE + 7]);
			b[9] = 0x24;
			say("ubuf.buffer_write_seen", "%#x", m[9]);
		}
		if (b != MAP_FAILED && !fstat(fd, &st)) {
			close(fd); /* the mapping alone holds the buffer */
			show_maps_line("ubuf.maps.fd_closed", "maps", false, b,
				       &st);
			munmap(b, 2 * PAGE);
		} else {
			close(fd);
		}
	}
	close(dev);
}

/* With no dma-buf mapped, maps is procfs's own file, whatever reads it. */
static void plain_maps_case(void)
{
	char link[64], target[256], want[64];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "/proc/%d/maps", (int)getpid());
	n = fd < 0 ? -1 : readlink(link, target, sizeof(target) - 1);
	if (n >= 0)
		target[n] = '\0';
	say("maps.no_dma_buf.fd", "%s",
	    n < 0		   ? "unreadable"
	    : strcmp(target, want) ? target
				   : "procfs");
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	int heap;

	signal(SIGBUS, SIG_DFL);
	plain_maps_case();
	heap = heap_cases();
	if (heap >= 0) {
		heap_buffer_cases(heap);
		other_process_cases(heap);
		sync_file_cases(heap);
		close(heap);
	}
	udmabuf_cases();
	say("end", "ok");
	return 0;
}
