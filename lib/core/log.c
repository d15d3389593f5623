// SPDX-License-Identifier: MIT
/*
 * DOC: logging and small helpers
 *
 * Every refusal of bad input is logged once, with the errno it returns, so an
 * operator can tell why a client failed.  The sink is stderr by default; the
 * daemon points it at syslog when it runs in the background.
 *
 * A leaf: everything logs through it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "internal.h"

static dmabuf_log_fn log_handler;
static int log_level = LOG_INFO;

static void log_stderr(int prio, const char *msg)
{
	static const char *const names[] = {"emerg", "alert",	"crit",
					    "error", "warning", "notice",
					    "info",  "debug"};

	fprintf(stderr, "dmabuffs: %s: %s\n", names[prio & 7], msg);
}

/**
 * dmabuf_log_set_handler() - send log lines somewhere else
 * @fn: sink; NULL restores stderr
 */
void dmabuf_log_set_handler(dmabuf_log_fn fn)
{
	log_handler = fn;
}

/**
 * dmabuf_log_set_level() - drop lines less important than @max_prio
 * @max_prio: a syslog priority, LOG_DEBUG shows everything
 */
void dmabuf_log_set_level(int max_prio)
{
	log_level = max_prio;
}

/**
 * dmabuf_log() - log one line
 * @prio: syslog priority
 * @fmt: printf format
 */
void dmabuf_log(int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(log_handler ? log_handler : log_stderr)(prio, msg);
}

/*
 * Names travel whole (32 bytes) into ioctl replies: zero the tail, or stale
 * bytes of whatever held @dst before would reach clients.
 */
int name_copy(char dst[DMABUF_NAME_LEN], const char *src)
{
	size_t len = strnlen(src, DMABUF_NAME_LEN);

	if (len == DMABUF_NAME_LEN)
		return -EINVAL;
	memset(dst, 0, DMABUF_NAME_LEN);
	memcpy(dst, src, len);
	return 0;
}
