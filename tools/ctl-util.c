// SPDX-License-Identifier: MIT
/*
 * DOC: dmabufctl's output, errors and argument checks
 *
 * Errors say what failed and why on stderr (exit 1; 2 for a usage error);
 * sizes print in binary units for people; names print escaped so that a
 * hostile buffer name cannot drive the terminal; --json output goes
 * through json-c.  Calls libdmabuf only.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "ctl.h"

const char *mount_dir;
bool json;

int fail(const char *what, int err)
{
	fprintf(stderr, "dmabufctl: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return EXIT_FAILURE;
}

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dmabufctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dmabufctl --help'.\n", stderr);
	return EXIT_USAGE;
}

void human(uint64_t bytes, char *out, size_t len)
{
	static const char units[] = "BKMGTP";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%" PRIu64, bytes);
	else
		snprintf(out, len, "%.1f%c", v, units[u]);
}

/* Print @s as a JSON string. */
/*
 * A name as a JSON string.  JSON is UTF-8 and file or debug names need not
 * be: a byte that does not belong to a UTF-8 sequence becomes U+FFFD, and
 * the exact bytes go along in hex under "<key>_hex" so nothing is lost.
 */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n = *s < 0x80   ? 1
		   : *s < 0xc2 ? 0
		   : *s < 0xe0 ? 2
		   : *s < 0xf0 ? 3
		   : *s < 0xf5 ? 4
			       : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 &&
	    ((*s == 0xe0 && s[1] < 0xa0) || (*s == 0xed && s[1] > 0x9f)))
		return 0; /* overlong, or a surrogate */
	if (n == 4 &&
	    ((*s == 0xf0 && s[1] < 0x90) || (*s == 0xf4 && s[1] > 0x8f)))
		return 0; /* overlong, or past U+10FFFF */
	return n;
}

void json_add_name(struct json_object *o, const char *key, const char *name)
{
	const unsigned char *c = (const unsigned char *)name;
	char text[256 * 3 + 1], hex[256 * 2 + 1], hex_key[64];
	size_t t = 0, h = 0, n;
	bool exact = true;

	for (; *c && t + 4 < sizeof(text); c += n ? n : 1) {
		n = utf8_seq(c);
		if (n) {
			memcpy(text + t, c, n);
			t += n;
		} else {
			memcpy(text + t, "\xef\xbf\xbd", 3); /* U+FFFD */
			t += 3;
			exact = false;
		}
	}
	text[t] = '\0';
	json_object_object_add(o, key, json_object_new_string(text));
	if (exact)
		return;
	for (c = (const unsigned char *)name; *c && h + 3 < sizeof(hex); c++)
		h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x", *c);
	snprintf(hex_key, sizeof(hex_key), "%s_hex", key);
	json_object_object_add(o, hex_key, json_object_new_string(hex));
}

void json_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* Print @o as one line and drop it. */
void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/*
 * @s as a table shows it: a backslash, a control character or DEL as \ooo,
 * so that no name breaks a row or a column (as ls -b does).
 */
const char *shown(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

int path_in_mount(const char *name, char *out, size_t len)
{
	if (snprintf(out, len, "%s/%s", mount_dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * A whole decimal number between @min and @max, or a message naming the
 * option: the one check for every numeric argument.
 */
int count_arg(const char *opt, const char *text, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	if (*text < '0' || *text > '9' || *end || errno || *out < min ||
	    *out > max)
		return usage_error("%s: \"%s\" is not a number between %ld "
				   "and %ld",
				   opt, text, min, max);
	return 0;
}

/* Seconds, with a fraction: 0.1 to 3600. */
int seconds_arg(const char *opt, const char *text, long *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (*text < '0' || *text > '9' || *end || errno || s < 0.1 || s > 3600)
		return usage_error("%s: \"%s\" is not a number of seconds "
				   "between 0.1 and 3600",
				   opt, text);
	*ms = (long)(s * 1000 + 0.5);
	return 0;
}
