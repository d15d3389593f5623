// SPDX-License-Identifier: MIT
/*
 * DOC: ioctl decoding rules
 *
 * One table row per command: the file it belongs to and the check of its
 * fields.  The order of refusals is the kernel's: a command this file does
 * not know is ENOTTY whatever its size; then a payload of the wrong size,
 * then bad fields, are EINVAL.  FUSE hands over exactly the bytes the
 * command's _IOC_SIZE names for a restricted ioctl; anything else (an
 * unrestricted ioctl, a short buffer) is refused, never followed.
 *
 * A leaf of the daemon: it calls nothing of fs/ and of the object model
 * only dmabuf_cpu_dir_valid(), so the unit tests and fuzz_ioctl link it
 * alone; ioctl.c calls it.
 */
#include <errno.h>
#include <string.h>

#include "decode.h"
#include "dmabuf-core.h"
#include "ioctls.h"

static bool terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Size and flags are the object model's: dmabuf_buffer_setup(). */
static const char *check_export(const union ioctl_arg *a)
{
	if (!terminated(a->exp.heap, sizeof(a->exp.heap)) ||
	    !terminated(a->exp.name, sizeof(a->exp.name)))
		return "heap or name not terminated";
	return NULL;
}

static const char *check_name(const union ioctl_arg *a)
{
	return terminated(a->name.name, sizeof(a->name.name))
		       ? NULL
		       : "name not terminated";
}

static const char *check_attach(const union ioctl_arg *a)
{
	if (!terminated(a->attach.device, sizeof(a->attach.device)))
		return "device name not terminated";
	return a->attach.flags ? "attach flags must be 0" : NULL;
}

static const char *check_map(const union ioctl_arg *a)
{
	return a->map.nents || a->map.total_len ? "output fields must be zero"
						: NULL;
}

static const char *check_get_sg(const union ioctl_arg *a)
{
	if (a->sg.pad || a->sg.count == 0 || a->sg.count > DMABUF_SG_PAGE)
		return "count must be 1..64, pad 0";
	return NULL;
}

static const char *check_cpu(const union ioctl_arg *a)
{
	return a->cpu.pad ? "pad not 0" : NULL;
}

static const char *check_token(const union ioctl_arg *a)
{
	__u32 flags = a->token.flags;

	if (flags & ~(__u32)DMABUF_TOKEN_VALID_FLAGS)
		return "unknown token flags";
	if ((flags & DMABUF_TOKEN_SYNC) && flags != DMABUF_TOKEN_SYNC)
		return "DMABUF_TOKEN_SYNC goes alone";
	return NULL;
}

static const char *check_device_list(const union ioctl_arg *a)
{
	if (a->list.pad || a->list.count == 0 ||
	    a->list.count > DMABUF_DEVICE_PAGE)
		return "count must be 1..16, pad 0";
	return NULL;
}

static const char *check_heap_info(const union ioctl_arg *a)
{
	return a->heap.pad ? "pad not 0" : NULL;
}

/* Its flags are the object model's (dmabuf_fence_export()). */
static const char *check_fence_export(const union ioctl_arg *a)
{
	return a->fexp.pad || a->fexp.id ? "pad and id must be 0" : NULL;
}

static const char *check_fence_import(const union ioctl_arg *a)
{
	if (!dmabuf_cpu_dir_valid(a->fimp.flags) || a->fimp.pad)
		return "flags must be READ and/or WRITE, pad 0";
	return NULL;
}

static const char *check_revoke(const union ioctl_arg *a)
{
	return a->revoke.pid < 0 || a->revoke.count
		       ? "pid must be 0 or a process, count 0"
		       : NULL;
}

static const char *check_fence_merge(const union ioctl_arg *a)
{
	if (a->fmerge.id || !terminated(a->fmerge.name, sizeof(a->fmerge.name)))
		return "id must be 0, name terminated";
	return NULL;
}

static const char *check_fence_info(const union ioctl_arg *a)
{
	if (a->finfo.count == 0 || a->finfo.count > DMABUF_FENCE_PAGE)
		return "count must be 1..32";
	return NULL;
}

static const char *check_deadline(const union ioctl_arg *a)
{
	return a->deadline.pad ? "pad not 0" : NULL;
}

#define DECODE_ROW(cmd, target, check, handler) \
	{cmd, IOCTL_TARGET_##target, check},

static const struct ioctl_rule {
	unsigned int cmd;
	enum ioctl_target target;
	const char *(*check)(const union ioctl_arg *a);
} rules[] = {FS_IOCTL_TABLE(DECODE_ROW)};

static const char *const not_ours[] = {
	[IOCTL_TARGET_ROOT] = "not an ioctl of the mount root",
	[IOCTL_TARGET_BUFFER] = "not an ioctl of a buffer",
	[IOCTL_TARGET_SYNC_FILE] = "not an ioctl of a sync_file",
	[IOCTL_TARGET_OTHER] = "not an ioctl of this file",
};

static const struct ioctl_rule *rule_of(unsigned int cmd)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].cmd == cmd)
			return &rules[i];
	return NULL;
}

/**
 * ioctl_row() - where a decoded command's row is in FS_IOCTL_TABLE
 * @cmd: a command ioctl_decode() accepted
 *
 * Return: its index, from 0, for the handlers ioctl.c expands from the same
 * table; -ENOTTY for a command the table does not have.
 */
int ioctl_row(unsigned int cmd)
{
	const struct ioctl_rule *rule = rule_of(cmd);

	return rule ? (int)(rule - rules) : -ENOTTY;
}

/**
 * ioctl_decode() - check one ioctl request before anything acts on it
 * @cmd: the command
 * @target: what it was sent to
 * @unrestricted: FUSE_IOCTL_UNRESTRICTED was asked (never honoured)
 * @in: the bytes that came with it (_IOC_WRITE commands)
 * @in_size: their number
 * @out_size: room for the answer (_IOC_READ commands)
 * @arg: out: the payload, zero-filled past what came in
 * @why: out: the reason, on refusal
 *
 * Return: 0; -ENOTTY for a command @target does not have; -EINVAL for a
 * payload of the wrong size or with a bad field.
 */
int ioctl_decode(unsigned int cmd, enum ioctl_target target, bool unrestricted,
		 const void *in, size_t in_size, size_t out_size,
		 union ioctl_arg *arg, const char **why)
{
	const struct ioctl_rule *rule = rule_of(cmd);
	size_t size = _IOC_SIZE(cmd);

	if (!rule || rule->target != target) {
		*why = not_ours[target];
		return -ENOTTY;
	}
	if (unrestricted || size > sizeof(*arg) ||
	    ((_IOC_DIR(cmd) & _IOC_WRITE) && in_size != size) ||
	    ((_IOC_DIR(cmd) & _IOC_READ) && out_size < size)) {
		*why = "payload size does not match the command";
		return -EINVAL;
	}
	memset(arg, 0, sizeof(*arg));
	if (_IOC_DIR(cmd) & _IOC_WRITE)
		memcpy(arg, in, size);
	*why = rule->check ? rule->check(arg) : NULL;
	return *why ? -EINVAL : 0;
}
