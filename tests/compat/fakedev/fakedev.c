// SPDX-License-Identifier: MIT
/*
 * A stand-in for a driver module that reads buffers it imported without
 * SYNC, as Mesa's llvmpipe and lavapipe do: built as a shared object with
 * no debug information (as a distribution ships Mesa), loaded by
 * sanitize_client's "device-module" mistake, and suppressed by module name
 * in test_compat, as dmabuf-sanitizer(7) tells users to suppress Mesa.
 */
#include <stddef.h>

int fakedev_read(const volatile char *mem, size_t len);

int fakedev_read(const volatile char *mem, size_t len)
{
	int sum = 0;
	size_t i;

	for (i = 0; i < len; i += 4096)
		sum += mem[i];
	return sum;
}
