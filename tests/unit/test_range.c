// SPDX-License-Identifier: MIT
/* The range allocator behind heaps and I/O virtual address spaces. */
#include <criterion/criterion.h>
#include <errno.h>

#include "internal.h"

#define K 4096ULL

Test(range, first_fit_alignment_and_merge)
{
	struct range_pool p;
	uint64_t a, b, c;

	cr_assert_eq(range_pool_init(&p, 0x10000, 64 * K), 0);
	cr_assert_eq(range_alloc(&p, K, K, UINT64_MAX, 0, &a), 0);
	cr_assert_eq(a, 0x10000);
	cr_assert_eq(range_alloc(&p, K, 16 * K, UINT64_MAX, 0, &b), 0);
	cr_assert_eq(b % (16 * K), 0, "aligned start");
	cr_assert_eq(range_alloc(&p, K, K, UINT64_MAX, 0, &c), 0);
	cr_assert_eq(c, a + K, "first fit reuses the hole before b");
	cr_assert_eq(p.used, 3 * K);
	range_free(&p, a, K);
	range_free(&p, c, K);
	range_free(&p, b, K);
	cr_assert_eq(p.nr_free, 1, "all merged back");
	cr_assert_eq(range_largest_free(&p), 64 * K);
	range_pool_fini(&p);
}

Test(range, limit_and_exhaustion)
{
	struct range_pool p;
	uint64_t a;

	cr_assert_eq(range_pool_init(&p, 0, 16 * K), 0);
	cr_assert_eq(range_alloc(&p, 8 * K, K, 4 * K - 1, 0, &a), -ENOMEM,
		     "nothing fits below the limit");
	cr_assert_eq(range_alloc(&p, 16 * K, K, UINT64_MAX, 0, &a), 0);
	cr_assert_eq(range_alloc(&p, K, K, UINT64_MAX, 0, &a), -ENOMEM);
	range_pool_fini(&p);
}

Test(range, boundary_never_crossed)
{
	struct range_pool p;
	uint64_t a, b;

	cr_assert_eq(range_pool_init(&p, 0, 64 * K), 0);
	cr_assert_eq(range_alloc(&p, 3 * K, K, UINT64_MAX, 0, &a), 0);
	/* 2 pages with a 4-page boundary cannot start at page 3. */
	cr_assert_eq(range_alloc(&p, 2 * K, K, UINT64_MAX, 4 * K - 1, &b), 0);
	cr_assert_eq(b / (4 * K), (b + 2 * K - 1) / (4 * K));
	range_pool_fini(&p);
}

Test(range, fragmentation_is_real)
{
	struct range_pool p;
	uint64_t addr[8], big;
	int i;

	cr_assert_eq(range_pool_init(&p, 0, 8 * K), 0);
	for (i = 0; i < 8; i++)
		cr_assert_eq(range_alloc(&p, K, K, UINT64_MAX, 0, &addr[i]), 0);
	for (i = 0; i < 8; i += 2)
		range_free(&p, addr[i], K);
	cr_assert_eq(p.used, 4 * K);
	cr_assert_eq(range_largest_free(&p), K);
	cr_assert_eq(range_alloc(&p, 2 * K, K, UINT64_MAX, 0, &big), -ENOMEM,
		     "half free, yet no two adjacent pages");
	range_pool_fini(&p);
}
