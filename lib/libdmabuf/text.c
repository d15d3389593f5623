// SPDX-License-Identifier: MIT
/*
 * DOC: text the tools and the daemon parse
 *
 * Sizes with binary suffixes (dmabuf_parse_size()), device descriptions
 * (dmabuf_device_parse(), the one grammar of dmabuffs -o devices= and
 * dmabufctl devices add), and the mount table (dmabuf_mountinfo_next()).
 * No system calls but reading the file named.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <dmabuf/dmabuf.h>

#include "../util/mountinfo.h"
#include "private.h"

/* ---- text ---- */

/**
 * dmabuf_parse_size() - parse a size such as "4096", "64K", "256M", "1G"
 * @s: decimal digits (no octal, no hex); suffixes K, M, G, T are binary
 *     (KiB, ...), "KiB"/"KB" too
 * @out: bytes
 *
 * Return: 0, or -EINVAL for anything else or an overflow.
 */
int dmabuf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10); /* sizes are decimal: 010M is 10 MiB */
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A mask such as segment_boundary: hex with 0x, as the kernel writes
 * them, or a decimal size. */
static int parse_mask(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return dmabuf_parse_size(s, out);
	if (!isxdigit((unsigned char)s[2]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s + 2, &end, 16);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_key(struct dmabuf_device_desc *d, const char *key,
		     const char *val)
{
	uint64_t v;

	if (!strcmp(key, "segment_boundary") ? parse_mask(val, &v)
					     : dmabuf_parse_size(val, &v))
		return -EINVAL;
	if (!strcmp(key, "dma_bits") && v <= 64)
		d->dma_bits = (uint32_t)v;
	else if (!strcmp(key, "max_segments") && v <= UINT32_MAX)
		d->max_segments = (uint32_t)v;
	else if (!strcmp(key, "max_segment_size"))
		d->max_segment_size = v;
	else if (!strcmp(key, "segment_boundary"))
		d->segment_boundary = v;
	else if (!strcmp(key, "alignment"))
		d->alignment = v;
	else
		return -EINVAL;
	return 0;
}

static int parse_word(struct dmabuf_device_desc *d, char *word)
{
	char *eq = strchr(word, '=');

	if (!strcmp(word, "iommu"))
		d->flags |= DMABUF_DEVICE_IOMMU;
	else if (!strcmp(word, "coherent"))
		d->flags |= DMABUF_DEVICE_COHERENT;
	else if (!eq)
		return -EINVAL;
	else {
		*eq = '\0';
		return parse_key(d, word, eq + 1);
	}
	return 0;
}

/**
 * dmabuf_device_parse() - parse a device in devices-file syntax
 * @line: "name [key=value ...] [iommu] [coherent]", '#' starts a comment
 * @desc: out: the device (dma_bits defaults to 64)
 *
 * Checks the syntax only; the daemon checks the constraints when the device
 * is registered.  See dmabuffs-devices(5).
 *
 * Return: 1 for a device, 0 for a blank or comment line, -EINVAL.
 */
int dmabuf_device_parse(const char *line, struct dmabuf_device_desc *desc)
{
	char buf[512], *save = NULL, *word;
	int ret = 0;

	if (strlen(line) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, line);
	if (strchr(buf, '#'))
		*strchr(buf, '#') = '\0';
	word = strtok_r(buf, " \t\r\n", &save);
	if (!word)
		return 0;
	memset(desc, 0, sizeof(*desc));
	desc->dma_bits = 64;
	if (copy_name(desc->name, word))
		return -EINVAL;
	while (!ret && (word = strtok_r(NULL, " \t\r\n", &save)))
		ret = parse_word(desc, word);
	if (ret)
		return ret;
	return 1;
}

/**
 * dmabuf_state_name() - the name of a DMABUF_STATE_* value
 * @state: struct dmabuf_info's state
 *
 * The one list, for .bufinfo, user.dmabuf.state and dmabufctl.
 *
 * Return: "empty", "exported", "allocated", "migrating" or "unknown".
 */
const char *dmabuf_state_name(uint32_t state)
{
	static const char *const names[] = {
		[DMABUF_STATE_EMPTY] = "empty",
		[DMABUF_STATE_EXPORTED] = "exported",
		[DMABUF_STATE_ALLOCATED] = "allocated",
		[DMABUF_STATE_MIGRATING] = "migrating",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state]
							: "unknown";
}

/* ---- the mount table ---- */

/*
 * Copy the space-ended field at *@s into @out (room @len), decoding the
 * kernel's \ooo escapes; advance *@s past it.  Return: 0, -1 if too long.
 */
static int mountinfo_field(const char **s, char *out, size_t len)
{
	const char *p = *s;
	size_t n = 0;

	while (*p && *p != ' ' && *p != '\n') {
		int c = (unsigned char)*p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' &&
		    p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
			c = (p[0] - '0') << 6 | (p[1] - '0') << 3 |
			    (p[2] - '0');
			p += 3;
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*s = *p == ' ' ? p + 1 : p;
	return 0;
}

static int mountinfo_parse(const char *line, struct dmabuf_mountinfo *m)
{
	char skip[PATH_MAX];
	const char *sep = strstr(line, " - "), *p;
	int n = 0;

	/* mount id, parent id, major:minor, root, mount point, ... */
	if (!sep ||
	    sscanf(line, "%*d %*d %u:%u %n", &m->major, &m->minor, &n) < 2 ||
	    !n)
		return -1;
	p = line + n;
	if (mountinfo_field(&p, skip, sizeof(skip)) ||
	    mountinfo_field(&p, m->mount_point, sizeof(m->mount_point)))
		return -1;
	p = sep + 3;
	return mountinfo_field(&p, m->fstype, sizeof(m->fstype));
}

int dmabuf_mountinfo_next(FILE *f, struct dmabuf_mountinfo *m)
{
	char line[3 * PATH_MAX + 512];

	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			while ((c = getc(f)) != EOF && c != '\n')
				; /* longer than any line we could use */
			continue;
		}
		if (!mountinfo_parse(line, m))
			return 1;
	}
	return 0;
}
