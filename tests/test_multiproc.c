/*
 * test_multiproc.c - several processes with one pool mounted read-write
 * at once (the shared runtime region).  Public API only (udax.h), plus
 * fork/waitpid/kill and anonymous shared memory for coordination.
 *
 *   mp_mount_many      2, 4, 8 children (long: up to 64) mount one pool
 *                      at once, each writes, fsyncs and reads back its
 *                      own file and reads every sibling's; meanwhile
 *                      mkfs --force and fsck --repair from the parent
 *                      get EBUSY and leave the pool byte for byte as it
 *                      was, a read-only fsck runs (live); afterwards
 *                      the parent finds every file, a clean pool, fsck
 *                      clean, and mkfs --force works again
 *   mp_stress          P processes x T threads on one 8 MiB file: mapped
 *                      stores and loads, pread, pwrite, punch hole,
 *                      fsync/msync, each writer on its own 16 KiB chunks
 *                      against a per-byte model in shared memory; a
 *                      truncate phase between rounds (one process
 *                      shrinks and regrows while the others wait); beside
 *                      it a ping-pong between neighbouring processes:
 *                      A's mapped store into a hole that B has mapped as
 *                      the zero page must reach B's pread and B's
 *                      mapping, B's pwrite into a hole A has mapped must
 *                      reach A's mapping, A's punch must empty B's
 *                      mapping.  Every byte checked by every process
 *                      (pread and mapping), by the parent, and after a
 *                      remount; ops/s per operation kind reported
 *   mp_truncate_vs_map A maps 1 MiB and reads every page; B truncates to
 *                      0 and pwrites new data: A's mapping must show the
 *                      new data (not stale bytes, not zeros), zeros past
 *                      EOF in the last page, SIGBUS beyond it (and none
 *                      after B regrows the file); B's pread sees A's
 *                      mapped store.  First as two threads of one mount
 *                      (the same-process baseline), then as two processes
 *   mp_kill            two survivors loop pwrite/mapped store + fsync on
 *                      their own files while a victim, forked again each
 *                      round, mounts, works (mapped stores, pwrite,
 *                      fsync, truncate, punch, create/rename/unlink) and
 *                      is SIGKILLed at a random moment; per round the
 *                      time until each survivor completes an fsync it
 *                      started after the kill (stall: max and p99, each
 *                      under 5 s); at the end every survivor's last
 *                      fsync'ed content is intact and fsck is clean
 *   mp_bad_region      the runtime region /dev/shm/udax-UUID-DEV-INO.rt:
 *                      garbage, a short file, another pool's region or a
 *                      stale copy of the pool's own with nobody mounted:
 *                      mount rebuilds it, data intact; a symbolic link
 *                      planted there is never written through; with a
 *                      process attached, a corrupt header makes a
 *                      second mount fail with EBUSY naming the runtime
 *                      region, and restoring it lets mounts in again
 *   mp_fork_after_map  a child of fork() that mounts a pool itself can
 *                      fault on its own new mapping, also when its parent
 *                      used udax_mmap before (or still has a mapping)
 *
 * Usage: test_multiproc [-l] [NAME...]
 *   -l (or UDAX_MP_LONG=1): the long versions (see docs/testing.md);
 *   NAME: run only these tests.  UDAX_CRASH_LIGHT (sanitizer builds)
 *   scales the operation counts down.  Knobs (override default and
 *   long): UDAX_MP_COUNTS=2,4,8 (mp_mount_many), UDAX_MP_PROCS,
 *   UDAX_MP_THREADS, UDAX_MP_ROUNDS, UDAX_MP_OPS (per thread and round),
 *   UDAX_MP_PING, UDAX_MP_MODES=entry,range (mp_stress),
 *   UDAX_MP_TV_ROUNDS, UDAX_MP_KILL_ROUNDS, UDAX_MP_SURVIVORS=0..2.
 *   With UDAX_MP_COUNTS=1 UDAX_MP_PROCS=1 UDAX_MP_SURVIVORS=0 the tests
 *   need only one mount at a time (a check of the tests themselves).
 *
 * Children report failures on stderr ("[role N, pid P] ...") and by
 * exit status; every wait between processes is bounded (alarm() in the
 * children, timed waitpid loops in the parent).  A udax mount is never
 * used across fork(): the parent forks only while it has nothing
 * mounted, and each child mounts the pool itself.
 */
#include "t.h"

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define PG 4096u
#define MiB (1u << 20)
#define MAXCHILD 64

static int long_mode;  /* -l / UDAX_MP_LONG=1 */
static int light;      /* UDAX_CRASH_LIGHT: sanitizer builds, fewer operations */
static int wait_ms;    /* the bound of every wait between processes */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A numeric knob from the environment, or @def. */
static long env_long(const char *name, long def)
{
	const char *e = getenv(name);
	return e && *e ? atol(e) : def;
}

static uint64_t xr(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Anonymous shared memory, made before fork: every child sees it. */
static void *shm_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n);
	return p;
}

static long first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	if (!memcmp(a, b, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

static long first_nonzero(const unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return (long)i;
	return -1;
}

/* Read @n bytes of the (kernel) file @path into @buf. */
static int read_whole(const char *path, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)done);
		if (r <= 0) {
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

static int write_whole(const char *path, const void *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t r = write(fd, buf, n);
	close(fd);
	return r == (ssize_t)n ? 0 : -EIO;
}

/* Files this program creates under /dev/shm (pools, a link target),
 * removed at exit however a test ended (a REQUIRE returns early). */
static char made[32][256];
static int nmade;

static const char *remember(const char *path)
{
	if (nmade < 32)
		snprintf(made[nmade++], sizeof(made[0]), "%s", path);
	return path;
}

static const char *mp_pool(const char *tag)
{
	return remember(t_pool(tag));
}

static void remove_made(void)
{
	for (int i = 0; i < nmade; i++)
		unlink(made[i]);
}

/* ------------------------------------------------------------------ */
/* Children: roles, failure reports, barriers, spawning and reaping   */
/* ------------------------------------------------------------------ */

static char c_role[48] = "parent";
static _Atomic int c_fails;
static _Atomic int *c_abort;    /* the running test's shared abort flag */

static void cfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cfail(const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "  [%s, pid %d] ", c_role, (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	size_t len = strlen(buf);
	buf[len++] = '\n';
	(void)!write(2, buf, len);
	atomic_fetch_add(&c_fails, 1);
	if (c_abort)
		atomic_store(c_abort, 1);
}

#define CC(c) do { if (!(c)) cfail("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

/* Parent: the children whose death (before they are reaped) ends a
 * wait at once instead of at its timeout. */
static const pid_t *watch;
static int nwatch;

static int watch_dead(void)
{
	for (int i = 0; i < nwatch; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (watch[i] > 0 && waitid(P_PID, (id_t)watch[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == watch[i])
			return 1;
	}
	return 0;
}

static void watch_set(const pid_t *pids, int n)
{
	watch = pids;
	nwatch = n;
}

/* In a wait loop: 1 if it must end (abort set, or a watched child gone). */
static int wait_over(_Atomic int *abort, unsigned i, const char *what)
{
	if (abort && atomic_load(abort))
		return 1;
	if (watch && i % 64 == 63 && watch_dead()) {
		cfail("%s: a child exited while we waited", what);
		if (abort)
			atomic_store(abort, 1);
		return 1;
	}
	return 0;
}

/* A barrier between threads of several processes (in shared memory). */
struct barrier {
	_Atomic unsigned count, gen;
	unsigned n;
};

static int bar_wait(struct barrier *b, _Atomic int *abort)
{
	unsigned g = atomic_load(&b->gen);
	if (atomic_fetch_add(&b->count, 1) + 1 == b->n) {
		atomic_store(&b->count, 0);
		atomic_fetch_add(&b->gen, 1);
		return 0;
	}
	uint64_t end = now_ns() + (uint64_t)wait_ms * 1000000ull;
	for (unsigned i = 0; atomic_load(&b->gen) == g; i++) {
		if (wait_over(abort, i, "barrier"))
			return -1;
		if (now_ns() > end) {
			cfail("barrier: timed out after %d ms (%u of %u there)", wait_ms,
			      atomic_load(&b->count), b->n);
			if (abort)
				atomic_store(abort, 1);
			return -1;
		}
		if (i < 200)
			sched_yield();
		else
			sleep_us(100);
	}
	return 0;
}

/* Wait until *@w >= @v (a step counter that only grows). */
static int wait_step(_Atomic unsigned *w, unsigned v, _Atomic int *abort, const char *what)
{
	uint64_t end = now_ns() + (uint64_t)wait_ms * 1000000ull;
	for (unsigned i = 0; atomic_load(w) < v; i++) {
		if (wait_over(abort, i, what))
			return -1;
		if (now_ns() > end) {
			cfail("%s: timed out waiting for step %u (at %u)", what, v, atomic_load(w));
			return -1;
		}
		if (i < 200)
			sched_yield();
		else
			sleep_us(50);
	}
	return 0;
}

typedef int (*child_fn)(void *arg, int idx);

/* fork a child that runs @fn(@arg, @idx) and exits with its result (1
 * if it returned 0 but reported a failure).  SIGALRM ends a child that
 * hangs. */
static pid_t spawn(const char *role, int idx, child_fn fn, void *arg, _Atomic int *abort)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	snprintf(c_role, sizeof(c_role), "%s %d", role, idx);
	c_abort = abort;
	watch_set(NULL, 0);
	atomic_store(&c_fails, 0);
	signal(SIGALRM, SIG_DFL);
	alarm((unsigned)(wait_ms / 1000 + 60));
	int r = fn(arg, idx);
	if (r == 0 && atomic_load(&c_fails))
		r = 1;
	_exit(r);
}

static int judge(pid_t pid, int st, const char *what, int i)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		fprintf(stderr, "  %s %d (pid %d) exited with status %d\n", what, i, (int)pid,
		        WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fprintf(stderr, "  %s %d (pid %d) killed by signal %d (%s)\n", what, i, (int)pid,
		        WTERMSIG(st), strsignal(WTERMSIG(st)));
	return 1;
}

/* Wait for @pid at most @ms; SIGKILL it then.  0 and *@st, or -1. */
static int wait_for(pid_t pid, int ms, int *st)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;
	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			while (waitpid(pid, st, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		sleep_us(500);
	}
}

/* Wait for @n children, at most @ms in all (SIGKILL for the ones still
 * running then); each must exit 0.  Returns how many did not. */
static int reap(const pid_t *pid, int n, int ms, const char *what, _Atomic int *abort)
{
	int bad = 0, left = 0;
	char done[MAXCHILD * 2 + 8] = { 0 };
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;

	watch_set(NULL, 0);

	for (int i = 0; i < n; i++) {
		if (pid[i] <= 0) {
			done[i] = 1;
			bad++;
		} else {
			left++;
		}
	}
	while (left) {
		for (int i = 0; i < n; i++) {
			int st;
			if (done[i])
				continue;
			pid_t r = waitpid(pid[i], &st, WNOHANG);
			if (r == pid[i]) {
				bad += judge(pid[i], st, what, i);
				done[i] = 1;
				left--;
			} else if (r < 0 && errno != EINTR) {
				fprintf(stderr, "  %s %d: waitpid: %s\n", what, i, strerror(errno));
				done[i] = 1;
				left--;
				bad++;
			}
		}
		if (left && now_ns() > end) {
			if (abort)
				atomic_store(abort, 1);
			for (int i = 0; i < n; i++) {
				int st;
				if (done[i])
					continue;
				kill(pid[i], SIGKILL);
				while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
					;
				fprintf(stderr, "  %s %d (pid %d) still running after %d ms: killed\n", what,
				        i, (int)pid[i], ms);
				bad++;
				done[i] = 1;
				left--;
			}
		}
		if (left)
			sleep_us(1000);
	}
	return bad;
}

/* ------------------------------------------------------------------ */
/* The runtime region's name                                          */
/* ------------------------------------------------------------------ */

/* struct dsuper (src/media/layout.h): magic[8], six uint32_t, uuid[16] */
#define SB_UUID_OFF 32

/* The runtime region of @pool: /dev/shm/udax-UUID-DEV-INO.rt, the uuid
 * in 32 lowercase hex digits from the superblock, st_dev and st_ino of
 * the pool file in lowercase hex.  @uuid (may be NULL) receives the
 * uuid.  0 or -errno. */
static int region_path(const char *pool, char *out, size_t n, uint8_t *uuid)
{
	struct stat st;
	unsigned char sb[512];
	char hex[33];

	if (stat(pool, &st) < 0)
		return -errno;
	int r = read_whole(pool, sb, sizeof(sb));
	if (r)
		return r;
	if (memcmp(sb, "UDAXPOOL", 8))
		return -EINVAL;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", sb[SB_UUID_OFF + i]);
	if (uuid)
		memcpy(uuid, sb + SB_UUID_OFF, 16);
	snprintf(out, n, "/dev/shm/udax-%s-%llx-%llx.rt", hex, (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	return 0;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

/* ------------------------------------------------------------------ */
/* 1. mp_mount_many                                                   */
/* ------------------------------------------------------------------ */

#define MANY_POOL (64ull << 20)

struct many_sh {
	_Atomic int abort;
	struct barrier bar;
	char pool[256];
	int n;
};

static size_t many_len(int n, int i)
{
	return 64 * 1024 + (size_t)i * PG + 123 + (size_t)n * 7;
}

/* File i of the round with n children: a pwrite of the whole, then a
 * mapped store of 512 bytes at 4096. */
static void many_base(int n, int i, unsigned char *buf, size_t len)
{
	t_fill(buf, len, (unsigned)(n * 1000 + i + 1));
}

static void many_overlay(int n, int i, unsigned char *buf)
{
	t_fill(buf, 512, (unsigned)(n * 1000 + i + 500001));
}

static void many_content(int n, int i, unsigned char *buf, size_t len)
{
	many_base(n, i, buf, len);
	many_overlay(n, i, buf + PG);
}

/* Check file j of round n through @fs; 0 if it is as written. */
static int many_check(udax_fs *fs, int n, int j, const char *who)
{
	char name[64];
	size_t len = many_len(n, j);
	unsigned char *want = malloc(len), *got = malloc(len + 1);
	struct stat st;
	int bad = 0;

	snprintf(name, sizeof(name), "/many-%d-%d", n, j);
	many_content(n, j, want, len);
	int r = udax_stat(fs, name, &st);
	int fd = udax_open(fs, name, O_RDONLY, 0);
	if (r || fd < 0) {
		fprintf(stderr, "  %s: %s: stat %d, open %d\n", who, name, r, fd);
		bad = 1;
	} else {
		ssize_t got_n = udax_pread(fs, fd, got, len + 1, 0);
		long d = got_n == (ssize_t)len ? first_diff(got, want, len) : -2;
		if ((size_t)st.st_size != len || d != -1) {
			fprintf(stderr, "  %s: %s: size %lld (want %zu), read %zd, first wrong byte %ld\n",
			        who, name, (long long)st.st_size, len, got_n, d);
			bad = 1;
		}
	}
	if (fd >= 0)
		udax_close(fs, fd);
	free(want);
	free(got);
	return bad;
}

static int many_child(void *arg, int i)
{
	struct many_sh *s = arg;
	udax_fs *fs = NULL;
	char name[64], *map = NULL;
	size_t len = many_len(s->n, i);
	unsigned char *want = malloc(len), *got = malloc(len);
	int fd = -1, r;

	r = udax_mount(s->pool, NULL, &fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	if (bar_wait(&s->bar, &s->abort))          /* 1: everyone mounted at once */
		goto out;
	snprintf(name, sizeof(name), "/many-%d-%d", s->n, i);
	fd = udax_open(fs, name, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		cfail("open %s: %d", name, fd);
		goto out;
	}
	many_base(s->n, i, want, len);
	for (size_t off = 0; off < len; off += 10000) {
		size_t k = len - off < 10000 ? len - off : 10000;
		if (udax_pwrite(fs, fd, want + off, k, (off_t)off) != (ssize_t)k)
			cfail("pwrite %s at %zu", name, off);
	}
	r = udax_mmap(fs, fd, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&map);
	if (r) {
		cfail("udax_mmap: %d", r);
		goto out;
	}
	many_overlay(s->n, i, want + PG);
	memcpy(map + PG, want + PG, 512);
	CC(udax_fsync(fs, fd) == 0);
	CC(udax_munmap(fs, map, 2 * PG) == 0);
	CC(udax_pread(fs, fd, got, len, 0) == (ssize_t)len);
	if (memcmp(got, want, len))
		cfail("%s: reads back wrong at byte %ld", name, first_diff(got, want, len));
	if (bar_wait(&s->bar, &s->abort))          /* 2: every file written */
		goto out;
	for (int j = 0; j < s->n; j++)              /* every sibling's file, through this mount */
		if (many_check(fs, s->n, j, c_role))
			cfail("file %d of a sibling is wrong through this process's mount", j);
	if (bar_wait(&s->bar, &s->abort))          /* 3: the parent's refusals next */
		goto out;
	bar_wait(&s->bar, &s->abort);               /* 4 */
out:
	if (fd >= 0)
		udax_close(fs, fd);
	r = udax_unmount(fs);
	if (r)
		cfail("udax_unmount: %d", r);
	free(want);
	free(got);
	return 0;
}

static void many_report(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "    fsck (live): %s\n", msg);
}

static void mp_mount_many(void)
{
	static const int def[] = { 2, 4, 8 }, lng[] = { 2, 4, 8, 16, 32, 64 };
	int counts[16], ncounts = 0;
	const char *e = getenv("UDAX_MP_COUNTS");   /* e.g. "1,2,3" */

	if (e) {
		for (char *q = (char *)e; *q && ncounts < 16;) {
			long v = strtol(q, &q, 10);
			if (v >= 1 && v <= MAXCHILD)
				counts[ncounts++] = (int)v;
			while (*q == ',' || *q == ' ')
				q++;
			if (*q && (*q < '0' || *q > '9'))
				break;
		}
	} else {
		ncounts = long_mode ? 6 : 3;
		memcpy(counts, long_mode ? lng : def, (size_t)ncounts * sizeof(int));
	}
	const char *pool = mp_pool("many");
	struct many_sh *s = shm_alloc(sizeof(*s));
	unsigned char *snap = malloc(MANY_POOL), *after = malloc(MANY_POOL);
	pid_t pid[MAXCHILD];

	REQUIRE(s && snap && after);
	REQUIRE(udax_mkfs(pool, MANY_POOL, 0) == 0);
	for (int c = 0; c < ncounts; c++) {
		int n = counts[c], ok;
		uint64_t t0 = now_ns();

		memset(s, 0, sizeof(*s));
		snprintf(s->pool, sizeof(s->pool), "%s", pool);
		s->n = n;
		s->bar.n = (unsigned)n + 1;
		for (int i = 0; i < n; i++)
			pid[i] = spawn("mounter", i, many_child, s, &s->abort);
		watch_set(pid, n);
		ok = bar_wait(&s->bar, &s->abort) == 0 && bar_wait(&s->bar, &s->abort) == 0 &&
		     bar_wait(&s->bar, &s->abort) == 0;
		if (ok) {
			/* everyone mounted read-write and idle: no mkfs, no repair */
			struct udax_fsck_result res;
			int problems = 0, r;
			CHECK_EQ(read_whole(pool, snap, MANY_POOL), 0);
			CHECK_EQ(udax_mkfs(pool, MANY_POOL, UDAX_MKFS_FORCE), -EBUSY);
			CHECK(udax_last_error()[0] != 0);
			CHECK_EQ(udax_mkfs_mode(pool, MANY_POOL, UDAX_MKFS_FORCE, 0600), -EBUSY);
			memset(&res, 0, sizeof(res));
			CHECK_EQ(udax_fsck_ex(pool, UDAX_FSCK_REPAIR, many_report, &problems, &res), -EBUSY);
			memset(&res, 0, sizeof(res));
			r = udax_fsck_ex(pool, 0, many_report, &problems, &res);
			CHECK_EQ(r, 0);
			CHECK_EQ(res.live, 1);
			CHECK_EQ(read_whole(pool, after, MANY_POOL), 0);
			long d = first_diff(snap, after, MANY_POOL);
			if (d >= 0)
				fprintf(stderr, "  the pool changed at byte %ld while refusing mkfs/repair\n", d);
			CHECK(d < 0);
			ok = bar_wait(&s->bar, &s->abort) == 0;
		}
		if (!ok)
			atomic_store(&s->abort, 1);
		int bad = reap(pid, n, wait_ms, "mounter", &s->abort);
		CHECK_EQ(bad, 0);
		if (!ok || bad) {
			fprintf(stderr, "  %d concurrent read-write mounts did not work: stopping\n", n);
			break;
		}
		udax_fs *fs;
		struct udax_info info;
		REQUIRE(udax_mount(pool, NULL, &fs) == 0);
		CHECK_EQ(udax_info(fs, &info), 0);
		CHECK_EQ(info.clean, 1);    /* the last of the children marked it clean */
		for (int j = 0; j < n; j++)
			CHECK_EQ(many_check(fs, n, j, "parent"), 0);
		CHECK_EQ(udax_unmount(fs), 0);
		CHECK_EQ(t_fsck(pool), 0);
		printf("  %d processes mounted at once: %.0f ms\n", n, (double)(now_ns() - t0) / 1e6);
	}
	/* nobody holds it now */
	CHECK_EQ(udax_mkfs(pool, MANY_POOL, UDAX_MKFS_FORCE), 0);
	munmap(s, sizeof(*s));
	free(snap);
	free(after);
	unlink(pool);
}

/* ------------------------------------------------------------------ */
/* 2. mp_stress                                                       */
/* ------------------------------------------------------------------ */

#define ST_FILE (8u * MiB)
#define ST_CHUNK (4u * PG)
#define ST_NCHUNK (ST_FILE / ST_CHUNK)
#define PING_FILE (4u * MiB)
#define ST_MAXP 16
#define ST_MAXW 64

enum { K_MSTORE, K_PWRITE, K_PREAD, K_MLOAD, K_PUNCH, K_FSYNC, K_ZERO, K_TRUNC, K_PING, NK };
static const char *const k_name[NK] = { "mapped store", "pwrite", "pread", "mapped load",
                                        "punch hole", "fsync/msync", "zero-page store",
                                        "truncate", "ping-pong" };

struct st_stats {
	uint64_t n[NK], ns[NK], max_ns[NK];
};

struct st_sh {
	_Atomic int abort;
	struct barrier bar;          /* the W writers */
	char pool[256], opts[64];
	int P, T, W, rounds, ping_rounds;
	long ops;                    /* per writer and round */
	_Atomic uint64_t t_start, t_end;
	unsigned char *model;        /* ST_FILE bytes, shared */
	_Atomic unsigned ping_step[ST_MAXP];
	struct st_stats stats[ST_MAXW + 2 * ST_MAXP];
	uint64_t trunc_to[64];
};

struct st_proc {
	struct st_sh *sh;
	udax_fs *fs;
	int fd, pfd, pi;
	unsigned char *map, *pmap;
};

struct st_thread {
	struct st_proc *pr;
	int w;        /* writer number, or pair number for ping threads */
	int role;     /* ping: 0 = A (stores, punches), 1 = B (preads, pwrites) */
};

static void st_count(struct st_stats *s, int kind, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	s->n[kind]++;
	s->ns[kind] += d;
	if (d > s->max_ns[kind])
		s->max_ns[kind] = d;
}

static void st_mismatch(struct st_proc *pr, const char *what, uint64_t off, uint64_t len,
                        const unsigned char *got)
{
	const unsigned char *model = pr->sh->model;
	long i = first_diff(got, model + off, len);
	if (i < 0)
		i = 0;
	uint64_t at = off + (uint64_t)i;
	unsigned char via_pread = 0;
	udax_pread(pr->fs, pr->fd, &via_pread, 1, (off_t)at);
	cfail("%s mismatch at byte %llu (page %llu, chunk owner %llu): got %u, model %u, mapped %u, "
	      "pread %u", what, (unsigned long long)at, (unsigned long long)(at / PG),
	      (unsigned long long)((at / ST_CHUNK) % (uint64_t)pr->sh->W), got[i], model[at],
	      pr->map[at], via_pread);
}

static void st_op(struct st_proc *pr, int w, uint64_t *rng, unsigned char *buf,
                  struct st_stats *stt)
{
	struct st_sh *sh = pr->sh;
	uint64_t W = (uint64_t)sh->W;
	uint64_t mine = ST_NCHUNK / W + ((uint64_t)w < ST_NCHUNK % W);
	uint64_t c = (xr(rng) % mine) * W + (uint64_t)w;
	uint64_t base = c * ST_CHUNK;
	uint64_t off = base + xr(rng) % ST_CHUNK, len = 1 + xr(rng) % 9000;
	uint64_t k = xr(rng) % 100, t0 = now_ns();
	unsigned char *model = sh->model;
	int kind;

	if (off + len > base + ST_CHUNK)
		len = base + ST_CHUNK - off;
	if (k < 28) {                              /* store through the mapping */
		kind = K_MSTORE;
		t_fill(buf, len, (unsigned)xr(rng));
		memcpy(pr->map + off, buf, len);
		memcpy(model + off, buf, len);
	} else if (k < 52) {                       /* pwrite */
		kind = K_PWRITE;
		t_fill(buf, len, (unsigned)xr(rng));
		ssize_t r = udax_pwrite(pr->fs, pr->fd, buf, len, (off_t)off);
		if (r != (ssize_t)len)
			cfail("pwrite %llu+%llu: %zd", (unsigned long long)off, (unsigned long long)len, r);
		memcpy(model + off, buf, len);
	} else if (k < 67) {                       /* pread */
		kind = K_PREAD;
		ssize_t r = udax_pread(pr->fs, pr->fd, buf, len, (off_t)off);
		if (r != (ssize_t)len)
			cfail("pread %llu+%llu: %zd", (unsigned long long)off, (unsigned long long)len, r);
		else if (memcmp(buf, model + off, len))
			st_mismatch(pr, "pread", off, len, buf);
	} else if (k < 82) {                       /* load through the mapping */
		kind = K_MLOAD;
		if (memcmp(pr->map + off, model + off, len)) {
			memcpy(buf, pr->map + off, len);
			st_mismatch(pr, "mapped load", off, len, buf);
		}
	} else if (k < 90) {                       /* punch whole pages */
		kind = K_PUNCH;
		uint64_t s = off & ~(uint64_t)(PG - 1), e = (off + len + PG - 1) & ~(uint64_t)(PG - 1);
		int r = udax_fallocate(pr->fs, pr->fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		                       (off_t)s, (off_t)(e - s));
		if (r)
			cfail("punch %llu+%llu: %d", (unsigned long long)s, (unsigned long long)(e - s), r);
		memset(model + s, 0, e - s);
	} else if (k < 96) {                       /* fsync, or msync of the chunk */
		kind = K_FSYNC;
		int r = k & 1 ? udax_fsync(pr->fs, pr->fd)
		              : udax_msync(pr->fs, pr->map + base, ST_CHUNK, MS_SYNC);
		if (r)
			cfail("%s: %d", k & 1 ? "fsync" : "msync", r);
	} else {                                   /* punch a page, read it (zero page), store */
		kind = K_ZERO;
		uint64_t pg = off & ~(uint64_t)(PG - 1);
		int r = udax_fallocate(pr->fs, pr->fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		                       (off_t)pg, PG);
		if (r)
			cfail("punch %llu: %d", (unsigned long long)pg, r);
		memset(model + pg, 0, PG);
		if (*(volatile unsigned char *)(pr->map + pg + 100) != 0)
			cfail("page %llu: not zero through the mapping after punch",
			      (unsigned long long)(pg / PG));
		pr->map[pg + 1] = 7;
		model[pg + 1] = 7;
	}
	st_count(stt, kind, t0);
}

/* One process's shrink + regrow between rounds (the others wait). */
static void st_truncate(struct st_proc *pr, int round, uint64_t *rng, struct st_stats *stt)
{
	struct st_sh *sh = pr->sh;
	uint64_t to = ST_FILE / 2 + xr(rng) % (ST_FILE / 2);
	uint64_t t0 = now_ns();
	if (round % 2)
		to &= ~(uint64_t)(PG - 1);
	if (udax_ftruncate(pr->fs, pr->fd, (off_t)to) || udax_ftruncate(pr->fs, pr->fd, ST_FILE))
		cfail("truncate to %llu and back", (unsigned long long)to);
	memset(sh->model + to, 0, ST_FILE - to);
	if (round < 64)
		sh->trunc_to[round] = to;
	st_count(stt, K_TRUNC, t0);
}

static void *st_writer(void *arg)
{
	struct st_thread *th = arg;
	struct st_proc *pr = th->pr;
	struct st_sh *sh = pr->sh;
	struct st_stats stt;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(th->w + 1) + 12345;
	unsigned char *buf = malloc(10000);

	memset(&stt, 0, sizeof(stt));
	for (int r = 0; r < sh->rounds && !atomic_load(&sh->abort); r++) {
		if (r > 0) {
			/* the truncate phase: writer 0 of process (r % P) alone */
			if (bar_wait(&sh->bar, &sh->abort))
				break;
			if (th->w == (r % sh->P) * sh->T)
				st_truncate(pr, r, &rng, &stt);
		}
		if (bar_wait(&sh->bar, &sh->abort))
			break;
		if (r == 0 && th->w == 0)
			atomic_store(&sh->t_start, now_ns());
		for (long i = 0; i < sh->ops && !atomic_load(&sh->abort); i++)
			st_op(pr, th->w, &rng, buf, &stt);
	}
	if (bar_wait(&sh->bar, &sh->abort) == 0 && th->w == 0)
		atomic_store(&sh->t_end, now_ns());
	sh->stats[th->w] = stt;
	free(buf);
	return NULL;
}

static void ping_pattern(unsigned char *buf, int q, int r, int who)
{
	t_fill(buf, PG, (unsigned)(q * 1000003 + r * 2 + who + 17));
}

/* A's and B's half of the ping-pong of pair q: A = process q, B =
 * process (q + 1) % P, on pages X = 2q and Y = 2q + 1 of /ping. */
static void *st_ping(void *arg)
{
	struct st_thread *th = arg;
	struct st_proc *pr = th->pr;
	struct st_sh *sh = pr->sh;
	int q = th->w;
	_Atomic unsigned *ps = &sh->ping_step[q];
	uint64_t X = 2ull * (uint64_t)q * PG, Y = X + PG;
	unsigned char *pat = malloc(PG), *got = malloc(PG);
	struct st_stats stt;
	char what[64];
	long d;

	memset(&stt, 0, sizeof(stt));
	snprintf(what, sizeof(what), "ping pair %d (%s)", q, th->role ? "B" : "A");
	for (int r = 0; r < sh->ping_rounds; r++) {
		unsigned s0 = 4u * (unsigned)r;
		uint64_t t0 = now_ns();
		if (th->role == 0) {
			if (wait_step(ps, s0, &sh->abort, what))
				break;
			/* holes again, and this mapping shows them */
			int e = udax_fallocate(pr->fs, pr->pfd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			                       (off_t)X, 2 * PG);
			if (e)
				cfail("%s: punch: %d", what, e);
			if ((d = first_nonzero(pr->pmap + X, 2 * PG)) >= 0)
				cfail("%s round %d: A's own mapping shows byte %ld of X/Y non-zero after its punch",
				      what, r, d);
			atomic_store(ps, s0 + 1);
			if (wait_step(ps, s0 + 2, &sh->abort, what))
				break;
			/* a store into the hole B has mapped as the zero page */
			ping_pattern(pat, q, r, 0);
			memcpy(pr->pmap + X, pat, PG);
			atomic_store(ps, s0 + 3);
			if (wait_step(ps, s0 + 4, &sh->abort, what))
				break;
			/* B filled Y by pwrite: A's zero page there must be gone */
			ping_pattern(pat, q, r, 1);
			if ((d = first_diff(pr->pmap + Y, pat, PG)) >= 0)
				cfail("%s round %d: A's mapping of page Y (B's pwrite) wrong at byte %ld: %u, "
				      "want %u", what, r, d, pr->pmap[Y + (uint64_t)d], pat[d]);
			if (udax_pread(pr->fs, pr->pfd, got, PG, (off_t)Y) != PG ||
			    (d = first_diff(got, pat, PG)) >= 0)
				cfail("%s round %d: A's pread of Y wrong", what, r);
			st_count(&stt, K_PING, t0);
		} else {
			if (wait_step(ps, s0 + 1, &sh->abort, what))
				break;
			/* A punched both: B's mapping must not keep the old blocks */
			if ((d = first_nonzero(pr->pmap + X, 2 * PG)) >= 0)
				cfail("%s round %d: B's mapping shows byte %ld of X/Y = %u after A's punch "
				      "(stale)", what, r, d, pr->pmap[X + (uint64_t)d]);
			atomic_store(ps, s0 + 2);
			if (wait_step(ps, s0 + 3, &sh->abort, what))
				break;
			ping_pattern(pat, q, r, 0);
			ssize_t n = udax_pread(pr->fs, pr->pfd, got, PG, (off_t)X);
			if (n != PG || (d = first_diff(got, pat, PG)) >= 0)
				cfail("%s round %d: B's pread of X (A's mapped store) returned %zd, wrong at byte "
				      "%ld", what, r, n, n == PG ? first_diff(got, pat, PG) : -1);
			if ((d = first_diff(pr->pmap + X, pat, PG)) >= 0)
				cfail("%s round %d: B's mapping of X (A's mapped store over B's zero page) wrong "
				      "at byte %ld: %u, want %u", what, r, d, pr->pmap[X + (uint64_t)d], pat[d]);
			ping_pattern(pat, q, r, 1);
			if (udax_pwrite(pr->fs, pr->pfd, pat, PG, (off_t)Y) != PG)
				cfail("%s: pwrite Y", what);
			atomic_store(ps, s0 + 4);
		}
	}
	sh->stats[ST_MAXW + 2 * q + th->role] = stt;
	free(pat);
	free(got);
	return NULL;
}

/* Every byte of /stress through pread and through @map against the model. */
static int st_check_all(udax_fs *fs, int fd, const unsigned char *map, const unsigned char *model,
                        const char *when)
{
	unsigned char *b = malloc(ST_FILE + 1);
	int bad = 0;
	struct stat st;
	ssize_t r = udax_pread(fs, fd, b, ST_FILE + 1, 0);
	long d;

	if (udax_fstat(fs, fd, &st) || st.st_size != ST_FILE) {
		fprintf(stderr, "  %s: size %lld, want %u\n", when, (long long)st.st_size, ST_FILE);
		bad = 1;
	}
	if (r != ST_FILE) {
		fprintf(stderr, "  %s: pread of the whole file: %zd\n", when, r);
		bad = 1;
	} else if ((d = first_diff(b, model, ST_FILE)) >= 0) {
		fprintf(stderr, "  %s: pread: byte %ld (page %ld) is %u, model %u\n", when, d,
		        d / (long)PG, b[d], model[d]);
		bad = 1;
	}
	if (map && (d = first_diff(map, model, ST_FILE)) >= 0) {
		fprintf(stderr, "  %s: mapping: byte %ld (page %ld) is %u, model %u\n", when, d,
		        d / (long)PG, map[d], model[d]);
		bad = 1;
	}
	free(b);
	return bad;
}

static int st_proc_main(void *arg, int pi)
{
	struct st_proc pr = { .sh = arg, .pi = pi, .fd = -1, .pfd = -1 };
	struct st_sh *sh = pr.sh;
	struct st_thread th[ST_MAXW + 2];
	pthread_t tid[ST_MAXW + 2];
	int nth = 0, r;

	r = udax_mount(sh->pool, sh->opts, &pr.fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	pr.fd = udax_open(pr.fs, "/stress", O_RDWR, 0);
	pr.pfd = udax_open(pr.fs, "/ping", O_RDWR, 0);
	if (pr.fd < 0 || pr.pfd < 0 ||
	    udax_mmap(pr.fs, pr.fd, ST_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&pr.map) ||
	    udax_mmap(pr.fs, pr.pfd, PING_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
	              (void **)&pr.pmap)) {
		cfail("open/mmap: %d %d", pr.fd, pr.pfd);
		udax_unmount(pr.fs);
		return 3;
	}
	for (int t = 0; t < sh->T; t++, nth++) {
		th[nth] = (struct st_thread){ &pr, pi * sh->T + t, 0 };
		pthread_create(&tid[nth], NULL, st_writer, &th[nth]);
	}
	if (sh->ping_rounds > 0) {
		th[nth] = (struct st_thread){ &pr, pi, 0 };
		pthread_create(&tid[nth], NULL, st_ping, &th[nth]);
		nth++;
		th[nth] = (struct st_thread){ &pr, (pi + sh->P - 1) % sh->P, 1 };
		pthread_create(&tid[nth], NULL, st_ping, &th[nth]);
		nth++;
	}
	for (int t = 0; t < nth; t++)
		pthread_join(tid[t], NULL);
	/* every writer of every process is done: the model is complete */
	if (!atomic_load(&sh->abort) && st_check_all(pr.fs, pr.fd, pr.map, sh->model, c_role))
		cfail("final check of the whole file failed in this process");
	CC(udax_fsync(pr.fs, pr.fd) == 0);
	CC(udax_munmap(pr.fs, pr.map, ST_FILE) == 0);
	CC(udax_munmap(pr.fs, pr.pmap, PING_FILE) == 0);
	udax_close(pr.fs, pr.fd);
	udax_close(pr.fs, pr.pfd);
	r = udax_unmount(pr.fs);
	if (r)
		cfail("udax_unmount: %d", r);
	return 0;
}

/* After everyone: a fresh process maps the whole file and checks it. */
static int st_checker(void *arg, int idx)
{
	struct st_sh *sh = arg;
	udax_fs *fs;
	unsigned char *map = NULL;
	int r = udax_mount(sh->pool, sh->opts, &fs);

	(void)idx;
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	int fd = udax_open(fs, "/stress", O_RDONLY, 0);
	if (fd < 0 || udax_mmap(fs, fd, ST_FILE, PROT_READ, MAP_SHARED, 0, (void **)&map))
		cfail("open/mmap /stress");
	else if (st_check_all(fs, fd, map, sh->model, "checker, after all exited"))
		cfail("the file is wrong through a fresh mapping");
	if (map)
		udax_munmap(fs, map, ST_FILE);
	udax_close(fs, fd);
	CC(udax_unmount(fs) == 0);
	return 0;
}

static void st_report(struct st_sh *sh)
{
	struct st_stats tot;
	double wall = (double)(sh->t_end - sh->t_start) / 1e9;
	uint64_t all = 0;

	memset(&tot, 0, sizeof(tot));
	for (int w = 0; w < ST_MAXW + 2 * ST_MAXP; w++)
		for (int k = 0; k < NK; k++) {
			tot.n[k] += sh->stats[w].n[k];
			tot.ns[k] += sh->stats[w].ns[k];
			if (sh->stats[w].max_ns[k] > tot.max_ns[k])
				tot.max_ns[k] = sh->stats[w].max_ns[k];
		}
	printf("  %s: %d processes x %d threads, %d rounds x %ld ops per thread, %.2f s\n",
	       sh->opts, sh->P, sh->T, sh->rounds, sh->ops, wall);
	for (int k = 0; k < NK; k++) {
		if (!tot.n[k])
			continue;
		if (k != K_TRUNC && k != K_PING)
			all += tot.n[k];
		printf("    %-16s %8llu ops %10.0f ops/s   mean %8.1f us   max %8.1f us\n", k_name[k],
		       (unsigned long long)tot.n[k], wall > 0 ? (double)tot.n[k] / wall : 0.0,
		       (double)tot.ns[k] / (double)tot.n[k] / 1e3, (double)tot.max_ns[k] / 1e3);
	}
	printf("    %-16s %8llu ops %10.0f ops/s\n", "all (mixed)", (unsigned long long)all,
	       wall > 0 ? (double)all / wall : 0.0);
}

static void st_run(const char *opts, int P, int T, int rounds, long ops, int ping_rounds)
{
	const char *pool = mp_pool("stress");
	struct st_sh *sh = shm_alloc(sizeof(*sh));
	unsigned char *model = shm_alloc(ST_FILE);
	pid_t pid[ST_MAXP];
	udax_fs *fs;
	int fd, pfd;

	REQUIRE(sh && model);
	REQUIRE(P <= ST_MAXP && P * T <= ST_MAXW);
	snprintf(sh->pool, sizeof(sh->pool), "%s", pool);
	snprintf(sh->opts, sizeof(sh->opts), "%s", opts);
	sh->P = P;
	sh->T = T;
	sh->W = P * T;
	sh->rounds = rounds;
	sh->ops = ops;
	sh->ping_rounds = ping_rounds;
	sh->model = model;
	sh->bar.n = (unsigned)(P * T);

	/* the file, pre-created and filled (blocks allocated): the model */
	REQUIRE(udax_mkfs(pool, 64ull << 20, 0) == 0);
	REQUIRE(udax_mount(pool, opts, &fs) == 0);
	fd = udax_open(fs, "/stress", O_RDWR | O_CREAT, 0644);
	pfd = udax_open(fs, "/ping", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0 && pfd >= 0);
	t_fill(model, ST_FILE, 4242);
	CHECK_EQ(udax_pwrite(fs, fd, model, ST_FILE, 0), ST_FILE);
	CHECK_EQ(udax_ftruncate(fs, pfd, PING_FILE), 0);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	udax_close(fs, fd);
	udax_close(fs, pfd);
	REQUIRE(udax_unmount(fs) == 0);

	for (int i = 0; i < P; i++)
		pid[i] = spawn("stress process", i, st_proc_main, sh, &sh->abort);
	int bad = reap(pid, P, wait_ms, "stress process", &sh->abort);
	CHECK_EQ(bad, 0);
	CHECK_EQ(atomic_load(&sh->abort), 0);
	if (!bad && !sh->abort)
		st_report(sh);

	/* the parent, alone: every byte by pread; then a checker child
	 * through a mapping (this process never maps: mp_fork_after_map) */
	REQUIRE(udax_mount(pool, opts, &fs) == 0);
	fd = udax_open(fs, "/stress", O_RDONLY, 0);
	pfd = udax_open(fs, "/ping", O_RDONLY, 0);
	REQUIRE(fd >= 0 && pfd >= 0);
	if (!bad)
		CHECK_EQ(st_check_all(fs, fd, NULL, model, "parent, after all exited"), 0);
	if (!bad && ping_rounds > 0) {
		unsigned char pat[PG], got[PG];
		for (int q = 0; q < P; q++)
			for (int who = 0; who < 2; who++) {
				ping_pattern(pat, q, ping_rounds - 1, who);
				CHECK_EQ(udax_pread(fs, pfd, got, PG, (off_t)(2 * q + who) * PG), PG);
				CHECK(memcmp(got, pat, PG) == 0);
			}
	}
	udax_close(fs, fd);
	udax_close(fs, pfd);
	CHECK_EQ(udax_unmount(fs), 0);
	if (!bad) {
		pid_t ck = spawn("checker", 0, st_checker, sh, &sh->abort);
		CHECK_EQ(reap(&ck, 1, wait_ms, "checker", &sh->abort), 0);
	}
	CHECK_EQ(t_fsck(pool), 0);
	REQUIRE(udax_mount(pool, opts, &fs) == 0);
	fd = udax_open(fs, "/stress", O_RDONLY, 0);
	if (!bad)
		CHECK_EQ(st_check_all(fs, fd, NULL, model, "parent, after remount"), 0);
	udax_close(fs, fd);
	CHECK_EQ(udax_unmount(fs), 0);
	munmap(model, ST_FILE);
	munmap(sh, sizeof(*sh));
	unlink(pool);
}

static void mp_stress(void)
{
	static const char *const modes[] = { "entry", "exclusive", "flush", "range" };
	int P = (int)env_long("UDAX_MP_PROCS", long_mode ? 8 : 4);
	int T = (int)env_long("UDAX_MP_THREADS", long_mode ? 4 : 2);
	int rounds = (int)env_long("UDAX_MP_ROUNDS", long_mode ? 10 : 4);
	long ops = env_long("UDAX_MP_OPS", long_mode ? 20000 : light ? 300 : 1500);
	int ping = (int)env_long("UDAX_MP_PING", long_mode ? 1000 : light ? 20 : 100);
	const char *only = getenv("UDAX_MP_MODES");

	if (P < 1 || P > ST_MAXP || T < 1 || P * T > ST_MAXW || rounds < 1) {
		fprintf(stderr, "  UDAX_MP_PROCS/THREADS/ROUNDS out of range\n");
		CHECK(0);
		return;
	}
	/* default: the default mode and range; long: all four */
	for (int m = 0; m < 4; m++) {
		char opts[64];
		if (only ? strstr(only, modes[m]) == NULL : !(long_mode || m == 0 || m == 3))
			continue;
		snprintf(opts, sizeof(opts), "write_lock=%s", modes[m]);
		st_run(opts, P, T, rounds, ops, ping);
	}
}

/* ------------------------------------------------------------------ */
/* 3. mp_truncate_vs_map                                              */
/* ------------------------------------------------------------------ */

#define TV_SIZE MiB

struct tv_sh {
	_Atomic int abort;
	char pool[256];
	int rounds;
	_Atomic unsigned step;
};

/* The size after round r's truncate + pwrite (8 bytes at least). */
static size_t tv_len(int r)
{
	switch (r % 4) {
	case 0:
		return (size_t)PG * (1 + (size_t)(r * 37) % 200);    /* page aligned */
	case 1:
		return 8 + (size_t)(r * 13) % 3000;                  /* inside page 0 */
	default:
		return 8 + ((size_t)r * 104729u) % (TV_SIZE - 64 * 1024);
	}
}

/* Round r regrows the file to TV_SIZE after the pwrite. */
static int tv_grown(int r)
{
	return r % 3 == 2;
}

static uint64_t tv_marker(int r)
{
	return 0x4d41524b00000000ull | (uint64_t)r;   /* "MARK" r */
}

static sigjmp_buf tv_jb;
static volatile sig_atomic_t tv_sig;

static void tv_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	tv_sig = sig;
	siglongjmp(tv_jb, 1);
}

/* Touch *@p (store if @store); the signal it raised, or 0. */
static int tv_touch(volatile unsigned char *p, int store)
{
	tv_sig = 0;
	if (sigsetjmp(tv_jb, 1) == 0) {
		if (store)
			*p = 1;
		else
			(void)*p;
	}
	return tv_sig;
}

/* The mapper's side: maps /tv, checks what the truncator left each round. */
static void tv_map_role(struct tv_sh *s, udax_fs *fs)
{
	unsigned char *m = NULL, *want = malloc(TV_SIZE), *old = malloc(TV_SIZE);
	long d;
	int fd = udax_open(fs, "/tv", O_RDWR, 0);

	if (fd < 0 || udax_mmap(fs, fd, TV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&m)) {
		cfail("open/mmap /tv: %d", fd);
		goto out;
	}
	t_fill(want, TV_SIZE, 1);
	if ((d = first_diff(m, want, TV_SIZE)) >= 0)   /* every page read, so mapped */
		cfail("initial content wrong through the mapping at %ld", d);
	atomic_store(&s->step, 1);
	for (int rd = 0; rd < s->rounds; rd++) {
		if (wait_step(&s->step, 3u * (unsigned)rd + 2, &s->abort, "mapper"))
			break;
		size_t n = tv_len(rd), end = (n + PG - 1) & ~(size_t)(PG - 1);
		size_t zto = tv_grown(rd) ? TV_SIZE : end;
		memcpy(old, want, TV_SIZE);
		memset(want, 0, TV_SIZE);
		t_fill(want, n, (unsigned)(100 + rd));
		if ((d = first_diff(m, want, n)) >= 0)
			cfail("round %d (size %zu): mapped byte %ld is %u, want %u (%s)", rd, n, d, m[d],
			      want[d], m[d] == old[d] ? "stale: the old content" : m[d] == 0 ? "zero" : "?");
		if ((d = first_nonzero(m + n, zto - n)) >= 0)
			cfail("round %d (size %zu): byte %zu past the new data reads %u, want 0 (%s)", rd, n,
			      n + (size_t)d, m[n + (size_t)d],
			      m[n + (size_t)d] == old[n + (size_t)d] ? "stale" : "?");
		if (!tv_grown(rd) && end < TV_SIZE) {
			if (tv_touch(m + end, 0) != SIGBUS)
				cfail("round %d (size %zu): load of the page past EOF (%zu): no SIGBUS", rd, n, end);
			if (tv_touch(m + TV_SIZE - 1, 0) != SIGBUS)
				cfail("round %d: load of the last mapped page: no SIGBUS", rd);
			if (tv_touch(m + end + PG / 2, 1) != SIGBUS)
				cfail("round %d: store past EOF: no SIGBUS", rd);
		} else if (tv_grown(rd) && tv_touch(m + TV_SIZE - 1, 0) != 0) {
			cfail("round %d: the file is regrown, yet its last page raises a signal", rd);
		}
		/* a marker for the truncator to find by pread */
		uint64_t mk = tv_marker(rd);
		memcpy(m, &mk, 8);
		memcpy(want, &mk, 8);
		atomic_store(&s->step, 3u * (unsigned)rd + 3);
	}
	CC(udax_munmap(fs, m, TV_SIZE) == 0);
out:
	if (fd >= 0)
		udax_close(fs, fd);
	free(want);
	free(old);
}

/* The truncator's side: truncate to 0 and pwrite new data, each round. */
static void tv_trunc_role(struct tv_sh *s, udax_fs *fs)
{
	unsigned char *buf = malloc(TV_SIZE);
	int fd = udax_open(fs, "/tv", O_RDWR, 0);

	if (fd < 0) {
		cfail("open: %d", fd);
		free(buf);
		return;
	}
	if (wait_step(&s->step, 1, &s->abort, "truncator") == 0)
		for (int rd = 0; rd < s->rounds; rd++) {
			if (rd > 0) {
				uint64_t mk = 0;
				if (wait_step(&s->step, 3u * (unsigned)rd, &s->abort, "truncator"))
					break;
				if (udax_pread(fs, fd, &mk, 8, 0) != 8 || mk != tv_marker(rd - 1))
					cfail("round %d: pread does not see the mapper's store (%llx, want %llx)", rd,
					      (unsigned long long)mk, (unsigned long long)tv_marker(rd - 1));
			}
			size_t n = tv_len(rd);
			t_fill(buf, n, (unsigned)(100 + rd));
			CC(udax_ftruncate(fs, fd, 0) == 0);
			CC(udax_pwrite(fs, fd, buf, n, 0) == (ssize_t)n);
			if (tv_grown(rd))
				CC(udax_ftruncate(fs, fd, TV_SIZE) == 0);
			if (rd % 2)
				CC(udax_fsync(fs, fd) == 0);
			atomic_store(&s->step, 3u * (unsigned)rd + 2);
		}
	wait_step(&s->step, 3u * (unsigned)s->rounds, &s->abort, "truncator");
	udax_close(fs, fd);
	free(buf);
}

static void tv_sigbus_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = tv_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* A child: mount, play role @idx (0 mapper, 1 truncator), unmount. */
static int tv_child(void *arg, int idx)
{
	struct tv_sh *s = arg;
	udax_fs *fs;
	int r;

	tv_sigbus_handler();
	r = udax_mount(s->pool, NULL, &fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	if (idx == 0)
		tv_map_role(s, fs);
	else
		tv_trunc_role(s, fs);
	r = udax_unmount(fs);
	if (r)
		cfail("udax_unmount: %d", r);
	return 0;
}

struct tv_thread {
	struct tv_sh *s;
	udax_fs *fs;
};

static void *tv_trunc_thread(void *arg)
{
	struct tv_thread *t = arg;
	tv_trunc_role(t->s, t->fs);
	return NULL;
}

/* The same-process baseline: both roles as threads of one mount. */
static int tv_solo(void *arg, int idx)
{
	struct tv_thread t = { arg, NULL };
	pthread_t tid;
	int r;

	(void)idx;
	tv_sigbus_handler();
	r = udax_mount(t.s->pool, NULL, &t.fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	pthread_create(&tid, NULL, tv_trunc_thread, &t);
	tv_map_role(t.s, t.fs);
	pthread_join(tid, NULL);
	r = udax_unmount(t.fs);
	if (r)
		cfail("udax_unmount: %d", r);
	return 0;
}

static void mp_truncate_vs_map(void)
{
	const char *pool = mp_pool("tvm");
	struct tv_sh *s = shm_alloc(sizeof(*s));
	unsigned char *buf = malloc(TV_SIZE + 1), *got = malloc(TV_SIZE + 1);
	udax_fs *fs;
	pid_t pid[2];
	int fd;

	REQUIRE(s && buf && got);
	REQUIRE(udax_mkfs(pool, 32ull << 20, 0) == 0);
	for (int cross = 0; cross < 2; cross++) {
		const char *what = cross ? "two processes" : "two threads of one process (baseline)";
		memset(s, 0, sizeof(*s));
		snprintf(s->pool, sizeof(s->pool), "%s", pool);
		s->rounds = (int)env_long("UDAX_MP_TV_ROUNDS", long_mode ? 400 : 24);
		REQUIRE(udax_mount(pool, NULL, &fs) == 0);
		fd = udax_open(fs, "/tv", O_RDWR | O_CREAT | O_TRUNC, 0644);
		t_fill(buf, TV_SIZE, 1);
		CHECK_EQ(udax_pwrite(fs, fd, buf, TV_SIZE, 0), TV_SIZE);
		CHECK_EQ(udax_fsync(fs, fd), 0);
		udax_close(fs, fd);
		REQUIRE(udax_unmount(fs) == 0);

		uint64_t t0 = now_ns();
		int bad;
		if (cross) {
			pid[0] = spawn("mapper", 0, tv_child, s, &s->abort);
			pid[1] = spawn("truncator", 1, tv_child, s, &s->abort);
			bad = reap(pid, 2, wait_ms, "truncate-vs-map child", &s->abort);
		} else {
			pid[0] = spawn("solo", 0, tv_solo, s, &s->abort);
			bad = reap(pid, 1, wait_ms, "truncate-vs-map solo", &s->abort);
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(atomic_load(&s->abort), 0);
		if (bad || s->abort) {
			fprintf(stderr, "  truncate vs mapping failed with %s\n", what);
			break;
		}
		printf("  %d truncate + pwrite rounds under a live mapping, %s: %.0f ms\n", s->rounds, what,
		       (double)(now_ns() - t0) / 1e6);

		/* the last round's data and the mapper's marker */
		int last = s->rounds - 1;
		size_t n = tv_len(last), size = tv_grown(last) ? TV_SIZE : n;
		uint64_t mk = tv_marker(last);
		memset(buf, 0, TV_SIZE);
		t_fill(buf, n, (unsigned)(100 + last));
		memcpy(buf, &mk, 8);
		REQUIRE(udax_mount(pool, NULL, &fs) == 0);
		fd = udax_open(fs, "/tv", O_RDONLY, 0);
		CHECK_EQ(udax_pread(fs, fd, got, TV_SIZE + 1, 0), (ssize_t)size);
		CHECK(memcmp(got, buf, size) == 0);
		udax_close(fs, fd);
		CHECK_EQ(udax_unmount(fs), 0);
		CHECK_EQ(t_fsck(pool), 0);
	}
	munmap(s, sizeof(*s));
	free(buf);
	free(got);
	unlink(pool);
}

/* ------------------------------------------------------------------ */
/* 4. mp_kill                                                         */
/* ------------------------------------------------------------------ */

#define KILL_MAXSURV 2
#define SURV_LEN (64u << 10)
#define VMAP_LEN MiB
#define KILL_MAXROUNDS 1000
#define STALL_LIMIT_NS 5000000000ull

struct kill_sh {
	_Atomic int abort, stop;
	char pool[256];
	struct {
		_Atomic uint64_t gen;          /* last generation written and fsync'ed */
		_Atomic uint64_t done_start;   /* when the op that completed last started */
		_Atomic uint64_t ops;
	} surv[KILL_MAXSURV];
	_Atomic unsigned surv_ready;
	_Atomic int victim_mounted;          /* round + 1 once that round's victim mounted */
	uint64_t vmount_ns[KILL_MAXROUNDS];  /* how long the victim's mount took */
	_Atomic uint64_t victim_ops;
};

static void surv_content(unsigned char *buf, int s, uint64_t gen)
{
	t_fill(buf, SURV_LEN, (unsigned)((uint64_t)s * 7919u + gen * 2654435761u));
	memcpy(buf, &gen, 8);
	buf[8] = (unsigned char)s;
}

static int surv_main(void *arg, int s)
{
	struct kill_sh *sh = arg;
	udax_fs *fs;
	unsigned char *want = malloc(SURV_LEN), *got = malloc(SURV_LEN), *map = NULL;
	char name[32];
	uint64_t gen = 0;
	int fd, r;

	r = udax_mount(sh->pool, NULL, &fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	snprintf(name, sizeof(name), "/surv-%d", s);
	fd = udax_open(fs, name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || udax_ftruncate(fs, fd, SURV_LEN) ||
	    (s == 1 && udax_mmap(fs, fd, SURV_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&map))) {
		cfail("open/truncate/mmap %s", name);
		udax_unmount(fs);
		return 3;
	}
	atomic_fetch_add(&sh->surv_ready, 1);
	while (!atomic_load(&sh->stop) && !atomic_load(&sh->abort)) {
		uint64_t t0 = now_ns(), g = gen + 1;
		surv_content(want, s, g);
		if (map && g % 2) {
			memcpy(map, want, SURV_LEN);                 /* survivor 1: mapped stores, */
			r = udax_fsync(fs, fd);
		} else {
			r = udax_pwrite(fs, fd, want, SURV_LEN, 0) == SURV_LEN ? 0 : -EIO;
			if (!r)
				r = udax_fsync(fs, fd);
		}
		if (r) {
			cfail("generation %llu: write/fsync: %d", (unsigned long long)g, r);
			break;
		}
		gen = g;
		atomic_store(&sh->surv[s].gen, gen);
		atomic_store(&sh->surv[s].done_start, t0);
		atomic_fetch_add(&sh->surv[s].ops, 1);
		if (udax_pread(fs, fd, got, SURV_LEN, 0) != SURV_LEN || memcmp(got, want, SURV_LEN)) {
			cfail("generation %llu reads back wrong at byte %ld", (unsigned long long)gen,
			      first_diff(got, want, SURV_LEN));
			break;
		}
		sleep_us(200);
	}
	if (map)
		CC(udax_munmap(fs, map, SURV_LEN) == 0);
	udax_close(fs, fd);
	r = udax_unmount(fs);
	if (r)
		cfail("udax_unmount: %d", r);
	free(want);
	free(got);
	return 0;
}

static void victim_fatal(const char *what, long r)
{
	cfail("%s: %ld", what, r);
	_exit(3);
}

/* The victim's mapping thread: stores, msync, punch, shrink+regrow. */
static void *victim_map_thread(void *arg)
{
	udax_fs *fs = arg;
	uint64_t rng = now_ns() | 1;
	unsigned char *m = NULL, buf[8192];
	struct stat st;
	int fd = udax_open(fs, "/v-map", O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		victim_fatal("open /v-map", fd);
	if (udax_fstat(fs, fd, &st) == 0 && st.st_size != VMAP_LEN &&
	    udax_ftruncate(fs, fd, VMAP_LEN))
		victim_fatal("truncate /v-map", 0);
	int r = udax_mmap(fs, fd, VMAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&m);
	if (r)
		victim_fatal("mmap /v-map", r);
	for (;;) {
		uint64_t k = xr(&rng) % 100, off = xr(&rng) % (VMAP_LEN - sizeof(buf));
		size_t len = 1 + xr(&rng) % sizeof(buf);
		if (k < 60) {
			t_fill(buf, len, (unsigned)k);
			memcpy(m + off, buf, len);
		} else if (k < 70) {
			uint64_t a = off & ~(uint64_t)(PG - 1);
			if ((r = udax_msync(fs, m + a, 2 * PG, MS_SYNC)))
				victim_fatal("msync", r);
		} else if (k < 80) {
			uint64_t a = off & ~(uint64_t)(PG - 1);
			if ((r = udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			                        (off_t)a, 3 * PG)))
				victim_fatal("punch", r);
		} else if (k < 85) {
			if ((r = udax_ftruncate(fs, fd, (off_t)off)) || (r = udax_ftruncate(fs, fd, VMAP_LEN)))
				victim_fatal("truncate /v-map", r);
		} else if (k < 95) {
			if ((r = udax_fsync(fs, fd)))
				victim_fatal("fsync /v-map", r);
		} else {
			(void)*(volatile unsigned char *)(m + off);
		}
	}
	return NULL;
}

/* The victim: mounts, then works until it is killed. */
static int victim_main(void *arg, int round)
{
	struct kill_sh *sh = arg;
	udax_fs *fs;
	pthread_t t;
	uint64_t t0 = now_ns(), rng = t0 ^ ((uint64_t)round << 32) ^ 0x5555;
	unsigned char *buf = malloc(65536);
	char name[64], name2[64];
	int r;

	r = udax_mount(sh->pool, NULL, &fs);
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	if (round < KILL_MAXROUNDS)
		sh->vmount_ns[round] = now_ns() - t0;
	atomic_store(&sh->victim_mounted, round + 1);
	pthread_create(&t, NULL, victim_map_thread, fs);
	snprintf(name, sizeof(name), "/v-rw-%d", round % 3);
	int fd = udax_open(fs, name, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		victim_fatal("open /v-rw", fd);
	for (unsigned i = 0;; i++) {
		uint64_t k = xr(&rng) % 100, off = xr(&rng) % (2 * MiB);
		size_t len = 1 + xr(&rng) % 65536;
		ssize_t n;
		atomic_fetch_add(&sh->victim_ops, 1);
		if (k < 40) {
			t_fill(buf, len, (unsigned)i);
			if ((n = udax_pwrite(fs, fd, buf, len, (off_t)off)) != (ssize_t)len)
				victim_fatal("pwrite", (long)n);
		} else if (k < 55) {
			if ((r = udax_fsync(fs, fd)))
				victim_fatal("fsync", r);
		} else if (k < 65) {
			if ((r = udax_ftruncate(fs, fd, (off_t)(off / 2))))
				victim_fatal("ftruncate", r);
		} else if (k < 72) {
			if ((r = udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			                        (off_t)off, (off_t)len)))
				victim_fatal("punch", r);
		} else if (k < 85) {
			/* a short-lived file: create, write, rename, unlink */
			snprintf(name2, sizeof(name2), "/v-tmp-%u", i % 8);
			int f2 = udax_open(fs, name2, O_RDWR | O_CREAT | O_TRUNC, 0644);
			if (f2 < 0)
				victim_fatal("create", f2);
			if ((n = udax_pwrite(fs, f2, buf, 8192, 0)) != 8192)
				victim_fatal("pwrite tmp", (long)n);
			udax_close(fs, f2);
			r = udax_rename(fs, name2, "/v-renamed", 0);
			if (r)
				victim_fatal("rename", r);
			r = udax_unlink(fs, "/v-renamed");
			if (r && r != -ENOENT)
				victim_fatal("unlink", r);
		} else if (k < 90) {
			r = udax_mkdir(fs, "/v-dir", 0755);
			if (r && r != -EEXIST)
				victim_fatal("mkdir", r);
			r = udax_rmdir(fs, "/v-dir");
			if (r && r != -ENOENT)
				victim_fatal("rmdir", r);
		} else {
			if ((n = udax_pread(fs, fd, buf, len, (off_t)off)) < 0)
				victim_fatal("pread", (long)n);
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void kill_report(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "    fsck: %s\n", msg);
}

static void mp_kill(void)
{
	const char *pool = mp_pool("kill");
	struct kill_sh *sh = shm_alloc(sizeof(*sh));
	int rounds = (int)env_long("UDAX_MP_KILL_ROUNDS", long_mode ? 200 : 30);
	if (rounds > KILL_MAXROUNDS)
		rounds = KILL_MAXROUNDS;
	int nsurv = (int)env_long("UDAX_MP_SURVIVORS", KILL_MAXSURV);
	if (nsurv < 0 || nsurv > KILL_MAXSURV)
		nsurv = KILL_MAXSURV;
	uint64_t *stall = calloc((size_t)rounds * KILL_MAXSURV + 1, sizeof(uint64_t));
	uint64_t rng = 0xDEADBEEFull ^ (uint64_t)getpid(), nstall = 0, early = 0, vmount_max = 0;
	pid_t surv[KILL_MAXSURV];
	int failed_rounds = 0;

	REQUIRE(sh && stall);
	snprintf(sh->pool, sizeof(sh->pool), "%s", pool);
	REQUIRE(udax_mkfs(pool, 64ull << 20, 0) == 0);
	for (int s = 0; s < nsurv; s++)
		surv[s] = spawn("survivor", s, surv_main, sh, &sh->abort);
	/* both survivors mounted and working */
	watch_set(surv, nsurv);
	for (unsigned i = 0; i < 20000 && atomic_load(&sh->surv_ready) < (unsigned)nsurv; i++) {
		if (wait_over(&sh->abort, i, "waiting for the survivors"))
			break;
		sleep_us(1000);
	}
	CHECK_EQ(atomic_load(&sh->surv_ready), nsurv);

	for (int r = 0; r < rounds && atomic_load(&sh->surv_ready) == (unsigned)nsurv && !sh->abort; r++) {
		int st, kill_early = r % 5 == 4, mounted = 0;
		pid_t v = spawn("victim", r, victim_main, sh, &sh->abort);
		if (v < 0) {
			CHECK(v > 0);
			break;
		}
		if (kill_early) {
			/* in the middle of mounting (or just after) */
			sleep_us(xr(&rng) % 3000);
			early++;
		} else {
			uint64_t end = now_ns() + 10000000000ull;
			while (atomic_load(&sh->victim_mounted) != r + 1 && now_ns() < end &&
			       waitpid(v, &st, WNOHANG) == 0)
				sleep_us(200);
			mounted = atomic_load(&sh->victim_mounted) == r + 1;
			if (!mounted) {
				fprintf(stderr, "  round %d: the victim did not mount\n", r);
				failed_rounds++;
			}
			sleep_us(xr(&rng) % 20001);
		}
		uint64_t t_kill = now_ns();
		kill(v, SIGKILL);
		if (wait_for(v, 10000, &st) < 0) {
			fprintf(stderr, "  round %d: the victim does not die\n", r);
			failed_rounds++;
			break;
		}
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
			judge(v, st, "victim", r);
			failed_rounds++;
			if (!mounted && !kill_early)
				break;
		}
		if (mounted && sh->vmount_ns[r] > vmount_max)
			vmount_max = sh->vmount_ns[r];
		/* the survivors: each completes an fsync it started after the kill */
		for (int s = 0; s < nsurv; s++) {
			uint64_t end = t_kill + 2 * STALL_LIMIT_NS;
			for (unsigned i = 0; atomic_load(&sh->surv[s].done_start) < t_kill && now_ns() < end;
			     i++) {
				if (wait_over(&sh->abort, i, "waiting for a survivor's fsync"))
					break;
				sleep_us(100);
			}
			uint64_t d = now_ns() - t_kill;
			stall[nstall++] = d;
			if (d > STALL_LIMIT_NS) {
				fprintf(stderr, "  round %d: survivor %d stalled %.0f ms after the kill\n", r, s,
				        (double)d / 1e6);
				failed_rounds++;
			}
		}
	}
	atomic_store(&sh->stop, 1);
	CHECK_EQ(reap(surv, nsurv, 60000, "survivor", &sh->abort), 0);
	CHECK_EQ(failed_rounds, 0);
	CHECK_EQ(atomic_load(&sh->abort), 0);
	printf("  %d victims killed (%llu while mounting), %llu survivor ops, %llu victim ops; "
	       "victim mount max %.2f ms\n", rounds, (unsigned long long)early,
	       (unsigned long long)(sh->surv[0].ops + sh->surv[1].ops),
	       (unsigned long long)sh->victim_ops, (double)vmount_max / 1e6);
	CHECK(sh->victim_ops > 0);
	if (nstall) {
		qsort(stall, nstall, sizeof(*stall), cmp_u64);
		uint64_t p99 = stall[(nstall * 99 + 99) / 100 - 1];
		printf("  survivor stall after a kill (%llu samples): median %.2f ms, p99 %.2f ms, "
		       "max %.2f ms (limit %.0f ms)\n", (unsigned long long)nstall,
		       (double)stall[nstall / 2] / 1e6, (double)p99 / 1e6,
		       (double)stall[nstall - 1] / 1e6, (double)STALL_LIMIT_NS / 1e6);
		CHECK(stall[nstall - 1] <= STALL_LIMIT_NS);
	}

	/* everyone gone: what the survivors fsync'ed is there, fsck clean */
	struct udax_fsck_result res;
	int problems = 0;
	memset(&res, 0, sizeof(res));
	int fr = udax_fsck_ex(pool, 0, kill_report, &problems, &res);
	CHECK_EQ(fr, 0);
	CHECK_EQ(res.live, 0);
	if (res.journal || res.orphans)
		printf("  fsck with everyone gone, before a remount: journal %d, orphans %llu (%s)\n",
		       res.journal, (unsigned long long)res.orphans,
		       nsurv ? "left by killed victims while the survivors stayed mounted"
		             : "the last victim was killed");
	udax_fs *fs;
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	unsigned char *want = malloc(SURV_LEN), *got = malloc(SURV_LEN + 1);
	for (int s = 0; s < nsurv; s++) {
		char name[32];
		uint64_t gen = atomic_load(&sh->surv[s].gen);
		snprintf(name, sizeof(name), "/surv-%d", s);
		int fd = udax_open(fs, name, O_RDONLY, 0);
		CHECK(fd >= 0);
		if (fd < 0 || gen == 0)
			continue;
		surv_content(want, s, gen);
		CHECK_EQ(udax_pread(fs, fd, got, SURV_LEN + 1, 0), SURV_LEN);
		long d = first_diff(got, want, SURV_LEN);
		if (d >= 0)
			fprintf(stderr, "  survivor %d: generation %llu wrong at byte %ld\n", s,
			        (unsigned long long)gen, d);
		CHECK(d < 0);
		udax_close(fs, fd);
	}
	CHECK_EQ(udax_unmount(fs), 0);
	/* a mount with nobody else attached frees whatever the victims left */
	problems = 0;
	memset(&res, 0, sizeof(res));
	CHECK_EQ(udax_fsck_ex(pool, 0, kill_report, &problems, &res), 0);
	CHECK_EQ(res.journal, 0);
	CHECK_EQ(res.orphans, 0);
	free(want);
	free(got);
	free(stall);
	munmap(sh, sizeof(*sh));
	unlink(pool);
}

/* ------------------------------------------------------------------ */
/* 5. mp_bad_region                                                   */
/* ------------------------------------------------------------------ */

struct br_sh {
	_Atomic int abort;
	char pool[256];
	_Atomic unsigned step;       /* holder: 1 mounted; parent: 2 release */
	int expect;                  /* prober: the mount result it must get */
	char msg[512];               /* prober: udax_last_error() */
	int result;
};

#define BR_LEN 20000

static void br_content(unsigned char *buf)
{
	t_fill(buf, BR_LEN, 777);
}

/* Holds the pool mounted (with a mapping) until told to go. */
static int br_holder(void *arg, int idx)
{
	struct br_sh *s = arg;
	udax_fs *fs;
	unsigned char *m = NULL, *want = malloc(BR_LEN), *got = malloc(BR_LEN);
	int r = udax_mount(s->pool, NULL, &fs);

	(void)idx;
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		atomic_store(&s->abort, 1);
		return 2;
	}
	br_content(want);
	int fd = udax_open(fs, "/data", O_RDWR, 0);
	if (fd < 0 || udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&m))
		cfail("open/mmap /data: %d", fd);
	else if (memcmp(m, want, BR_LEN))
		cfail("/data wrong through the holder's mapping");
	atomic_store(&s->step, 1);
	wait_step(&s->step, 2, &s->abort, "holder");
	if (m) {
		/* still working after the refusals */
		CC(udax_pread(fs, fd, got, BR_LEN, 0) == BR_LEN && memcmp(got, want, BR_LEN) == 0);
		CC(memcmp(m, want, BR_LEN) == 0);
		CC(udax_munmap(fs, m, 8 * PG) == 0);
	}
	udax_close(fs, fd);
	CC(udax_unmount(fs) == 0);
	free(want);
	free(got);
	return 0;
}

/* Mounts once: must get s->expect; on success checks /data. */
static int br_prober(void *arg, int idx)
{
	struct br_sh *s = arg;
	udax_fs *fs = NULL;
	int r = udax_mount(s->pool, NULL, &fs);

	(void)idx;
	s->result = r;
	snprintf(s->msg, sizeof(s->msg), "%s", udax_last_error());
	if (r != s->expect) {
		cfail("udax_mount gave %d (%s), expected %d", r, s->msg, s->expect);
		if (r == 0)
			udax_unmount(fs);
		return 1;
	}
	if (r == 0) {
		unsigned char *want = malloc(BR_LEN), *got = malloc(BR_LEN);
		br_content(want);
		int fd = udax_open(fs, "/data", O_RDONLY, 0);
		CC(fd >= 0 && udax_pread(fs, fd, got, BR_LEN, 0) == BR_LEN && memcmp(got, want, BR_LEN) == 0);
		udax_close(fs, fd);
		CC(udax_unmount(fs) == 0);
		free(want);
		free(got);
	}
	return 0;
}

/* Parent: mount (nobody else attached) must work and /data be intact. */
static int br_mount_check(const char *pool, const char *when)
{
	udax_fs *fs;
	unsigned char *want = malloc(BR_LEN), *got = malloc(BR_LEN + 1);
	int bad = 0, r = udax_mount(pool, NULL, &fs);

	br_content(want);
	if (r) {
		fprintf(stderr, "  %s: udax_mount: %d (%s)\n", when, r, udax_last_error());
		bad = 1;
	} else {
		int fd = udax_open(fs, "/data", O_RDONLY, 0);
		if (fd < 0 || udax_pread(fs, fd, got, BR_LEN + 1, 0) != BR_LEN || memcmp(got, want, BR_LEN)) {
			fprintf(stderr, "  %s: /data is not intact\n", when);
			bad = 1;
		}
		udax_close(fs, fd);
		if (udax_unmount(fs))
			bad = 1;
	}
	free(want);
	free(got);
	return bad;
}

/* Run one prober expecting @expect; 0 if it got it. */
static int br_probe(struct br_sh *s, int expect)
{
	s->expect = expect;
	s->result = 1;
	s->msg[0] = 0;
	pid_t p = spawn("prober", 0, br_prober, s, &s->abort);
	int bad = reap(&p, 1, 30000, "prober", NULL);
	return bad;
}

/* A holder for @pool: mounted when this returns (or -1). */
static pid_t br_hold(struct br_sh *s, const char *pool)
{
	snprintf(s->pool, sizeof(s->pool), "%s", pool);
	atomic_store(&s->step, 0);
	atomic_store(&s->abort, 0);
	static pid_t p;
	p = spawn("holder", 0, br_holder, s, &s->abort);
	watch_set(&p, 1);
	int w = p < 0 ? -1 : wait_step(&s->step, 1, &s->abort, "parent, waiting for the holder");
	watch_set(NULL, 0);
	if (w) {
		if (p > 0)
			reap(&p, 1, 1000, "holder", NULL);
		return -1;
	}
	return p;
}

static int br_release(struct br_sh *s, pid_t p)
{
	atomic_store(&s->step, 2);
	return reap(&p, 1, 30000, "holder", &s->abort);
}

static int mkpool_with_data(const char *pool)
{
	udax_fs *fs;
	unsigned char *buf = malloc(BR_LEN);
	int r = udax_mkfs(pool, 16ull << 20, 0);
	if (!r)
		r = udax_mount(pool, NULL, &fs);
	if (!r) {
		br_content(buf);
		int fd = udax_open(fs, "/data", O_RDWR | O_CREAT, 0644);
		if (fd < 0 || udax_pwrite(fs, fd, buf, BR_LEN, 0) != BR_LEN || udax_fsync(fs, fd))
			r = -EIO;
		udax_close(fs, fd);
		udax_unmount(fs);
	}
	free(buf);
	return r;
}

static void mp_bad_region(void)
{
	const char *pool = mp_pool("region"), *pool2 = mp_pool("region2");
	char rpath[256], rpath2[256], target[256];
	uint8_t uuid[16];
	struct br_sh *s = shm_alloc(sizeof(*s));
	udax_fs *fs;
	struct udax_info info;
	pid_t h;

	REQUIRE(s);
	REQUIRE(mkpool_with_data(pool) == 0);
	REQUIRE(mkpool_with_data(pool2) == 0);
	REQUIRE(region_path(pool, rpath, sizeof(rpath), uuid) == 0);
	REQUIRE(region_path(pool2, rpath2, sizeof(rpath2), NULL) == 0);
	/* the helper's uuid is the pool's */
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	CHECK_EQ(udax_info(fs, &info), 0);
	CHECK(memcmp(info.uuid, uuid, 16) == 0);
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(access(rpath, F_OK) < 0 && errno == ENOENT, 1);   /* the last one out removed it */
	printf("  runtime region: %s\n", rpath);

	/* its size, and a copy, while a holder is attached */
	h = br_hold(s, pool);
	REQUIRE(h > 0);
	long rsize = file_size(rpath);
	if (rsize <= 0)
		fprintf(stderr, "  no runtime region at %s while a process has the pool mounted\n", rpath);
	CHECK(rsize > 0);
	unsigned char *copy = rsize > 0 ? malloc((size_t)rsize) : NULL;
	if (copy)
		CHECK_EQ(read_whole(rpath, copy, (size_t)rsize), 0);
	CHECK_EQ(br_release(s, h), 0);
	REQUIRE(rsize > 0 && copy);
	CHECK_EQ(access(rpath, F_OK) < 0 && errno == ENOENT, 1);

	/* (a) nobody attached: whatever is in the file, mount rebuilds it */
	unsigned char *junk = malloc((size_t)rsize);
	t_fill(junk, (size_t)rsize, 99);
	CHECK_EQ(write_whole(rpath, junk, (size_t)rsize), 0);
	CHECK_EQ(br_mount_check(pool, "garbage region"), 0);
	CHECK_EQ(write_whole(rpath, junk, 100), 0);
	CHECK_EQ(br_mount_check(pool, "short garbage region"), 0);
	CHECK_EQ(write_whole(rpath, copy, (size_t)rsize), 0);      /* a stale copy of its own */
	CHECK_EQ(br_mount_check(pool, "stale region of the same pool"), 0);
	/* another pool's live region, copied */
	h = br_hold(s, pool2);
	REQUIRE(h > 0);
	long rsize2 = file_size(rpath2);
	unsigned char *other = rsize2 > 0 ? malloc((size_t)rsize2) : NULL;
	CHECK(other && read_whole(rpath2, other, (size_t)rsize2) == 0);
	CHECK_EQ(br_release(s, h), 0);
	if (other) {
		CHECK_EQ(write_whole(rpath, other, (size_t)rsize2), 0);
		CHECK_EQ(br_mount_check(pool, "another pool's region"), 0);
		/* and that pool is none the worse */
		CHECK_EQ(br_mount_check(pool2, "the other pool"), 0);
	}
	/* a symbolic link planted at the name is never written through */
	snprintf(target, sizeof(target), "/dev/shm/udax-test-%d-target", (int)getpid());
	remember(target);
	remember(rpath);   /* the link, if the test stops before removing it */
	CHECK_EQ(write_whole(target, "keep me", 7), 0);
	unlink(rpath);
	CHECK_EQ(symlink(target, rpath), 0);
	int r = udax_mount(pool, NULL, &fs);
	if (r == 0)
		udax_unmount(fs);
	else
		printf("  symbolic link at the region's name: mount refused (%d: %s)\n", r,
		       udax_last_error());
	char tbuf[16] = { 0 };
	CHECK_EQ(file_size(target), 7);
	CHECK(read_whole(target, tbuf, 7) == 0 && memcmp(tbuf, "keep me", 7) == 0);
	unlink(rpath);
	unlink(target);
	CHECK_EQ(br_mount_check(pool, "after the link is gone"), 0);

	/* (b) a holder attached: a corrupt header is refused, not rebuilt */
	h = br_hold(s, pool);
	REQUIRE(h > 0);
	unsigned char hdr[8], bad8[8];
	memset(bad8, 0xA5, sizeof(bad8));
	int rfd = open(rpath, O_RDWR);
	CHECK(rfd >= 0);
	if (rfd >= 0) {
		CHECK_EQ(pread(rfd, hdr, 8, 0), 8);
		CHECK_EQ(pwrite(rfd, bad8, 8, 0), 8);
		CHECK_EQ(br_probe(s, -EBUSY), 0);
		printf("  corrupt region header beside a live process: %d, \"%s\"\n", s->result, s->msg);
		CHECK(strstr(s->msg, "runtime region") != NULL);
		/* the holder is unharmed; the header restored, mounts come in again */
		CHECK_EQ(pwrite(rfd, hdr, 8, 0), 8);
		CHECK_EQ(br_probe(s, 0), 0);
		/* corrupt once more and let the holder leave: nobody attached, rebuilt */
		CHECK_EQ(pwrite(rfd, bad8, 8, 0), 8);
		close(rfd);
	}
	CHECK_EQ(br_release(s, h), 0);
	CHECK_EQ(br_mount_check(pool, "after the holder left a corrupt region"), 0);
	CHECK_EQ(t_fsck(pool), 0);
	CHECK_EQ(t_fsck(pool2), 0);
	free(copy);
	free(junk);
	free(other);
	munmap(s, sizeof(*s));
	unlink(pool);
	unlink(pool2);
}

/* ------------------------------------------------------------------ */
/* 6. mp_fork_after_map                                               */
/* ------------------------------------------------------------------ */

/*
 * A child of fork() that mounts a pool itself must be able to fault on
 * its own new mappings, whatever its parent did with udax before.  The
 * atfork handler of src/vm/trap.c sets one process-wide "forked" flag,
 * and every later fault of the child, on any window, raises SIGBUS.
 * Run in a child of its own (the "middle" process) so the flag it sets
 * cannot reach the other tests.
 */
struct fam_sh {
	char pool[256], pool2[256];
	int keep;     /* the middle process keeps pool2 mounted and mapped across the fork */
};

static int fam_grandchild(void *arg, int idx)
{
	struct fam_sh *s = arg;
	udax_fs *fs;
	char *m = NULL;
	int r = udax_mount(s->pool, NULL, &fs);

	(void)idx;
	if (r) {
		cfail("udax_mount: %s (%s)", strerror(-r), udax_last_error());
		return 2;
	}
	int fd = udax_open(fs, "/f", O_RDWR, 0);
	if (fd < 0 || udax_mmap(fs, fd, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&m)) {
		cfail("open/mmap: %d", fd);
		return 3;
	}
	signal(SIGBUS, SIG_DFL);
	CC(m[0] == 'x');           /* the first fault on its own mapping */
	m[1] = 'y';
	CC(udax_fsync(fs, fd) == 0);
	CC(udax_munmap(fs, m, PG) == 0);
	udax_close(fs, fd);
	CC(udax_unmount(fs) == 0);
	return 0;
}

static int fam_middle(void *arg, int idx)
{
	struct fam_sh *s = arg;
	udax_fs *fs;
	char *m;
	int r = udax_mount(s->keep ? s->pool2 : s->pool, NULL, &fs);

	(void)idx;
	if (r) {
		cfail("udax_mount: %d", r);
		return 2;
	}
	int fd = udax_open(fs, "/f", O_RDWR, 0);
	if (fd < 0 || udax_mmap(fs, fd, PG, PROT_READ, MAP_SHARED, 0, (void **)&m)) {
		cfail("open/mmap: %d", fd);
		return 3;
	}
	CC(m[0] == 'x');
	if (!s->keep) {
		udax_munmap(fs, m, PG);
		udax_close(fs, fd);
		udax_unmount(fs);
	}
	pid_t g = spawn("grandchild", s->keep, fam_grandchild, s, NULL);
	int bad = reap(&g, 1, 30000, "grandchild (mounts and maps a pool itself)", NULL);
	if (s->keep) {
		udax_munmap(fs, m, PG);
		udax_close(fs, fd);
		udax_unmount(fs);
	}
	return bad;
}

static int fam_pool(const char *pool)
{
	udax_fs *fs;
	int r = udax_mkfs(pool, 16ull << 20, 0);
	if (!r)
		r = udax_mount(pool, NULL, &fs);
	if (r)
		return r;
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	r = udax_pwrite(fs, fd, "x", 1, 0) == 1 ? 0 : -EIO;
	udax_close(fs, fd);
	udax_unmount(fs);
	return r;
}

static void mp_fork_after_map(void)
{
	struct fam_sh *s = shm_alloc(sizeof(*s));

	REQUIRE(s);
	snprintf(s->pool, sizeof(s->pool), "%s", mp_pool("fam"));
	snprintf(s->pool2, sizeof(s->pool2), "%s", mp_pool("fam2"));
	REQUIRE(fam_pool(s->pool) == 0 && fam_pool(s->pool2) == 0);
	for (int keep = 0; keep < 2; keep++) {
		s->keep = keep;
		pid_t p = spawn("middle", keep, fam_middle, s, NULL);
		int bad = reap(&p, 1, 60000, keep ? "middle (pool2 still mapped at fork)"
		                                   : "middle (everything unmapped before fork)", NULL);
		CHECK_EQ(bad, 0);
	}
	CHECK_EQ(t_fsck(s->pool), 0);
	unlink(s->pool);
	unlink(s->pool2);
	munmap(s, sizeof(*s));
}

/* ------------------------------------------------------------------ */

static int selected(int argc, char **argv, const char *name)
{
	int any = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		any = 1;
		if (!strcmp(argv[i], name))
			return 1;
	}
	return !any;
}

#define RUN_IF(fn) do { if (selected(argc, argv, #fn)) RUN(fn); } while (0)

int main(int argc, char **argv)
{
	const char *e = getenv("UDAX_MP_LONG");
	long_mode = e && *e && strcmp(e, "0");
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l"))
			long_mode = 1;
	light = getenv("UDAX_CRASH_LIGHT") != NULL;
	wait_ms = long_mode ? 1800000 : 240000;
	signal(SIGPIPE, SIG_IGN);
	printf("test_multiproc: %s run%s\n", long_mode ? "long" : "default",
	       light ? " (light)" : "");
	RUN_IF(mp_mount_many);
	RUN_IF(mp_stress);
	RUN_IF(mp_truncate_vs_map);
	RUN_IF(mp_kill);
	RUN_IF(mp_bad_region);
	RUN_IF(mp_fork_after_map);
	remove_made();
	return t_summary();
}
