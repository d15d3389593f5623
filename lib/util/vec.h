/* SPDX-License-Identifier: MIT */
/*
 * DOC: growing an array, the one way
 *
 * Every array the daemon and the tools grow one element at a time goes
 * through vec_reserve(): it doubles the allocation when it is full, and
 * changes neither the array nor its capacity when realloc(3) fails, so a
 * caller that got -ENOMEM still holds a valid array of @nr elements that it
 * may use or free.  (Raising the capacity before the realloc succeeded is
 * the bug this replaces: the next call wrote past the old array.)
 *
 * Header-only, so that every layer (fs/, lib/, tools/) may use it without
 * a link dependency; tests/unit/test_vec.c swaps realloc for one that fails
 * on demand.
 */
#ifndef DMABUF_VEC_H
#define DMABUF_VEC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef VEC_REALLOC
#define VEC_REALLOC realloc
#endif

/* The first allocation, in elements. */
#define VEC_MIN 16

/**
 * vec_reserve_one() - room for element @nr of an array
 * @arrp: address of the array pointer (any T **), NULL array allowed
 * @nr: elements in use
 * @cap: elements allocated; raised only once the allocation succeeded
 * @size: sizeof one element
 *
 * Return: 0 when (*@arrp)[@nr] may be written, or -ENOMEM with *@arrp and
 * *@cap as they were.
 */
static inline int vec_reserve_one(void *arrp, size_t nr, size_t *cap,
				  size_t size)
{
	size_t want;
	void *arr, *grown;

	if (nr < *cap)
		return 0;
	want = *cap ? *cap * 2 : VEC_MIN;
	if (want < *cap || want > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&arr, arrp, sizeof(arr));
	grown = VEC_REALLOC(arr, want * size);
	if (!grown)
		return -ENOMEM;
	memcpy(arrp, &grown, sizeof(grown));
	*cap = want;
	return 0;
}

/* vec_push(arr, nr, cap, value): append, or -ENOMEM with nothing changed. */
#define vec_push(arr, nr, cap, value)                                          \
	({                                                                     \
		int vec_ret_ =                                                 \
			vec_reserve_one(&(arr), (nr), &(cap), sizeof(*(arr))); \
		if (!vec_ret_)                                                 \
			(arr)[(nr)++] = (value);                               \
		vec_ret_;                                                      \
	})

#endif /* DMABUF_VEC_H */
