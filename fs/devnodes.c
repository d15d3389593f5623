// SPDX-License-Identifier: MIT
/*
 * DOC: device nodes for unmodified programs
 *
 * Programs written against the kernel's uapi open /dev/dma_heap/<heap> and
 * /dev/udmabuf.  The compat layer (lib/compat, dmabuf-compat(7)) redirects
 * those paths into the mount, where these nodes answer them:
 *
 *	.heaps/		a directory, one entry per heap of the mount;
 *			open(O_CREAT) of HEAP@SIZE in it allocates (ops.c)
 *	.heaps/<heap>	opens read-only or read-write; read and write are
 *			EINVAL, as on the kernel's nodes
 *	.udmabuf	likewise
 *	.sync_file	each open is a sync_file once bound to a fence
 *			(fences.c)
 *
 * Their ioctls (DMA_HEAP_IOCTL_ALLOC, UDMABUF_CREATE) must create an fd in
 * the caller, which a FUSE daemon cannot do: the compat layer carries them
 * out and uses the nodes only to know, by the inode of the open file, which
 * heap an fd stands for.  Sent here, those ioctls get ENOTTY, with a log line
 * that says how to run the program.  Like .bufinfo and .stats, the nodes
 * cannot be written, renamed or removed, and cost the daemon nothing per
 * open.
 *
 * Calls the object model's heap list only; ops.c, dir.c, files.c and
 * ioctl.c call it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

#define HEAPS_NAME ".heaps"
#define UDMABUF_NAME ".udmabuf"
#define SYNC_FILE_NAME ".sync_file"

/** fs_devnode_heap() - is @ino a heap's node (.heaps/NAME)? */
bool fs_devnode_heap(uint64_t ino)
{
	return ino >= FS_HEAP_INO_BASE &&
	       ino < FS_HEAP_INO_BASE + FS_MAX_HEAP_NODES;
}

/** fs_devnode_ino() - is @ino one of the device nodes or their directory? */
bool fs_devnode_ino(uint64_t ino)
{
	return ino == FS_HEAPS_DIR_INO || ino == FS_UDMABUF_INO ||
	       ino == FS_SYNC_FILE_INO || fs_devnode_heap(ino);
}

/** fs_devnode_name() - is @name (in the root) taken by a device node? */
bool fs_devnode_name(const char *name)
{
	return !strcmp(name, HEAPS_NAME) || !strcmp(name, UDMABUF_NAME) ||
	       !strcmp(name, SYNC_FILE_NAME);
}

static void fill(struct fs *fs, uint64_t ino, mode_t mode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = fs->owner;
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = fs->mount_time;
}

/* The heap behind @ino, by its index in the core. */
static int heap_of(struct fs *fs, uint64_t ino, char name[DMABUF_NAME_LEN])
{
	struct dmabuf_heap_stats st;

	if (!fs_devnode_heap(ino))
		return -ENOENT;
	return dmabuf_heap_stats(
		fs->core, (unsigned int)(ino - FS_HEAP_INO_BASE), name, &st);
}

/**
 * fs_devnode_attr() - stat(2) of a device node
 * @fs: the file system
 * @ino: a device node's inode
 * @st: out
 *
 * Heaps read and write as /dev/dma_heap's character devices do for their
 * users (0666: any user may allocate; the mount's modes and limits still
 * bound what they get).  For the same reason any user may create in
 * .heaps/ (01777), which is how an allocation is made (ops.c).
 *
 * Return: 0 or -ENOENT.
 */
int fs_devnode_attr(struct fs *fs, uint64_t ino, struct stat *st)
{
	char name[DMABUF_NAME_LEN];

	if (ino == FS_HEAPS_DIR_INO)
		fill(fs, ino, S_IFDIR | 01777, st);
	else if (ino == FS_UDMABUF_INO || ino == FS_SYNC_FILE_INO ||
		 !heap_of(fs, ino, name))
		fill(fs, ino, S_IFREG | 0666, st);
	else
		return -ENOENT;
	return 0;
}

/**
 * fs_devnode_lookup() - find @name in @parent among the device nodes
 * @fs: the file system
 * @parent: the root or the heaps directory
 * @name: the name
 * @st: out: its attributes
 *
 * Return: 0, or -ENOENT when @parent holds no device node @name (in the
 * root, that name is a buffer's business: fs_devnode_name() says which).
 */
int fs_devnode_lookup(struct fs *fs, uint64_t parent, const char *name,
		      struct stat *st)
{
	char heap[DMABUF_NAME_LEN];
	unsigned int i;

	if (parent == FS_ROOT_INO) {
		if (!strcmp(name, HEAPS_NAME))
			return fs_devnode_attr(fs, FS_HEAPS_DIR_INO, st);
		if (!strcmp(name, UDMABUF_NAME))
			return fs_devnode_attr(fs, FS_UDMABUF_INO, st);
		if (!strcmp(name, SYNC_FILE_NAME))
			return fs_devnode_attr(fs, FS_SYNC_FILE_INO, st);
		return -ENOENT;
	}
	for (i = 0; i < dmabuf_heap_count(fs->core); i++)
		if (!heap_of(fs, FS_HEAP_INO_BASE + i, heap) &&
		    !strcmp(heap, name))
			return fs_devnode_attr(fs, FS_HEAP_INO_BASE + i, st);
	return -ENOENT;
}

/**
 * fs_devnode_list() - the device-node entries of directory @dir
 * @fs: the file system
 * @dir: the root (its two nodes) or the heaps directory (., .., heaps)
 * @add: called for each entry
 * @arg: passed to @add
 */
void fs_devnode_list(struct fs *fs, uint64_t dir,
		     void (*add)(void *arg, const char *name, uint64_t ino,
				 mode_t mode),
		     void *arg)
{
	char heap[DMABUF_NAME_LEN];
	unsigned int i;

	if (dir == FS_ROOT_INO) {
		add(arg, HEAPS_NAME, FS_HEAPS_DIR_INO, S_IFDIR);
		add(arg, UDMABUF_NAME, FS_UDMABUF_INO, S_IFREG);
		add(arg, SYNC_FILE_NAME, FS_SYNC_FILE_INO, S_IFREG);
		return;
	}
	add(arg, ".", FS_HEAPS_DIR_INO, S_IFDIR);
	add(arg, "..", FS_ROOT_INO, S_IFDIR);
	for (i = 0; i < dmabuf_heap_count(fs->core); i++)
		if (!heap_of(fs, FS_HEAP_INO_BASE + i, heap))
			add(arg, heap, FS_HEAP_INO_BASE + i, S_IFREG);
}
