// SPDX-License-Identifier: MIT
/*
 * DOC: the sanitizer's reports
 *
 * A finding is printed once per buffer, kind and code site, in the shape
 * AddressSanitizer users know: the kind, the buffer, the stack of the
 * access, the last bracket call and its stack; suppressions by function
 * name.  Writes with libc's write(2) to the log: never through an
 * interposer.
 *
 * The bottom of the sanitizer's files: it calls nothing of theirs.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <dmabuf/uapi.h>

#include "san.h"

struct san_state san = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .exitcode = 1, .log_fd = 2};

const char *const kind_names[SAN_NR_KINDS] = {
	[SAN_READ_OUTSIDE] = "cpu-read-outside-bracket",
	[SAN_WRITE_OUTSIDE] = "cpu-write-outside-bracket",
	[SAN_WRITE_IN_READ] = "write-in-read-bracket",
	[SAN_END_WITHOUT_START] = "end-without-start",
	[SAN_END_FLAGS_MISMATCH] = "end-flags-mismatch",
	[SAN_BRACKET_LEAK] = "bracket-leak",
	[SAN_RACED_DEVICE] = "cpu-access-raced-device",
};

/* ---- reports ---- */

void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n > 0 && REAL(write)(san.log_fd, line, (size_t)n) < 0)
		return;
}

/* "function file:line" of @pc, through dladdr and addr2line. */
/*
 * "in FUNCTION FILE:LINE" of @pc.  A return address is symbolized one byte
 * back, so that it names the call and not what follows it; the pc of a
 * fault (@exact) is the faulting instruction itself.
 */
static void symbolize(void *pc, bool exact, char *out, size_t len)
{
	char cmd[PATH_MAX + 128], fn[256] = "??", where[PATH_MAX] = "??";
	Dl_info dl;
	FILE *p;
	uintptr_t rel;

	/* Code in no object (a JIT's, say llvmpipe's shaders): say so,
	 * rather than print its address a second time. */
	snprintf(out, len, "in code of no object (generated at run time?)");
	if (!dladdr(pc, &dl) || !dl.dli_fname)
		return;
	rel = (uintptr_t)pc - (uintptr_t)dl.dli_fbase;
	snprintf(cmd, sizeof(cmd), "addr2line -f -e '%s' %#lx 2>/dev/null",
		 dl.dli_fname, (unsigned long)(rel && !exact ? rel - 1 : rel));
	p = popen(cmd, "r");
	if (p) {
		if (fgets(fn, sizeof(fn), p))
			fn[strcspn(fn, "\n")] = '\0';
		if (fgets(where, sizeof(where), p))
			where[strcspn(where, "\n")] = '\0';
		pclose(p);
	}
	if (!strcmp(fn, "??") && dl.dli_sname)
		snprintf(fn, sizeof(fn), "%s", dl.dli_sname);
	snprintf(out, len, "in %s %s", fn,
		 strncmp(where, "??", 2) ? where : dl.dli_fname);
}

/* @frames; the first is the pc of a fault when @at_fault. */
static void print_stack(void *const *frames, int depth, bool at_fault)
{
	char sym[PATH_MAX + 300];
	int i;

	for (i = 0; i < depth; i++) {
		symbolize(frames[i], at_fault && !i, sym, sizeof(sym));
		say("    #%d %p %s\n", i, frames[i], sym);
	}
}

/*
 * The program's part of a stack taken in a hook: the frames after the
 * hook's own and those in this library (the ioctl wrapper, xioctl,
 * dmabuf_sync, ...).  Linked into the program itself, the library cannot
 * be told from the program: only the hook's frame goes.
 */
int program_frames(void **frames, int depth, void ***first)
{
	Dl_info dl;
	int i = 1;

	while (san.own_base && i < depth - 1 && dladdr(frames[i], &dl) &&
	       (uintptr_t)dl.dli_fbase == san.own_base)
		i++;
	*first = frames + i;
	return depth - i;
}

static bool suppressed(void *const *frames, int depth)
{
	char sym[PATH_MAX + 300];
	int i, j;

	for (i = 0; i < depth && san.nr_suppress; i++) {
		symbolize(frames[i], false, sym, sizeof(sym));
		for (j = 0; j < san.nr_suppress; j++)
			if (strstr(sym, san.suppress[j]))
				return true;
	}
	return false;
}

/* Reported already for this buffer and site?  Else remember it. */
static bool seen(struct san_buffer *b, enum san_kind kind, uintptr_t pc)
{
	int i;

	for (i = 0; i < san.nr_sites; i++)
		if (san.sites[i].buf == b && san.sites[i].kind == kind &&
		    san.sites[i].pc == pc)
			return true;
	if (san.nr_sites < MAX_SITES)
		san.sites[san.nr_sites++] =
			(struct san_site){.buf = b, .kind = kind, .pc = pc};
	return false;
}

const char *const dir_names[4] = {"?", "READ", "WRITE", "RW"};

static void say_brackets(const struct san_buffer *b)
{
	int i, readers = 0, writers = 0;

	for (i = 0; i < b->nr_open; i++)
		*(b->open[i].dir & DMA_BUF_SYNC_WRITE ? &writers : &readers) +=
			(int)b->open[i].count;
	say("    brackets open: %d READ, %d WRITE/RW\n", readers, writers);
	for (i = 0; i < b->nr_open; i++)
		if (b->open[i].start || b->open[i].end != b->size)
			say("      [%#llx, %#llx) %s x%u\n",
			    (unsigned long long)b->open[i].start,
			    (unsigned long long)b->open[i].end,
			    dir_names[b->open[i].dir], b->open[i].count);
}

/*
 * One finding: the access or call, its stack (@frames, from the handler or
 * the hook), and the buffer's last bracket call with its own stack.
 */
/* 'file' (name 'debug name', inode N): what the user named the buffer. */
const char *buffer_text(const struct san_buffer *b, char *out, size_t len)
{
	if (b->debug[0])
		snprintf(out, len, "'%s' (name '%s', inode %llu)", b->name,
			 b->debug, (unsigned long long)b->ino);
	else
		snprintf(out, len, "'%s' (inode %llu)", b->name,
			 (unsigned long long)b->ino);
	return out;
}

void report(struct san_buffer *b, enum san_kind kind, uintptr_t pc,
	    bool at_fault, const char *what, void *const *frames, int depth)
{
	char sym[PATH_MAX + 300], text[400];

	if (seen(b, kind, pc) || suppressed(frames, depth))
		return;
	b->findings[kind]++;
	san.total++;
	say("==%d==ERROR: dmabuf-sanitizer: %s on buffer %s\n", (int)getpid(),
	    kind_names[kind], buffer_text(b, text, sizeof(text)));
	say("%s\n", what);
	say_brackets(b);
	print_stack(frames, depth, at_fault);
	if (b->last_depth) {
		say("  the last bracket call on this buffer was %s:\n",
		    b->last_call);
		print_stack(b->last_stack, b->last_depth, false);
	} else {
		say("  no bracket was ever taken on this buffer\n");
	}
	symbolize(pc ? (void *)pc : frames[0], at_fault && pc, sym,
		  sizeof(sym));
	say("SUMMARY: dmabuf-sanitizer: %s %s\n", kind_names[kind], sym);
	if (san.halt)
		_exit(san.exitcode);
}
