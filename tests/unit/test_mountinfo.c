// SPDX-License-Identifier: MIT
/* The one mountinfo parser: fields, and the kernel's octal escapes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mountinfo.h"

static FILE *table(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(f);
	return f;
}

Test(mountinfo, a_mount_point_with_a_space_tab_and_backslash_is_decoded)
{
	FILE *f = table(
		"22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		"90 22 0:77 / /tmp/my\\040frames\\011x\\134y rw,nosuid,nodev "
		"- fuse.dmabuffs dmabuffs rw,user_id=0\n");
	struct dmabuf_mountinfo m;

	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 1);
	cr_assert_str_eq(m.mount_point, "/proc");
	cr_assert_str_eq(m.fstype, "proc");
	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 1);
	cr_assert_str_eq(m.mount_point, "/tmp/my frames\tx\\y");
	cr_assert_str_eq(m.fstype, "fuse.dmabuffs");
	cr_assert_eq(m.major, 0);
	cr_assert_eq(m.minor, 77);
	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 0);
	fclose(f);
}

Test(mountinfo, optional_fields_before_the_separator_are_skipped)
{
	FILE *f = table("36 35 98:0 /mnt1 /mnt/a rw,noatime master:1 "
			"shared:7 - ext3 /dev/root rw,errors=continue\n");
	struct dmabuf_mountinfo m;

	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 1);
	cr_assert_str_eq(m.mount_point, "/mnt/a");
	cr_assert_str_eq(m.fstype, "ext3");
	cr_assert_eq(m.major, 98);
	fclose(f);
}

Test(mountinfo, malformed_and_overlong_lines_are_skipped)
{
	static char text[3 * 4096 + 2000];
	struct dmabuf_mountinfo m;
	FILE *f;

	strcpy(text, "garbage without a separator\n");
	strcat(text, "1 2 0:3 / /");
	memset(text + strlen(text), 'a', 3 * 4096 + 600);
	strcat(text, " rw - tmpfs t rw\n");
	strcat(text, "5 6 0:7 / /ok rw - tmpfs t rw\n");
	f = table(text);
	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 1);
	cr_assert_str_eq(m.mount_point, "/ok");
	cr_assert_eq(dmabuf_mountinfo_next(f, &m), 0);
	fclose(f);
}
