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
 * holds udax locks that the fault path might need.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
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
 * message (defect: a child's commit corrupted the pool). */
static volatile sig_atomic_t forked, forked_said;

static void trap_forked(void)
{
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
__asm__(".text\n"
        ".globl udax_probe_read\n.type udax_probe_read,@function\n"
        "udax_probe_read:\n"
        "	xorl %eax, %eax\n"
        ".globl udax_probe_read_insn\n"
        "udax_probe_read_insn:\n"
        "	movb (%rdi), %cl\n"
        "	ret\n"
        ".globl udax_probe_write\n.type udax_probe_write,@function\n"
        "udax_probe_write:\n"
        "	xorl %eax, %eax\n"
        ".globl udax_probe_write_insn\n"
        "udax_probe_write_insn:\n"
        "	lock addb $0, (%rdi)\n"
        "	ret\n"
        ".globl udax_probe_fixup\n"
        "udax_probe_fixup:\n"
        "	movl $1, %eax\n"
        "	ret\n");
static _Thread_local volatile int copy_armed;
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
	if (forked) {
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
	int r = w->fault(w, addr, is_write(ctx));
	vm_put(w);
	if (r == VM_SEGV) {
		chain(sig, si, ctx);
	} else if (r == VM_SIGBUS) {
		raise_sigbus(addr);
	} else if (r < 0) {
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "udax: cannot serve a page fault at %p: %s\n",
		                 (void *)addr, strerror(-r));
		if (write(2, msg, (size_t)n) < 0) {
			/* nothing more to say */
		}
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

int vm_prefault(const void *addr, int write)
{
	struct window *w = vm_find(addr, 1);

	if (!w)
		return -EFAULT;
	int r = w->fault(w, (char *)((uintptr_t)addr & ~(uintptr_t)4095), write);
	vm_put(w);
	return r == 0 ? 0 : -EFAULT;
}
