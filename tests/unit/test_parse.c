// SPDX-License-Identifier: MIT
/*
 * Sizes as people type them: decimal, binary suffixes, nothing else.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include <dmabuf/dmabuf.h>

static uint64_t size_of(const char *s)
{
	uint64_t v = 0;

	cr_assert_eq(dmabuf_parse_size(s, &v), 0, "%s", s);
	return v;
}

Test(parse, sizes_are_decimal)
{
	uint64_t v;

	cr_assert_eq(size_of("4096"), 4096);
	cr_assert_eq(size_of("64K"), 64 << 10);
	cr_assert_eq(size_of("256MiB"), 256ULL << 20);
	cr_assert_eq(size_of("1G"), 1ULL << 30);
	cr_assert_eq(size_of("010M"), 10ULL << 20, "a leading 0 is no octal");
	cr_assert_eq(dmabuf_parse_size("0x10M", &v), -EINVAL, "nor hex");
	cr_assert_eq(dmabuf_parse_size("1x", &v), -EINVAL);
	cr_assert_eq(dmabuf_parse_size("-5", &v), -EINVAL);
	cr_assert_eq(dmabuf_parse_size("99999999999T", &v), -EINVAL);
}

/* A mask is hex, as the kernel writes masks; a size never is. */
Test(parse, device_masks_take_hex)
{
	struct dmabuf_device_desc d;

	cr_assert_eq(dmabuf_device_parse("isp0 segment_boundary=0xffff "
					 "alignment=010K",
					 &d),
		     1);
	cr_assert_eq(d.segment_boundary, 0xffff);
	cr_assert_eq(d.alignment, 10 << 10, "decimal, not octal");
	cr_assert_eq(dmabuf_device_parse("isp0 alignment=0x1000", &d), -EINVAL);
	cr_assert_eq(dmabuf_device_parse("isp0 segment_boundary=0x", &d),
		     -EINVAL);
}
