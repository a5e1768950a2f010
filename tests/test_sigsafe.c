/*
 * test_sigsafe.c - the fault handler is async-signal-safe and fits a
 * small alternate signal stack.
 *
 * (a) Faults of every kind (read hole, write hole that allocates, read
 *     and write on a clean block, PMD read and write on a 2 MiB
 *     fallocated aligned run, a PMD zero page then a 4 KiB write inside
 *     it, private copy-on-write) are taken on an 8 KiB sigaltstack with
 *     a guard page below it: once from a thread that installed it, and
 *     once from inside a SIGUSR1 handler running on it (the SIGSEGV is
 *     then nested on the same stack).  The stack is filled with a
 *     pattern first; the untouched bytes give the depth each fault
 *     used, which is printed and checked against the budget stated in
 *     src/vm/trap.c.  An overflow hits the guard page and kills the
 *     child process the test runs in: a failure, not a hang.
 * (b) A thread loops malloc/free while a timer signal aimed at it runs
 *     a handler that stores into a fresh hole page of a udax mapping,
 *     so each store is a fault that allocates, taken at a random point,
 *     often inside malloc.  A monitor thread turns a hang (a fault path
 *     waiting for the malloc lock the interrupted code holds) into a
 *     failure, with alarm() as a last resort.
 * Both count, by interposing malloc, calloc, realloc and the aligned
 * allocators in this program, every allocation made while a fault is
 * being served from a signal handler: it must be zero.  (Sanitizer
 * builds have their own allocator, so they skip that count, and they
 * use a 64 KiB alternate stack: instrumented code is several times
 * deeper.)
 *
 * On the code before the fix: (a) dies with SIGSEGV in the child (the
 * 21 KB struct tx of an allocating fault overflows the 8 KiB stack) and
 * the count is non-zero; (b) counts mallocs and sometimes hangs.
 */
#include "t.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "api/fs.h"
#include "dax/dax.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
/* ThreadSanitizer delivers asynchronous signals late, from its own code,
 * with every signal blocked: a page fault in such a handler cannot be
 * delivered at all (the kernel kills the process), udax or not. */
#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif
#ifndef TSAN
#define TSAN 0
#endif

/* The stack udax's fault path may use, on top of the kernel's signal
 * frame: the budget stated in src/vm/trap.c and the README. */
#define UDAX_FAULT_STACK_BUDGET 2048

/* ---- counting allocations made inside a fault served from a handler ---- */

static __thread volatile int in_sig;       /* this thread is in a test handler */
static _Atomic long allocs_in_sig;

#if !SANITIZED
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

void *malloc(size_t n)
{
	if (in_sig)
		atomic_fetch_add(&allocs_in_sig, 1);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t s)
{
	if (in_sig)
		atomic_fetch_add(&allocs_in_sig, 1);
	return __libc_calloc(n, s);
}

void *realloc(void *p, size_t n)
{
	if (in_sig)
		atomic_fetch_add(&allocs_in_sig, 1);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (in_sig && p)
		atomic_fetch_add(&allocs_in_sig, 1);
	__libc_free(p);
}

void *aligned_alloc(size_t a, size_t n)
{
	if (in_sig)
		atomic_fetch_add(&allocs_in_sig, 1);
	return __libc_memalign(a, n);
}

void *memalign(size_t a, size_t n)
{
	return aligned_alloc(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	void *p = aligned_alloc(a, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

/* ---- an alternate stack with a guard page, filled with a pattern ---- */

#define PAT 0xA5
static unsigned char *alt;
static size_t alt_size;

static int alt_install(size_t size)
{
	unsigned char *p = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_NONE) < 0)
		return -1;
	alt = p + 4096;
	alt_size = size;
	stack_t ss = { .ss_sp = alt, .ss_size = size, .ss_flags = 0 };
	return sigaltstack(&ss, NULL);
}

static void alt_fill(void)
{
	memset(alt, PAT, alt_size);
}

/* Bytes of the alternate stack written since alt_fill(). */
static size_t alt_used(void)
{
	size_t i = 0;
	while (i < alt_size && alt[i] == PAT)
		i++;
	return alt_size - i;
}

/* ---- the file and the faults ---- */

#define MB (1u << 20)
#define FILE_SIZE (48u * MB)

struct setup {
	const char *pool;
	udax_fs *fs;
	int fd;
	char *p;        /* shared, whole file */
	char *q;        /* private, whole file */
};

/* A fresh pool with a file: pages 0-3 written (clean blocks), [4, 6)
 * MiB fallocated (a 2 MiB-aligned run), the rest holes. */
static int setup(struct setup *s, const char *tag, unsigned mb)
{
	char buf[4 * 4096];
	s->pool = t_pool(tag);
	s->fs = NULL;
	if (udax_mkfs(s->pool, (uint64_t)mb * MB, 0) || udax_mount(s->pool, NULL, &s->fs))
		return -1;
	s->fd = udax_open(s->fs, "/f", O_RDWR | O_CREAT, 0644);
	t_fill(buf, sizeof(buf), 7);
	if (s->fd < 0 || udax_pwrite(s->fs, s->fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    udax_ftruncate(s->fs, s->fd, FILE_SIZE) ||
	    udax_fallocate(s->fs, s->fd, 0, 4 * MB, 2 * MB))
		return -1;
	if (udax_mmap(s->fs, s->fd, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&s->p))
		return -1;
	if (udax_mmap(s->fs, s->fd, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, (void **)&s->q))
		return -1;
	return 0;
}

static int teardown(struct setup *s)
{
	int bad = 0;
	bad |= udax_munmap(s->fs, s->q, FILE_SIZE) != 0;
	bad |= udax_munmap(s->fs, s->p, FILE_SIZE) != 0;
	bad |= udax_close(s->fs, s->fd) != 0;
	bad |= udax_unmount(s->fs) != 0;
	bad |= t_fsck(s->pool) != 0;
	unlink(s->pool);
	return bad;
}

static struct setup S;
static volatile int sink;

static void f_read_hole(void)     { sink = S.p[100 * 4096 + 3]; }
static void f_write_hole(void)    { S.p[200 * 4096 + 5] = 11; }
static void f_read_block(void)    { sink = S.p[0]; }
static void f_write_clean(void)   { S.p[1 * 4096 + 9] = 12; }   /* mapped read-only by the read */
static void f_write_block(void)   { S.p[3 * 4096 + 9] = 13; }
static void f_pmd_read(void)      { sink = S.p[4 * MB + 77]; }
static void f_pmd_write(void)     { S.p[5 * MB + 1] = 14; }
static void f_pmd_zero(void)      { sink = S.p[2 * MB + 99]; }
static void f_write_in_zero(void) { S.p[2 * MB + 5 * 4096] = 15; }
static void f_priv_read(void)     { sink = S.q[2 * 4096]; }
static void f_priv_write(void)    { S.q[300 * 4096] = 16; }

static const struct fault {
	const char *name;
	void (*fn)(void);
} faults[] = {
	{ "read hole", f_read_hole },
	{ "write hole (allocates)", f_write_hole },
	{ "read block", f_read_block },
	{ "write clean block", f_write_clean },
	{ "write block", f_write_block },
	{ "PMD read", f_pmd_read },
	{ "PMD write", f_pmd_write },
	{ "PMD zero page", f_pmd_zero },
	{ "write in PMD zero", f_write_in_zero },
	{ "private read", f_priv_read },
	{ "private write", f_priv_write },
};
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

static void (*volatile usr1_fn)(void);

static void on_usr1(int sig)
{
	in_sig = 1;
	usr1_fn();
	in_sig = 0;
}

static void on_usr2(int sig)
{
	/* baseline: the kernel's frame and an empty handler */
}

static void check_results(void)
{
	char c;
	if (udax_pread(S.fs, S.fd, &c, 1, 200 * 4096 + 5) != 1 || c != 11) exit(20);
	if (udax_pread(S.fs, S.fd, &c, 1, 1 * 4096 + 9) != 1 || c != 12) exit(21);
	if (udax_pread(S.fs, S.fd, &c, 1, 3 * 4096 + 9) != 1 || c != 13) exit(22);
	if (udax_pread(S.fs, S.fd, &c, 1, 5 * MB + 1) != 1 || c != 14) exit(23);
	if (udax_pread(S.fs, S.fd, &c, 1, 2 * MB + 5 * 4096) != 1 || c != 15) exit(24);
	if (udax_pread(S.fs, S.fd, &c, 1, 300 * 4096) != 1 || c != 0) exit(25);  /* private */
	if (S.q[300 * 4096] != 16) exit(26);
	struct dax_inode *di = fd_get(S.fs, S.fd)->ip->upper;
	if (!(entry_peek(di, 1024) & E_PMD) || !(entry_peek(di, 1024) & E_DIRTY))
		exit(27);  /* the PMD fault did not take the PMD path */
	if (udax_fsync(S.fs, S.fd))
		exit(28);
}

/* In a child: every fault kind on an alternate stack of @size bytes,
 * taken directly (@nested 0) or from a SIGUSR1 handler on it (1). */
static void *fault_thread(void *arg)
{
	int nested = *(int *)arg;
	/* UDAX_SIGSAFE_ALTSTACK=<bytes> measures on another size (e.g. the
	 * depth of the old code, which overflows 8 KiB) */
	const char *env = getenv("UDAX_SIGSAFE_ALTSTACK");
	size_t size = env ? (size_t)atol(env) : SANITIZED ? 65536 : 8192;
	size_t worst = 0, base;

	if (alt_install(size) < 0)
		exit(10);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	alt_fill();
	raise(SIGUSR2);
	base = alt_used();
	for (size_t k = 0; k < NFAULTS; k++) {
		alt_fill();
		if (nested) {
			usr1_fn = faults[k].fn;
			raise(SIGUSR1);
		} else {
			in_sig = 1;
			faults[k].fn();
			in_sig = 0;
		}
		size_t u = alt_used();
		printf("    %-24s %5zu bytes of the %zu-byte alternate stack\n", faults[k].name, u, size);
		if (u > worst)
			worst = u;
	}
	printf("    worst %zu bytes; kernel frame + empty handler %zu; %s%zu bytes beyond that\n",
	       worst, base, nested ? "two frames, udax and the SIGUSR1 handler: " : "udax: ",
	       worst - base);
	if (!SANITIZED && !nested && worst - base > UDAX_FAULT_STACK_BUDGET)
		exit(11);
	check_results();
	return NULL;
}

static int run_in_child(void (*fn)(void *), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "    child killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
		return -1;
	}
	if (WEXITSTATUS(st))
		fprintf(stderr, "    child exited with status %d\n", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

static void child_faults(void *arg)
{
	pthread_t t;
	if (setup(&S, ((int *)arg)[0] ? "nested" : "direct", 64) < 0)
		exit(2);
	atomic_store(&allocs_in_sig, 0);
	/* a fresh thread: the stack it installs is its own */
	if (pthread_create(&t, NULL, fault_thread, arg) || pthread_join(t, NULL))
		exit(3);
	long n = atomic_load(&allocs_in_sig);
	if (!SANITIZED && n) {
		fprintf(stderr, "    %ld allocations while serving faults from a signal handler\n", n);
		exit(4);
	}
	if (teardown(&S))
		exit(5);
}

static void test_faults_on_small_altstack(void)
{
	int nested = 0;
	if (SANITIZED)
		printf("    sanitizer build: 64 KiB alternate stack, no allocation count\n");
	CHECK_EQ(run_in_child(child_faults, &nested), 0);
}

static void test_faults_from_handler_on_altstack(void)
{
	int nested = 1;
	if (TSAN) {
		printf("    skipped under ThreadSanitizer (it runs signal handlers with SIGSEGV blocked)\n");
		return;
	}
	CHECK_EQ(run_in_child(child_faults, &nested), 0);
}

/* ---- (b) faults from a timer handler that interrupts malloc ---- */

#define NPAGES 4000u                /* hole pages, one allocating fault each */
#define FIRST_PAGE 2048u            /* from 8 MiB on: all hole */
/* Every other page: each fault adds an extent of its own, so faults
 * also fill leaves, add new ones and grow the leaf array. */
#define PAGE_OF(k) ((size_t)(FIRST_PAGE + 2 * (k)))
#define RUN_NS (3ull * 1000000000)  /* at most this long */
static _Atomic unsigned next_page, served;
static _Atomic int stop_malloc, malloc_done;

static void on_timer(int sig)
{
	unsigned k = atomic_fetch_add(&next_page, 1);
	if (k >= NPAGES)
		return;
	in_sig = 1;
	S.p[PAGE_OF(k) * 4096 + (k % 4000)] = (char)(k | 1);
	in_sig = 0;
	atomic_fetch_add(&served, 1);
}

static void *malloc_loop(void *arg)
{
	void *live[64] = { 0 };
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	uint64_t x = 88172645463325252ull;
	while (!atomic_load(&stop_malloc)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned i = (unsigned)(x % 64);
		free(live[i]);
		size_t n = (x >> 8) % 4 == 0 ? 2000 + (x >> 16) % 60000 : 8 + (x >> 16) % 600;
		live[i] = malloc(n);
		if (live[i])
			((char *)live[i])[0] = 1;
	}
	for (unsigned i = 0; i < 64; i++)
		free(live[i]);
	atomic_store(&malloc_done, 1);
	return NULL;
}

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void child_malloc_timer(void *arg)
{
	pthread_t t;
	if (setup(&S, "timer", 64) < 0)
		exit(2);
	struct sigaction sa = { .sa_handler = on_timer, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);   /* only the malloc thread takes it */
	atomic_store(&allocs_in_sig, 0);
	if (pthread_create(&t, NULL, malloc_loop, NULL))
		exit(3);
	/* This thread is the ticker and the monitor: it aims the signal at
	 * the malloc thread every 50-200 us and watches progress. */
	alarm(60);               /* last resort: SIGALRM's default kills us */
	uint64_t t0 = now(), last_progress = t0;
	unsigned last = 0;
	while (atomic_load(&served) < NPAGES && now() - t0 < RUN_NS) {
		pthread_kill(t, SIGRTMIN);
		struct timespec d = { 0, 50000 + (long)(now() % 150000) };
		nanosleep(&d, NULL);
		unsigned s = atomic_load(&served);
		if (s != last) {
			last = s;
			last_progress = now();
		} else if (now() - last_progress > 2ull * 1000000000) {
			fprintf(stderr, "    hang: no fault served for 2 s after %u (malloc lock?)\n", s);
			_exit(7);
		}
	}
	atomic_store(&stop_malloc, 1);
	for (uint64_t t1 = now(); !atomic_load(&malloc_done);) {
		struct timespec d = { 0, 1000000 };
		nanosleep(&d, NULL);
		if (now() - t1 > 5ull * 1000000000) {
			fprintf(stderr, "    hang: the malloc thread is stuck (in a fault served "
			        "from a handler that interrupted malloc?)\n");
			_exit(7);
		}
	}
	pthread_join(t, NULL);
	unsigned n = atomic_load(&served);
	struct inode *ip = fd_get(S.fs, S.fd)->ip;
	printf("    %u allocating faults served from a handler interrupting malloc/free; "
	       "%llu extents in %u leaves\n", n, (unsigned long long)ip->d.nextents, ip->xm.n);
	if (n < 100)
		exit(8);
	for (unsigned k = 0; k < n; k++)
		if (S.p[PAGE_OF(k) * 4096 + (k % 4000)] != (char)(k | 1))
			exit(9);
	long a = atomic_load(&allocs_in_sig);
	if (!SANITIZED && a) {
		fprintf(stderr, "    %ld allocations while serving faults from a signal handler\n", a);
		exit(4);
	}
	/* and unmap them all again: unmap steps of 64 extents over the
	 * fragmented leaves stay within the transaction's bounds (meta.h;
	 * asserted in debug builds), fsck checks the result */
	if (udax_fsync(S.fs, S.fd) || udax_ftruncate(S.fs, S.fd, 0) || teardown(&S))
		exit(5);
}

static void test_fault_in_handler_interrupting_malloc(void)
{
	if (TSAN) {
		printf("    skipped under ThreadSanitizer (it runs signal handlers with SIGSEGV blocked)\n");
		return;
	}
	CHECK_EQ(run_in_child(child_malloc_timer, NULL), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_faults_on_small_altstack);
	RUN(test_faults_from_handler_on_altstack);
	RUN(test_fault_in_handler_interrupting_malloc);
	return t_summary();
}
