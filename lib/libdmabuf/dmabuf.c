// SPDX-License-Identifier: MIT
/*
 * DOC: libdmabuf implementation
 *
 * Thin, checked wrappers over the ioctls of <dmabuf/uapi.h>, plus the two
 * things an ioctl cannot do: reading a whole scatter-gather table (paged
 * through DMABUF_IOCTL_GET_SG) and the zero-copy mapping, which redeems a
 * token on the daemon's Unix socket for the buffer's memfd.  Knows nothing
 * of FUSE: only the uapi and the side-channel protocol.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "sanitizer.h"

/**
 * struct dmabuf_mapping - a zero-copy mapping of a buffer's memory
 * @addr: where it is mapped
 * @size: the buffer's exact size
 * @map_size: bytes mapped (whole pages)
 * @fd: a duplicate of the buffer fd, for CPU-access brackets
 * @sock: the side-channel connection: the mapping's reference on the buffer
 * @brackets: open begin/end brackets taken through this mapping
 * @writable: mapped with PROT_WRITE
 */
struct dmabuf_mapping {
	void *addr;
	uint64_t size;
	uint64_t map_size;
	int fd;
	int sock;
	unsigned int brackets;
	bool writable;
};

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int err = ioctl(fd, cmd, arg) ? errno : 0;

	if (dmabuf_sanitizer_enabled()) /* dmabuf-sanitizer(7) */
		dmabuf_sanitizer_ioctl(fd, cmd, arg, err, false);
	return -err;
}

static int copy_name(char dst[DMABUF_NAME_LEN], const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= DMABUF_NAME_LEN)
		return -EINVAL;
	memset(dst, 0, DMABUF_NAME_LEN);
	if (len)
		memcpy(dst, src, len);
	return 0;
}

/**
 * dmabuf_mount_path() - where dmabuffs is mounted
 *
 * Return: $DMABUF_MOUNT if set, else DMABUF_DEFAULT_MOUNT.
 */
const char *dmabuf_mount_path(void)
{
	const char *env = getenv("DMABUF_MOUNT");

	return env && *env ? env : DMABUF_DEFAULT_MOUNT;
}

/**
 * dmabuf_get() - is @fd a dmabuffs buffer? (dma_buf_get)
 * @fd: a file descriptor
 *
 * Return: 0; -EBADF for a bad fd; -EINVAL for an fd that is not a dmabuffs
 * buffer.
 */
int dmabuf_get(int fd)
{
	struct dmabuf_info info;
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || fstatfs(fd, &sfs) ||
	    sfs.f_type != FUSE_SUPER_MAGIC ||
	    xioctl(fd, DMABUF_IOCTL_INFO, &info))
		return -EINVAL;
	return 0;
}

/**
 * dmabuf_open() - open a buffer file and check that it is one
 * @path: the file
 * @flags: open(2) flags (O_CLOEXEC is added)
 *
 * Return: the fd, or a negative errno (-EINVAL when not a dmabuffs buffer).
 */
int dmabuf_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = dmabuf_get(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int anon_name(char *out, size_t len)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -EAGAIN;
	snprintf(out, len, ".anon-%d-%08x", (int)getpid(), r);
	return 0;
}

static int path_in(const char *mount, const char *name, char *path, size_t len)
{
	if (!mount)
		mount = dmabuf_mount_path();
	if (strchr(name, '/') ||
	    snprintf(path, len, "%s/%s", mount, name) >= (int)len)
		return -EINVAL;
	return 0;
}

/* A failed export leaves nothing behind: remove the name it made. */
static void unlink_in(const char *mount, const char *name)
{
	char path[4096];

	if (!path_in(mount, name, path, sizeof(path)))
		unlink(path);
}

static int create_file(const char *mount, const char *name, int *fd)
{
	char path[4096], anon[64];
	int ret = 0;

	if (!name) {
		ret = anon_name(anon, sizeof(anon));
		name = anon;
	}
	if (ret)
		return ret;
	ret = path_in(mount, name, path, sizeof(path));
	if (ret)
		return ret;
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (*fd < 0)
		return -errno;
	if (name == anon && unlink(path)) {
		ret = -errno;
		close(*fd);
	}
	return ret;
}

/*
 * A fresh handle of the buffer behind @fd, which it closes.  The handle that
 * created a buffer was opened while the buffer was EMPTY, so a mount with
 * passthrough serves it through the daemon and cannot mmap(2) it; one opened
 * after the export is bound to the buffer's memory (see dmabuffs(8)).
 */
static int reopen(int fd, int flags)
{
	char path[64];
	int fresh;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fresh = open(path, flags | O_CLOEXEC);
	if (fresh < 0)
		fresh = -errno;
	close(fd);
	return fresh;
}

/**
 * dmabuf_export() - create and size a buffer
 * @mount: the dmabuffs mount, or NULL for dmabuf_mount_path()
 * @name: file name in the mount; NULL for an anonymous buffer that lives
 *        only as long as its fds and mappings
 * @heap: heap name, or NULL for the mount's default
 * @size: bytes
 * @debug_name: name shown in .bufinfo, or NULL
 * @flags: DMABUF_EXPORT_ALLOC_NOW, DMABUF_EXPORT_READONLY
 *
 * Return: an O_RDWR (or O_RDONLY) fd with O_CLOEXEC, or a negative errno:
 * -EEXIST for a taken name, -ENODEV for an unknown heap, -EFBIG beyond the
 * heap's capacity, -EINVAL.
 */
int dmabuf_export(const char *mount, const char *name, const char *heap,
		  uint64_t size, const char *debug_name, unsigned int flags)
{
	/* The export flags are the daemon's to check; READONLY is ours. */
	struct dmabuf_export e = {.size = size,
				  .flags = flags & ~DMABUF_EXPORT_READONLY};
	int fd, ret;

	if (copy_name(e.heap, heap) || copy_name(e.name, debug_name))
		return -EINVAL;
	ret = create_file(mount, name, &fd);
	if (ret)
		return ret;
	ret = xioctl(fd, DMABUF_IOCTL_EXPORT, &e);
	if (ret) {
		close(fd);
		if (name)
			unlink_in(mount, name);
		return ret;
	}
	return reopen(fd, (flags & DMABUF_EXPORT_READONLY) ? O_RDONLY : O_RDWR);
}

/**
 * dmabuf_info() - DMABUF_IOCTL_INFO
 * @fd: a buffer fd
 * @info: out
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_info(int fd, struct dmabuf_info *info)
{
	return xioctl(fd, DMABUF_IOCTL_INFO, info);
}

/**
 * dmabuf_set_name() - set the debug name (DMA_BUF_SET_NAME)
 * @fd: a buffer fd
 * @name: at most 31 bytes
 *
 * Return: 0, -EINVAL when too long, or a negative errno.
 */
int dmabuf_set_name(int fd, const char *name)
{
	struct dmabuf_name n;

	int ret;

	if (copy_name(n.name, name))
		return -EINVAL;
	ret = xioctl(fd, DMABUF_IOCTL_SET_NAME, &n);
	if (!ret && dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_named(fd, n.name);
	return ret;
}

/**
 * dmabuf_attach() - attach a device through this handle (dma_buf_attach)
 * @fd: a buffer fd
 * @device: a registered device
 * @attach_id: out: the attachment, valid on this handle
 *
 * Return: 0; -ENODEV; -EBUSY when no placement can meet the device with
 * those already attached; -ENOMEM; -EINVAL.
 */
int dmabuf_attach(int fd, const char *device, uint64_t *attach_id)
{
	struct dmabuf_attach a = {0};
	int ret;

	if (copy_name(a.device, device))
		return -EINVAL;
	ret = xioctl(fd, DMABUF_IOCTL_ATTACH, &a);
	if (!ret)
		*attach_id = a.attach_id;
	return ret;
}

/**
 * dmabuf_detach() - detach (dma_buf_detach)
 * @fd: the buffer fd that attached
 * @attach_id: the attachment
 *
 * Return: 0; -EBUSY while mapped; -EINVAL.
 */
int dmabuf_detach(int fd, uint64_t attach_id)
{
	struct dmabuf_attach_ref r = {.attach_id = attach_id};

	return xioctl(fd, DMABUF_IOCTL_DETACH, &r);
}

static int read_sg(int fd, uint64_t attach_id, struct dmabuf_sg *sg)
{
	struct dmabuf_get_sg g = {.attach_id = attach_id};
	uint32_t seen = 0;
	int ret;

	while (seen < sg->nents) {
		g.first = seen;
		g.count = DMABUF_SG_PAGE;
		ret = xioctl(fd, DMABUF_IOCTL_GET_SG, &g);
		if (ret)
			return ret;
		if (g.count == 0 || g.nents != sg->nents)
			return -EIO; /* the table changed under us */
		memcpy(&sg->entries[seen], g.entries,
		       g.count * sizeof(g.entries[0]));
		seen += g.count;
	}
	return 0;
}

/**
 * dmabuf_map_attachment() - map for the device and read its sg table
 * @fd: the buffer fd that attached
 * @attach_id: the attachment
 * @dir: DMABUF_DIR_*
 * @sg: out: the table; free with dmabuf_sg_free()
 *
 * Waits while a migration needs current mappings to end (unless @fd is
 * O_NONBLOCK: -EAGAIN); a signal gives -EINTR.
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_map_attachment(int fd, uint64_t attach_id, uint32_t dir,
			  struct dmabuf_sg **sg)
{
	struct dmabuf_map m = {.attach_id = attach_id, .dir = dir};
	struct dmabuf_sg *t;
	int ret = xioctl(fd, DMABUF_IOCTL_MAP, &m);

	if (ret)
		return ret;
	t = malloc(sizeof(*t) + (size_t)m.nents * sizeof(t->entries[0]));
	if (!t) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	t->nents = m.nents;
	t->total_len = m.total_len;
	ret = read_sg(fd, attach_id, t);
	if (ret) {
		free(t);
		goto err_unmap;
	}
	*sg = t;
	return 0;

err_unmap:
	dmabuf_unmap_attachment(fd, attach_id);
	return ret;
}

void dmabuf_sg_free(struct dmabuf_sg *sg)
{
	free(sg);
}

/**
 * dmabuf_unmap_attachment() - unmap; the device's fence signals
 * @fd: the buffer fd that attached
 * @attach_id: a mapped attachment
 *
 * Return: 0 or -EINVAL.
 */
int dmabuf_unmap_attachment(int fd, uint64_t attach_id)
{
	struct dmabuf_attach_ref r = {.attach_id = attach_id};

	return xioctl(fd, DMABUF_IOCTL_UNMAP, &r);
}

static int cpu_access(int fd, unsigned long cmd, uint64_t offset,
		      uint64_t length, uint32_t dir)
{
	struct dmabuf_cpu_access c = {
		.offset = offset, .length = length, .flags = dir};

	return xioctl(fd, cmd, &c);
}

/**
 * dmabuf_begin_cpu_access() - the CPU is about to touch a range
 * @fd: a buffer fd
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: DMABUF_CPU_READ and/or DMABUF_CPU_WRITE
 *
 * Waits for devices that still own the bytes (readers wait for writing
 * devices, writers for all); -EAGAIN on an O_NONBLOCK fd, -EINTR on a
 * signal.
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_begin_cpu_access(int fd, uint64_t offset, uint64_t length,
			    uint32_t dir)
{
	return cpu_access(fd, DMABUF_IOCTL_BEGIN_CPU_ACCESS, offset, length,
			  dir);
}

/**
 * dmabuf_end_cpu_access() - the CPU is done; its writes are published
 * @fd: a buffer fd
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: as given to begin
 *
 * Return: 0, or -EINVAL for a malformed range.
 */
int dmabuf_end_cpu_access(int fd, uint64_t offset, uint64_t length,
			  uint32_t dir)
{
	return cpu_access(fd, DMABUF_IOCTL_END_CPU_ACCESS, offset, length, dir);
}

/**
 * dmabuf_sync() - DMA_BUF_IOCTL_SYNC
 * @fd: a buffer fd
 * @flags: DMA_BUF_SYNC_START/END | READ/WRITE
 *
 * Return: 0 or a negative errno (-EINVAL, -EAGAIN, -EINTR).
 */
int dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = {.flags = flags};

	return xioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/**
 * dmabuf_poll() - wait for implicit fences
 * @fd: a buffer fd
 * @events: POLLIN (no device writes) and/or POLLOUT (no device maps)
 * @timeout_ms: as poll(2)
 *
 * Return: the revents, 0 on timeout, or a negative errno.
 */
int dmabuf_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return n ? p.revents : 0;
}

/**
 * dmabuf_revoke() - end the device mappings other holders keep
 * @fd: a buffer fd
 * @pid: only those of handles this process opened; 0 for those of every
 *       handle opened by another user
 *
 * For the buffer's owner, root and the mount's owner.  Their fences signal
 * with an error and what waits on them goes on; the holders learn at the
 * next use of their mapping (EIO).
 *
 * Return: how many mappings were ended, or a negative errno (-EPERM).
 */
int dmabuf_revoke(int fd, pid_t pid)
{
	struct dmabuf_revoke r = {.pid = pid};
	int ret = xioctl(fd, DMABUF_IOCTL_REVOKE, &r);

	return ret ? ret : (int)r.count;
}

/* ---- zero-copy ---- */

static int connect_to(const char *addr)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strnlen(addr, DMABUF_SOCKET_LEN);
	int sock;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return -EPROTO;
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				len))) {
		int ret = -errno;

		close(sock);
		return ret;
	}
	return sock;
}

/*
 * Receive one message of up to @len bytes and the fds it may carry
 * (O_CLOEXEC), at most @max of them.  Returns the bytes received or a
 * negative errno; *nr_fds says how many fds came.
 */
static ssize_t recv_with_fds(int sock, void *data, size_t len, int *fds,
			     unsigned int max, unsigned int *nr_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * DMABUF_BACKING_MAX_FDS)];
	} u;
	struct iovec iov = {data, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * max)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	*nr_fds = 0;
	if (n < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		*nr_fds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) /
					 sizeof(int));
		memcpy(fds, CMSG_DATA(c), sizeof(int) * *nr_fds);
	}
	return n;
}

static ssize_t recv_with_fd(int sock, void *data, size_t len, int *fd)
{
	unsigned int n;
	ssize_t ret = recv_with_fds(sock, data, len, fd, 1, &n);

	if (!n)
		*fd = -1;
	return ret;
}

/*
 * A buffer's memory as the side channel answers it: one memfd, or runs of
 * the memfds it carried (a udmabuf).
 */
struct memory {
	struct dmabuf_redeem_reply reply;
	_Alignas(struct dmabuf_backing) char room
		[sizeof(struct dmabuf_backing) +
		 DMABUF_BACKING_MAX_RANGES *
			 sizeof(struct dmabuf_backing_range)];
	int fds[DMABUF_BACKING_MAX_FDS];
	unsigned int nr_fds;
};

/* One datagram lands in @reply and @room: they must touch. */
_Static_assert(offsetof(struct memory, room) ==
		       sizeof(struct dmabuf_redeem_reply),
	       "reply and runs are one message");

/* The runs that follow the reply (DMABUF_REPLY_RANGES), in @room. */
static const struct dmabuf_backing *runs_of(const struct memory *mem)
{
	return (const struct dmabuf_backing *)mem->room;
}

static void memory_close(struct memory *mem)
{
	while (mem->nr_fds)
		close(mem->fds[--mem->nr_fds]);
}

/* The answer to a mapping token, checked. */
static int recv_memory(int sock, struct memory *mem)
{
	ssize_t n =
		recv_with_fds(sock, mem, offsetof(struct memory, fds), mem->fds,
			      DMABUF_BACKING_MAX_FDS, &mem->nr_fds);
	const struct dmabuf_backing *b = runs_of(mem);
	bool runs = mem->reply.flags & DMABUF_REPLY_RANGES;
	unsigned int i;

	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(mem->reply))
		goto bad;
	if (mem->reply.status) {
		memory_close(mem);
		return mem->reply.status;
	}
	if (!runs) {
		if (n != sizeof(mem->reply) || mem->nr_fds != 1)
			goto bad;
		return 0;
	}
	if ((size_t)n < sizeof(mem->reply) + sizeof(*b) ||
	    b->count > DMABUF_BACKING_MAX_RANGES || b->nr_fds != mem->nr_fds ||
	    (size_t)n != sizeof(mem->reply) + sizeof(*b) +
				 b->count * sizeof(b->ranges[0]))
		goto bad;
	for (i = 0; i < b->count; i++)
		if (b->ranges[i].memfd >= mem->nr_fds)
			goto bad;
	return 0;
bad:
	memory_close(mem);
	return -EPROTO;
}

/*
 * Present a token for @fd on its side channel: @msg (a struct
 * dmabuf_redeem, perhaps followed by more) with @nr_fds of @fds.  Returns
 * the connected socket or a negative errno.
 */
static int present(const struct dmabuf_token *tok, const void *msg, size_t len,
		   const int *fds, unsigned int nr_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * DMABUF_BACKING_MAX_FDS)];
	} u;
	struct iovec iov = {(void *)msg, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	int sock = connect_to(tok->socket);

	if (sock < 0)
		return sock;
	if (nr_fds) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
	}
	/*
	 * EPIPE: the daemon refused the connection itself (a per-uid limit);
	 * its answer says why, queued before it closed.
	 */
	if (sendmsg(sock, &m, MSG_NOSIGNAL) != (ssize_t)len && errno != EPIPE) {
		int ret = -errno;

		close(sock);
		return ret;
	}
	return sock;
}

/* Get @fd's memory: token by ioctl, redeemed on the side channel. */
static int redeem(int fd, bool write, int *sock, struct memory *mem)
{
	struct dmabuf_token tok = {.flags = write ? DMABUF_TOKEN_WRITE : 0};
	struct dmabuf_redeem req = {.version = DMABUF_REDEEM_VERSION};
	int ret = xioctl(fd, DMABUF_IOCTL_GET_TOKEN, &tok);

	if (ret)
		return ret;
	memcpy(req.token, tok.token, sizeof(req.token));
	*sock = present(&tok, &req, sizeof(req), NULL, 0);
	explicit_bzero(&tok, sizeof(tok));
	explicit_bzero(&req, sizeof(req));
	if (*sock < 0)
		return *sock;
	ret = recv_memory(*sock, mem);
	if (ret) {
		close(*sock);
		*sock = -1;
	}
	return ret;
}

/*
 * Map [@off, @off + @len) of @mem like mmap(2).  Runs are mapped one by one
 * into a reservation, so the view is contiguous whatever their memfds.
 */
static void *map_memory(const struct memory *mem, void *addr, size_t len,
			int prot, int flags, off_t off)
{
	const struct dmabuf_backing *b = runs_of(mem);
	uint64_t start = 0, end = (uint64_t)off + len;
	unsigned int i;
	char *base;

	if (!(mem->reply.flags & DMABUF_REPLY_RANGES))
		return mmap(addr, len, prot, flags, mem->fds[0], off);
	if (((flags & MAP_TYPE) != MAP_SHARED &&
	     (flags & MAP_TYPE) != MAP_SHARED_VALIDATE) ||
	    off < 0 || off % DMABUF_PAGE_SIZE || end > mem->reply.map_size) {
		errno = EINVAL; /* as a heap's mmap says */
		return MAP_FAILED;
	}
	base = mmap(addr, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS |
			    (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)),
		    -1, 0);
	for (i = 0; base != MAP_FAILED && i < b->count; i++) {
		const struct dmabuf_backing_range *r = &b->ranges[i];
		uint64_t lo = start > (uint64_t)off ? start : (uint64_t)off;
		uint64_t hi = start + r->size < end ? start + r->size : end;

		if (lo < hi &&
		    mmap(base + (lo - (uint64_t)off), hi - lo, prot,
			 MAP_SHARED | MAP_FIXED, mem->fds[r->memfd],
			 (off_t)(r->offset + (lo - start))) == MAP_FAILED) {
			int err = errno;

			munmap(base, len);
			errno = err;
			return MAP_FAILED;
		}
		start += r->size;
	}
	return base;
}

/**
 * dmabuf_map_memory() - mmap(2) a buffer's memory, whatever holds it
 * @fd: a buffer fd (O_RDWR for PROT_WRITE)
 * @addr: as mmap(2)
 * @len: as mmap(2)
 * @prot: as mmap(2)
 * @flags: as mmap(2); MAP_SHARED
 * @off: as mmap(2)
 *
 * For the buffers whose file mmap(2) cannot map (a udmabuf made of runs of
 * other memfds; a handle opened before its buffer was sized, on a mount
 * with passthrough), as the compat layer needs: the memory comes over the
 * zero-copy side channel and is mapped as the program asked, one view of
 * exactly the buffer's pages.  Unlike dmabuf_mmap() the mapping holds no
 * reference in the daemon; the pages stay valid for as long as they are
 * mapped.  Unmap with munmap(2).
 *
 * Return: the address, or MAP_FAILED with errno set.
 */
void *dmabuf_map_memory(int fd, void *addr, size_t len, int prot, int flags,
			off_t off)
{
	static __thread struct memory mem;
	void *p = MAP_FAILED;
	int sock, ret = redeem(fd, prot & PROT_WRITE, &sock, &mem);

	if (ret) {
		errno = -ret;
		return MAP_FAILED;
	}
	p = map_memory(&mem, addr, len, prot, flags, off);
	ret = errno;
	memory_close(&mem);
	close(sock);
	errno = ret;
	return p;
}

/* Index of memfd @fd among @fds, adding it if new; -E2BIG past the limit. */
static int fd_slot(int fd, int *fds, unsigned int *n)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (fds[i] == fd)
			return (int)i;
	if (*n == DMABUF_BACKING_MAX_FDS)
		return -E2BIG;
	fds[*n] = fd;
	return (int)(*n)++;
}

static uint64_t runs_size(const struct dmabuf_memfd_run *runs,
			  unsigned int count)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < count; i++)
		total += runs[i].size;
	return total;
}

/* Send @runs with a backing token of the EMPTY buffer @fd; the answer. */
static int bind_runs(int fd, const struct dmabuf_memfd_run *runs,
		     unsigned int count)
{
	struct dmabuf_token tok = {.flags = DMABUF_TOKEN_BACKING};
	static __thread union {
		struct {
			struct dmabuf_redeem req;
			struct dmabuf_backing b;
		};
		char room[sizeof(struct dmabuf_redeem) +
			  sizeof(struct dmabuf_backing) +
			  DMABUF_BACKING_MAX_RANGES *
				  sizeof(struct dmabuf_backing_range)];
	} msg;
	struct dmabuf_redeem_reply reply;
	int fds[DMABUF_BACKING_MAX_FDS], sock, ret, slot, got = -1;
	unsigned int i, nr_fds = 0;
	ssize_t n;

	for (i = 0; i < count; i++) {
		slot = fd_slot(runs[i].memfd, fds, &nr_fds);
		if (slot < 0)
			return slot;
		msg.b.ranges[i] =
			(struct dmabuf_backing_range){.memfd = (uint32_t)slot,
						      .offset = runs[i].offset,
						      .size = runs[i].size};
	}
	ret = xioctl(fd, DMABUF_IOCTL_GET_TOKEN, &tok);
	if (ret)
		return ret;
	msg.req = (struct dmabuf_redeem){.version = DMABUF_REDEEM_VERSION};
	memcpy(msg.req.token, tok.token, sizeof(msg.req.token));
	msg.b.count = count;
	msg.b.nr_fds = nr_fds;
	sock = present(&tok, &msg,
		       sizeof(msg.req) + sizeof(msg.b) +
			       count * sizeof(msg.b.ranges[0]),
		       fds, nr_fds);
	explicit_bzero(&tok, sizeof(tok));
	if (sock < 0)
		return sock;
	n = recv_with_fd(sock, &reply, sizeof(reply), &got);
	close(sock);
	if (got >= 0)
		close(got);
	if (n < 0)
		return (int)n;
	return n == sizeof(reply) ? reply.status : -EPROTO;
}

/**
 * dmabuf_export_memfds() - a buffer made of runs of the caller's memfds
 * @mount: the dmabuffs mount, or NULL for dmabuf_mount_path()
 * @name: file name in the mount; NULL for an anonymous buffer
 * @runs: memfd, offset and size of each run, in buffer order
 * @count: 1 to DMABUF_BACKING_MAX_RANGES runs
 *
 * The udmabuf model: the buffer's bytes are the memfds' own pages, no copy,
 * so what the caller writes through its mapping of a memfd is the buffer's
 * content at once, and the other way.  Each memfd must be shmem or
 * hugetlbfs, sealed with F_SEAL_SHRINK and not F_SEAL_WRITE; each run
 * page-aligned (a hugetlbfs memfd's page size), not empty, inside its
 * memfd; at most DMABUF_BACKING_MAX_FDS distinct memfds.  The daemon keeps
 * the memfds until the buffer dies.  The buffer reports the exporter
 * "udmabuf".  Map it with dmabuf_mmap() or dmabuf_map_memory(): its file
 * cannot be mapped (its handles are served uncached by the daemon).
 *
 * Return: an O_RDWR|O_CLOEXEC fd, or a negative errno: -EINVAL for a memfd
 * or run the rules refuse, -E2BIG past the memfd limit, -EEXIST for a taken
 * name.
 */
int dmabuf_export_memfds(const char *mount, const char *name,
			 const struct dmabuf_memfd_run *runs,
			 unsigned int count)
{
	int fd, ret;

	if (!runs || !count || count > DMABUF_BACKING_MAX_RANGES)
		return -EINVAL;
	ret = create_file(mount, name, &fd);
	if (ret)
		return ret;
	ret = bind_runs(fd, runs, count);
	/*
	 * The memory was bound beside FUSE, so the kernel still caches the
	 * size 0 of an empty file: setting the size it now has is a no-op
	 * in the daemon whose answer refreshes that.
	 */
	if (!ret && ftruncate(fd, (off_t)runs_size(runs, count)))
		ret = -errno;
	if (ret) {
		close(fd);
		if (name)
			unlink_in(mount, name);
		return ret;
	}
	return reopen(fd, O_RDWR);
}

/**
 * dmabuf_mmap() - map the buffer's memory itself (zero-copy)
 * @fd: a buffer fd (O_RDWR for PROT_WRITE)
 * @prot: PROT_READ, optionally | PROT_WRITE
 * @mapping: out
 *
 * The mapping holds a reference on the buffer until dmabuf_munmap() (or the
 * process's death).  Bracket access with dmabuf_mapping_begin/end.
 *
 * Return: 0; -EACCES for PROT_WRITE on a read-only fd (or a refused
 * token); -EINVAL for bad @prot or a non-buffer fd; a negative errno.
 */
int dmabuf_mmap(int fd, int prot, struct dmabuf_mapping **mapping)
{
	static __thread struct memory mem;
	struct dmabuf_mapping *m;
	int ret;

	if (!(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = redeem(fd, prot & PROT_WRITE, &m->sock, &mem);
	if (ret)
		goto err_fd;
	m->addr =
		map_memory(&mem, NULL, mem.reply.map_size, prot, MAP_SHARED, 0);
	ret = m->addr == MAP_FAILED ? -errno : 0;
	memory_close(&mem);
	if (ret)
		goto err_sock;
	m->size = mem.reply.size;
	m->map_size = mem.reply.map_size;
	m->writable = prot & PROT_WRITE;
	if (dmabuf_sanitizer_enabled()) /* watched as a file mapping is */
		dmabuf_sanitizer_mapped(m->addr, m->map_size, prot, m->fd, 0);
	*mapping = m;
	return 0;

err_sock:
	close(m->sock);
err_fd:
	close(m->fd);
err_free:
	free(m);
	return ret;
}

void *dmabuf_mapping_addr(const struct dmabuf_mapping *m)
{
	return m->addr;
}

uint64_t dmabuf_mapping_size(const struct dmabuf_mapping *m)
{
	return m->size;
}

/**
 * dmabuf_mapping_begin() - begin CPU access through a mapping
 * @m: the mapping
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: DMABUF_CPU_READ and/or DMABUF_CPU_WRITE (WRITE needs a writable
 *       mapping)
 *
 * Return: 0 or a negative errno, as dmabuf_begin_cpu_access().
 */
int dmabuf_mapping_begin(struct dmabuf_mapping *m, uint64_t offset,
			 uint64_t length, uint32_t dir)
{
	int ret;

	if ((dir & DMABUF_CPU_WRITE) && !m->writable)
		return -EACCES;
	ret = dmabuf_begin_cpu_access(m->fd, offset, length, dir);
	if (!ret)
		m->brackets++;
	return ret;
}

/**
 * dmabuf_mapping_end() - end CPU access; writes become visible to read(2)
 * @m: the mapping
 * @offset: first byte
 * @length: bytes, 0 for up to the end
 * @dir: as given to begin
 *
 * Return: 0 or -EINVAL.
 */
int dmabuf_mapping_end(struct dmabuf_mapping *m, uint64_t offset,
		       uint64_t length, uint32_t dir)
{
	int ret = dmabuf_end_cpu_access(m->fd, offset, length, dir);

	if (!ret && m->brackets)
		m->brackets--;
	return ret;
}

/**
 * dmabuf_kmap() - address of page @page, valid between begin and end
 * @m: the mapping
 * @page: page index (4 KiB pages)
 *
 * Return: the address, or NULL with errno EPERM outside a CPU-access
 * bracket, ERANGE past the end.
 */
void *dmabuf_kmap(struct dmabuf_mapping *m, uint64_t page)
{
	if (page >= m->map_size / DMABUF_PAGE_SIZE) {
		errno = ERANGE;
		return NULL;
	}
	if (!m->brackets) {
		errno = EPERM;
		return NULL;
	}
	return (char *)m->addr + page * DMABUF_PAGE_SIZE;
}

void dmabuf_kunmap(struct dmabuf_mapping *m, uint64_t page)
{
	(void)m, (void)page; /* the whole buffer stays mapped */
}

/**
 * dmabuf_munmap() - unmap and drop the mapping's reference on the buffer
 * @m: the mapping; freed
 *
 * Return: 0, or a negative errno from munmap(2).
 */
int dmabuf_munmap(struct dmabuf_mapping *m)
{
	int ret;

	if (dmabuf_sanitizer_enabled())
		dmabuf_sanitizer_unmapping(m->addr, m->map_size);
	ret = munmap(m->addr, m->map_size) ? -errno : 0;

	close(m->sock);
	close(m->fd);
	free(m);
	return ret;
}

/* ---- fd passing ---- */

/**
 * dmabuf_send_fd() - send a buffer fd over a Unix socket (SCM_RIGHTS)
 * @sock: a connected AF_UNIX socket
 * @fd: the buffer fd; the receiver gets the same handle
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte = 'D';
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/**
 * dmabuf_recv_fd() - receive a buffer fd sent with dmabuf_send_fd()
 * @sock: a connected AF_UNIX socket
 *
 * Return: the fd (O_CLOEXEC), -ECONNRESET at end of stream, -EBADMSG when
 * the message carried no fd, or a negative errno.
 */
int dmabuf_recv_fd(int sock)
{
	char byte;
	int fd;
	ssize_t n = recv_with_fd(sock, &byte, 1, &fd);

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (fd < 0)
		return -EBADMSG;
	return fd;
}

/* ---- text ---- */

/**
 * dmabuf_parse_size() - parse a size such as "4096", "64K", "256M", "1G"
 * @s: decimal digits (no octal, no hex); suffixes K, M, G, T are binary
 *     (KiB, ...), "KiB"/"KB" too
 * @out: bytes
 *
 * Return: 0, or -EINVAL for anything else or an overflow.
 */
int dmabuf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10); /* sizes are decimal: 010M is 10 MiB */
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A mask such as segment_boundary: hex with 0x, as the kernel writes
 * them, or a decimal size. */
static int parse_mask(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return dmabuf_parse_size(s, out);
	if (!isxdigit((unsigned char)s[2]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s + 2, &end, 16);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_key(struct dmabuf_device_desc *d, const char *key,
		     const char *val)
{
	uint64_t v;

	if (!strcmp(key, "segment_boundary") ? parse_mask(val, &v)
					     : dmabuf_parse_size(val, &v))
		return -EINVAL;
	if (!strcmp(key, "dma_bits") && v <= 64)
		d->dma_bits = (uint32_t)v;
	else if (!strcmp(key, "max_segments") && v <= UINT32_MAX)
		d->max_segments = (uint32_t)v;
	else if (!strcmp(key, "max_segment_size"))
		d->max_segment_size = v;
	else if (!strcmp(key, "segment_boundary"))
		d->segment_boundary = v;
	else if (!strcmp(key, "alignment"))
		d->alignment = v;
	else
		return -EINVAL;
	return 0;
}

static int parse_word(struct dmabuf_device_desc *d, char *word)
{
	char *eq = strchr(word, '=');

	if (!strcmp(word, "iommu"))
		d->flags |= DMABUF_DEVICE_IOMMU;
	else if (!strcmp(word, "coherent"))
		d->flags |= DMABUF_DEVICE_COHERENT;
	else if (!eq)
		return -EINVAL;
	else {
		*eq = '\0';
		return parse_key(d, word, eq + 1);
	}
	return 0;
}

/**
 * dmabuf_device_parse() - parse a device in devices-file syntax
 * @line: "name [key=value ...] [iommu] [coherent]", '#' starts a comment
 * @desc: out: the device (dma_bits defaults to 64)
 *
 * Checks the syntax only; the daemon checks the constraints when the device
 * is registered.  See dmabuffs-devices(5).
 *
 * Return: 1 for a device, 0 for a blank or comment line, -EINVAL.
 */
int dmabuf_device_parse(const char *line, struct dmabuf_device_desc *desc)
{
	char buf[512], *save = NULL, *word;
	int ret = 0;

	if (strlen(line) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, line);
	if (strchr(buf, '#'))
		*strchr(buf, '#') = '\0';
	word = strtok_r(buf, " \t\r\n", &save);
	if (!word)
		return 0;
	memset(desc, 0, sizeof(*desc));
	desc->dma_bits = 64;
	if (copy_name(desc->name, word))
		return -EINVAL;
	while (!ret && (word = strtok_r(NULL, " \t\r\n", &save)))
		ret = parse_word(desc, word);
	if (ret)
		return ret;
	return 1;
}

/* ---- the mount ---- */

static int open_root(const char *mount)
{
	int fd = open(mount ? mount : dmabuf_mount_path(),
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int root_ioctl(const char *mount, unsigned long cmd, void *arg)
{
	int fd = open_root(mount), ret;

	if (fd < 0)
		return fd;
	ret = xioctl(fd, cmd, arg);
	close(fd);
	return ret;
}

/**
 * dmabuf_heap_info() - capacity and use of the @index-th heap
 * @mount: the mount, or NULL
 * @index: 0, 1, ...
 * @info: out
 *
 * Return: 0, -ENOENT past the last heap, or a negative errno.
 */
int dmabuf_heap_info(const char *mount, uint32_t index,
		     struct dmabuf_heap_info *info)
{
	memset(info, 0, sizeof(*info));
	info->index = index;
	return root_ioctl(mount, DMABUF_IOCTL_HEAP_INFO, info);
}

/**
 * dmabuf_device_list() - every registered device
 * @mount: the mount, or NULL
 * @devices: out: malloc'ed array; free() it
 * @count: out: its length
 *
 * Return: 0 or a negative errno.
 */
int dmabuf_device_list(const char *mount, struct dmabuf_device_desc **devices,
		       uint32_t *count)
{
	struct dmabuf_device_list l = {0};
	struct dmabuf_device_desc *all = NULL, *grown;
	uint32_t n = 0;
	int fd = open_root(mount), ret = 0;

	if (fd < 0)
		return fd;
	do {
		l.first = n;
		l.count = DMABUF_DEVICE_PAGE;
		ret = xioctl(fd, DMABUF_IOCTL_DEVICE_LIST, &l);
		if (ret || !l.count)
			break;
		grown = realloc(all, (n + l.count) * sizeof(*all));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		all = grown;
		memcpy(all + n, l.devices, l.count * sizeof(*all));
		n += l.count;
	} while (n < l.total);
	close(fd);
	if (ret) {
		free(all);
		return ret;
	}
	*devices = all;
	*count = n;
	return 0;
}

/**
 * dmabuf_device_add() - register a device (root or the mount's owner)
 * @mount: the mount, or NULL
 * @desc: name and constraints
 *
 * Return: 0; -EEXIST; -EINVAL; -EPERM; a negative errno.
 */
int dmabuf_device_add(const char *mount, const struct dmabuf_device_desc *desc)
{
	struct dmabuf_device_desc d = *desc;

	return root_ioctl(mount, DMABUF_IOCTL_DEVICE_ADD, &d);
}

/**
 * dmabuf_device_remove() - unregister a device
 * @mount: the mount, or NULL
 * @name: the device
 *
 * Return: 0; -ENODEV; -EBUSY while attached; -EPERM; a negative errno.
 */
int dmabuf_device_remove(const char *mount, const char *name)
{
	struct dmabuf_name n;

	if (copy_name(n.name, name))
		return -EINVAL;
	return root_ioctl(mount, DMABUF_IOCTL_DEVICE_REMOVE, &n);
}
