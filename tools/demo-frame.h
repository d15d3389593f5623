/* SPDX-License-Identifier: MIT */
/*
 * DOC: the demo's frame protocol
 *
 * What the demo's camera (dmabuf-demo, or the unmodified
 * dmabuf-compat-camera) sends the encoder after each frame's fd: its index
 * and a checksum of its bytes, which the encoder and display check again.
 * Plain C with no dmabuffs header, so the unmodified camera stays built
 * against the kernel's uapi only.
 */
#ifndef DMABUF_DEMO_FRAME_H
#define DMABUF_DEMO_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct frame_msg {
	uint32_t index;
	uint64_t checksum;
};

/* FNV-1a, 64 bits: enough to catch a wrong or torn frame. */
static inline uint64_t checksum(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

#endif /* DMABUF_DEMO_FRAME_H */
