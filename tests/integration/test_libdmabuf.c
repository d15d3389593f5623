// SPDX-License-Identifier: MIT
/*
 * libdmabuf against a real mount: export, validation, fd passing, the
 * zero-copy mapping's coherency with read(2)/write(2) and with the file's
 * own mmap, its lifetime, and every refusal of the token protocol.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dmabuf/dmabuf.h>

#include "channel.h"

static void mount_short_tokens(void)
{
	mount_with("cma_size=64M,token_ttl_ms=200");
}

TestSuite(lib, .init = mount_short_tokens, .fini = unmount_all, .timeout = 120);

Test(lib, export_named_and_anonymous)
{
	struct dmabuf_info i;
	int fd = dmabuf_export(M.mp, "named", "cma", 12345, "dbg", 0);
	int anon = dmabuf_export(M.mp, NULL, NULL, 4096, NULL, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(dmabuf_info(fd, &i), 0);
	cr_assert_eq(i.size, 12345);
	cr_assert_str_eq(i.heap, "cma");
	cr_assert_str_eq(i.name, "dbg");
	cr_assert_eq(access(at("named"), F_OK), 0);
	cr_assert_geq(anon, 0);
	cr_assert_eq(sh("test \"$(ls $MNT)\" = named"), 0,
		     "the anonymous buffer has no name");
	cr_assert_not_null(strstr(slurp(at(".bufinfo")), "Total 2 objects"));
	cr_assert_eq(dmabuf_export(M.mp, "named", NULL, 1, NULL, 0), -EEXIST);
	cr_assert_eq(dmabuf_export(M.mp, "x", "nosuch", 1, NULL, 0), -ENODEV);
	cr_assert_eq(dmabuf_export(M.mp, "a/b", NULL, 1, NULL, 0), -EINVAL);
	cr_assert_eq(dmabuf_export(M.mp, "f", NULL, 1, NULL, 1U << 5), -EINVAL,
		     "an export flag nobody knows");
	cr_assert_eq(access(at("f"), F_OK), -1,
		     "a failed export leaves nothing");
	cr_assert_eq(access(at("x"), F_OK), -1);
	close(fd);
	close(anon);
}

/* Reopen @fd through /proc/self/fd with @flags: the fd, or -errno. */
static int reopen_proc(int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

Test(lib, a_buffer_without_a_name_cannot_be_opened_again)
{
	int anon = dmabuf_export(M.mp, NULL, NULL, 4096, NULL,
				 DMABUF_EXPORT_READONLY);
	int named = dmabuf_export(M.mp, "kept", NULL, 4096, NULL, 0);
	struct dmabuf_info i, mine;
	struct stat st;
	int fd;

	cr_assert_geq(anon, 0);
	cr_assert_eq(fstat(anon, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "an anonymous buffer is 0600");
	cr_assert_eq(reopen_proc(anon, O_RDWR), -ENXIO,
		     "a read-only fd never yields a writable one");
	cr_assert_eq(reopen_proc(anon, O_RDONLY), -ENXIO, "nor any other");
	cr_assert_eq(sh("grep -q 'open refused (ENXIO)' %s", M.log), 0,
		     "and the daemon says why");
	fd = reopen_proc(named, O_RDONLY);
	cr_assert_geq(fd, 0, "a named buffer still opens through its link");
	close(fd);
	cr_assert_eq(unlink(at("kept")), 0);
	cr_assert_eq(reopen_proc(named, O_RDONLY), -ENXIO,
		     "until its name is gone");

	/* What a tool sees of it without an fd. */
	cr_assert_eq(dmabuf_info(anon, &mine), 0);
	cr_assert_eq(dmabuf_info_by_ino(M.mp, st.st_ino, &i), 0);
	cr_assert_eq(i.ino, st.st_ino);
	cr_assert_eq(i.size, 4096);
	cr_assert_eq(i.handles, mine.handles);
	cr_assert_str_eq(i.heap, mine.heap);
	cr_assert_eq(dmabuf_info_by_ino(M.mp, 999999, &i), -ENOENT);
	close(anon);
	close(named);
}

Test(lib, get_validates_fds)
{
	int fd = dmabuf_export(M.mp, "v", NULL, 4096, NULL, 0);
	int plain = open(M.log, O_RDONLY);

	cr_assert_eq(dmabuf_get(fd), 0);
	cr_assert_eq(dmabuf_get(-1), -EBADF);
	cr_assert_eq(dmabuf_get(9999), -EBADF);
	cr_assert_eq(dmabuf_get(plain), -EINVAL, "a regular file elsewhere");
	cr_assert_eq(dmabuf_open(M.log, O_RDONLY), -EINVAL);
	cr_assert_eq(dmabuf_open(at(".bufinfo"), O_RDONLY), -EINVAL);
	close(plain);
	close(fd);
}

Test(lib, attach_map_sg_sync_poll)
{
	int fd = dmabuf_export(M.mp, "s", "system", 4 << 20, NULL, 0);
	struct dmabuf_sg *sg;
	uint64_t id;

	cr_assert_eq(dmabuf_attach(fd, "encoder0", &id), 0);
	cr_assert_eq(dmabuf_map_attachment(fd, id, DMABUF_DIR_FROM_DEVICE, &sg),
		     0);
	cr_assert_eq(sg->nents, 64, "paged through GET_SG");
	cr_assert_eq(sg->entries[63].offset, 63 * 65536ULL);
	cr_assert_eq(sg->total_len, 4 << 20);
	cr_assert_eq(dmabuf_poll(fd, POLLIN, 0), 0, "a device writes");
	cr_assert_eq(dmabuf_unmap_attachment(fd, id), 0);
	cr_assert_eq(dmabuf_poll(fd, POLLIN, 0), POLLIN);
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     0);
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	cr_assert_eq(dmabuf_detach(fd, id), 0);
	cr_assert_eq(dmabuf_attach(fd, "nosuch", &id), -ENODEV);
	dmabuf_sg_free(sg);
	close(fd);
}

Test(lib, zero_copy_is_coherent_with_read_write_and_file_mmap)
{
	int fd = dmabuf_export(M.mp, "z", "cma", 1 << 20, NULL, 0);
	struct dmabuf_mapping *m;
	char got[16] = {0}, *file;
	unsigned char *p;

	cr_assert_eq(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m), 0);
	p = dmabuf_mapping_addr(m);
	cr_assert_eq(dmabuf_mapping_size(m), 1 << 20);
	/* zero-copy writes, then read(2) and cat see them after END */
	cr_assert_eq(pread(fd, got, 8, 8192), 8, "page cache populated first");
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), 0);
	memcpy(dmabuf_kmap(m, 2), "zerocopy", 8);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE), 0);
	cr_assert_eq(pread(fd, got, 8, 8192), 8);
	cr_assert_eq(memcmp(got, "zerocopy", 8), 0, "read(2) after END");
	cr_assert_eq(
		sh("dd if=$MNT/z bs=4096 skip=2 count=1 status=none | head -c 8 | grep -q zerocopy"),
		0, "cat/dd after END");
	/* write(2), then the zero-copy reader sees it after BEGIN */
	cr_assert_eq(pwrite(fd, "viawrite", 8, 100), 8);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 4096, DMABUF_CPU_READ), 0);
	cr_assert_eq(memcmp(p + 100, "viawrite", 8), 0);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 4096, DMABUF_CPU_READ), 0);
	/* the file's own mmap and the zero-copy mapping */
	file = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(file, MAP_FAILED);
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	memcpy(file + 20000, "filemap", 7);
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_RW), 0);
	cr_assert_eq(memcmp(p + 20000, "filemap", 7), 0,
		     "file mmap -> zero-copy");
	memcpy(p + 30000, "backward", 8);
	cr_assert_eq(dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_RW), 0);
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		     0);
	cr_assert_eq(memcmp(file + 30000, "backward", 8), 0,
		     "zero-copy -> file mmap");
	cr_assert_eq(dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
	cr_assert_null(dmabuf_kmap(m, 0), "outside a bracket");
	cr_assert_eq(errno, EPERM);
	cr_assert_null(dmabuf_kmap(m, 256));
	cr_assert_eq(errno, ERANGE);
	munmap(file, 1 << 20);
	cr_assert_eq(dmabuf_munmap(m), 0);
	close(fd);
}

Test(lib, mapping_keeps_the_buffer_alive)
{
	int fd = dmabuf_export(M.mp, "alive", "cma", 1 << 20, NULL, 0);
	struct dmabuf_mapping *m;

	cr_assert_eq(dmabuf_mmap(fd, PROT_READ, &m), 0);
	cr_assert_eq(unlink(at("alive")), 0);
	close(fd);
	cr_assert(WAIT_FOR(
		strstr(slurp(at(".bufinfo")), "\t00000001\tcma") ||
			strstr(slurp(at(".bufinfo")), "Total 1 objects"),
		5));
	cr_assert_not_null(strstr(slurp(at(".bufinfo")), "Total 1 objects"),
			   "held by the mapping alone");
	cr_assert_eq(dmabuf_munmap(m), 0);
	cr_assert(WAIT_FOR(strstr(slurp(at(".bufinfo")), "Total 0 objects") !=
				   NULL,
			   10),
		  "freed once unmapped");
}

Test(lib, read_only_handles_map_read_only)
{
	int fd = dmabuf_export(M.mp, "ro", NULL, 4096, NULL,
			       DMABUF_EXPORT_READONLY);
	struct dmabuf_mapping *m;

	cr_assert_geq(fd, 0);
	cr_assert_eq(dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m), -EACCES);
	cr_assert_eq(dmabuf_mmap(fd, PROT_READ, &m), 0);
	cr_assert_eq(mprotect(dmabuf_mapping_addr(m), 4096, PROT_WRITE), -1,
		     "the memfd itself is read-only");
	cr_assert_eq(dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE), -EACCES);
	dmabuf_munmap(m);
	close(fd);
	cr_assert_eq(sh("grep -q 'token refused (EACCES)' %s", M.log), 0,
		     "logged");
}

/* ---- the raw protocol, to attack it ---- */

Test(lib, token_is_single_use_and_sealed)
{
	int fd = dmabuf_export(M.mp, "t", NULL, 8192, NULL, 0), memfd, sock;
	struct dmabuf_token t;

	cr_assert_eq(get_token(fd, DMABUF_TOKEN_WRITE, &t), 0);
	cr_assert_eq(present(&t, &memfd, &sock), 0);
	cr_assert_geq(memfd, 0);
	cr_assert_eq(ftruncate(memfd, 1 << 20), -1, "sealed against growing");
	cr_assert_eq(ftruncate(memfd, 4096), -1, "and shrinking");
	cr_assert_eq(present(&t, &memfd, NULL), -EACCES, "replayed");
	memset(t.token, 0x5a, sizeof(t.token));
	cr_assert_eq(present(&t, &memfd, NULL), -EACCES, "guessed");
	cr_assert_eq(get_token(fd, 0x80, &t), -EINVAL, "unknown flag");
	close(sock);
	close(fd);
	cr_assert_eq(sh("grep -q 'unknown or already used' %s", M.log), 0);
}

Test(lib, token_expires)
{
	int fd = dmabuf_export(M.mp, "t", NULL, 8192, NULL, 0), memfd, ret;
	struct dmabuf_token t;
	struct timespec wait = {0, 300 * 1000000L};

	cr_assert_eq(get_token(fd, 0, &t), 0);
	cr_assert_eq(t.ttl_ms, 200);
	/* Waiting out a deadline: the daemon's clock is the condition. */
	nanosleep(&wait, NULL);
	/* Dropped when it expired (nothing held for it since): EACCES, or
	 * ETIMEDOUT when the daemon had not dropped it yet. */
	ret = present(&t, &memfd, NULL);
	cr_assert(ret == -EACCES || ret == -ETIMEDOUT, "%s", strerror(-ret));
	close(fd);
}

Test(lib, token_of_another_user_or_process_refused)
{
	int fd = dmabuf_export(M.mp, "t", NULL, 8192, NULL, 0), status;
	struct dmabuf_token t;
	pid_t pid;

	cr_assert_eq(get_token(fd, 0, &t), 0);
	pid = fork();
	if (pid == 0) {
		int memfd;

		_exit(present(&t, &memfd, NULL) == -EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0, "same uid, other process");
	if (geteuid() != 0)
		cr_skip("needs root to become another user");
	cr_assert_eq(get_token(fd, 0, &t), 0);
	pid = fork();
	if (pid == 0) {
		int memfd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(present(&t, &memfd, NULL) == -EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0, "another uid");
	close(fd);
	cr_assert_eq(sh("grep -q 'presented by another' %s", M.log), 0);
}

Test(lib, fd_passing_between_processes)
{
	int sv[2], fd = dmabuf_export(M.mp, "p", NULL, 1 << 20, NULL, 0),
		   status;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		int got = dmabuf_recv_fd(sv[1]);
		struct dmabuf_mapping *m;

		if (got < 0 || dmabuf_get(got) ||
		    dmabuf_mmap(got, PROT_READ, &m) ||
		    dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ) ||
		    memcmp(dmabuf_mapping_addr(m), "shared", 6))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(pwrite(fd, "shared", 6, 0), 6);
	cr_assert_eq(dmabuf_send_fd(sv[0], fd), 0);
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0,
		     "a process that only received the fd maps it zero-copy");
	close(fd);
}

static void *map_from_thread(void *arg)
{
	struct dmabuf_mapping *m;
	intptr_t ret = dmabuf_mmap(*(int *)arg, PROT_READ, &m);

	if (!ret)
		dmabuf_munmap(m);
	return (void *)ret;
}

Test(lib, token_asked_by_a_thread_is_redeemed_by_its_process)
{
	int fd = dmabuf_export(M.mp, "thr", NULL, 4096, NULL, 0);
	pthread_t t;
	void *ret;

	cr_assert_eq(pthread_create(&t, NULL, map_from_thread, &fd), 0);
	pthread_join(t, &ret);
	cr_assert_eq((intptr_t)ret, 0, "a worker thread maps zero-copy: %s",
		     strerror((int)-(intptr_t)ret));
	close(fd);
}
