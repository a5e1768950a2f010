/*
 * trap.c - the SIGSEGV handler, fault chaining, SIGBUS delivery and the
 * copy that bails out on a fault.
 *
 * The handler runs in the faulting thread.  It finds the window, reads
 * the access type from the page-fault error code the kernel saved in
 * the signal context, and calls the window's fault function.  Faults
 * outside every window go to the handler installed before udax (or the
 * default action), so udax is invisible to the application's own
 * SIGSEGV handling.  It is installed with SA_NODEFER so a fault can be
 * taken again while a handler runs, and SA_ONSTACK so a thread with an
 * alternate signal stack uses it.
 *
 * Inside vm_copy() a per-thread jump buffer is armed: any fault there
 * jumps back out of the handler at once, because the copying thread
 * holds udax locks that the fault path might need. *
 * ASYNC-SIGNAL SAFETY.  The handler may run on a small alternate stack,
 * inside an application's own signal handler, having interrupted malloc
 * or stdio (DESIGN.md).  So nothing on the fault path
 *   - allocates from malloc: the transaction state lives in struct meta
 *     (meta/journal.c), undo records in the transaction's arena, extent
 *     scratch arrays in meta; extent leaves, leaf-pointer arrays and
 *     radix-tree nodes come from salloc (util/salloc.c: size classes
 *     over mmap, a system call);
 *   - uses stdio, getenv, snprintf or strerror: vm_trap_init() computes
 *     the VMA budget and the first map count before any window exists,
 *     vm/pte.c reads /proc/self/maps with open/read, and the message
 *     below is formatted by hand;
 *   - needs more than 2 KiB of stack beyond the kernel's signal frame
 *     (THE STACK BUDGET).  Measured by tests/test_sigsafe.c, which fills
 *     an 8 KiB sigaltstack with a pattern, takes every kind of fault
 *     (read/write hole, clean block, PMD, PMD zero page, private) and
 *     counts untouched bytes: 872 bytes at -O2 and 1188 at -O0 (gcc 12,
 *     x86-64).  Before, an allocating fault took 22080 bytes (the
 *     21 KB struct tx was on the stack) and a read of a hole 3744 (stdio
 *     reading /proc).  The kernel's frame with AVX-512 state is 3.2 KiB, so
 *     a fault fits an 8 KiB alternate stack even when it is taken in
 *     another handler running on that stack (7408 of 8192 bytes used).
 *     Sanitizer builds use several times more (8.9 KiB under ASan).
 *
 * LOCKS.  The fault path does take udax's own locks: the window
 * registry, di->inval, entry locks (futex sleeps), di->tree_lock,
 * di->rmap_lock, xm->lock, meta->tx_lock, salloc's class locks, the VMA
 * eviction ring, the shadow backend's lock (test pools).  glibc's
 * mutexes and rwlocks are futex words that never allocate, and no
 * application code ever holds one of these, so a fault from a handler
 * that interrupted the application anywhere (malloc and stdio
 * included), or from another thread, waits at most for another thread
 * to finish a udax operation.  The case left is a signal that
 * interrupts udax code *in the same thread while it holds one of these
 * locks* (udax_pwrite under tx_lock, munmap under the registry lock, a
 * salloc call) and whose handler then touches a udax mapping: it
 * deadlocks on that lock, exactly as that handler calling the udax
 * function itself would.  That is a documented limit, not fixed:
 * blocking signals across every udax critical section costs two
 * sigprocmask system calls each, and udax's read/write path makes no
 * system call today.  A handler that may interrupt udax calls in its
 * own thread must not touch udax mappings (or must block its signal
 * around those calls).  The copies of vm_copy() are not affected: their
 * faults never reach a lock (the probe fixup and the jump below).
 * _Thread_local variables here are in the initial TLS block when udax
 * is linked in or preloaded; a library dlopen()ed later gets dynamic
 * TLS, whose first use in a thread may allocate.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "vm/vm.h"

static struct sigaction old_segv;
static pthread_once_t trap_once = PTHREAD_ONCE_INIT;
static int trap_err;

static _Thread_local sigjmp_buf *copy_jmp;

/* Set in a child of fork(): its windows are copies of the parent's, and
 * the parent's file system state in this process is a stale copy that
 * must never commit anything.  Pages already present keep working;
 * a fault that would need the file system gets SIGBUS, once with a
 * message (defect: a child's commit corrupted the pool).  Only the
 * inherited windows: the child may mount a pool itself and map it. */
static volatile sig_atomic_t forked, forked_said;
/* windows with ids up to this one were inherited; the child's own
 * (after it mounted a pool itself) are served as usual */
static uint64_t forked_upto;

static void trap_forked(void)
{
	forked_upto = vm_last_window_id();
	forked = 1;
}

/*
 * Probes: one instruction each that touches a page, with a fixup.  A
 * fault on the probe instruction is resolved the way the kernel's
 * exception tables do it: the handler moves the saved instruction
 * pointer to the fixup, which returns 1, and returns normally.  No
 * jump out of a signal handler, which sanitizer runtimes cannot follow.
 * The probe for writing adds zero with a locked instruction: it needs
 * write access but leaves any concurrent store's value in place.
 */
int udax_probe_read(const void *p);
int udax_probe_write(void *p);
extern const char udax_probe_read_insn[], udax_probe_write_insn[], udax_probe_fixup[];
__asm__(".pushsection .text\n"
        ".globl udax_probe_read\n.hidden udax_probe_read\n.type udax_probe_read,@function\n"
        "udax_probe_read:\n"
        "	xorl %eax, %eax\n"
        ".globl udax_probe_read_insn\n.hidden udax_probe_read_insn\n"
        "udax_probe_read_insn:\n"
        "	movb (%rdi), %cl\n"
        "	ret\n"
        ".globl udax_probe_write\n.hidden udax_probe_write\n.type udax_probe_write,@function\n"
        "udax_probe_write:\n"
        "	xorl %eax, %eax\n"
        ".globl udax_probe_write_insn\n.hidden udax_probe_write_insn\n"
        "udax_probe_write_insn:\n"
        "	lock addb $0, (%rdi)\n"
        "	ret\n"
        ".globl udax_probe_fixup\n.hidden udax_probe_fixup\n"
        "udax_probe_fixup:\n"
        "	movl $1, %eax\n"
        "	ret\n"
        ".popsection\n");
static _Thread_local volatile int copy_armed;

/* vm_freeze(): set once, at process exit; faults then wait for the end */
static _Atomic int frozen;
static _Atomic pid_t frozen_by;
static _Atomic long in_fault;
static _Thread_local void *volatile copy_fault_addr;
static _Thread_local volatile int copy_efault;

static int is_write(void *ctx)
{
#if defined(__x86_64__)
	const ucontext_t *uc = ctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
#error "udax's fault handler reads the x86-64 page-fault error code"
#endif
}

/* Pass a fault that is not udax's to whoever would have had it. */
static void chain(int sig, siginfo_t *si, void *ctx)
{
	if (old_segv.sa_flags & SA_SIGINFO) {
		old_segv.sa_sigaction(sig, si, ctx);
		return;
	}
	if (old_segv.sa_handler == SIG_DFL || old_segv.sa_handler == SIG_IGN) {
		/* Default action: restore it; the access faults again on
		 * return and the kernel terminates the process as usual. */
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	old_segv.sa_handler(sig);
}

/* Deliver SIGBUS for @addr to this thread, as the kernel does for an
 * access beyond the end of a mapped file. */
static void raise_sigbus(void *addr)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), SIGBUS, &si) < 0)
		raise(SIGBUS);
}

/* ---- a message without stdio (the handler may interrupt it) ---- */

static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		b[at++] = *s++;
	return at;
}

static size_t put_hex(char *b, size_t at, size_t cap, uintptr_t v)
{
	char d[2 * sizeof(v)];
	int n = 0;
	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	at = put_str(b, at, cap, "0x");
	while (n && at < cap)
		b[at++] = d[--n];
	return at;
}

static size_t put_dec(char *b, size_t at, size_t cap, unsigned v)
{
	char d[12];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && at < cap)
		b[at++] = d[--n];
	return at;
}

/* strerror() may allocate (locales) and is not async-signal-safe: the
 * errors a fault can return, by hand. */
static const char *errname(int e)
{
	switch (e) {
	case ENOMEM: return "out of memory (ENOMEM)";
	case ENOSPC: return "no space left on the pool (ENOSPC)";
	case EIO: return "input/output error (EIO)";
	case E2BIG: return "transaction too large (E2BIG)";
	case EUCLEAN: return "structure needs cleaning (EUCLEAN)";
	case EROFS: return "read-only file system (EROFS)";
	case EFAULT: return "bad address (EFAULT)";
	case EINVAL: return "invalid argument (EINVAL)";
	case EAGAIN: return "resource temporarily unavailable (EAGAIN)";
	case EEXIST: return "file exists (EEXIST)";
	default: return NULL;
	}
}

static void report_failure(const void *addr, int e)
{
	char msg[128];
	size_t n = put_str(msg, 0, sizeof(msg), "udax: cannot serve a page fault at ");
	n = put_hex(msg, n, sizeof(msg), (uintptr_t)addr);
	n = put_str(msg, n, sizeof(msg), ": ");
	const char *name = errname(e);
	if (name) {
		n = put_str(msg, n, sizeof(msg), name);
	} else {
		n = put_str(msg, n, sizeof(msg), "errno ");
		n = put_dec(msg, n, sizeof(msg), (unsigned)e);
	}
	n = put_str(msg, n, sizeof(msg), "\n");
	if (write(2, msg, n) < 0) {
		/* nothing more to say */
	}
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	char *addr = si->si_addr;
	int saved = errno;

	if (copy_armed) {
		ucontext_t *uc = ctx;
		greg_t ip = uc->uc_mcontext.gregs[REG_RIP];
		if (ip == (greg_t)udax_probe_read_insn || ip == (greg_t)udax_probe_write_insn) {
			struct window *w = vm_find(addr, 1);
			copy_efault = w == NULL;
			if (w)
				vm_put(w);
			copy_fault_addr = addr;
			uc->uc_mcontext.gregs[REG_RIP] = (greg_t)udax_probe_fixup;
			errno = saved;
			return;
		}
	}
	if (copy_jmp) {
		/* A fault inside the copy itself: the page went away between
		 * the probe and the copy (another thread zapped it). */
		struct window *w = vm_find(addr, 1);
		copy_efault = w == NULL;
		if (w)
			vm_put(w);
		copy_fault_addr = addr;
		siglongjmp(*copy_jmp, 1);
	}
	struct window *w = vm_find(addr, 1);
	if (!w) {
		chain(sig, si, ctx);
		errno = saved;
		return;
	}
#ifndef UDAX_BUG_FORK_FAULT
	if (forked && w->id <= forked_upto) {
		vm_put(w);
		if (!forked_said) {
			static const char msg[] = "udax: a page fault on a udax mapping inherited "
			                          "across fork() cannot be served: SIGBUS\n";
			forked_said = 1;
			if (write(2, msg, sizeof(msg) - 1) < 0) {
				/* nothing more to say */
			}
		}
		raise_sigbus(addr);
		errno = saved;
		return;
	}
#endif
	if (vm_fault_enter()) {
		/* the exiting thread itself, after the exit-time unmount */
		vm_put(w);
		static const char msg[] = "udax: page fault on a udax mapping after the pool was "
		                          "unmounted at exit: SIGBUS\n";
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to say */
		}
		raise_sigbus(addr);
		errno = saved;
		return;
	}
	int r = w->fault(w, addr, is_write(ctx));
	vm_fault_exit();
	vm_put(w);
	if (r == VM_SEGV) {
		chain(sig, si, ctx);
	} else if (r == VM_SIGBUS) {
		raise_sigbus(addr);
	} else if (r < 0) {
		report_failure(addr, -r);
		raise_sigbus(addr);
	}
	errno = saved;
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* What the fault path must not compute itself: the VMA budget
	 * (sysctl, environment) and a first count of the mappings. */
	vm_map_budget();
	vm_map_count();
	if (sigaction(SIGSEGV, &sa, &old_segv) < 0)
		trap_err = -errno;
	else
		pthread_atfork(NULL, NULL, trap_forked);
}

int vm_trap_init(void)
{
	pthread_once(&trap_once, install);
	return trap_err;
}

size_t vm_copy(void *dst, const void *src, size_t n, int user, vm_copy_fn copy, void *arg,
               void **fault_addr, int *efault)
{
	sigjmp_buf jb;
	volatile size_t done = 0;
	char *d = dst;
	const char *s = src;

	*efault = 0;
	if (sigsetjmp(jb, 0)) {
		copy_jmp = NULL;
		copy_armed = 0;
		*fault_addr = copy_fault_addr;
		*efault = copy_efault;
		return done;
	}
	copy_jmp = &jb;
	copy_armed = 1;
	/* page by page, so a fault tells exactly how far we got */
	while (done < n) {
		size_t chunk = 4096 - ((uintptr_t)(s + done) & 4095);
		size_t dchunk = 4096 - ((uintptr_t)(d + done) & 4095);
		if (dchunk < chunk)
			chunk = dchunk;
		if (chunk > n - done)
			chunk = n - done;
#ifdef UDAX_BUG_NO_BAILOUT
		/* Mutant: copy straight through; a fault runs the handler
		 * with the caller's locks held. */
		copy_armed = 0;
		copy_jmp = NULL;
#else
		/* Touch the caller's page first: a fault then lands on a
		 * probe (the pool side is always mapped) */
		if (user == VM_USER_DST ? udax_probe_write(d + done) : udax_probe_read(s + done)) {
			copy_jmp = NULL;
			copy_armed = 0;
			*fault_addr = copy_fault_addr;
			*efault = copy_efault;
			return done;
		}
#endif
		if (copy)
			copy(arg, d + done, s + done, chunk);
		else
			memcpy(d + done, s + done, chunk);
		done += chunk;
	}
	copy_jmp = NULL;
	copy_armed = 0;
	return done;
}

int vm_probe(const void *addr, int write)
{
	copy_armed = 1;
	int r = write ? udax_probe_write((void *)addr) : udax_probe_read(addr);
	copy_armed = 0;
	return r;
}

int vm_fault_enter(void)
{
	atomic_fetch_add(&in_fault, 1);
	if (!atomic_load(&frozen))
		return 0;
	atomic_fetch_sub(&in_fault, 1);
	if ((pid_t)syscall(SYS_gettid) == atomic_load(&frozen_by))
		return -1;
	for (;;)
		pause();        /* until exit_group ends the process */
}

void vm_fault_exit(void)
{
	atomic_fetch_sub(&in_fault, 1);
}

void vm_freeze(void)
{
	atomic_store(&frozen_by, (pid_t)syscall(SYS_gettid));
	atomic_store(&frozen, 1);
	/* faults already running finish (bounded: one stuck on something
	 * else must not hang the exit) */
	for (int i = 0; atomic_load(&in_fault) && i < 40000; i++)
		usleep(50);
}

int vm_prefault(const void *addr, int write)
{
	struct window *w = vm_find(addr, 1);

	if (!w)
		return -EFAULT;
	if (vm_fault_enter()) {
		vm_put(w);
		return -EFAULT;
	}
	int r = w->fault(w, (char *)((uintptr_t)addr & ~(uintptr_t)4095), write);
	vm_fault_exit();
	vm_put(w);
	return r == 0 ? 0 : -EFAULT;
}
