/* SPDX-License-Identifier: MIT */
/*
 * DOC: one "ok"/"not ok" line per check, for the compat test programs
 *
 * The programs in tests/compat stand for software from elsewhere: they
 * include the system's headers and this one, nothing of dmabuffs.
 */
#ifndef DMABUF_COMPAT_TAP_H
#define DMABUF_COMPAT_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures, checks;

static void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the check's line; a failed one also says what errno was. */
static void check(int ok, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf(" (errno %d: %s)", err, strerror(err));
	putchar('\n');
	failures += !ok;
}

/* The closing line run-tests and CI read, and the exit status. */
static int tap_done(void)
{
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

#endif /* DMABUF_COMPAT_TAP_H */
