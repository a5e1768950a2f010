/*
 * test_xproc.c - the founding race and its neighbours played by two
 * PROCESSES, deterministically: schedule points shared between the
 * processes (util/sched.c, sched_share) stop one process's pwrite
 * between its allocation and its cross-process zero-page eviction while
 * the other process stores through its mapping.
 *
 * Each test forks two children that mount the pool themselves (a mount
 * never crosses fork) and a parent that orders them through a shared
 * page: step counters the children wait on, and the schedule points.
 *
 *   xproc_seed        P0 read-faults the hole (zero page); P1's pwrite
 *                     allocates and stops before its eviction reaches
 *                     P0; P0 stores (write fault: it must find P1's
 *                     block, and its entry is dirty); P1's eviction
 *                     runs in P0 (rule c: the dirty entry stays); P0
 *                     fsyncs; the shadow image (shared by both) is the
 *                     power cut; remounted, P0's store is there.
 *                     Mutant DROP_DIRTY (the 2016 invalidation) fails.
 *   xproc_zero_evicted P0 maps a hole, P1 pwrites it, P0 reads through
 *                     its mapping: P1's bytes, not the zero page.
 *                     Mutant NO_SHOOTDOWN fails.
 *   xproc_zero_evicted_range  the same, P1 under write_lock=range.
 *   xproc_grow        P0 maps past EOF; P1 extends the file; P0 reads
 *                     the new bytes (no SIGBUS from a stale size).
 *                     Mutant STALE_CACHE fails.
 *   xproc_truncate    P0 maps and reads a block; P1 truncates to 0 and
 *                     writes new data; P0 sees the new data, never the
 *                     old block's bytes.
 *   xproc_fault_window P0's read fault on a hole stops after it made its
 *                     copies current and before it locks the entry; P1
 *                     pwrites the hole (its eviction finds no entry in
 *                     P0); P0's fault goes on: it must map P1's block,
 *                     not a zero page nobody will evict.  Mutant
 *                     VALIDATE_EARLY (copies checked only at the fault's
 *                     start) fails.
 *   xproc_shoot_latency  2000 cross-process evictions; prints the
 *                     shootdown latency p50/p99 (the region's histogram).
 *   xproc_stopped_target  P0 is stopped (SIGSTOP) with a zero page
 *                     mapped; P1's pwrite waits for it, says so once on
 *                     stderr, and finishes after SIGCONT.
 *   xproc_writeback   P0 stores through its mapping; P1 fsyncs (rule d
 *                     across processes: P0's agent write-protects and
 *                     flushes); the shadow image has P0's store.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "t.h"
#include "util/sched.h"
#include "api/fs.h"

struct shared {
	_Atomic int step;
	_Atomic int failed;
	char msg[256];
};
static struct shared *sh;
static void *sched_page;
static const char *pool;
static char img[256];

static void wait_step(int s)
{
	for (int i = 0; i < 20000 && atomic_load(&sh->step) < s; i++)
		usleep(500);
	if (atomic_load(&sh->step) < s) {
		fprintf(stderr, "  child %d: timed out waiting for step %d\n", (int)getpid(), s);
		_exit(9);
	}
}

static void set_step(int s)
{
	atomic_store(&sh->step, s);
}

#define CFAIL(...) do { snprintf(sh->msg, sizeof(sh->msg), __VA_ARGS__); \
	fprintf(stderr, "  child %d: %s\n", (int)getpid(), sh->msg); \
	atomic_store(&sh->failed, 1); _exit(1); } while (0)

static void setup(const char *tag, uint64_t size)
{
	pool = t_pool(tag);
	snprintf(img, sizeof(img), "%s.img", pool);
	memset(sh, 0, sizeof(*sh));
	memset(sched_page, 0, 4096);
	udax_fs *fs;
	if (udax_mkfs(pool, 16ull << 20, 0) || udax_mount(pool, NULL, &fs)) {
		fprintf(stderr, "setup: %s\n", udax_last_error());
		exit(2);
	}
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_ftruncate(fs, fd, (off_t)size);
	udax_close(fs, fd);
	udax_unmount(fs);
}

static udax_fs *child_mount(int *fd, const char *opts)
{
	udax_fs *fs;
	alarm(60);
	if (udax_mount(pool, opts, &fs))
		CFAIL("mount: %s", udax_last_error());
	*fd = udax_open(fs, "/f", O_RDWR, 0);
	if (*fd < 0)
		CFAIL("open: %d", *fd);
	return fs;
}

static int wait_child(pid_t pid)
{
	int status = 0;
	for (int i = 0; i < 1200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 99;
}

/* The byte at @off of /f in the pool image @path (mounted read-write:
 * a power-cut image may need its journal replayed). */
static int image_byte(const char *path, off_t off, char *c)
{
	udax_fs *fs;
	if (udax_mount(path, NULL, &fs))
		return -1;
	int fd = udax_open(fs, "/f", O_RDONLY, 0);
	ssize_t n = fd >= 0 ? udax_pread(fs, fd, c, 1, off) : -1;
	udax_unmount(fs);
	return n == 1 ? 0 : -1;
}

/* ---- xproc_seed ---- */

static void seed_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, "shadow");
	char *p;
	if (udax_mmap(fs, fd, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap: %s", udax_last_error());
	if (p[0] != 0)
		CFAIL("hole reads %d", p[0]);     /* read fault: zero page */
	set_step(1);
	wait_step(3);                          /* P1's pwrite stopped before eviction */
	p[0] = 'A';                            /* write fault */
	set_step(4);
	wait_step(5);                          /* P1's pwrite finished */
	if (p[0] != 'A' || p[1] != 'B')
		CFAIL("after the pwrite: %c%c", p[0], p[1]);
	if (udax_fsync(fs, fd))
		CFAIL("fsync");
	if (udax_shadow_save(fs, img))
		CFAIL("shadow save: %s", udax_last_error());
	udax_munmap(fs, p, 8192);
	udax_close(fs, fd);
	udax_unmount(fs);
	_exit(0);
}

static void seed_p1(void)
{
	int fd;
	char buf[4096];
	wait_step(1);
	udax_fs *fs = child_mount(&fd, "shadow");
	memset(buf, 'B', sizeof(buf));
	sched_arm("remote:before-evict");
	set_step(2);                           /* armed */
	if (udax_pwrite(fs, fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		CFAIL("pwrite");
	set_step(5);
	wait_step(6);
	udax_close(fs, fd);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_seed(void)
{
	setup("seed", 8192);
	pid_t a = fork();
	if (a == 0)
		seed_p0();
	pid_t b = fork();
	if (b == 0)
		seed_p1();
	/* steps only grow: 1 P0 mapped the zero page, 2 P1 armed, 3 P0
	 * may store, 4 P0 stored, 5 P1's pwrite returned, 6 P1 may go */
	wait_step(2);
	CHECK_EQ(sched_wait("remote:before-evict", 20000), 0);
	set_step(3);                           /* P0 stores now */
	wait_step(4);
	sched_release("remote:before-evict");  /* the eviction reaches P0 */
	wait_step(5);
	set_step(6);
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	char c = 0;
	CHECK_EQ(image_byte(img, 0, &c), 0);
	CHECK_EQ(c, 'A');                      /* the store survived the power cut */
	CHECK_EQ(image_byte(img, 1, &c), 0);
	CHECK_EQ(c, 'B');
	CHECK_EQ(t_fsck(img), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(img);
	unlink(pool);
}

/* ---- xproc_zero_evicted ---- */

static void zero_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, NULL);
	volatile char *p;
	if (udax_mmap(fs, fd, 8192, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	if (p[4096] != 0)
		CFAIL("hole reads %d", p[4096]);
	set_step(1);
	wait_step(2);
	if (p[4096] != 'Z' || p[8191] != 'Z')
		CFAIL("after the other process's pwrite the mapping shows %d, not 'Z'", p[4096]);
	udax_munmap(fs, (void *)p, 8192);
	udax_unmount(fs);
	_exit(0);
}

static const char *zero_opts;

static void zero_p1(void)
{
	int fd;
	char buf[4096];
	wait_step(1);
	udax_fs *fs = child_mount(&fd, zero_opts);
	memset(buf, 'Z', sizeof(buf));
	if (udax_pwrite(fs, fd, buf, sizeof(buf), 4096) != (ssize_t)sizeof(buf))
		CFAIL("pwrite");
	set_step(2);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_zero_evicted(void)
{
	setup("zero", 8192);
	zero_opts = NULL;
	pid_t a = fork();
	if (a == 0)
		zero_p0();
	pid_t b = fork();
	if (b == 0)
		zero_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	unlink(pool);
}

/* The same with the writer under write_lock=range: it drops its own
 * zero pages when it unlocks the range, and must still reach P0's. */
static void xproc_zero_evicted_range(void)
{
	setup("zerorange", 8192);
	zero_opts = "write_lock=range";
	pid_t a = fork();
	if (a == 0)
		zero_p0();
	pid_t b = fork();
	if (b == 0)
		zero_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	unlink(pool);
}

/* ---- xproc_grow ---- */

static sigjmp_buf jb;
static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void grow_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, NULL);
	volatile char *p;
	if (udax_mmap(fs, fd, 16384, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	(void)p[0];
	set_step(1);
	wait_step(2);
	signal(SIGBUS, on_bus);
	if (sigsetjmp(jb, 1))
		CFAIL("SIGBUS reading what the other process appended");
	if (p[8192] != 'G')
		CFAIL("appended page reads %d", p[8192]);
	udax_unmount(fs);
	_exit(0);
}

static void grow_p1(void)
{
	int fd;
	char buf[4096];
	wait_step(1);
	udax_fs *fs = child_mount(&fd, NULL);
	memset(buf, 'G', sizeof(buf));
	if (udax_pwrite(fs, fd, buf, sizeof(buf), 8192) != (ssize_t)sizeof(buf))
		CFAIL("pwrite");
	set_step(2);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_grow(void)
{
	setup("grow", 4096);
	pid_t a = fork();
	if (a == 0)
		grow_p0();
	pid_t b = fork();
	if (b == 0)
		grow_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	unlink(pool);
}

/* ---- xproc_truncate ---- */

static void trunc_p0(void)
{
	int fd;
	char buf[4096];
	udax_fs *fs = child_mount(&fd, NULL);
	memset(buf, 'O', sizeof(buf));
	udax_pwrite(fs, fd, buf, sizeof(buf), 0);
	volatile char *p;
	if (udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	if (p[0] != 'O')
		CFAIL("old data reads %d", p[0]);
	set_step(1);
	wait_step(2);
	if (p[0] != 'N' || p[4095] != 'N')
		CFAIL("after truncate + pwrite elsewhere the mapping shows %d, not 'N'", p[0]);
	udax_unmount(fs);
	_exit(0);
}

static void trunc_p1(void)
{
	int fd;
	char buf[8192];
	wait_step(1);
	udax_fs *fs = child_mount(&fd, NULL);
	if (udax_ftruncate(fs, fd, 0))
		CFAIL("truncate");
	/* a larger write, so the allocator is unlikely to hand back the
	 * old block at the old place */
	memset(buf, 'X', sizeof(buf));
	int fd2 = udax_open(fs, "/other", O_RDWR | O_CREAT, 0644);
	udax_pwrite(fs, fd2, buf, sizeof(buf), 0);
	memset(buf, 'N', sizeof(buf));
	if (udax_pwrite(fs, fd, buf, 4096, 0) != 4096)
		CFAIL("pwrite");
	set_step(2);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_truncate(void)
{
	setup("trunc", 4096);
	pid_t a = fork();
	if (a == 0)
		trunc_p0();
	pid_t b = fork();
	if (b == 0)
		trunc_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

/* ---- xproc_fault_window ---- */

static void window_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, NULL);
	volatile char *p;
	if (udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	set_step(1);
	char c = p[0];                         /* stops at fault:validated */
	if (c != 'W')
		CFAIL("the fault mapped %d, not the other process's block ('W')", c);
	if (p[4095] != 'W')
		CFAIL("end of page reads %d", p[4095]);
	udax_unmount(fs);
	_exit(0);
}

static void window_p1(void)
{
	int fd;
	char buf[4096];
	udax_fs *fs = child_mount(&fd, NULL);
	set_step(2);
	wait_step(3);
	memset(buf, 'W', sizeof(buf));
	if (udax_pwrite(fs, fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		CFAIL("pwrite");
	set_step(4);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_fault_window(void)
{
	setup("window", 4096);
	sched_arm("fault:validated");
	pid_t b = fork();
	if (b == 0)
		window_p1();
	wait_step(2);                          /* P1 mounted first: P0's fault is the only one */
	pid_t a = fork();
	if (a == 0)
		window_p0();
	CHECK_EQ(sched_wait("fault:validated", 20000), 0);
	set_step(3);                           /* P1 fills the hole now */
	wait_step(4);
	sched_release("fault:validated");
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	unlink(pool);
}

/* ---- xproc_shoot_latency: figures, not a pass/fail bound ---- */

#define SHOOT_PAGES 2000

static void lat_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, NULL);
	volatile char *p;
	if (udax_mmap(fs, fd, (size_t)SHOOT_PAGES * 4096, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	for (int i = 0; i < SHOOT_PAGES; i++)
		(void)p[(size_t)i * 4096];         /* a zero page each */
	set_step(1);
	wait_step(2);
	for (int i = 0; i < SHOOT_PAGES; i++)
		if (p[(size_t)i * 4096] != 'L')
			CFAIL("page %d not evicted", i);
	udax_unmount(fs);
	_exit(0);
}

static void lat_p1(void)
{
	int fd;
	char buf[4096];
	wait_step(1);
	udax_fs *fs = child_mount(&fd, NULL);
	memset(buf, 'L', sizeof(buf));
	for (int i = 0; i < SHOOT_PAGES; i++)
		if (udax_pwrite(fs, fd, buf, sizeof(buf), (off_t)i * 4096) != (ssize_t)sizeof(buf))
			CFAIL("pwrite %d", i);
	uint64_t p50, p99, n;
	rt_shoot_latency(&fs->m.rt, &p50, &p99, &n);
	printf("  shootdown (pwrite into a hole another process maps as the zero page): "
	       "%llu requests, p50 <= %.1f us, p99 <= %.1f us\n", (unsigned long long)n,
	       p50 / 1000.0, p99 / 1000.0);
	fflush(stdout);
	set_step(2);
	if (n < SHOOT_PAGES)
		CFAIL("only %llu shootdowns for %d fills", (unsigned long long)n, SHOOT_PAGES);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_shoot_latency(void)
{
	setup("latency", (uint64_t)SHOOT_PAGES * 4096);
	pid_t a = fork();
	if (a == 0)
		lat_p0();
	pid_t b = fork();
	if (b == 0)
		lat_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	unlink(pool);
}

/* ---- xproc_stopped_target ---- */

static void stop_p0(void)
{
	int fd;
	udax_fs *fs = child_mount(&fd, NULL);
	volatile char *p;
	if (udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	if (p[0] != 0)
		CFAIL("hole reads %d", p[0]);
	set_step(1);
	wait_step(3);                          /* stopped and continued meanwhile */
	if (p[0] != 'S')
		CFAIL("after the other process's pwrite the mapping shows %d", p[0]);
	udax_unmount(fs);
	_exit(0);
}

static void stop_p1(const char *errpath)
{
	int fd;
	char buf[4096];
	int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(e, 2);
	udax_fs *fs = child_mount(&fd, NULL);
	memset(buf, 'S', sizeof(buf));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	set_step(2);
	if (udax_pwrite(fs, fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		CFAIL("pwrite");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (s < 2.5)
		CFAIL("the pwrite returned after %.2f s, while the target was stopped", s);
	set_step(3);
	udax_unmount(fs);
	_exit(0);
}

/* A target stopped with SIGSTOP blocks the requester (a block may not be
 * freed, a zero page not left, while the target may still map it): the
 * requester says so once on stderr and keeps waiting until SIGCONT. */
static void xproc_stopped_target(void)
{
	char errpath[300];
	setup("stopped", 4096);
	snprintf(errpath, sizeof(errpath), "%s.err", pool);
	pid_t a = fork();
	if (a == 0)
		stop_p0();
	wait_step(1);
	kill(a, SIGSTOP);
	pid_t b = fork();
	if (b == 0)
		stop_p1(errpath);
	wait_step(2);
	sleep(3);
	CHECK_EQ(atomic_load(&sh->step), 2);   /* still waiting for the stopped one */
	kill(a, SIGCONT);
	CHECK_EQ(wait_child(b), 0);
	CHECK_EQ(wait_child(a), 0);
	char msg[1024] = "";
	int e = open(errpath, O_RDONLY);
	ssize_t n = e >= 0 ? read(e, msg, sizeof(msg) - 1) : -1;
	if (n > 0)
		msg[n] = 0;
	if (e >= 0)
		close(e);
	CHECK(strstr(msg, "has not answered a shootdown") != NULL);
	unlink(errpath);
	unlink(pool);
}

/* ---- xproc_writeback ---- */

static void wb_p0(void)
{
	int fd;
	char buf[4096];
	udax_fs *fs = child_mount(&fd, "shadow");
	memset(buf, 'o', sizeof(buf));
	udax_pwrite(fs, fd, buf, sizeof(buf), 0);
	udax_fsync(fs, fd);
	char *p;
	if (udax_mmap(fs, fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p))
		CFAIL("mmap");
	p[100] = 'S';                          /* dirty, in this process only */
	set_step(1);
	wait_step(2);                          /* the other process fsynced */
	if (udax_shadow_save(fs, img))
		CFAIL("save");
	set_step(3);
	udax_unmount(fs);
	_exit(0);
}

static void wb_p1(void)
{
	int fd;
	wait_step(1);
	udax_fs *fs = child_mount(&fd, "shadow");
	if (udax_fsync(fs, fd))
		CFAIL("fsync");
	set_step(2);
	wait_step(3);
	udax_unmount(fs);
	_exit(0);
}

static void xproc_writeback(void)
{
	setup("wb", 4096);
	pid_t a = fork();
	if (a == 0)
		wb_p0();
	pid_t b = fork();
	if (b == 0)
		wb_p1();
	CHECK_EQ(wait_child(a), 0);
	CHECK_EQ(wait_child(b), 0);
	char c = 0;
	CHECK_EQ(image_byte(img, 100, &c), 0);
	CHECK_EQ(c, 'S');
	unlink(img);
	unlink(pool);
}

int main(int argc, char **argv)
{
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sched_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sched_share(sched_page);
	const char *only = argc > 1 ? argv[1] : NULL;
#define RUN_IF(fn) do { if (!only || !strcmp(only, #fn)) RUN(fn); } while (0)
	RUN_IF(xproc_seed);
	RUN_IF(xproc_zero_evicted);
	RUN_IF(xproc_zero_evicted_range);
	RUN_IF(xproc_grow);
	RUN_IF(xproc_truncate);
	RUN_IF(xproc_fault_window);
	RUN_IF(xproc_writeback);
	RUN_IF(xproc_shoot_latency);
	RUN_IF(xproc_stopped_target);
	return t_summary();
}
