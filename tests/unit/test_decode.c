// SPDX-License-Identifier: MIT
/*
 * ioctl_decode(): which file an ioctl belongs to, payload sizes, and the
 * field checks, in the kernel's order (ENOTTY before EINVAL).  The libFuzzer
 * harness (tests/fuzz/fuzz_ioctl.c) checks the same rules on random input.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../../fs/decode.h"

static int decode(unsigned int cmd, enum ioctl_target target, const void *in,
		  size_t in_size, union ioctl_arg *a, const char **why)
{
	return ioctl_decode(cmd, target, false, in, in_size, _IOC_SIZE(cmd), a,
			    why);
}

Test(decode, commands_belong_to_their_file)
{
	struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START |
					  DMA_BUF_SYNC_READ};
	struct dmabuf_heap_info h = {0};
	union ioctl_arg a;
	const char *why;

	cr_assert_eq(decode(DMA_BUF_IOCTL_SYNC, IOCTL_TARGET_BUFFER, &s,
			    sizeof(s), &a, &why),
		     0);
	cr_assert_eq(a.sync.flags, s.flags);
	cr_assert_eq(decode(DMA_BUF_IOCTL_SYNC, IOCTL_TARGET_ROOT, &s,
			    sizeof(s), &a, &why),
		     -ENOTTY);
	cr_assert_str_eq(why, "not an ioctl of the mount root");
	cr_assert_eq(decode(DMABUF_IOCTL_HEAP_INFO, IOCTL_TARGET_BUFFER, &h,
			    sizeof(h), &a, &why),
		     -ENOTTY);
	cr_assert_eq(decode(DMA_BUF_IOCTL_SYNC, IOCTL_TARGET_OTHER, &s,
			    sizeof(s), &a, &why),
		     -ENOTTY, ".bufinfo has no ioctls");
	cr_assert_eq(decode(0x5401 /* TCGETS */, IOCTL_TARGET_BUFFER, NULL, 0,
			    &a, &why),
		     -ENOTTY);
}

Test(decode, unknown_before_size_then_size_before_fields)
{
	struct dmabuf_attach s = {.flags = ~0U};
	union ioctl_arg a;
	const char *why;

	/* Wrong size and bad fields, on the wrong file: ENOTTY first. */
	cr_assert_eq(
		decode(DMABUF_IOCTL_ATTACH, IOCTL_TARGET_ROOT, &s, 3, &a, &why),
		-ENOTTY);
	cr_assert_eq(decode(DMABUF_IOCTL_ATTACH, IOCTL_TARGET_BUFFER, &s, 3, &a,
			    &why),
		     -EINVAL);
	cr_assert_str_eq(why, "payload size does not match the command");
	cr_assert_eq(decode(DMABUF_IOCTL_ATTACH, IOCTL_TARGET_BUFFER, &s,
			    sizeof(s), &a, &why),
		     -EINVAL);
	cr_assert_str_eq(why, "attach flags must be 0");
	cr_assert_eq(ioctl_decode(DMABUF_IOCTL_INFO, IOCTL_TARGET_BUFFER, false,
				  NULL, 0, sizeof(struct dmabuf_info) - 1, &a,
				  &why),
		     -EINVAL, "no room for the answer");
	cr_assert_eq(ioctl_decode(DMABUF_IOCTL_INFO, IOCTL_TARGET_BUFFER, true,
				  NULL, 0, sizeof(struct dmabuf_info), &a,
				  &why),
		     -EINVAL, "unrestricted ioctls are never honoured");
}

Test(decode, field_checks)
{
	struct dmabuf_export e = {.size = 4096};
	struct dmabuf_attach at = {.device = "gpu0"};
	struct dmabuf_map m = {.dir = DMABUF_DIR_TO_DEVICE};
	struct dmabuf_get_sg g = {.count = 64};
	struct dmabuf_device_list l = {.count = 16};
	struct dmabuf_token t = {.flags = DMABUF_TOKEN_WRITE};
	struct sync_set_deadline d = {.deadline_ns = ~0ULL};
	union ioctl_arg a;
	const char *why;

#define OK(cmd, target, s) \
	cr_assert_eq(decode(cmd, target, &(s), sizeof(s), &a, &why), 0, #cmd)
#define BAD(cmd, target, s)                                                   \
	cr_assert_eq(decode(cmd, target, &(s), sizeof(s), &a, &why), -EINVAL, \
		     #cmd)
	OK(DMABUF_IOCTL_EXPORT, IOCTL_TARGET_BUFFER, e);
	memset(e.name, 'x', sizeof(e.name));
	BAD(DMABUF_IOCTL_EXPORT, IOCTL_TARGET_BUFFER, e);
	cr_assert_str_eq(why, "heap or name not terminated");
	e.name[0] = '\0';
	e.size = 0;
	e.flags = ~0ULL;
	OK(DMABUF_IOCTL_EXPORT, IOCTL_TARGET_BUFFER, e); /* the core's rules */
	OK(DMABUF_IOCTL_ATTACH, IOCTL_TARGET_BUFFER, at);
	at.flags = 1;
	BAD(DMABUF_IOCTL_ATTACH, IOCTL_TARGET_BUFFER, at);
	OK(DMABUF_IOCTL_MAP, IOCTL_TARGET_BUFFER, m);
	m.nents = 1;
	BAD(DMABUF_IOCTL_MAP, IOCTL_TARGET_BUFFER, m);
	OK(DMABUF_IOCTL_GET_SG, IOCTL_TARGET_BUFFER, g);
	g.count = 65;
	BAD(DMABUF_IOCTL_GET_SG, IOCTL_TARGET_BUFFER, g);
	OK(DMABUF_IOCTL_DEVICE_LIST, IOCTL_TARGET_ROOT, l);
	l.count = 17;
	BAD(DMABUF_IOCTL_DEVICE_LIST, IOCTL_TARGET_ROOT, l);
	OK(DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER, t);
	t.flags = DMABUF_TOKEN_BACKING;
	OK(DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER, t);
	t.flags = DMABUF_TOKEN_SYNC;
	OK(DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER, t);
	t.flags = DMABUF_TOKEN_SYNC | DMABUF_TOKEN_WRITE;
	BAD(DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER, t);
	cr_assert_str_eq(why, "DMABUF_TOKEN_SYNC goes alone");
	t.flags = 8;
	BAD(DMABUF_IOCTL_GET_TOKEN, IOCTL_TARGET_BUFFER, t);
	cr_assert_str_eq(why, "unknown token flags");
	/* The kernel's SYNC_IOC_SET_DEADLINE: only pad is checked. */
	OK(SYNC_IOC_SET_DEADLINE, IOCTL_TARGET_SYNC_FILE, d);
	cr_assert_eq(a.deadline.deadline_ns, ~0ULL);
	d.pad = 1;
	BAD(SYNC_IOC_SET_DEADLINE, IOCTL_TARGET_SYNC_FILE, d);
	cr_assert_str_eq(why, "pad not 0");
	cr_assert_eq(decode(SYNC_IOC_SET_DEADLINE, IOCTL_TARGET_BUFFER, &d,
			    sizeof(d), &a, &why),
		     -ENOTTY, "a deadline is set on a sync_file, not a buffer");
}
