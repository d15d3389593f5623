// SPDX-License-Identifier: MIT
/*
 * Buffers as files: shell tools, exact bytes, fixed sizes, the namespace,
 * observability, mounting and permissions, through a real mount.
 */
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <utime.h>

#include "mount.h"

TestSuite(files, .init = mount_default, .fini = unmount_all, .timeout = 60);

Test(files, shell_tools_see_exact_bytes)
{
	struct stat st;

	cr_assert_eq(sh("truncate -s 8M $MNT/frame0"), 0);
	cr_assert_eq(stat(at("frame0"), &st), 0);
	cr_assert_eq(st.st_size, 8 << 20);
	cr_assert_eq(sh("ls -l $MNT | grep -q ' 8388608 .* frame0$'"), 0,
		     "ls -l shows the exact size");
	cr_assert_eq(sh("cmp -n 8388608 $MNT/frame0 /dev/zero"), 0,
		     "a new buffer reads as zeros");
	cr_assert_eq(
		sh("head -c 8388608 /dev/urandom > %s/src && "
		   "dd if=%s/src of=$MNT/frame0 bs=1M conv=notrunc status=none",
		   M.dir, M.dir),
		0);
	cr_assert_eq(sh("cmp %s/src $MNT/frame0", M.dir), 0, "dd wrote it");
	cr_assert_eq(sh("cat $MNT/frame0 | cmp - %s/src", M.dir), 0, "cat");
	cr_assert_eq(sh("cp $MNT/frame0 %s/out && cmp %s/out %s/src", M.dir,
			M.dir, M.dir),
		     0, "cp out");
	cr_assert_eq(sh("head -c 8388608 /dev/urandom > %s/src2 && "
			"cp %s/src2 $MNT/frame0 && cmp %s/src2 $MNT/frame0",
			M.dir, M.dir, M.dir),
		     0, "cp in: O_TRUNC is ignored, the bytes land");
	cr_assert_eq(
		sh("dd if=$MNT/frame0 bs=4096 skip=3 count=1 status=none | "
		   "cmp - %s/src2 -i 0:12288 -n 4096",
		   M.dir),
		0, "dd with an offset");
}

Test(files, size_is_fixed_and_writes_stop_at_the_end)
{
	struct stat st;
	int fd, fd2;
	char buf[8192] = {1};

	cr_assert_eq(sh("truncate -s 10000 $MNT/b"), 0);
	cr_assert_neq(sh("truncate -s 4096 $MNT/b 2>/dev/null"), 0);
	cr_assert_eq(sh("truncate -s 10000 $MNT/b"), 0, "same size is fine");
	fd = open(at("b"), O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 20000), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 10000);
	if (passthrough_on()) {
		/*
		 * The memfd's seals decide: a write is cut before the page
		 * that would cross the end, and one that cannot write a byte
		 * fails with EPERM.
		 */
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), 4096), 4096,
			     "cut at the last whole page");
		cr_assert_eq(pwrite(fd, buf, 100, 9900), 100, "up to the end");
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), 8192), -1);
		cr_assert_eq(errno, EPERM, "crossing the end in its page");
		cr_assert_eq(pwrite(fd, buf, 1, 10000), -1);
		cr_assert_eq(errno, EPERM, "past the end");
	} else {
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), 8192), 10000 - 8192,
			     "a short write up to the end");
		cr_assert_eq(pwrite(fd, buf, 1, 10000), -1);
		cr_assert_eq(errno, ENOSPC, "past the end: like a full device");
	}
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 10000);
	close(fd);
	cr_assert_eq(sh("test $(stat -c %%s $MNT/b) -eq 10000"), 0,
		     "nothing changed the size");
	fd = open(at("empty"), O_RDWR | O_CREAT, 0644);
	cr_assert_eq(write(fd, buf, 1), 1, "what it writes will size it");
	fd2 = open(at("empty"), O_RDWR);
	cr_assert_eq(write(fd2, buf, 1), -1);
	cr_assert_eq(errno, EBUSY, "one writer sizes an unsized buffer");
	close(fd2);
	close(fd);
	cr_assert_eq(sh("test $(stat -c %%s $MNT/empty) -eq 1"), 0);
}

Test(files, export_ioctl_and_heap_xattr)
{
	struct dmabuf_export e = {.size = 3 << 20, .flags = 0};
	struct dmabuf_info i;
	struct stat st;
	char value[64];
	int fd = open(at("cam"), O_RDWR | O_CREAT, 0600);

	strcpy(e.heap, "cma");
	strcpy(e.name, "camera-frame");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 3 << 20, "stat sees the size at once");
	cr_assert_eq(e.ino, (uint64_t)st.st_ino);
	i = info_of(fd);
	cr_assert_str_eq(i.heap, "cma");
	cr_assert_str_eq(i.name, "camera-frame");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EPERM, "exported once");
	close(fd);

	cr_assert_eq(
		sh("touch $MNT/h && setfattr -n user.dmabuf.heap -v cma $MNT/h && "
		   "truncate -s 1M $MNT/h"),
		0);
	cr_assert_eq(
		getxattr(at("h"), "user.dmabuf.heap", value, sizeof(value)), 3);
	cr_assert_eq(memcmp(value, "cma", 3), 0);
	cr_assert_neq(
		sh("setfattr -n user.dmabuf.heap -v nosuch $MNT/x 2>/dev/null"),
		0);
	cr_assert_eq(setxattr(at("h"), "user.dmabuf.state", "x", 1, 0), -1);
	cr_assert_eq(errno, EPERM, "state is read-only");
	cr_assert_eq(
		sh("getfattr --absolute-names -d $MNT/h | grep -q 'user.dmabuf.state=\"exported\"'"),
		0);
	/* Only user.*: another namespace is not supported, ls stops asking. */
	cr_assert_eq(
		getxattr(at("h"), "security.selinux", value, sizeof(value)),
		-1);
	cr_assert_eq(errno, EOPNOTSUPP, "a label the mount does not have");
	cr_assert_eq(lgetxattr(M.mp, "system.posix_acl_access", value,
			       sizeof(value)),
		     -1);
	cr_assert_eq(errno, EOPNOTSUPP, "nor ACLs, on any node");
	cr_assert_eq(setxattr(at("h"), "trusted.x", "1", 1, 0), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	cr_assert_eq(removexattr(at("h"), "security.x"), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	cr_assert_eq(getxattr(at("h"), "user.other", value, sizeof(value)), -1);
	cr_assert_eq(errno, ENODATA, "a user name that is not ours");
}

Test(files, malformed_export_refused)
{
	struct dmabuf_export e = {.size = 4096};
	int fd = open(at("bad"), O_RDWR | O_CREAT, 0600);

	memset(e.heap, 'x', sizeof(e.heap));
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EINVAL, "unterminated heap name");
	memset(&e, 0, sizeof(e));
	e.size = 4096;
	e.flags = 1ULL << 33;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EINVAL, "unknown flag");
	e.flags = 0;
	strcpy(e.heap, "nosuch");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, ENODEV);
	e.heap[0] = '\0';
	e.size = 1ULL << 45;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EFBIG, "bigger than the heap");
	cr_assert_eq(ioctl(fd, _IOW(0xDB, 0x7f, int), &e), -1);
	cr_assert_eq(errno, ENOTTY);
	e.size = 0;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EINVAL, "size 0");
	close(fd);
	cr_assert_eq(sh("grep -q 'export of 0 bytes refused (Invalid "
			"argument)' %s",
			M.log),
		     0, "logged as what it is");
}

#define RACERS 8

static void *export_race(void *arg)
{
	static int won;
	struct dmabuf_export e = {.size = 48 << 20, .heap = "cma"};
	int fd = open(at("race"), O_RDWR), ret;

	(void)arg;
	ret = ioctl(fd, DMABUF_IOCTL_EXPORT, &e);
	close(fd);
	return ret == 0 ? &won : NULL;
}

Test(files, heap_fixed_once_sized)
{
	struct dmabuf_export e = {.size = 1 << 20};
	pthread_t t[RACERS];
	int fd, i, wins = 0;
	char value[16];
	void *won;

	/* 128 MiB on the system heap, then moved to the 64 MiB cma pool. */
	cr_assert_eq(sh("truncate -s 128M $MNT/big"), 0);
	cr_assert_eq(setxattr(at("big"), "user.dmabuf.heap", "cma", 3, 0), -1);
	cr_assert_eq(errno, EPERM, "the heap is fixed once sized");
	cr_assert_eq(
		getxattr(at("big"), "user.dmabuf.heap", value, sizeof(value)),
		6);
	cr_assert_eq(memcmp(value, "system", 6), 0);
	cr_assert_eq(setxattr(at("big"), "user.dmabuf.heap", "system", 6, 0), 0,
		     "naming the heap it has is fine");

	/* Many exports racing on one file: exactly one wins. */
	close(open(at("race"), O_RDWR | O_CREAT, 0600));
	for (i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, export_race, NULL), 0);
	for (i = 0; i < RACERS; i++) {
		cr_assert_eq(pthread_join(t[i], &won), 0);
		wins += won != NULL;
	}
	cr_assert_eq(wins, 1, "%d exports of one file succeeded", wins);
	strcpy(e.heap, "cma");
	fd = open(at("race"), O_RDWR);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_EXPORT, &e), -1);
	cr_assert_eq(errno, EPERM, "exported once");
	close(fd);
}

Test(files, unlinked_buffer_lives_on_its_fd)
{
	int fd = new_buffer("anon", "cma", 1 << 20, 0);

	cr_assert_eq(pwrite(fd, "kept", 4, 100), 4);
	cr_assert_eq(unlink(at("anon")), 0);
	cr_assert_eq(access(at("anon"), F_OK), -1);
	cr_assert_not_null(strstr(slurp(at(".bufinfo")), "Total 1 objects"),
			   "anonymous buffer still listed");
	{
		char got[4];

		cr_assert_eq(pread(fd, got, 4, 100), 4);
		cr_assert_eq(memcmp(got, "kept", 4), 0);
	}
	close(fd);
	cr_assert(
		WAIT_FOR(strstr(slurp(at(".bufinfo")), "Total 0 objects"), 10),
		"freed after the last close");
}

Test(files, namespace_operations)
{
	struct stat st;

	cr_assert_eq(sh("truncate -s 4096 $MNT/a && truncate -s 8192 $MNT/b"),
		     0);
	cr_assert_eq(rename(at("a"), at("c")), 0);
	cr_assert_eq(stat(at("c"), &st), 0);
	cr_assert_eq(st.st_size, 4096);
	cr_assert_eq(rename(at("c"), at("b")), 0, "replaces b");
	cr_assert_eq(stat(at("b"), &st), 0);
	cr_assert_eq(st.st_size, 4096);
	cr_assert_eq(
		sh("truncate -s 1 $MNT/d && mv -n $MNT/d $MNT/b; test -e $MNT/d"),
		0, "mv -n leaves it");
	cr_assert_eq(chmod(at("b"), 0600), 0);
	cr_assert_eq(chown(at("b"), 1234, 5678), 0);
	cr_assert_eq(stat(at("b"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(chmod(at("b"), 06755), 0);
	cr_assert_eq(stat(at("b"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755, "a buffer keeps no set-id bits");
	cr_assert_eq(chmod(at("b"), 0600), 0);
	cr_assert_eq(st.st_uid, 1234);
	cr_assert_eq(st.st_gid, 5678);
	cr_assert_eq(mkdir(at("dir"), 0755), -1);
	cr_assert_eq(errno, EPERM, "one flat directory");
	cr_assert_eq(unlink(at(".bufinfo")), -1);
	cr_assert_eq(sh("ls -a $MNT | grep -qx .bufinfo"), 0);
}

Test(files, mmap_with_sync_is_coherent_with_read_and_write)
{
	/* Mapped through a handle opened after the export (see dmabuffs(8)) */
	int fd2 = new_buffer("m", NULL, 1 << 20, 0), fd = open(at("m"), O_RDWR);
	char *p =
		mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char got[8];

	cr_assert_neq(p, MAP_FAILED, "MAP_SHARED of a buffer file");
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(p[4096], 0);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(pwrite(fd2, "written", 7, 4096), 7);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(memcmp(p + 4096, "written", 7), 0, "sees write(2)");
	memcpy(p + 65536, "mmapped", 7);
	cr_assert_eq(sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(pread(fd2, got, 7, 65536), 7);
	cr_assert_eq(memcmp(got, "mmapped", 7), 0, "published at SYNC END");
	cr_assert_eq(
		sh("dd if=$MNT/m bs=1 skip=65536 count=7 status=none | grep -q mmapped"),
		0, "another process sees it");
	munmap(p, 1 << 20);
	close(fd);
	close(fd2);
}

Test(files, bufinfo_getfattr_and_df)
{
	int fd = new_buffer("obs", "cma", 2 << 20, 0);
	uint64_t id = do_attach(fd, "camera0");
	struct statvfs sv;
	char *text;

	do_attach(fd, "gpu0");
	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	text = slurp(at(".bufinfo"));
	cr_assert_not_null(strstr(
		text,
		"size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"));
	cr_assert_not_null(strstr(text, "\tcma\t"));
	cr_assert_not_null(strstr(text, "\twrite fence: dmabuffs camera0 seq"));
	cr_assert_not_null(strstr(
		text,
		"\tAttached Devices:\n\tcamera0\n\tgpu0\nTotal 2 devices attached"));
	cr_assert_not_null(strstr(text, "Total 1 objects, 2097152 bytes"));
	cr_assert_eq(
		sh("getfattr --absolute-names -d $MNT/obs | grep -q 'user.dmabuf.attachments=\"camera0,gpu0\"'"),
		0);
	cr_assert_eq(
		sh("getfattr --absolute-names -d $MNT/obs | grep -q 'user.dmabuf.fences=\"write=1 read=0\"'"),
		0);
	cr_assert_eq(statvfs(M.mp, &sv), 0);
	cr_assert_geq((uint64_t)sv.f_blocks * sv.f_frsize, 64ULL << 20,
		      "heap capacity");
	cr_assert_eq((sv.f_blocks - sv.f_bfree) * sv.f_frsize, 2 << 20,
		     "the placed buffer is in use");
	cr_assert_eq(sh("df -h $MNT | grep -q dmabuffs"), 0);
	close(fd);
}

/* A mount other uids may reach; the test becomes uid nobody (root only). */
static void mount_for_two_users(void)
{
	if (geteuid() != 0)
		cr_skip("needs root to become another user");
	unmount_all();
	mount_with("allow_other");
}

Test(files, other_user_refused_by_mode_bits)
{
	int fd, status;
	pid_t pid;

	mount_for_two_users();
	fd = new_buffer("private", NULL, 4096, 0);
	cr_assert_eq(fchmod(fd, 0600), 0);
	close(fd);
	cr_assert_eq(
		sh("truncate -s 4096 $MNT/shared && chmod 0644 $MNT/shared"),
		0);
	pid = fork();
	if (pid == 0) {
		char c;
		int ok = setgid(65534) == 0 && setuid(65534) == 0;

		ok = ok && open(at("private"), O_RDONLY) < 0 && errno == EACCES;
		fd = open(at("shared"), O_RDONLY);
		ok = ok && fd >= 0 && read(fd, &c, 1) == 1;
		ok = ok && open(at("shared"), O_RDWR) < 0 && errno == EACCES;
		ok = ok && rename(at("shared"), at("mine")) < 0;
		_exit(ok ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(files, bufinfo_shows_each_user_what_it_may_read)
{
	int fd, status;
	pid_t pid;

	mount_for_two_users();
	fd = new_buffer("secret-frame", NULL, 4096, 0);
	cr_assert_eq(fchmod(fd, 0600), 0);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_SET_NAME,
			   &(struct dmabuf_name){.name = "hidden-dbg"}),
		     0);
	close(fd);
	cr_assert_eq(
		sh("truncate -s 8192 $MNT/shared && chmod 0644 $MNT/shared"),
		0);
	cr_assert_eq(sh("grep -q hidden-dbg $MNT/.bufinfo && "
			"grep -q 'Total 2 objects, 12288 bytes' $MNT/.bufinfo"),
		     0, "the mount's owner sees all");
	pid = fork();
	if (pid == 0) {
		int ok = setgid(65534) == 0 && setuid(65534) == 0;
		char *text = ok ? slurp(at(".bufinfo")) : NULL;

		ok = ok && text && !strstr(text, "hidden-dbg") &&
		     !strstr(text, "\n00004096\t") &&
		     strstr(text, "\n00008192\t") &&
		     strstr(text, "Total 1 objects, 8192 bytes");
		_exit(ok ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "another user sees only the buffer its mode lets it read");
}

Test(files, sigterm_unmounts_with_files_open)
{
	int fd = new_buffer("held", NULL, 4096, 0), status;
	int dir = open(M.mp, O_RDONLY | O_DIRECTORY);
	int info = open(at(".bufinfo"), O_RDONLY);
	int stats = open(at(".stats"), O_RDONLY);
	uint64_t id = do_attach(fd, "gpu0");
	struct dmabuf_token t = {0};
	char c;

	do_map(fd, id, DMABUF_DIR_FROM_DEVICE);
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_GET_TOKEN, &t), 0, "a token left");
	cr_assert(dir >= 0 && info >= 0 && stats >= 0);
	kill(M.pid, SIGTERM);
	cr_assert(WAIT_FOR(waitpid(M.pid, &status, WNOHANG) == M.pid, 10));
	M.pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "SIGTERM is a clean exit, with nothing leaked (status %#x)",
		  status);
	run_quiet("rm -rf '%s'", M.dir);
	cr_assert_not(is_mounted(M.mp));
	cr_assert_eq(read(fd, &c, 1), -1);
	cr_assert(errno == ENOTCONN || errno == EIO);
	close(fd);
	close(dir);
	close(info);
	close(stats);
	mount_default();
}

Test(files, mount_helper_and_help)
{
	char cmd[PATH_MAX * 8], bin[PATH_MAX * 2], m2[PATH_MAX];

	strcpy(bin, build_path("fs/dmabuffs"));
	cr_assert_lt(
		snprintf(
			cmd, sizeof(cmd),
			"%s --help | grep -q cma_size && %s --version | grep -q dmabuffs",
			bin, bin),
		(int)sizeof(cmd));
	cr_assert_eq(system(cmd), 0);
	if (geteuid() != 0)
		cr_skip("mount(8) needs root");
	cr_assert_lt(snprintf(m2, sizeof(m2), "%s/m2", M.dir), (int)sizeof(m2));
	cr_assert_lt(
		snprintf(
			cmd, sizeof(cmd),
			"mkdir -p %s && mount -t fuse '%s#dmabuffs' %s -o cma_size=16M && "
			"truncate -s 4096 %s/x && test -e %s/.bufinfo",
			m2, bin, m2, m2, m2),
		(int)sizeof(cmd));
	cr_assert_eq(system(cmd), 0,
		     "mount -t fuse PROG#dmabuffs, as from fstab");
	run_quiet("fusermount3 -u '%s'", m2);
	cr_assert(WAIT_FOR(!is_mounted(m2), 10));
}

Test(files, stats_count_requests)
{
	int fd = new_buffer("s", NULL, 4096, 0);
	unsigned long long before = stat_of("ioctl");
	int i;

	for (i = 0; i < 10; i++)
		info_of(fd);
	cr_assert_eq(stat_of("ioctl"), before + 10, "one request per ioctl");
	cr_assert_eq(stat_of("buffers"), 1);
	cr_assert_eq(sh("ls -a $MNT | grep -qx .stats"), 0);
	cr_assert_eq(open(at(".stats"), O_WRONLY), -1);
	cr_assert_eq(errno, EACCES, "read-only");
	close(fd);
}

Test(files, names_over_255_bytes_are_enametoolong)
{
	char name[300], path[PATH_MAX];
	int fd;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/%s", M.mp, name);
	cr_assert_eq(open(path, O_RDWR | O_CREAT, 0600), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "create");
	cr_assert_eq(open(path, O_RDONLY), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "lookup");
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "access");
	cr_assert_eq(unlink(path), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "unlink");
	fd = open(at("short"), O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(rename(at("short"), path), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "rename");
	cr_assert_eq(link(at("short"), path), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "link");
	cr_assert_eq(mknod(path, S_IFREG | 0600, 0), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "mknod");
	cr_assert_eq(truncate(path, 4096), -1);
	cr_assert_eq(errno, ENAMETOOLONG, "truncate");
	cr_assert_eq(sh("test \"$(ls $MNT)\" = short"), 0,
		     "nothing was made, renamed or lost");
	cr_assert_eq(sh("%s -m $MNT export %s 4K 2>&1 | "
			"grep -q 'File name too long'",
			build_path("tools/dmabufctl"), name),
		     0, "export by name");
	name[255] = '\0';
	cr_assert_eq(sh("%s -m $MNT export %s 4K >/dev/null",
			build_path("tools/dmabufctl"), name),
		     0, "255 bytes is fine");
}

Test(files, names_cannot_forge_bufinfo_rows)
{
	const char *evil = "x\n00001\tforged";
	char *text;

	cr_assert_eq(sh("truncate -s 4K $MNT/e"), 0);
	cr_assert_eq(
		setxattr(at("e"), "user.dmabuf.name", evil, strlen(evil), 0), 0,
		"any name is accepted, as by the kernel");
	text = slurp(at(".bufinfo"));
	cr_assert_not_null(strstr(text, "\tx\\01200001\\011forged\n"),
			   "escaped:\n%s", text);
	cr_assert_null(strstr(text, "\n00001"), "no forged row");
	cr_assert_eq(sh("touch \"$MNT/$(printf 'two\\nlines')\" && "
			"%s -m $MNT ls | grep -q '^two\\\\012lines '",
			build_path("tools/dmabufctl")),
		     0, "dmabufctl ls escapes file names");
}

Test(files, bufinfo_shows_open_cpu_brackets)
{
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
					  DMA_BUF_SYNC_WRITE};
	struct dmabuf_attach att = {.device = "gpu0"};
	struct dmabuf_map map = {.dir = DMABUF_DIR_BIDIRECTIONAL};
	struct dmabuf_cpu_race race;
	char needle[128];
	int fd = new_buffer("held", NULL, 8192, 0);

	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), 0);
	snprintf(needle, sizeof(needle),
		 "\tCPU bracket: 1 open (WRITE) on [0, +8192) by uid %d pid %d",
		 (int)getuid(), (int)getpid());
	cr_assert_not_null(strstr(slurp(at(".bufinfo")), needle),
			   "a forgotten END shows:\n%s", slurp(at(".bufinfo")));
	cr_assert_eq(sh("%s -m $MNT who | grep -A1 'open CPU brackets:' | "
			"grep -q '1 open (WRITE) on \\[0, +8192)'",
			build_path("tools/dmabufctl")),
		     0, "and in dmabufctl who");
	cr_assert_eq(
		sh("%s -m $MNT info held | grep -A1 'open CPU brackets:' | "
		   "grep -q '1 open (WRITE) on \\[0, +8192)'",
		   build_path("tools/dmabufctl")),
		0, "and in dmabufctl info");

	/* A device that maps the buffer meanwhile races the bracket. */
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_ATTACH, &att), 0);
	map.attach_id = att.attach_id;
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_MAP, &map), 0);
	snprintf(needle, sizeof(needle),
		 "\tCPU bracket raced: 1 device mapping(s) while pid %d held "
		 "a bracket, the last by gpu0 (pid %d)",
		 (int)getpid(), (int)getpid());
	cr_assert_not_null(strstr(slurp(at(".bufinfo")), needle), "%s",
			   slurp(at(".bufinfo")));
	cr_assert_eq(sh("%s -m $MNT --json info held | grep -q "
			"'\"cpu_brackets\":\\[.*\"CPU bracket raced: 1 device'",
			build_path("tools/dmabufctl")),
		     0, "dmabufctl info --json lists the race");
	cr_assert_eq(ioctl(fd, DMABUF_IOCTL_TAKE_RACE, &race), 0);
	cr_assert_eq(race.count, 1);
	cr_assert_str_eq(race.device, "gpu0");
	cr_assert_eq(race.dir, DMABUF_DIR_BIDIRECTIONAL);
	cr_assert_eq(race.pid, getpid());
	cr_assert_eq(race.uid, getuid());
	cr_assert_null(strstr(slurp(at(".bufinfo")), "raced"), "taken");
	cr_assert_eq(
		ioctl(fd, DMABUF_IOCTL_UNMAP,
		      &(struct dmabuf_attach_ref){.attach_id = att.attach_id}),
		0);

	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	cr_assert_eq(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s), 0);
	cr_assert_null(strstr(slurp(at(".bufinfo")), "CPU bracket"));
	close(fd);
}

/*
 * Bytes a handle may write are charged before it writes, in both modes: a
 * passthrough handle writes without asking the daemon, so its buffer is
 * placed when it is opened for writing.
 */
Test(files, quota_and_capacity_hold_for_shell_writes_in_both_modes)
{
	char out[4096], cmd[PATH_MAX];
	struct statvfs sv;
	int i;

	unmount_all();
	mount_with("cma_size=16M,system_size=16M,max_bytes=1M");
	for (i = 0; i < 8; i++) {
		snprintf(cmd, sizeof(cmd),
			 "truncate -s 8M %s/b%d && dd if=/dev/zero of=%s/b%d "
			 "bs=1M count=8 conv=notrunc status=none",
			 M.mp, i, M.mp, i);
		cr_assert_neq(capture(cmd, out, sizeof(out)), 0,
			      "8 MiB past a 1 MiB quota: %s", out);
		cr_assert_not_null(strstr(out, "Disk quota exceeded"), "%s",
				   out);
	}
	snprintf(cmd, sizeof(cmd),
		 "truncate -s 512K %s/fits && dd if=/dev/zero of=%s/fits "
		 "bs=64K count=8 conv=notrunc status=none",
		 M.mp, M.mp);
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(statvfs(M.mp, &sv), 0);
	cr_assert_eq((sv.f_blocks - sv.f_bfree) * sv.f_frsize, 512 << 10,
		     "df counts what was written, and only that");
	cr_assert(strstr(slurp(at(".stats")), " bytes=524288"),
		  ".stats charges it to its writer");
}

static time_t mtime_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_mtime;
}

/*
 * A write moves mtime and ctime in both modes: with passthrough the kernel
 * writes the memfd without the daemon, which takes the time from it.
 * Times set by hand stand until the next write; reads leave them.
 */
Test(files, writes_move_mtime_in_both_modes)
{
	struct utimbuf past = {.actime = 1000000000, .modtime = 1000000000};
	char block[4096] = "new bytes";
	int fd;

	cr_assert_eq(sh("truncate -s 64K $MNT/t && touch -d @1500000000 "
			"$MNT/ref"),
		     0);
	cr_assert_eq(utime(at("t"), &past), 0);
	cr_assert_eq(mtime_of(at("t")), 1000000000);
	fd = open(at("t"), O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, block, sizeof(block), 0), sizeof(block));
	cr_assert_eq(mtime_of(at("t")), 1000000000, "a read leaves it");
	cr_assert_eq(pwrite(fd, block, sizeof(block), 4096), sizeof(block));
	cr_assert(WAIT_FOR(mtime_of(at("t")) > 1500000000, 3),
		  "the write moved mtime (%s)",
		  passthrough_on() ? "passthrough" : "through the daemon");
	cr_assert_eq(sh("find $MNT/t -newer $MNT/ref | grep -q t"), 0,
		     "find -newer sees it");
	cr_assert_eq(utime(at("t"), &past), 0);
	cr_assert(WAIT_FOR(mtime_of(at("t")) == 1000000000, 3),
		  "a time set by hand stands");
	close(fd);
}

/*
 * The shell's way to make a buffer: a new name, written as it comes.  What
 * the creating handle writes sizes the buffer, its close fixes the size,
 * and from then on the size is fixed as every buffer's (issue 23).
 */
Test(files, cp_cat_and_tee_into_a_new_name_make_a_buffer_of_that_size)
{
	cr_assert_eq(sh("head -c 3000000 /dev/urandom > %s/pic.raw", M.dir), 0);
	cr_assert_eq(sh("cp %s/pic.raw $MNT/cp && cmp %s/pic.raw $MNT/cp",
			M.dir, M.dir),
		     0, "cp");
	cr_assert_eq(sh("cat %s/pic.raw > $MNT/cat && cmp %s/pic.raw $MNT/cat",
			M.dir, M.dir),
		     0, "cat >");
	cr_assert_eq(sh("head -c 5000 %s/pic.raw | tee $MNT/tee >/dev/null && "
			"head -c 5000 %s/pic.raw | cmp - $MNT/tee",
			M.dir, M.dir),
		     0, "tee");
	cr_assert_eq(sh("test $(stat -c %%s $MNT/cp) -eq 3000000 && "
			"test $(stat -c %%s $MNT/tee) -eq 5000"),
		     0, "each the size of what was written");
	cr_assert_eq(sh("getfattr --absolute-names -n user.dmabuf.state "
			"--only-values $MNT/cp | grep -qx allocated"),
		     0, "sized and placed, as truncate + dd would leave it");
	cr_assert_neq(sh("echo more >> $MNT/tee 2>/dev/null"), 0,
		      "the size is fixed once set");
	cr_assert_eq(sh("test $(stat -c %%s $MNT/tee) -eq 5000"), 0);
	cr_assert_eq(sh("printf 'hi' > $MNT/tee && head -c 2 $MNT/tee | "
			"grep -qx hi"),
		     0, "rewriting within the size works, O_TRUNC ignored");
	cr_assert_eq(sh(": > $MNT/nothing && "
			"test $(stat -c %%s $MNT/nothing) -eq 0"),
		     0, "a name written nothing stays EMPTY");
}

/* Past what the heap can hold: the write says so, the close keeps what fit. */
Test(files, a_new_name_written_past_the_heap_is_efbig)
{
	unmount_all();
	mount_with("cma_size=16M,default_heap=cma");
	cr_assert_neq(
		sh("head -c 20000000 /dev/zero > $MNT/big 2>%s/err", M.dir), 0);
	cr_assert_eq(sh("grep -q 'File too large' %s/err", M.dir), 0);
	cr_assert_eq(sh("test $(stat -c %%s $MNT/big) -le 16777216"), 0,
		     "what fit stays, within the heap");
}
