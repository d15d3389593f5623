// SPDX-License-Identifier: MIT
/*
 * DOC: libdmabuf implementation
 *
 * Thin, checked wrappers over the ioctls of <dmabuf/uapi.h>, plus the two
 * things an ioctl cannot do: reading a whole scatter-gather table (paged
 * through DMABUF_IOCTL_GET_SG) and the zero-copy mapping, which redeems a
 * token on the daemon's Unix socket for the buffer's memfd.  Knows nothing
 * of FUSE: only the uapi and the side-channel protocol.
 *
 * Calls channel.c and the sanitizer's hooks; nothing in libdmabuf calls
 * back into it.
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

#include "private.h"

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

	if (sys_fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || sys_fstatfs(fd, &sfs) ||
	    sfs.f_type != FUSE_SUPER_MAGIC ||
	    xioctl(fd, DMABUF_IOCTL_INFO, &info))
		return -EINVAL;
	return 0;
}

/**
 * dmabuf_open() - open a buffer file and check that it is one
 * @path: the file
 * @flags: sys_open(2) flags (O_CLOEXEC is added)
 *
 * Return: the fd, or a negative errno (-EINVAL when not a dmabuffs buffer).
 */
int dmabuf_open(const char *path, int flags)
{
	int fd = sys_open(path, flags | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = dmabuf_get(fd);
	if (ret) {
		sys_close(fd);
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

/*
 * Where a new buffer's name lives while it is made: @name in the mount, or
 * for an anonymous buffer a random hidden name that exists only until the
 * buffer is sized (finish_export()).
 */
struct new_buffer {
	char path[4096];
	bool anon;
	int fd; /* the creating handle */
};

static int create_file(const char *mount, const char *name,
		       struct new_buffer *nb)
{
	char anon[64];
	int ret;

	if (!mount)
		mount = dmabuf_mount_path();
	nb->anon = !name;
	if (nb->anon) {
		ret = anon_name(anon, sizeof(anon));
		if (ret)
			return ret;
		name = anon;
	}
	if (strchr(name, '/') || snprintf(nb->path, sizeof(nb->path), "%s/%s",
					  mount, name) >= (int)sizeof(nb->path))
		return -EINVAL;
	/* An anonymous buffer is its holders' alone, as a kernel dma-buf. */
	nb->fd = sys_open(nb->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  nb->anon ? 0600 : 0644);
	return nb->fd < 0 ? -errno : 0;
}

/* A failed export leaves nothing behind: the handle and the name go. */
static int abandon_export(struct new_buffer *nb, int err)
{
	sys_close(nb->fd);
	unlink(nb->path);
	return err;
}

/*
 * The handle to give back, opened by name now that the buffer is sized: a
 * mount with passthrough binds it to the buffer's memory, which it could
 * not do for the creating handle, opened while the buffer was EMPTY.  Only
 * then does an anonymous buffer lose its name, after which nothing can
 * open it again (the daemon answers ENXIO, as the kernel does for a
 * dma-buf reopened through /proc/self/fd): its fds are all there is.
 *
 * Return: the new fd, or -errno with the buffer gone.
 */
static int finish_export(struct new_buffer *nb, int accmode)
{
	int fd = sys_open(nb->path, accmode | O_CLOEXEC);

	if (fd < 0)
		return abandon_export(nb, -errno);
	sys_close(nb->fd);
	if (nb->anon && unlink(nb->path)) {
		sys_close(fd);
		return -errno;
	}
	return fd;
}

/*
 * An anonymous buffer in one request: open(O_CREAT) of .heaps/HEAP@SIZE
 * creates, sizes and opens it (dmabuffs(8), DEVICE NODES).  -EPERM from a
 * daemon that predates it.
 */
static int allocate(const char *mount, const char *heap, uint64_t size,
		    int accmode)
{
	static unsigned long serial;
	char path[4096];
	int fd;

	if (!mount)
		mount = dmabuf_mount_path();
	/* A new name each time: no lookup finds an earlier one's dentry. */
	if (snprintf(path, sizeof(path), "%s/.heaps/%s@%llu,%d.%lu", mount,
		     heap ? heap : "", (unsigned long long)size, (int)getpid(),
		     __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED)) >=
	    (int)sizeof(path))
		return -EINVAL;
	fd = sys_open(path, accmode | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/**
 * dmabuf_export_mode() - dmabuf_export() with any access mode
 * @mount: as dmabuf_export()
 * @name: as dmabuf_export()
 * @heap: as dmabuf_export()
 * @size: as dmabuf_export()
 * @debug_name: as dmabuf_export()
 * @flags: as dmabuf_export(), without DMABUF_EXPORT_READONLY
 * @accmode: O_RDONLY, O_WRONLY or O_RDWR for the fd returned
 *
 * The compat layer's DMA_HEAP_IOCTL_ALLOC, whose fd_flags may ask for
 * O_WRONLY, which dmabuf_export() does not offer.
 *
 * Return: an fd with O_CLOEXEC, or a negative errno as dmabuf_export().
 */
int dmabuf_export_mode(const char *mount, const char *name, const char *heap,
		       uint64_t size, const char *debug_name,
		       unsigned int flags, int accmode)
{
	/* The export flags are the daemon's to check. */
	struct dmabuf_export e = {.size = size, .flags = flags};
	struct new_buffer nb;
	int ret;

	if (copy_name(e.heap, heap) || copy_name(e.name, debug_name))
		return -EINVAL;
	if (!name && !debug_name && !flags) {
		ret = allocate(mount, heap, size, accmode);
		if (ret != -EPERM)
			return ret;
	}
	ret = create_file(mount, name, &nb);
	if (ret)
		return ret;
	ret = xioctl(nb.fd, DMABUF_IOCTL_EXPORT, &e);
	if (ret)
		return abandon_export(&nb, ret);
	return finish_export(&nb, accmode);
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
 * An anonymous buffer has mode 0600 and, as a kernel dma-buf, cannot be
 * opened again, even through /proc/self/fd (ENXIO): share it by passing
 * the fd.
 *
 * Return: an O_RDWR (or O_RDONLY) fd with O_CLOEXEC, or a negative errno:
 * -EEXIST for a taken name, -ENODEV for an unknown heap, -EFBIG beyond the
 * heap's capacity, -EINVAL.
 */
int dmabuf_export(const char *mount, const char *name, const char *heap,
		  uint64_t size, const char *debug_name, unsigned int flags)
{
	return dmabuf_export_mode(mount, name, heap, size, debug_name,
				  flags & ~DMABUF_EXPORT_READONLY,
				  (flags & DMABUF_EXPORT_READONLY) ? O_RDONLY
								   : O_RDWR);
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
	struct new_buffer nb;
	int ret;

	if (!runs || !count || count > DMABUF_BACKING_MAX_RANGES)
		return -EINVAL;
	ret = create_file(mount, name, &nb);
	if (ret)
		return ret;
	ret = dmabuf_channel_bind_runs(nb.fd, runs, count);
	/*
	 * The memory was bound beside FUSE, so the kernel still caches the
	 * size 0 of an empty file: setting the size it now has is a no-op
	 * in the daemon whose answer refreshes that.
	 */
	if (!ret && sys_ftruncate(nb.fd, (off_t)runs_size(runs, count)))
		ret = -errno;
	if (ret)
		return abandon_export(&nb, ret);
	return finish_export(&nb, O_RDWR);
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
	int ret = dmabuf_fastsync_sync(fd, flags);

	return ret <= 0 ? ret : xioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
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

/* ---- the mount ---- */

static int open_root(const char *mount)
{
	int fd = sys_open(mount ? mount : dmabuf_mount_path(),
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int root_ioctl(const char *mount, unsigned long cmd, void *arg)
{
	int fd = open_root(mount), ret;

	if (fd < 0)
		return fd;
	ret = xioctl(fd, cmd, arg);
	sys_close(fd);
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
 * dmabuf_info_by_ino() - dmabuf_info() of a buffer no fd of which is at hand
 * @mount: the mount, or NULL
 * @ino: the buffer's inode number (stat(2), .bufinfo)
 * @info: out
 *
 * A buffer without a name cannot be opened, even through /proc/PID/fd
 * (ENXIO, as a kernel dma-buf): this is how a tool inspects one it sees
 * held by another process.
 *
 * Return: 0; -ENOENT for no such buffer, or one .bufinfo does not show the
 * caller; a negative errno.
 */
int dmabuf_info_by_ino(const char *mount, uint64_t ino,
		       struct dmabuf_info *info)
{
	memset(info, 0, sizeof(*info));
	info->ino = ino;
	return root_ioctl(mount, DMABUF_IOCTL_BUFFER_INFO, info);
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
	sys_close(fd);
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
