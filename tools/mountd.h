/* SPDX-License-Identifier: MIT */
/*
 * DOC: run a FUSE daemon on a private mount (demo and benchmarks)
 *
 * mountd_start() forks the daemon in the foreground on @mp, with
 * PR_SET_PDEATHSIG so it never outlives its parent, and polls the mount
 * table (bounded) until the mount appears.  mountd_stop() unmounts with
 * fusermount3 -u, then -u -z, and reaps the daemon, killing it if it does
 * not go; it is a no-op in any process but the one that started it.
 */
#ifndef DMABUF_MOUNTD_H
#define DMABUF_MOUNTD_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct mountd {
	pid_t pid;
	pid_t owner;
	char mp[256];
};

static inline bool mountd_mounted(const char *mp)
{
	char line[1024], needle[300];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "re");

	snprintf(needle, sizeof(needle), " %s ", mp);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Poll @pid's exit for up to @ms milliseconds. */
static inline bool mountd_reaped(pid_t pid, int ms)
{
	struct timespec tick = {0, 1000000};
	int status, i;

	for (i = 0; i < ms; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

static inline int mountd_start(struct mountd *m, const char *prog,
			       const char *opts, const char *mp,
			       const char *log)
{
	struct timespec tick = {0, 1000000};
	int i;

	snprintf(m->mp, sizeof(m->mp), "%s", mp);
	m->owner = getpid();
	m->pid = fork();
	if (m->pid < 0)
		return -errno;
	if (m->pid == 0) {
		FILE *f = log ? freopen(log, "w", stderr) : NULL;

		(void)f;
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(prog, prog, "-f", "-o", opts, mp, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 10000 && !mountd_mounted(mp); i++) {
		if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
			m->pid = 0;
			return -ECHILD;
		}
		nanosleep(&tick, NULL); /* poll the mount table, bounded */
	}
	return mountd_mounted(mp) ? 0 : -ETIMEDOUT;
}

static inline void mountd_stop(struct mountd *m)
{
	char cmd[600];

	if (!m->pid || getpid() != m->owner)
		return;
	snprintf(cmd, sizeof(cmd), "fusermount3 -u %s 2>/dev/null", m->mp);
	if (system(cmd) != 0 || !mountd_reaped(m->pid, 5000)) {
		snprintf(cmd, sizeof(cmd), "fusermount3 -u -z %s 2>/dev/null",
			 m->mp);
		if (system(cmd) != 0 || !mountd_reaped(m->pid, 5000)) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, NULL, 0);
		}
	}
	m->pid = 0;
}

/* The daemon's resident memory in KiB, from /proc; -1 if unknown. */
static inline long mountd_rss_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

#endif /* DMABUF_MOUNTD_H */
