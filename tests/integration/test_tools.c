// SPDX-License-Identifier: MIT
/*
 * dmabufctl on a live mount, and the demo, as a person would run them.
 */
#include <sys/mman.h>

#include <dmabuf/dmabuf.h>

#include <json-c/json.h>

#include "mount.h"

TestSuite(tools, .init = mount_default, .fini = unmount_all, .timeout = 180);

/* Run dmabufctl with ARGS against the test mount; capture its output. */
static int ctl(char *out, size_t len, const char *args)
{
	char cmd[8192];

	cr_assert_lt(snprintf(cmd, sizeof(cmd), "%s -m %s %s",
			      build_path("tools/dmabufctl"), M.mp, args),
		     (int)sizeof(cmd));
	return capture(cmd, out, len);
}

static char out[1 << 16];

Test(tools, export_ls_info_json)
{
	cr_assert_eq(
		ctl(out, sizeof(out), "export --heap cma --name cam frame0 4M"),
		0);
	cr_assert_not_null(
		strstr(out, "exported frame0: 4194304 bytes on heap cma"));
	cr_assert_eq(ctl(out, sizeof(out), "export frame1 64K"), 0);
	cr_assert_eq(ctl(out, sizeof(out), "ls"), 0);
	cr_assert_not_null(strstr(out, "NAME"));
	cr_assert_not_null(strstr(out, "frame0"));
	cr_assert_not_null(strstr(out, "4.0M"));
	cr_assert_eq(ctl(out, sizeof(out), "--json ls"), 0);
	cr_assert_not_null(strstr(out, "\"name\":\"frame0\",\"ino\":"));
	cr_assert_not_null(strstr(out, "\"size\":65536"));
	cr_assert_eq(ctl(out, sizeof(out), "info frame0"), 0);
	cr_assert_not_null(strstr(out, "debug name:   cam"));
	/* With passthrough a handle open for writing places it (the kernel
	 * lets it write without asking): dmabuffs(8) PASSTHROUGH. */
	cr_assert_not_null(strstr(out, passthrough_on()
					       ? "state:        allocated"
					       : "state:        exported"),
			   "%s", out);
	cr_assert_not_null(
		strstr(out, passthrough_on() ? "placement:    1 chunk(s)"
					     : "placement:    not placed yet"),
		"where its bytes are, in words:\n%s", out);
	cr_assert_eq(sh("touch $MNT/unsized"), 0);
	cr_assert_eq(ctl(out, sizeof(out), "info unsized"), 0);
	cr_assert_not_null(strstr(out, "placement:    none: the buffer has no "
				       "size yet"),
			   "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "info nosuch"), 1);
	cr_assert_eq(ctl(out, sizeof(out), "export frame0 1M"), 1,
		     "taken name");
	cr_assert_eq(ctl(out, sizeof(out), "export bad 12Q"), 2, "usage error");
	cr_assert_eq(ctl(out, sizeof(out), "frobnicate"), 2);
	cr_assert_eq(ctl(out, sizeof(out), "ls --help"), 0);
	cr_assert_not_null(strstr(out, "usage: dmabufctl ls"));
}

/* A strict parser with UTF-8 validation: @text must be one JSON value. */
static struct json_object *strict_json(const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t len = strlen(text);

	cr_assert_not_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	while (len && text[len - 1] == '\n')
		len--;
	o = json_tokener_parse_ex(tok, text, (int)len);
	cr_assert_not_null(o, "not strict JSON (%s):\n%s",
			   json_tokener_error_desc(json_tokener_get_error(tok)),
			   text);
	cr_assert_eq(json_tokener_get_parse_end(tok), len,
		     "trailing bytes after the JSON value:\n%s", text);
	json_tokener_free(tok);
	return o;
}

Test(tools, every_json_output_parses_strictly)
{
	static const char *const commands[] = {
		"--json ls",	  "ls --json",	"--json heaps",
		"--json devices", "--json who", "--json info good",
	};
	struct json_object *o, *v;
	size_t i;

	cr_assert_eq(
		sh("truncate -s 4K \"$MNT/$(printf 'bad\\377\\376utf8')\" && "
		   "truncate -s 4K \"$MNT/$(printf 'tab\\tnew\\nline')\" && "
		   "truncate -s 4K $MNT/good && "
		   "setfattr -n user.dmabuf.name -v \"$(printf 'x\\377\\001')\" "
		   "$MNT/good"),
		0);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		cr_assert_eq(ctl(out, sizeof(out), commands[i]), 0, "%s: %s",
			     commands[i], out);
		json_object_put(strict_json(out));
	}
	cr_assert_eq(ctl(out, sizeof(out),
			 "--json export \"$(printf "
			 "'e\\377')\" 4K"),
		     0, "%s", out);
	json_object_put(strict_json(out));
	cr_assert_eq(ctl(out, sizeof(out), "--json info good"), 0);
	o = strict_json(out);
	cr_assert(json_object_object_get_ex(o, "debug_name_hex", &v),
		  "the exact bytes of a name that is not UTF-8");
	cr_assert_str_eq(json_object_get_string(v), "78ff01");
	cr_assert(json_object_object_get_ex(o, "devices", &v));
	cr_assert(json_object_object_get_ex(o, "phys_addr", &v));
	json_object_put(o);
}

Test(tools, heaps_and_devices)
{
	cr_assert_eq(ctl(out, sizeof(out), "heaps"), 0);
	cr_assert_not_null(strstr(out, "cma"));
	cr_assert_not_null(strstr(out, "64.0M"), "the mount's cma_size");
	cr_assert_eq(ctl(out, sizeof(out), "--json heaps"), 0);
	cr_assert_not_null(
		strstr(out, "\"name\":\"cma\",\"capacity\":67108864"));
	cr_assert_eq(ctl(out, sizeof(out), "devices"), 0);
	cr_assert_not_null(strstr(out, "gpu0"));
	cr_assert_eq(
		ctl(out, sizeof(out),
		    "devices add isp7 dma_bits=32 max_segments=1 alignment=64K"),
		0);
	cr_assert_eq(ctl(out, sizeof(out), "--json devices"), 0);
	cr_assert_not_null(strstr(
		out, "\"name\":\"isp7\",\"dma_bits\":32,\"max_segments\":1"));
	cr_assert_eq(ctl(out, sizeof(out), "devices add isp7"), 1, "exists");
	cr_assert_eq(ctl(out, sizeof(out), "devices add bad dma_bits=3"), 1,
		     "the daemon refuses it");
	cr_assert_eq(ctl(out, sizeof(out), "devices add bad colour=red"), 2);
	cr_assert_eq(ctl(out, sizeof(out), "devices remove isp7"), 0);
	cr_assert_eq(ctl(out, sizeof(out), "devices remove isp7"), 1);
}

Test(tools, who_finds_a_holder_in_another_process)
{
	int ready[2], hold[2], status;
	char pidtext[32], c;
	pid_t pid;

	close(new_buffer("held", NULL, 1 << 20, 0));
	close(new_buffer("mapped", NULL, 1 << 20, 0));
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	pid = fork();
	if (pid == 0) {
		int fd = open(at("held"), O_RDONLY);
		int fd2 = open(at("mapped"), O_RDWR);
		int anon = dmabuf_export(M.mp, NULL, NULL, 65536, NULL, 0);
		struct dmabuf_mapping *m;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		close(hold[1]);
		if (fd < 0 || fd2 < 0 || anon < 0 ||
		    dmabuf_mmap(fd2, PROT_READ, &m))
			_exit(1);
		close(fd2); /* the zero-copy mapping alone holds it now */
		if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the holder is ready");
	cr_assert_eq(ctl(out, sizeof(out), "--json who"), 0);
	snprintf(pidtext, sizeof(pidtext), "{\"pid\":%d,", (int)pid);
	cr_assert_not_null(strstr(out, pidtext), "%s", out);
	cr_assert_not_null(
		strstr(out,
		       "\"buffer\":\"held\",\"size\":1048576,\"fds\":1,\"maps\":0"),
		"%s", out);
	/* A zero-copy mapping keeps a duplicate of its fd for CPU brackets. */
	cr_assert_not_null(
		strstr(out,
		       "\"buffer\":\"mapped\",\"size\":1048576,\"fds\":1,\"maps\":1"),
		"%s", out);
	cr_assert_not_null(
		strstr(out, "\"buffer\":\"(anonymous)\",\"size\":65536,"),
		"an anonymous buffer's size too:\n%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "who"), 0);
	cr_assert_not_null(strstr(out, "per process:"));
	cr_assert_not_null(strstr(out, "3 buffer(s), 2.1M"), "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "ls"), 0);
	cr_assert_eq(write(hold[1], "q", 1), 1);
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0);
}

Test(tools, fill_and_dump_round_trip_hundreds_of_mib)
{
	char src[PATH_MAX], dst[PATH_MAX], args[PATH_MAX * 3];

	snprintf(src, sizeof(src), "%s/src.bin", M.dir);
	snprintf(dst, sizeof(dst), "%s/dst.bin", M.dir);
	cr_assert_eq(sh("head -c 300M /dev/urandom > %s", src), 0);
	cr_assert_eq(ctl(out, sizeof(out), "export big 300M"), 0);
	snprintf(args, sizeof(args), "fill big %s", src);
	cr_assert_eq(ctl(out, sizeof(out), args), 0, "%s", out);
	cr_assert_not_null(strstr(out, "filled big with 314572800 bytes"));
	cr_assert_eq(sh("cmp %s $MNT/big", src), 0,
		     "read(2) sees what fill wrote");
	snprintf(args, sizeof(args), "dump big %s", dst);
	cr_assert_eq(ctl(out, sizeof(out), args), 0, "%s", out);
	cr_assert_eq(sh("cmp %s %s", src, dst), 0, "dump gives the bytes back");
	cr_assert_eq(ctl(out, sizeof(out), "export small 4K"), 0);
	snprintf(args, sizeof(args), "fill small %s", src);
	cr_assert_eq(ctl(out, sizeof(out), args), 1, "does not fit");
	cr_assert_not_null(strstr(out, "does not fit"));
}

Test(tools, fill_and_dump_through_pipes)
{
	const char *ctl_bin = build_path("tools/dmabufctl");

	/* A pipe gives at most 64 KiB per read: every 1 MiB read is short. */
	cr_assert_eq(sh("%s -m $MNT export p 8M >/dev/null", ctl_bin), 0);
	cr_assert_eq(sh("head -c 3000001 /dev/urandom > %s/src && "
			"cat %s/src | %s -m $MNT fill p /dev/stdin | "
			"grep -q 'filled p with 3000001 bytes'",
			M.dir, M.dir, ctl_bin),
		     0,
		     "a short read is resubmitted, a stream read to its end");
	cr_assert_eq(sh("cmp -n 3000001 %s/src $MNT/p", M.dir), 0);
	cr_assert_eq(sh("%s -m $MNT dump p /dev/stdout | head -c 3000001 | "
			"cmp - %s/src",
			ctl_bin, M.dir),
		     0, "dump into a pipe");
	cr_assert_neq(sh("head -c 9M /dev/zero | %s -m $MNT fill p /dev/stdin "
			 "2>%s/err",
			 ctl_bin, M.dir),
		      0);
	cr_assert_eq(sh("grep -q 'more than the 8388608 bytes' %s/err", M.dir),
		     0);
}

static unsigned int count_of(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

Test(tools, top_once)
{
	cr_assert_eq(ctl(out, sizeof(out), "export t 1M"), 0);
	cr_assert_eq(ctl(out, sizeof(out), "top -n 1"), 0);
	cr_assert_not_null(strstr(out, "HEAP"));
	cr_assert_not_null(strstr(out, "NAME"));
	cr_assert_not_null(strstr(out, "per process:"));
	cr_assert_not_null(strstr(out, "BYTES/QUOTA"), "per uid, too");
	cr_assert_null(strstr(out, "Ctrl-C"), "one screen: nothing to quit");
	cr_assert_eq(ctl(out, sizeof(out), "top -n 2 -d 0.1"), 0);
	cr_assert_eq(count_of(out, "Ctrl-C to quit"), 1,
		     "said while more screens follow:\n%s", out);
}

Test(tools, the_demo_verifies_every_frame)
{
	char cmd[PATH_MAX + 16];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s 2>&1", build_path("tools/dmabuf-demo"));
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0, "%s", out);
	cr_assert_not_null(strstr(out, "all 3 frames verified end to end"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "state: migrating"));
	cr_assert_not_null(strstr(out, "Resource temporarily unavailable"));
	cr_assert_not_null(
		strstr(out, "agree on every frame after the moves: yes"));
	cr_assert_null(strstr(out, "DOES NOT MATCH"));
	cr_assert_not_null(strstr(out, "unmounted"));
}

/* make demo-compat: an unmodified /dev/dma_heap camera feeds the pipeline. */
Test(tools, the_compat_demo_verifies_every_frame)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "%s --compat",
		 build_path("tools/dmabuf-demo"));
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "frames from /dev/dma_heap/cma"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "all 3 frames verified end to end"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "went with their last fd: yes"));
}

/*
 * make demo-sanitize: what the demo promises, not the sanitizer's cases
 * (test_compat has those): its one planted bug is named at its source
 * line, and the demo goes on to verify every frame.
 */
Test(tools, the_sanitize_demo_names_the_planted_bug)
{
	char cmd[PATH_MAX + 64], line[64], where[96], *summary;

	snprintf(cmd, sizeof(cmd), "grep -n 'the planted bug' %s | cut -d: -f1",
		 build_path("../tools/compat-camera.c"));
	cr_assert_eq(capture(cmd, line, sizeof(line)), 0);
	line[strcspn(line, "\n")] = '\0';
	cr_assert_neq(line[0], '\0', "the bug is marked in the source");
	snprintf(where, sizeof(where), "compat-camera.c:%s\n", line);
	snprintf(cmd, sizeof(cmd), "%s --sanitize",
		 build_path("tools/dmabuf-demo"));
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	summary = strstr(out, "SUMMARY: dmabuf-sanitizer:");
	cr_assert_not_null(summary, "a finding:\n%s", out);
	for (; summary; summary = strstr(summary + 1, "SUMMARY:")) {
		const char *at_ = strstr(summary, where);

		cr_assert(at_ && at_ < strchr(summary, '\n') + 1,
			  "each finding at the bug's own line, %s\n%s", where,
			  out);
	}
	cr_assert_not_null(strstr(out, "all 3 frames verified end to end"),
			   "%s", out);
}

Test(tools, readme_example_builds_against_the_installed_library)
{
	char root[PATH_MAX], cmd[PATH_MAX * 4];
	const char *san;

	snprintf(root, sizeof(root), "%s", build_path(".."));
	san = strstr(build_path(""), "/build-san/") ? "SANITIZE=1" : "";
	cr_assert_lt(
		snprintf(
			cmd, sizeof(cmd),
			"make -s -C %s install %s DESTDIR=%s/inst PREFIX=/opt/dmabuf >/dev/null",
			root, san, M.dir),
		(int)sizeof(cmd));
	cr_assert_eq(system(cmd), 0, "make install");
	cr_assert_eq(
		sh("awk '/example:start/{on=1} on&&/^```$/{exit} on&&f{print} "
		   "on&&/^```c$/{f=1}' %s/README.md > %s/example.c && "
		   "test -s %s/example.c",
		   root, M.dir, M.dir),
		0, "the README has the example");
	cr_assert_eq(
		sh("cd %s && PKG_CONFIG_PATH=%s/inst/opt/dmabuf/lib/pkgconfig "
		   "PKG_CONFIG_SYSROOT_DIR=%s/inst cc -Wall -Werror %s example.c "
		   "$(PKG_CONFIG_PATH=%s/inst/opt/dmabuf/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s/inst "
		   "pkg-config --cflags --libs dmabuf) -o example",
		   M.dir, M.dir, M.dir,
		   *san ? "-fsanitize=address,undefined" : "", M.dir, M.dir),
		0, "compiles with pkg-config");
	cr_assert_eq(
		sh("cd %s && LD_LIBRARY_PATH=%s/inst/opt/dmabuf/lib DMABUF_MOUNT=$MNT "
		   "./example > out.txt && grep -q 'read back: hello' out.txt && "
		   "grep -q 'camera0 writes 1 segment' out.txt && "
		   "LD_LIBRARY_PATH=%s/inst/opt/dmabuf/lib DMABUF_MOUNT=$MNT "
		   "./example > again.txt && grep -q 'read back: hello' again.txt",
		   M.dir, M.dir, M.dir),
		0, "and runs, and runs again");
	cr_assert_eq(
		sh("cd %s/inst/opt/dmabuf/share/man && "
		   "test \"$(cat man3/dmabuf_munmap.3)\" = "
		   "'.so man3/dmabuf_mmap.3' && "
		   "test -s man3/dmabuf_sync.3 && test -s man3/dmabuf_recv_fd.3",
		   M.dir),
		0, "every name a page documents has a page");
	/* The unit makes /run/dmabuf on a fresh /run and clears a dead mount
	 * before a restart and after a stop. */
	cr_assert_eq(
		sh("u=%s/inst/opt/dmabuf/lib/systemd/system/dmabuffs.service && "
		   "grep -qx 'RuntimeDirectory=dmabuf' $u && "
		   "grep -qx 'ExecStartPre=-/usr/bin/fusermount3 -u -z "
		   "/run/dmabuf' $u && "
		   "grep -qx 'ExecStopPost=-/usr/bin/fusermount3 -u -z "
		   "/run/dmabuf' $u && "
		   "grep -q '^ExecStart=/opt/dmabuf/sbin/dmabuffs -f' $u",
		   M.dir),
		0, "the unit's directives");
	if (sh("command -v systemd-analyze >/dev/null") == 0)
		cr_assert_eq(
			sh("sed 's|/opt/dmabuf/sbin|%s/fs|' "
			   "%s/inst/opt/dmabuf/lib/systemd/system/dmabuffs.service "
			   "> %s/dmabuffs.service && "
			   "test -z \"$(systemd-analyze verify --man=no "
			   "%s/dmabuffs.service 2>&1)\"",
			   build_path(""), M.dir, M.dir, M.dir),
			0, "systemd-analyze verify has nothing to say");
	cr_assert_eq(sh("make -s -C %s uninstall DESTDIR=%s/inst "
			"PREFIX=/opt/dmabuf >/dev/null && "
			"test -z \"$(find %s/inst -type f)\"",
			root, M.dir, M.dir),
		     0, "uninstall removes the aliases too");
	cr_assert_eq(sh("make -s -n -C %s install | grep -q ldconfig && "
			"! make -s -n -C %s install DESTDIR=/x | grep -q "
			"ldconfig",
			root, root),
		     0, "make install runs ldconfig into the system only");
}

/* The fstab line of dmabuffs(8), x-mount.mkdir and all (root only). */
Test(tools, the_fstab_line_mounts_where_nothing_was)
{
	char line[PATH_MAX * 2];

	if (geteuid() != 0)
		cr_skip("mount -a needs root");
	cr_assert_eq(
		sh("grep -q '^/usr/local/sbin/dmabuffs#dmabuffs "
		   "/run/dmabuf fuse allow_other,.*x\\\\-mount.mkdir 0 0$' "
		   "%s/man/dmabuffs.8",
		   build_path("..")),
		0, "the man page has the line");
	snprintf(line, sizeof(line),
		 "%s#dmabuffs %s/new/dir fuse "
		 "allow_other,root_mode=1777,cma_size=16M,x-mount.mkdir 0 0\n",
		 build_path("fs/dmabuffs"), M.dir);
	cr_assert_eq(sh("printf '%%s' '%s' > %s/fstab && "
			"mount -a -T %s/fstab && "
			"grep -q ' %s/new/dir fuse.dmabuffs ' /proc/mounts && "
			"stat -c %%a %s/new/dir | grep -qx 1777",
			line, M.dir, M.dir, M.dir, M.dir),
		     0, "mounted, the directory made");
	cr_assert_eq(sh("fusermount3 -u %s/new/dir", M.dir), 0);
}

static void mount_spaced(void)
{
	if (M.pid) /* the suite's own mount, from its .init */
		unmount_all();
	mount_subdir = "my frames";
	mount_default();
}

/*
 * mountinfo writes a space as \040: dmabufctl finds the mount it is run
 * in, and dmabuffs sees the mount it would hide, with a space in the path.
 */
Test(tools, a_mount_point_with_a_space_is_found, .init = mount_spaced)
{
	char cmd[8192];

	cr_assert_not_null(strchr(M.mp, ' '));
	cr_assert_lt(
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && env -u DMABUF_MOUNT %s export here 4K "
			 "&& ls -l '%s/here'",
			 M.mp, build_path("tools/dmabufctl"), M.mp),
		(int)sizeof(cmd));
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "exported here"), "%s", out);
	cr_assert_lt(snprintf(cmd, sizeof(cmd), "%s -f '%s' 2>&1",
			      build_path("fs/dmabuffs"), M.mp),
		     (int)sizeof(cmd));
	cr_assert_neq(capture(cmd, out, sizeof(out)), 0);
	cr_assert_not_null(strstr(out, "is already a dmabuffs mount"), "%s",
			   out);
}

/* make demo installs what building needs, make check the test tools too. */
Test(tools, build_and_test_dependencies_are_apart)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "%s --list build",
		 build_path("../tools/install-deps"));
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0);
	cr_assert_not_null(strstr(out, "libfuse3-dev"), "%s", out);
	cr_assert_null(strstr(out, "criterion"), "%s", out);
	cr_assert_null(strstr(out, "attr"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s --list test",
		 build_path("../tools/install-deps"));
	cr_assert_eq(capture(cmd, out, sizeof(out)), 0);
	cr_assert_not_null(strstr(out, "libcriterion-dev"), "%s", out);
	cr_assert_not_null(strstr(out, "attr"), "%s", out);
	cr_assert_null(strstr(out, "valgrind"), "%s", out);
	cr_assert_eq(sh("make -n -C %s demo | grep -q 'install-deps build'",
			build_path("..")),
		     0, "make demo asks for the build packages only");
}
