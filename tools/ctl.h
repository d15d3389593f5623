/* SPDX-License-Identifier: MIT */
/*
 * DOC: what dmabufctl's files share
 *
 * dmabufctl.c parses the global options, finds the mount and dispatches to
 * a command; each command lives with its kin (ctl-who.c, ctl-admin.c,
 * ctl-io.c, ctl-run.c) and prints through ctl-util.c.  Every file calls
 * down to ctl-util.c and libdmabuf only; nothing calls up into
 * dmabufctl.c.
 */
#ifndef DMABUFCTL_CTL_H
#define DMABUFCTL_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USAGE 2

/* The mount the commands act on, and --json (ctl-util.c). */
extern const char *mount_dir;
extern bool json;

/* ctl-util.c: output, errors and arguments */
int count_arg(const char *opt, const char *text, long min, long max, long *out);
int fail(const char *what, int err);
void human(uint64_t bytes, char *out, size_t len);
void json_add_name(struct json_object *o, const char *key, const char *name);
void json_add_u64(struct json_object *o, const char *key, uint64_t v);
void json_print(struct json_object *o);
int path_in_mount(const char *name, char *out, size_t len);
int seconds_arg(const char *opt, const char *text, long *ms);
const char *shown(const char *s, char *out, size_t len);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ctl-who.c: ls, info, who */
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_who(int argc, char **argv);

/* ctl-admin.c: export, heaps, devices, top, revoke */
int cmd_devices(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_heaps(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* ctl-io.c: fill, dump */
int cmd_dump(int argc, char **argv);
int cmd_fill(int argc, char **argv);
int open_buffer(const char *name, int flags);

/* ctl-run.c: run */
int cmd_run(int argc, char **argv);

/* dmabufctl.c */
void help(FILE *out);

#endif /* DMABUFCTL_CTL_H */
