// SPDX-License-Identifier: MIT
/* vec.h: the one way arrays grow, including when realloc(3) fails. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

static int fail_after = -1; /* reallocs that succeed before one fails */
static int reallocs;

static void *flaky_realloc(void *p, size_t n)
{
	reallocs++;
	if (fail_after >= 0 && fail_after-- == 0)
		return NULL;
	return realloc(p, n);
}

#define VEC_REALLOC flaky_realloc
#include "vec.h"

static void reset(int after)
{
	fail_after = after;
	reallocs = 0;
}

Test(vec, grows_by_doubling_and_keeps_every_element)
{
	int *v = NULL;
	size_t n = 0, cap = 0;
	int i;

	reset(-1);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(vec_push(v, n, cap, i), 0);
	cr_assert_eq(n, 1000);
	cr_assert_geq(cap, n);
	cr_assert_leq(reallocs, 7, "16, 32, ... 1024: %d reallocs", reallocs);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(v[i], i);
	free(v);
}

Test(vec, a_failed_allocation_in_the_middle_changes_nothing)
{
	int *v = NULL, *before;
	size_t n = 0, cap = 0, cap_before;
	int i;

	reset(2); /* 16 and 32 succeed, the growth to 64 fails */
	for (i = 0; i < 32; i++)
		cr_assert_eq(vec_push(v, n, cap, i), 0);
	before = v;
	cap_before = cap;
	cr_assert_eq(vec_push(v, n, cap, 32), -ENOMEM);
	cr_assert_eq(v, before, "the array is the one it was");
	cr_assert_eq(cap, cap_before, "the capacity was not raised");
	cr_assert_eq(n, 32, "nothing was appended");
	/* The next call tries again instead of writing past the array. */
	cr_assert_eq(vec_push(v, n, cap, 32), 0);
	cr_assert_eq(n, 33);
	cr_assert_eq(cap, 64);
	for (i = 0; i < 33; i++)
		cr_assert_eq(v[i], i);
	free(v);
}

Test(vec, the_first_allocation_may_fail_too)
{
	long *v = NULL;
	size_t n = 0, cap = 0;

	reset(0);
	cr_assert_eq(vec_push(v, n, cap, 7L), -ENOMEM);
	cr_assert_null(v);
	cr_assert_eq(cap, 0);
	cr_assert_eq(n, 0);
	free(v);
}

Test(vec, a_size_that_would_overflow_is_refused_before_realloc)
{
	char *v = (char *)1; /* never dereferenced: refused first */
	size_t cap = SIZE_MAX / 2 + 1;

	reset(-1);
	cr_assert_eq(vec_reserve_one(&v, cap, &cap, 1), -ENOMEM);
	cr_assert_eq(reallocs, 0);
	cr_assert_eq(cap, SIZE_MAX / 2 + 1);
}
