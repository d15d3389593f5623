// SPDX-License-Identifier: MIT
/*
 * DOC: the sanitizer's SIGSEGV handler
 *
 * A fault in a watched mapping is a finding: the handler hands it to the
 * reporter thread (a futex, no lock), which reports it and opens the page
 * for the access; any other fault goes to the program's own handler.  The
 * program's read/write/send/recv calls on watched memory are checked the
 * same way before the kernel would fail them with EFAULT.  Calls
 * san-table.c and san-report.c.
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

/* ---- the SIGSEGV handler, ours or the program's ---- */

static void on_fault(int sig, siginfo_t *si, void *ctx);

/*
 * Our SIGSEGV handler as installed: SA_ONSTACK, so that a program that
 * runs its handlers on an alternate stack (sigaltstack(2)) keeps doing so.
 */
struct sigaction our_action(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault,
			       .sa_flags =
				       SA_SIGINFO | SA_NODEFER | SA_ONSTACK};

	sigemptyset(&sa.sa_mask);
	return sa;
}

/*
 * Is ours still the SIGSEGV handler?  A handler installed past the compat
 * layer (a libdmabuf program, a raw syscall) replaced it: keep it as the
 * program's, to chain to, and put ours back.
 */
void reclaim_sigsegv_locked(void)
{
	struct sigaction now, ours = our_action();

	if (REAL(sigaction)(SIGSEGV, NULL, &now) ||
	    ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fault))
		return;
	san.chained = now;
	REAL(sigaction)(SIGSEGV, &ours, NULL);
}

/**
 * dmabuf_sanitizer_keeps_sigsegv() - the program installs a SIGSEGV handler
 * @act: the handler, or NULL to only ask
 * @old: out, or NULL: the program's previous handler
 *
 * The compat layer's sigaction() and signal() ask first.  While the
 * sanitizer is on, its own handler stays installed and calls the
 * program's for every fault that is not in a watched mapping.
 *
 * Return: true when kept here (the call is done), false to pass it on.
 */
bool dmabuf_sanitizer_keeps_sigsegv(const struct sigaction *act,
				    struct sigaction *old)
{
	if (!san.on)
		return false;
	if (old)
		*old = san.chained;
	if (act)
		san.chained = *act;
	return true;
}

/* ---- faults ---- */

static bool is_write_fault(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return uc->uc_mcontext.gregs[REG_ERR] & 2;
#else
	(void)uc;
	return true; /* the architecture does not say: assume the worse */
#endif
}

static uintptr_t fault_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
	(void)uc;
	return 0;
#endif
}

static void chain(int sig, siginfo_t *si, void *ctx)
{
	if (san.chained.sa_flags & SA_SIGINFO && san.chained.sa_sigaction) {
		san.chained.sa_sigaction(sig, si, ctx);
		return;
	}
	if (san.chained.sa_handler != SIG_DFL &&
	    san.chained.sa_handler != SIG_IGN) {
		san.chained.sa_handler(sig);
		return;
	}
	/*
	 * The default action: the fault repeats and kills, with a core dump
	 * where enabled, as without the sanitizer.  REAL(): inside the compat
	 * layer a plain signal() would bind to the layer's own interposer,
	 * which keeps our handler, and the fault would repeat for ever.
	 */
	REAL(sigaction)(sig, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
}

/* What kind of access fault at buffer offset @off is. */
static enum san_kind fault_kind(const struct san_map *m, uint64_t off,
				bool write)
{
	uint64_t page = off / page_size() * page_size();

	if (write && rights_at(m, page) & PROT_READ)
		return SAN_WRITE_IN_READ;
	if (m->buf->start_refused)
		return SAN_RACED_DEVICE;
	return write ? SAN_WRITE_OUTSIDE : SAN_READ_OUTSIDE;
}

/*
 * Faults are reported by the reporter thread, one at a time: the handler
 * does only what is async-signal-safe (look up the mapping, take the
 * stack with backtrace(), warmed at start, open the page, write a byte,
 * wait on a futex).  It hands the fault over in a slot and waits until the
 * report is out, so reports still come before the program goes on, and
 * never interleave; symbolizing (popen, addr2line), formatting and the
 * table of sites reported already stay out of signal context.
 */
#define MAX_PENDING 64

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_DONE };

static struct {
	int pipe[2]; /* a byte per fault handed over */
	pid_t pid; /* the process the thread runs in */
	struct pending {
		int state; /* enum slot_state; the futex word */
		struct san_map *m;
		uintptr_t addr, pc;
		bool write;
		void *frames[MAX_FRAMES];
		int depth;
	} slot[MAX_PENDING];
} rep = {.pipe = {-1, -1}};

static long futex(int *word, int op, int val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Report the fault in @p; san.lock held. */
static void report_fault_locked(struct pending *p)
{
	struct san_map *m = p->m;
	uint64_t off = p->addr - m->start + (uint64_t)m->off;
	enum san_kind kind;
	char what[256];

	if (!m->buf)
		return; /* unmapped since */
	kind = fault_kind(m, off, p->write);
	snprintf(what, sizeof(what),
		 "%s of 1 byte at %#lx: offset %#llx in the buffer%s",
		 p->write ? "WRITE" : "READ", (unsigned long)p->addr,
		 (unsigned long long)off,
		 kind == SAN_RACED_DEVICE
			 ? ", after a START that did not wait for the device"
			 : "");
	report(m->buf, kind, p->pc, true, what, p->frames, p->depth);
}

static void *reporter_main(void *arg)
{
	struct pending *p;
	char byte;

	(void)arg;
	while (REAL(read)(rep.pipe[0], &byte, 1) == 1 || errno == EINTR) {
		for (p = rep.slot; p < rep.slot + MAX_PENDING; p++) {
			if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) !=
			    SLOT_READY)
				continue;
			pthread_mutex_lock(&san.lock);
			report_fault_locked(p);
			pthread_mutex_unlock(&san.lock);
			__atomic_store_n(&p->state, SLOT_DONE,
					 __ATOMIC_RELEASE);
			futex(&p->state, FUTEX_WAKE, 1);
		}
	}
	return NULL;
}

/* Start the reporter in this process.  Return: 0 or -1. */
int reporter_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (pipe2(rep.pipe, O_CLOEXEC))
		return -1;
	memset(rep.slot, 0, sizeof(rep.slot));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &attr, reporter_main, NULL);
	pthread_attr_destroy(&attr);
	if (ret)
		return -1;
	rep.pid = getpid();
	return 0;
}

/*
 * Across fork(2): san.lock is held across FUSE round trips and the
 * symbolizer, so take it first and hand it free to both sides; the child
 * gets a reporter of its own (threads do not survive fork).
 */
void fork_prepare(void)
{
	pthread_mutex_lock(&san.lock);
}

void fork_parent(void)
{
	pthread_mutex_unlock(&san.lock);
}

void fork_child(void)
{
	pthread_mutex_unlock(&san.lock);
	REAL(close)(rep.pipe[0]);
	REAL(close)(rep.pipe[1]);
	rep.pid = 0;
	if (san.on)
		reporter_start();
}

/*
 * Hand the fault over and wait until it is reported.  Return: false when
 * there is no reporter here or no free slot (then it is not reported).
 */
static bool hand_over(struct san_map *m, uintptr_t addr, uintptr_t pc,
		      bool write, void **frames, int depth)
{
	struct pending *p;
	int free = SLOT_FREE;

	if (rep.pid != getpid())
		return false;
	for (p = rep.slot; p < rep.slot + MAX_PENDING; p++, free = SLOT_FREE)
		if (__atomic_compare_exchange_n(&p->state, &free, SLOT_FILLING,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	if (p == rep.slot + MAX_PENDING)
		return false;
	p->m = m;
	p->addr = addr;
	p->pc = pc;
	p->write = write;
	p->depth = depth < MAX_FRAMES ? depth : MAX_FRAMES;
	memcpy(p->frames, frames, (size_t)p->depth * sizeof(void *));
	__atomic_store_n(&p->state, SLOT_READY, __ATOMIC_RELEASE);
	if (syscall(SYS_write, rep.pipe[1], "f", 1) != 1) {
		__atomic_store_n(&p->state, SLOT_FREE, __ATOMIC_RELEASE);
		return false;
	}
	while (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != SLOT_DONE)
		futex(&p->state, FUTEX_WAIT, SLOT_READY);
	__atomic_store_n(&p->state, SLOT_FREE, __ATOMIC_RELEASE);
	return true;
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr, pg = page_size();
	struct san_map *m = map_at(addr);
	void *frames[MAX_FRAMES];
	int depth, saved_errno = errno;
	bool write;

	write = ctx && is_write_fault(ctx);
	if (!m || sig != SIGSEGV || (write && !(m->prot & PROT_WRITE))) {
		chain(sig, si, ctx); /* not ours, or wrong even in a bracket */
		return;
	}
	depth = backtrace(frames, MAX_FRAMES);
	/* frames[0] is here, frames[1] the signal trampoline */
	if (depth > 2) {
		frames[2] = (void *)fault_pc(ctx);
		hand_over(m, addr, fault_pc(ctx), write, frames + 2, depth - 2);
	}
	/* Let this access through; rights come back at the next bracket. */
	mprotect((void *)(addr & ~(pg - 1)), pg, m->prot);
	errno = saved_errno;
}

/* ---- system calls that touch the program's memory ---- */

/*
 * Open the pages of [@lo, @hi) of @m that lack @need for the access a
 * system call is about to make; report the first.  Lock held.
 */
static void open_for_call_locked(struct san_map *m, uintptr_t lo, uintptr_t hi,
				 bool write, const char *call,
				 void *const *frames, int depth)
{
	uintptr_t pg = page_size(), p;
	int need = write ? PROT_WRITE : PROT_READ;
	bool told = false;
	char what[256];
	uint64_t off;

	for (p = lo & ~(pg - 1); p < hi; p += pg) {
		off = p - m->start + (uint64_t)m->off;
		if (rights_at(m, off) & need)
			continue;
		if (!told) {
			off = (lo > p ? lo : p) - m->start + (uint64_t)m->off;
			snprintf(what, sizeof(what),
				 "%s of %zu byte(s) at %#lx by %s(2): offset "
				 "%#llx in the buffer",
				 write ? "WRITE" : "READ", (size_t)(hi - lo),
				 (unsigned long)lo, call,
				 (unsigned long long)off);
			report(m->buf, fault_kind(m, off, write),
			       (uintptr_t)frames[0], false, what, frames,
			       depth);
			told = true;
		}
		mprotect((void *)p, pg, m->prot);
	}
}

/**
 * dmabuf_sanitizer_user_memory() - a system call will touch the program's
 *                                  memory [@addr, @addr + @len)
 * @addr: as the program passed it (an address only: never dereferenced, and
 *        so not a pointer to the compiler, which would take it for a read
 *        of what read(2) is about to write)
 * @len: bytes
 * @write: the kernel writes there (read(2), recv(2)), else reads there
 *         (write(2), send(2))
 * @call: the call's name, for the report
 *
 * The kernel cannot touch a watched page that has no rights: the call would
 * fail with EFAULT where it works without the sanitizer.  So the access is
 * judged as the CPU's would be, reported when it is outside a bracket (once
 * per site), and the pages are opened for it, as after a fault; rights come
 * back at the next bracket.  Called by the compat layer's interposers.
 */
void dmabuf_sanitizer_user_memory(uintptr_t addr, size_t len, bool write,
				  const char *call)
{
	uintptr_t a = addr, lo, hi;
	void *frames[MAX_FRAMES], **at = NULL;
	int depth = 0, saved_errno;
	struct san_map *m;

	if (!san.on || !len || a + len < a)
		return;
	saved_errno = errno;
	pthread_mutex_lock(&san.lock);
	for (m = san.maps; m < san.maps + MAX_MAPS; m++) {
		if (!m->buf || m->end <= a || m->start >= a + len ||
		    (write && !(m->prot & PROT_WRITE)))
			continue; /* not ours, or EFAULT as without us */
		if (!at)
			depth = program_frames(
				frames, backtrace(frames, MAX_FRAMES), &at);
		lo = a > m->start ? a : m->start;
		hi = a + len < m->end ? a + len : m->end;
		open_for_call_locked(m, lo, hi, write, call, at, depth);
	}
	pthread_mutex_unlock(&san.lock);
	errno = saved_errno;
}
