// SPDX-License-Identifier: MIT
/*
 * Hostile and careless input, as tables against one live mount: every
 * numeric mount option and mount point a person may get wrong, every
 * dmabufctl subcommand given bad arguments, and every call that takes a
 * name given one too long.  Each row checks the exit status or errno, the
 * message, and that nothing else changed: the mount's buffer list, sizes
 * and bytes are the same before and after the whole table.
 */
#include <sys/stat.h>

#include "mount.h"

TestSuite(hostile, .init = mount_default, .fini = unmount_all, .timeout = 120);

/* The buffers, sizes and contents of the mount, as one string. */
static void snapshot(char *out, size_t len)
{
	char cmd[PATH_MAX * 2];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && ls -ln --time-style=+ . | sort && "
		 "for f in *; do cksum \"$f\"; done && grep Total .bufinfo",
		 M.mp);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void populate(void)
{
	cr_assert_eq(sh("truncate -s 1M $MNT/keep && "
			"head -c 1048576 /dev/urandom > $MNT/keep && "
			"truncate -s 12345 $MNT/odd && touch $MNT/empty"),
		     0);
}

/* Run @cmd; its status must be @status and its output hold @message. */
static void expect(const char *cmd, int status, const char *message)
{
	char full[PATH_MAX * 4], out[4096];
	int st;

	snprintf(full, sizeof(full), "cd %s && %s </dev/null", M.dir, cmd);
	st = capture(full, out, sizeof(out));
	cr_assert_eq(st, status, "%s: exit %d, not %d\n%s", cmd, st, status,
		     out);
	cr_assert_not_null(strstr(out, message), "%s: no \"%s\" in:\n%s", cmd,
			   message, out);
}

static const struct {
	const char *opts;
	const char *message;
} bad_options[] = {
	{"max_buffers=-5", "option max_buffers: \"-5\" is not a number"},
	{"max_snapshots=4294967296", "max_snapshots: \"4294967296\" is not"},
	{"max_tokens=-2", "max_tokens: \"-2\" is not a number between 0 and"},
	{"max_handles=1x", "max_handles: \"1x\" is not a number"},
	{"max_waiters= 5", "max_waiters: \" 5\" is not a number"},
	{"token_ttl_ms=-1", "token_ttl_ms: \"-1\" is not a number between 1"},
	{"token_ttl_ms=0", "token_ttl_ms: \"0\" is not a number between 1"},
	{"token_ttl_ms=0x10", "token_ttl_ms: \"0x10\" is not a number"},
	{"system_size=1T", "system_size: \"1T\" is not a size"},
	{"system_size=1M", "system_size: \"1M\" is not a size between 16M"},
	{"cma_size=0x10M", "cma_size: \"0x10M\" is not a size"},
	{"cma_size=2G", "cma_size: \"2G\" is not a size between 1M and 1792M"},
	{"cma_size=", "cma_size: \"\" is not a size"},
	{"root_mode=8", "root_mode: \"8\" is not an octal mode"},
	{"root_mode=17777", "root_mode: \"17777\" is not an octal mode"},
	{"passthrough=maybe", "passthrough: \"maybe\" is not auto, on or off"},
};

Test(hostile, mount_options_and_mount_points)
{
	char before[8192], after[8192], cmd[PATH_MAX * 3];
	const char *daemon = build_path("fs/dmabuffs");
	size_t i;

	populate();
	snapshot(before, sizeof(before));
	cr_assert_eq(sh("mkdir -p %s/other && touch %s/file && "
			"printf 'gpu9 dma_bits=32\\n' > %s/devs",
			M.dir, M.dir, M.dir),
		     0);
	for (i = 0; i < sizeof(bad_options) / sizeof(bad_options[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s -f -o '%s' %s/other", daemon,
			 bad_options[i].opts, M.dir);
		expect(cmd, 1, bad_options[i].message);
	}
	snprintf(cmd, sizeof(cmd), "%s -f %s/file", daemon, M.dir);
	expect(cmd, 1, "file is not a directory");
	snprintf(cmd, sizeof(cmd), "%s -f %s", daemon, M.mp);
	expect(cmd, 1, "is already a dmabuffs mount");
	snprintf(cmd, sizeof(cmd), "%s -f -o devices=%s %s/other", daemon,
		 M.dir, M.dir);
	expect(cmd, 1, "is a directory, not a device file");
	snprintf(cmd, sizeof(cmd), "%s -f -o devices=%s/nosuch %s/other",
		 daemon, M.dir, M.dir);
	expect(cmd, 1, "nosuch: No such file or directory");
	snprintf(cmd, sizeof(cmd), "%s/other", M.dir);
	cr_assert(!is_mounted(cmd), "nothing was mounted");
	snapshot(after, sizeof(after));
	cr_assert_str_eq(before, after, "the live mount did not change");
}

static const struct {
	const char *args;
	int status;
	const char *message;
} bad_ctl[] = {
	{"top -n abc", 2, "-n: \"abc\" is not a number between 1 and"},
	{"top -n -3", 2, "-n: \"-3\" is not a number"},
	{"top -d abc", 2, "-d: \"abc\" is not a number of seconds"},
	{"top -d 0", 2, "is not a number of seconds between 0.1"},
	{"top --json", 2, "top has no JSON output"},
	{"ls extra", 2, "ls takes no arguments"},
	{"info", 2, "usage: info NAME"},
	{"info nosuch", 1, "nosuch"},
	{"export", 2, "usage"},
	{"export x 0", 2, "bad size '0'"},
	{"export x 010Q", 2, "bad size '010Q'"},
	{"export x 0x10M", 2, "bad size '0x10M'"},
	{"export --heap nope x 1M", 1, "no heap 'nope' on"},
	{"export --heap nope x 1M", 1, "(heaps: system, cma)"},
	{"export --heap cma x 1G", 1,
	 "x: 1.0G does not fit heap 'cma', whose capacity is 64.0M (the mount "
	 "option cma_size= sets it)"},
	{"export keep 1M", 1, "File exists"},
	{"fill", 2, "usage: fill NAME FILE"},
	{"fill keep /nonexistent", 1, "/nonexistent"},
	{"fill empty /dev/null", 1, "empty has no size yet: export it first"},
	{"dump empty out.bin", 1, "empty has no size yet"},
	{"dump nosuch out.bin", 1, "nosuch"},
	{"devices add", 2, "usage"},
	{"devices add isp1 dma_bits=99", 2,
	 "'dma_bits=99' is not valid: dma_bits takes a number from 0 to 64"},
	{"devices add isp1 alignment=4Q", 2, "alignment takes a size"},
	{"devices add isp1 fast", 2, "unknown word 'fast' (words: dma_bits="},
	{"devices remove nosuch", 1, "nosuch"},
	{"nosuchcommand", 2, "unknown command 'nosuchcommand'"},
	{"ls --mount", 2, "--mount needs a directory"},
};

Test(hostile, dmabufctl_arguments)
{
	char before[8192], after[8192], cmd[PATH_MAX * 3];
	const char *ctl = build_path("tools/dmabufctl");
	size_t i;

	populate();
	snapshot(before, sizeof(before));
	for (i = 0; i < sizeof(bad_ctl) / sizeof(bad_ctl[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s -m %s %s", ctl, M.mp,
			 bad_ctl[i].args);
		expect(cmd, bad_ctl[i].status, bad_ctl[i].message);
	}
	snprintf(cmd, sizeof(cmd), "%s -m /tmp ls", ctl);
	expect(cmd, 1, "/tmp is not a dmabuffs mount");
	snprintf(cmd, sizeof(cmd), "DMABUF_MOUNT=%s %s ls", M.dir, ctl);
	expect(cmd, 1, "is not a dmabuffs mount");
	cr_assert_eq(sh("test ! -e $MNT/x"), 0,
		     "a failed export leaves nothing");
	snapshot(after, sizeof(after));
	cr_assert_str_eq(before, after, "the mount did not change");
}

Test(hostile, options_after_the_command_and_the_mount_we_are_in)
{
	char cmd[PATH_MAX * 3];
	const char *ctl = build_path("tools/dmabufctl");

	populate();
	snprintf(cmd, sizeof(cmd), "%s ls --json -m %s", ctl, M.mp);
	expect(cmd, 0, "\"name\":\"keep\"");
	snprintf(cmd, sizeof(cmd), "cd %s && env -u DMABUF_MOUNT %s ls", M.mp,
		 ctl);
	expect(cmd, 0, "keep");
	snprintf(cmd, sizeof(cmd), "%s -m %s run -- /bin/echo --json -m x", ctl,
		 M.mp);
	expect(cmd, 0, "--json -m x");
}

/* A dead daemon: both tools say so, and how to get out of it. */
Test(hostile, a_dead_mount_is_named_and_the_way_out_said)
{
	char cmd[PATH_MAX * 3];

	cr_assert_eq(kill(M.pid, SIGKILL), 0);
	waitpid(M.pid, NULL, 0);
	M.pid = 0; /* the fini has nothing to reap */
	snprintf(cmd, sizeof(cmd), "%s -m %s ls", build_path("tools/dmabufctl"),
		 M.mp);
	expect(cmd, 1, "is gone (the mount is dead");
	expect(cmd, 1, "fusermount3 -u");
	snprintf(cmd, sizeof(cmd), "%s -f %s", build_path("fs/dmabuffs"), M.mp);
	expect(cmd, 1, "is a dead mount: its daemon is gone; unmount it first");
	cr_assert_eq(sh("fusermount3 -u %s", M.mp), 0, "the way out works");
	cr_assert(!is_mounted(M.mp));
	run_quiet("rm -rf '%s'", M.dir);
}
