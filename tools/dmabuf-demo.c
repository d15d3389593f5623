// SPDX-License-Identifier: MIT
/*
 * DOC: the end-to-end demonstration (make demo)
 *
 * A video-record pipeline of separate processes over a private dmabuffs
 * mount, in the spirit of the dma-buf seeds:
 *
 *  - camera: exports frames on the heap its constraints need (cma: camera0
 *    wants one contiguous segment below 4 GiB), writes the pixels through
 *    the zero-copy mapping inside a CPU bracket, runs an "ISP pass" (a
 *    device mapping, i.e. a write fence) and passes each fd over a Unix
 *    socket;
 *  - encoder: attaches, waits on the fence with poll(2), maps for encoder0
 *    and checksums the frame through its own zero-copy mapping;
 *  - display: joins later with stricter constraints (1 MiB-aligned
 *    scanout), which forces a migration that waits for the encoder's
 *    mapping to end.
 *
 * The conductor shows ls -l, .bufinfo and dmabufctl who mid-run, checks
 * every frame's checksum end to end, and unmounts on every exit path.
 * Steps are sequenced by messages between the processes, never by sleeps.
 *
 * With --sanitize (make demo-sanitize) that camera runs under
 * dmabufctl run --sanitize with a bug planted, and the sanitizer's report
 * names the line (see dmabuf-sanitizer(7)).
 *
 * With --compat (make demo-compat) the camera is an unmodified program,
 * tools/compat-camera.c, built against the kernel's uapi headers only and
 * run under `dmabufctl run`: its frames come from /dev/dma_heap/cma and
 * reach the same libdmabuf encoder and display.
 *
 * Uses libdmabuf only.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "demo-frame.h"
#include "mountd.h"

#define FRAMES 3
#define FRAME_SIZE (2u << 20)

static char tmpdir[64], mnt[128], bindir[PATH_MAX];
static bool compat, sanitize;
static struct mountd fsd;

static void say(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("[%-9s] ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *who, const char *what, int err)
{
	say(who, "FAILED: %s: %s", what, strerror(err < 0 ? -err : err));
	exit(1);
}

#define CHECK(who, call)                     \
	do {                                 \
		int _r = (call);             \
		if (_r < 0)                  \
			die(who, #call, _r); \
	} while (0)

/* Send @msg, preceded by @fd (SCM_RIGHTS) unless it is -1. */
static void send_msg(int sock, const void *msg, size_t len, int fd)
{
	if (fd >= 0)
		CHECK("demo", dmabuf_send_fd(sock, fd));
	if (write(sock, msg, len) != (ssize_t)len)
		die("demo", "send", errno);
}

static void recv_exact(int sock, void *msg, size_t len)
{
	if (read(sock, msg, len) != (ssize_t)len)
		die("demo", "receive", errno ? errno : EPIPE);
}

static void run(const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s", cmd);
	fflush(stdout);
	if (system(line) != 0)
		say("demo", "(command failed: %s)", cmd);
}

/* ---- the camera ---- */

static void camera(int enc)
{
	const char *me = "camera";
	struct dmabuf_mapping *m;
	struct dmabuf_info info;
	struct frame_msg msg;
	struct dmabuf_sg *sg;
	uint64_t id;
	char name[32], go;
	uint32_t i;
	int meta, fd;

	say(me,
	    "camera0 needs one contiguous segment below 4 GiB: frames go on the cma heap");
	/* A small metadata buffer first, so frames sit 64 KiB-aligned. */
	meta = dmabuf_export(mnt, "metadata", "cma", 64 << 10, "camera-meta",
			     DMABUF_EXPORT_ALLOC_NOW);
	CHECK(me, meta);
	for (i = 0; i < FRAMES; i++) {
		snprintf(name, sizeof(name), "frame%u", i);
		fd = dmabuf_export(mnt, name, "cma", FRAME_SIZE, name, 0);
		CHECK(me, fd);
		CHECK(me, dmabuf_attach(fd, "camera0", &id));
		CHECK(me, dmabuf_mmap(fd, PROT_READ | PROT_WRITE, &m));
		CHECK(me, dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_WRITE));
		for (size_t b = 0; b < FRAME_SIZE; b++)
			((unsigned char *)dmabuf_mapping_addr(m))[b] =
				(unsigned char)(b * 7 + i * 13 + (b >> 12));
		msg.checksum = checksum(dmabuf_mapping_addr(m), FRAME_SIZE);
		CHECK(me, dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_WRITE));
		CHECK(me, dmabuf_munmap(m));
		CHECK(me, dmabuf_map_attachment(fd, id, DMABUF_DIR_FROM_DEVICE,
						&sg));
		dmabuf_info(fd, &info);
		say(me,
		    "%s: wrote 2 MiB through the zero-copy mapping (checksum %016llx); "
		    "ISP pass running: camera0 writes at %#llx, 1 segment",
		    name, (unsigned long long)msg.checksum,
		    (unsigned long long)sg->entries[0].dma_addr);
		dmabuf_sg_free(sg);
		msg.index = i;
		send_msg(enc, &msg, sizeof(msg), fd);
		recv_exact(enc, &go,
			   1); /* the encoder is waiting on our fence */
		CHECK(me, dmabuf_unmap_attachment(fd, id));
		say(me, "%s: ISP pass done, write fence signalled", name);
		close(fd);
	}
	close(meta);
	close(enc);
	exit(0);
}

/* ---- the encoder ---- */

static void encoder(int cam, int disp, int conductor)
{
	const char *me = "encoder";
	int fds[FRAMES], ret;
	uint64_t ids[FRAMES];
	struct dmabuf_mapping *m;
	struct frame_msg msg;
	struct dmabuf_sg *sg;
	uint64_t sum;
	char c = 'w';
	uint32_t i;

	for (i = 0; i < FRAMES; i++) {
		fds[i] = dmabuf_recv_fd(cam);
		CHECK(me, fds[i]);
		recv_exact(cam, &msg, sizeof(msg));
		CHECK(me, dmabuf_attach(fds[i], "encoder0", &ids[i]));
		ret = dmabuf_poll(fds[i], POLLIN, 0);
		say(me, "frame%u received over SCM_RIGHTS; %s", i,
		    ret & POLLIN
			    ? "readable already (no fence to wait on)"
			    : "not readable yet (the camera still writes): "
			      "waiting on the fence");
		send_msg(cam, &c, 1, -1);
		ret = dmabuf_poll(fds[i], POLLIN, 10000);
		if (!(ret & POLLIN))
			die(me, "poll for the camera's fence", ETIMEDOUT);
		CHECK(me, dmabuf_map_attachment(fds[i], ids[i],
						DMABUF_DIR_TO_DEVICE, &sg));
		CHECK(me, dmabuf_mmap(fds[i], PROT_READ, &m));
		CHECK(me, dmabuf_mapping_begin(m, 0, 0, DMABUF_CPU_READ));
		sum = checksum(dmabuf_mapping_addr(m), FRAME_SIZE);
		CHECK(me, dmabuf_mapping_end(m, 0, 0, DMABUF_CPU_READ));
		CHECK(me, dmabuf_munmap(m));
		say(me,
		    "frame%u: fence signalled; encoder0 reads it in %u segments of 64 KiB; "
		    "checksum %016llx %s",
		    i, sg->nents, (unsigned long long)sum,
		    sum == msg.checksum ? "matches" : "DOES NOT MATCH");
		dmabuf_sg_free(sg);
		if (sum != msg.checksum)
			exit(1);
	}
	/* Still encoding frame0 (mapped) when the display shows up. */
	send_msg(conductor, &c, 1, -1);
	for (i = 0; i < FRAMES; i++)
		send_msg(disp, &i, sizeof(i), fds[i]);
	recv_exact(disp, &c, 1);
	say(me, "frame0 encoded: unmapping it");
	CHECK(me, dmabuf_unmap_attachment(fds[0], ids[0]));
	for (i = 1; i < FRAMES; i++)
		dmabuf_unmap_attachment(fds[i], ids[i]);
	recv_exact(disp, &c, 1);
	exit(0);
}

/* ---- the display ---- */

static void display(int enc)
{
	const char *me = "display";
	struct dmabuf_info before, after;
	struct dmabuf_sg *sg;
	uint64_t id;
	uint32_t i;
	char c = 'r', path[256];
	int fd, nb, ret;

	for (i = 0; i < FRAMES; i++) {
		uint32_t idx;

		fd = dmabuf_recv_fd(enc);
		CHECK(me, fd);
		recv_exact(enc, &idx, sizeof(idx));
		dmabuf_info(fd, &before);
		CHECK(me, dmabuf_attach(fd, "display0", &id));
		dmabuf_info(fd, &after);
		if (i == 0 && after.state != DMABUF_STATE_MIGRATING) {
			say(me,
			    "joins: display0 scans out from 1 MiB-aligned memory; "
			    "frame0 sits at %#llx already: no move needed",
			    (unsigned long long)before.phys_addr);
			send_msg(enc, &c, 1, -1);
		} else if (i == 0) {
			say(me,
			    "joins: display0 scans out from 1 MiB-aligned memory; "
			    "frame0 sits at %#llx, so it must move (state: %s)",
			    (unsigned long long)before.phys_addr,
			    after.state == DMABUF_STATE_MIGRATING
				    ? "migrating"
				    : "no move needed");
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			nb = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			ret = nb < 0 ? -errno : 0;
			if (!ret) {
				uint64_t id2;
				struct dmabuf_sg *tmp;

				CHECK(me, dmabuf_attach(nb, "display0", &id2));
				ret = dmabuf_map_attachment(
					nb, id2, DMABUF_DIR_TO_DEVICE, &tmp);
				say(me,
				    "try without waiting: %s (the encoder still maps frame0)",
				    strerror(-ret));
				close(nb);
			}
			send_msg(enc, &c, 1, -1);
			say(me, "waiting for the migration...");
		}
		CHECK(me,
		      dmabuf_map_attachment(fd, id, DMABUF_DIR_TO_DEVICE, &sg));
		dmabuf_info(fd, &after);
		say(me, "frame%u on screen: %#llx -> %#llx (%s), 1 segment%s",
		    idx, (unsigned long long)before.phys_addr,
		    (unsigned long long)sg->entries[0].dma_addr,
		    sg->entries[0].dma_addr % (1u << 20) ? "NOT aligned"
							 : "1 MiB-aligned",
		    before.phys_addr == sg->entries[0].dma_addr
			    ? " (no move was needed)"
			    : "; the migration kept the bytes");
		if (sg->entries[0].dma_addr % (1u << 20))
			exit(1);
		dmabuf_sg_free(sg);
		close(fd);
	}
	send_msg(enc, &c, 1, -1);
	exit(0);
}

/* ---- the conductor ---- */

static void unmount(void)
{
	if (!fsd.pid || getpid() != fsd.owner)
		return; /* children inherit atexit handlers: only we unmount */
	mountd_stop(&fsd);
	rmdir(mnt);
	rmdir(tmpdir);
	say("demo", "unmounted %s", mnt);
}

/*
 * Ctrl-C: only async-signal-safe calls here.  The daemon unmounts itself
 * cleanly on SIGTERM; the pipeline's processes die with us (PDEATHSIG).
 */
static void on_signal(int sig)
{
	if (fsd.pid && getpid() == fsd.owner) {
		kill(fsd.pid, SIGTERM);
		waitpid(fsd.pid, NULL, 0);
		rmdir(mnt);
		rmdir(tmpdir);
	}
	_exit(128 + sig);
}

static void start_daemon(void)
{
	char prog[PATH_MAX + 16];
	int ret;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dmabuf-demo.XXXXXX");
	if (!mkdtemp(tmpdir))
		die("demo", "mkdtemp", errno);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	mkdir(mnt, 0755);
	snprintf(prog, sizeof(prog), "%s/../fs/dmabuffs", bindir);
	atexit(unmount);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = mountd_start(&fsd, prog, "cma_size=64M", mnt, NULL);
	if (ret)
		die("demo", "dmabuffs did not mount", ret);
	setenv("DMABUF_MOUNT", mnt, 1);
	say("demo", "dmabuffs mounted at %s (cma heap: 64 MiB)", mnt);
}

static pid_t spawn(const char *name, void (*fn)(int, int, int), int a, int b,
		   int c)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, name); /* what dmabufctl who shows */
		fn(a, b, c);
	}
	return pid;
}

/* The unmodified camera: the socket stays open across exec. */
static void compat_camera(int enc)
{
	char fd[16], frames[16], size[16], ctl[PATH_MAX + 16],
		prog[PATH_MAX + 32];

	snprintf(fd, sizeof(fd), "%d", enc);
	snprintf(frames, sizeof(frames), "%d", FRAMES);
	snprintf(size, sizeof(size), "%u", FRAME_SIZE);
	snprintf(ctl, sizeof(ctl), "%s/dmabufctl", bindir);
	snprintf(prog, sizeof(prog), "%s/dmabuf-compat-camera", bindir);
	if (sanitize)
		execl(ctl, "dmabufctl", "run", "--sanitize", "--", prog, fd,
		      frames, size, "--late-write", (char *)NULL);
	else
		execl(ctl, "dmabufctl", "run", "--", prog, fd, frames, size,
		      (char *)NULL);
	die("camera", "exec dmabufctl run", errno);
}

static void camera3(int a, int b, int c)
{
	(void)b, (void)c;
	if (compat)
		compat_camera(a);
	camera(a);
}

static void encoder3(int a, int b, int c)
{
	encoder(a, b, c);
}

static void display3(int a, int b, int c)
{
	(void)b, (void)c;
	display(a);
}

static int reap(pid_t pid, const char *who)
{
	int status;

	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	say("demo", "%s failed", who);
	return 1;
}

static void show(const char *title, const char *cmd)
{
	say("demo", "%s", title);
	run(cmd);
}

int main(int argc, char **argv)
{
	int cam_enc[2], enc_disp[2], enc_cond[2], failed = 0;
	char exe[PATH_MAX], cmd[PATH_MAX + 256], c;
	pid_t cam, enc, disp;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	sanitize = argc > 1 && !strcmp(argv[1], "--sanitize");
	compat = sanitize || (argc > 1 && !strcmp(argv[1], "--compat"));
	if (n <= 0)
		die("demo", "readlink", errno);
	exe[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", dirname(exe));
	setvbuf(stdout, NULL, _IOLBF, 0);
	say("demo",
	    "a camera -> encoder -> display pipeline over dmabuffs, %d frames%s",
	    FRAMES,
	    sanitize ? "; the camera is an unmodified /dev/dma_heap program "
		       "run under dmabuf-sanitizer, with a bug planted: it "
		       "touches a pixel after SYNC END"
	    : compat ? "; the camera is an unmodified /dev/dma_heap program"
		     : "");
	start_daemon();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cam_enc) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, enc_disp) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, enc_cond))
		die("demo", "socketpair", errno);
	cam = spawn("camera", camera3, cam_enc[0], -1, -1);
	enc = spawn("encoder", encoder3, cam_enc[1], enc_disp[0], enc_cond[0]);
	recv_exact(enc_cond[1], &c, 1); /* every frame encoded once */
	show("mid-run: ls -l of the mount", "ls -l \"$DMABUF_MOUNT\"");
	snprintf(cmd, sizeof(cmd), "cat %s/.bufinfo", mnt);
	show("mid-run: .bufinfo (the kernel's debugfs format)", cmd);
	snprintf(cmd, sizeof(cmd), "%s/dmabufctl who", bindir);
	show("mid-run: dmabufctl who", cmd);
	disp = spawn("display", display3, enc_disp[1], -1, -1);
	failed |= reap(cam, "camera");
	failed |= reap(enc, "encoder");
	failed |= reap(disp, "display");
	if (!failed && compat) {
		/* Its frames were anonymous, as the kernel's: gone with the fds
		 */
		snprintf(
			cmd, sizeof(cmd),
			"for i in $(seq 100); do grep -qx 'buffers 0' %s/.stats "
			"&& exit 0; sleep 0.05; done; exit 1",
			mnt);
		failed |= system(cmd) != 0;
		say("demo",
		    "the camera's heap buffers went with their last fd: %s",
		    failed ? "NO" : "yes");
	} else if (!failed) {
		struct dmabuf_mapping *m;
		unsigned char *copy = malloc(FRAME_SIZE);
		uint32_t i;

		for (i = 0; i < FRAMES && !failed; i++) {
			char path[256];
			int fd;

			snprintf(path, sizeof(path), "%s/frame%u", mnt, i);
			fd = dmabuf_open(path, O_RDONLY);
			failed |= fd < 0 || !copy ||
				  read(fd, copy, FRAME_SIZE) != FRAME_SIZE ||
				  dmabuf_mmap(fd, PROT_READ, &m) ||
				  checksum(copy, FRAME_SIZE) !=
					  checksum(dmabuf_mapping_addr(m),
						   FRAME_SIZE);
			if (!failed)
				dmabuf_munmap(m);
			if (fd >= 0)
				close(fd);
		}
		free(copy);
		say("demo",
		    "read(2) and the zero-copy mapping agree on every frame after the moves: %s",
		    failed ? "NO" : "yes");
	}
	say("demo", failed ? "FAILED" : "all %d frames verified end to end",
	    FRAMES);
	return failed;
}
