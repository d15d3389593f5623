/* SPDX-License-Identifier: MIT */
/*
 * DOC: reading a fuzzer's input as a program
 *
 * The harnesses read their input as a stream of big-endian numbers of a
 * few bytes each; past the end every number is 0, so any input, however
 * short, is a complete program.
 */
#ifndef DMABUF_FUZZ_INPUT_H
#define DMABUF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next @bytes bytes as a number. */
static inline uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	while (bytes-- && in->left) {
		v = v << 8 | *in->p++;
		in->left--;
	}
	return v;
}

/* A log handler that drops everything: refusals are the point here. */
static inline void quiet(int prio, const char *msg)
{
	(void)prio, (void)msg;
}

#endif
