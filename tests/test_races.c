/*
 * test_races.c - deterministic reproductions of the DAX races that
 * Linux shipped and fixed, each driven by named schedule points so the
 * same interleaving runs every time.  Every test here passes on the
 * real code; each is also built against a library with a test-only
 * switch that puts the historical bug back (UDAX_BUG_*), and CTest
 * expects that build to fail the test: a test that cannot fail proves
 * nothing.
 *
 *   race_2016       hole read-faulted; pwrite allocates; the reader's
 *                   store faults in before pwrite's invalidation, which
 *                   must not drop the dirty entry      (DROP_DIRTY)
 *   race_writeback  writeback clears dirty before write-protecting: a
 *                   store in between is never flushed  (CLEAN_BEFORE_WRPROTECT)
 *   race_truncate   a mapping of a block freed by truncate survives
 *   race_punch      the same for punch hole            (FREE_MAPPED)
 *   race_pmd        2 MiB zero entry vs a 4 KiB write fault inside it
 *                                                      (PMD_PTE_COLLISION)
 *   race_recursion  pwrite from a mapping of the range it writes, with
 *                   the write holding entry locks      (NO_BAILOUT)
 *   race_map_sync   a MAP_SYNC write fault that allocated, crash before
 *                   any fsync                          (SYNC_NO_COMMIT)
 *   race_two_write_faults  catalog 1: two write faults on one hole
 *   race_three_faults      catalog 6: three faults on one hole, all wake
 *   race_fsync_redirty     catalog 11: fsync ends while pages are
 *                          re-dirtied (writeback works on a snapshot)
 * Catalog 9 (a block freed while the kernel uses a mapping) is covered
 * by the pin tests and documented in docs/dax.md.
 *
 * Usage: test_races [NAME]   (no name: all of them)
 */
#include "t.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/sched.h"

#define WAIT_MS 5000

static struct dax_inode *dax_of(udax_fs *fs, int fd)
{
	struct ufile *f = fd_get(fs, fd);
	struct dax_inode *di = f->ip->upper;   /* lives while @fd is open */

	fd_put(fs, f);
	return di;
}

/* Save the shadow image, unmount, and read @n bytes at @off of @path
 * from the crash image into @out (after an fsck that must be clean). */
static int read_after_crash(udax_fs *fs, const char *pool, const char *path, off_t off,
                            char *out, size_t n)
{
	char img[300];
	snprintf(img, sizeof(img), "%s.crash", pool);
	if (udax_shadow_save(fs, img))
		return -1;
	udax_unmount(fs);
	int problems = t_fsck(img);
	udax_fs *c;
	if (udax_mount(img, NULL, &c))
		return -1;
	int fd = udax_open(c, path, O_RDONLY, 0);
	memset(out, 0, n);
	ssize_t r = fd < 0 ? -1 : udax_pread(c, fd, out, n, off);
	udax_close(c, fd);
	udax_unmount(c);
	unlink(img);
	return problems || r < 0 ? -1 : 0;
}

struct job {
	udax_fs *fs;
	int fd;
	int kind;
	char *addr;
	ssize_t result;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	static char data[100];
	memset(data, 'B', sizeof(data));
	switch (j->kind) {
	case 0: j->result = udax_pwrite(j->fs, j->fd, data, sizeof(data), 0); break;
	case 1: j->result = udax_fsync(j->fs, j->fd); break;
	case 2: j->result = udax_ftruncate(j->fs, j->fd, 0); break;
	case 3: j->result = udax_fallocate(j->fs, j->fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, 4096); break;
	case 4: *(volatile char *)j->addr = 'y'; j->result = 0; break;
	}
	return NULL;
}

static pthread_t start(struct job *j)
{
	pthread_t t;
	pthread_create(&t, NULL, run_job, j);
	return t;
}

static udax_fs *setup(const char *tag, const char *opts, const char **pool, int *fd,
                      off_t size, int mflags, char **map)
{
	udax_fs *fs;
	*pool = t_pool(tag);
	if (udax_mkfs(*pool, 32 << 20, 0) || udax_mount(*pool, opts, &fs))
		return NULL;
	*fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	if (*fd < 0 || udax_ftruncate(fs, *fd, size))
		return NULL;
	if (udax_mmap(fs, *fd, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | mflags, 0,
	              (void **)map))
		return NULL;
	return fs;
}

/* 1. The July 2016 race. */
static void race_2016(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("r2016", "shadow", &pool, &fd, 8192, 0, &p);
	REQUIRE(fs);
	CHECK_EQ(p[0], 0);                          /* A: read fault, zero page */
	sched_arm("write:allocated");
	struct job b = { fs, fd, 0, NULL, 0 };
	pthread_t tb = start(&b);                   /* B: pwrite allocates block 0 */
	REQUIRE(sched_wait("write:allocated", WAIT_MS) == 0);
	p[200] = 'A';                               /* A: store faults in, dirty */
	sched_release("write:allocated");           /* B: now invalidates */
	pthread_join(tb, NULL);
	CHECK_EQ(b.result, 100);
	CHECK(entry_peek(dax_of(fs, fd), 0) & E_DIRTY);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	char out[256];
	udax_munmap(fs, p, 8192);
	udax_close(fs, fd);
	REQUIRE(read_after_crash(fs, pool, "/f", 0, out, 256) == 0);
	CHECK_EQ(out[0], 'B');
	CHECK_EQ(out[200], 'A');                    /* the store survived */
	unlink(pool);
}

/* Wait for whichever of two points a thread reached. */
static const char *wait_either(const char *a, const char *b)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (sched_wait(a, 10) == 0)
			return a;
		if (sched_wait(b, 10) == 0)
			return b;
	}
	return NULL;
}

/* 2. Writeback against a store: write-protect before clearing dirty. */
static void race_writeback(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("rwb", "shadow", &pool, &fd, 4096, 0, &p);
	REQUIRE(fs);
	p[0] = 'x';                                 /* dirty, writable */
	sched_arm("writeback:protected");
	sched_arm("writeback:cleaned");
	struct job f = { fs, fd, 1, NULL, 0 };
	pthread_t tf = start(&f);                   /* F: fsync, stops mid-entry */
	const char *at = wait_either("writeback:protected", "writeback:cleaned");
	REQUIRE(at);
	sched_arm("entry:sleep");
	struct job s = { fs, fd, 4, p + 1, 0 };
	pthread_t ts = start(&s);                   /* S: stores to the page */
	if (sched_wait("entry:sleep", 500) == 0)    /* it faulted and waits for F */
		sched_release("entry:sleep");
	sched_release(at);
	pthread_join(tf, NULL);
	pthread_join(ts, NULL);
	sched_reset();
	/* the store came after the flush: the page must be dirty again */
	CHECK(entry_peek(dax_of(fs, fd), 0) & E_DIRTY);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	char out[2];
	udax_munmap(fs, p, 4096);
	udax_close(fs, fd);
	REQUIRE(read_after_crash(fs, pool, "/f", 0, out, 2) == 0);
	CHECK_EQ(out[0], 'x');
	CHECK_EQ(out[1], 'y');
	unlink(pool);
}

/* 3 and 4. Writeback holds a page while truncate (or punch) zaps it. */
static void freed_while_mapped(int kind)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup(kind == 2 ? "rtrunc" : "rpunch", NULL, &pool, &fd, 8192, 0, &p);
	REQUIRE(fs);
	p[0] = 'Y';                                 /* block 0: dirty, writable */
	sched_arm("writeback:locked");
	struct job f = { fs, fd, 1, NULL, 0 };
	pthread_t tf = start(&f);                   /* F: holds page 0's entry */
	REQUIRE(sched_wait("writeback:locked", WAIT_MS) == 0);
	sched_arm("entry:sleep");
	struct job t = { fs, fd, kind, NULL, 0 };
	pthread_t tt = start(&t);                   /* T: zaps, then waits for F */
	REQUIRE(sched_wait("entry:sleep", WAIT_MS) == 0);
	sched_release("entry:sleep");
	sched_release("writeback:locked");          /* F re-maps page 0 read-only */
	pthread_join(tf, NULL);
	pthread_join(tt, NULL);
	CHECK_EQ(t.result, 0);
	if (kind == 2)
		udax_ftruncate(fs, fd, 8192);           /* page 0 is a hole again */
	/* another file takes the freed block */
	int g = udax_open(fs, "/g", O_RDWR | O_CREAT, 0644);
	char gd[4096];
	memset(gd, 'G', sizeof(gd));
	udax_pwrite(fs, g, gd, sizeof(gd), 0);
	CHECK_EQ(p[0], 0);                          /* a hole reads zeros */
	char c = 0;
	udax_pread(fs, fd, &c, 1, 0);
	CHECK_EQ(c, 0);
	udax_close(fs, g);
	udax_munmap(fs, p, 8192);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void race_truncate(void) { freed_while_mapped(2); }
static void race_punch(void) { freed_while_mapped(3); }

/* 5. A 2 MiB zero-page entry and a 4 KiB write fault inside it. */
static void race_pmd(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("rpmd", "shadow", &pool, &fd, 4 << 20, 0, &p);
	REQUIRE(fs);
	struct dax_inode *di = dax_of(fs, fd);
	CHECK_EQ(p[0], 0);
	CHECK((entry_peek(di, 0) & (E_PMD | E_ZERO)) == (E_PMD | E_ZERO));
	p[8192] = 'P';
	CHECK(entry_peek(di, 2) & E_DIRTY);
	CHECK(!(entry_peek(di, 0) & E_PMD));
	CHECK_EQ(p[4096], 0);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	char out[1];
	udax_munmap(fs, p, 4 << 20);
	udax_close(fs, fd);
	REQUIRE(read_after_crash(fs, pool, "/f", 8192, out, 1) == 0);
	CHECK_EQ(out[0], 'P');
	unlink(pool);
}

/* 6. pwrite whose source is a mapping of the range it writes. */
static _Atomic int recursion_done;

static void *watchdog(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100 && !recursion_done; i++)
		usleep(100000);
	if (!recursion_done) {
		fprintf(stderr, "  FAIL race_recursion: pwrite from its own mapping deadlocked\n");
		printf("0 passed, 1 failed\n");
		fflush(stdout);
		_exit(1);
	}
	return NULL;
}

static void race_recursion(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("rrec", "write_lock=range", &pool, &fd, 64 << 10, 0, &p);
	REQUIRE(fs);
	pthread_t wd;
	recursion_done = 0;
	pthread_create(&wd, NULL, watchdog, NULL);
	CHECK_EQ(udax_pwrite(fs, fd, p, 32 << 10, 0), 32 << 10);
	memset(p, 'r', 4096);
	CHECK_EQ(udax_pwrite(fs, fd, p, 8192, 4096), 8192);
	recursion_done = 1;
	pthread_join(wd, NULL);
	char c;
	udax_pread(fs, fd, &c, 1, 4096 + 100);
	CHECK_EQ(c, 'r');
	udax_munmap(fs, p, 64 << 10);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

/* 7. MAP_SYNC: the allocation is durable before the fault returns. */
static void race_map_sync(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("rsync", "shadow", &pool, &fd, 8192, UDAX_MAP_SYNC, &p);
	REQUIRE(fs);
	p[0] = 'S';                                 /* allocating write fault */
	CHECK_EQ(udax_flush(fs, p, 1), 0);          /* CPU flush only, no fsync */
	char out[1];
	udax_munmap(fs, p, 8192);
	REQUIRE(read_after_crash(fs, pool, "/f", 0, out, 1) == 0);
	CHECK_EQ(out[0], 'S');
	unlink(pool);
}

/* Catalog 1: two write faults on one hole; the loser must not zero or
 * replace the winner's block. */
struct store_job {
	volatile char *addr;
	char val;
	_Atomic int done;
};

static void *store_run(void *arg)
{
	struct store_job *j = arg;
	if (j->val)
		*j->addr = j->val;
	else
		(void)*j->addr;
	atomic_store(&j->done, 1);
	return NULL;
}

static int wait_done(_Atomic int *flag, int ms)
{
	for (int i = 0; i < ms / 10 && !atomic_load(flag); i++)
		usleep(10 * 1000);
	return atomic_load(flag);
}

static void race_two_write_faults(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("r2wf", "shadow", &pool, &fd, 8192, 0, &p);
	REQUIRE(fs);
	sched_arm("fault:allocated");
	struct store_job a = { p, 'A', 0 }, b = { p + 100, 'B', 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, store_run, &a);   /* A allocates, holds */
	REQUIRE(sched_wait("fault:allocated", WAIT_MS) == 0);
	sched_arm("entry:sleep");
	pthread_create(&tb, NULL, store_run, &b);   /* B faults on the same hole */
	CHECK(sched_wait("entry:sleep", WAIT_MS) == 0);  /* and sleeps on A's entry */
	sched_release("entry:sleep");
	usleep(50 * 1000);
	CHECK(!atomic_load(&b.done));
	sched_release("fault:allocated");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	char out[128];
	CHECK_EQ(udax_pread(fs, fd, out, 128, 0), 128);
	CHECK_EQ(out[0], 'A');
	CHECK_EQ(out[100], 'B');
	CHECK_EQ(udax_fsync(fs, fd), 0);
	udax_munmap(fs, p, 8192);
	udax_close(fs, fd);
	REQUIRE(read_after_crash(fs, pool, "/f", 0, out, 128) == 0);
	CHECK_EQ(out[0], 'A');
	CHECK_EQ(out[100], 'B');
	unlink(pool);
}

/* Catalog 6: three faults on one 4 KiB hole; every sleeper wakes. */
static void race_three_faults(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("r3f", NULL, &pool, &fd, 8192, 0, &p);
	REQUIRE(fs);
	sched_arm("fault:allocated");
	struct store_job a = { p, 'A', 0 }, b = { p + 1, 0, 0 }, c = { p + 2, 'C', 0 };
	pthread_t ta, tb, tc;
	pthread_create(&ta, NULL, store_run, &a);
	REQUIRE(sched_wait("fault:allocated", WAIT_MS) == 0);
	pthread_create(&tb, NULL, store_run, &b);   /* a read fault */
	pthread_create(&tc, NULL, store_run, &c);   /* and a write fault */
	usleep(100 * 1000);                         /* both asleep on A's entry */
	CHECK(!atomic_load(&b.done) && !atomic_load(&c.done));
	sched_release("fault:allocated");
	CHECK(wait_done(&b.done, WAIT_MS));         /* a missed wake-up hangs here */
	CHECK(wait_done(&c.done, WAIT_MS));
	if (atomic_load(&b.done) && atomic_load(&c.done)) {
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_join(tc, NULL);
		CHECK_EQ(p[0], 'A');
		CHECK_EQ(p[2], 'C');
		udax_munmap(fs, p, 8192);
		udax_close(fs, fd);
		udax_unmount(fs);
	}
	unlink(pool);
}

/* Catalog 11: fsync finishes while other threads keep re-dirtying the
 * pages it writes back (it works on a snapshot). */
static _Atomic int redirty_stop;

static void *redirty_run(void *arg)
{
	volatile char *p = arg;   /* this thread's 32 pages */
	for (unsigned i = 0; !atomic_load(&redirty_stop); i++)
		p[(i % 32) * 4096] = (char)i;
	return NULL;
}

static void race_fsync_redirty(void)
{
	const char *pool;
	int fd;
	char *p;
	udax_fs *fs = setup("rredirty", NULL, &pool, &fd, 64 * 4096, 0, &p);
	REQUIRE(fs);
	pthread_t t[2];
	atomic_store(&redirty_stop, 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, redirty_run, p + (size_t)i * 32 * 4096);
	usleep(20 * 1000);
	/* hold fsync mid-snapshot while the stores go on, then let it end */
	sched_arm("writeback:locked");
	struct job f = { fs, fd, 1, NULL, -1 };
	pthread_t tf = start(&f);
	CHECK(sched_wait("writeback:locked", WAIT_MS) == 0);
	usleep(50 * 1000);
	sched_release("writeback:locked");
	pthread_join(tf, NULL);
	CHECK_EQ(f.result, 0);
	int ok = 1;
	for (int i = 0; i < 200 && ok; i++)
		ok = udax_fsync(fs, fd) == 0;
	CHECK(ok);
	atomic_store(&redirty_stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	udax_munmap(fs, p, 64 * 4096);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "race_two_write_faults", race_two_write_faults },
	{ "race_three_faults", race_three_faults },
	{ "race_fsync_redirty", race_fsync_redirty },
	{ "race_2016", race_2016 },
	{ "race_writeback", race_writeback },
	{ "race_truncate", race_truncate },
	{ "race_punch", race_punch },
	{ "race_pmd", race_pmd },
	{ "race_recursion", race_recursion },
	{ "race_map_sync", race_map_sync },
};

int main(int argc, char **argv)
{
	int ran = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		t_name = tests[i].name;
		t_cur_failed = 0;
		tests[i].fn();
		sched_reset();
		if (t_cur_failed) {
			t_failed++;
			fprintf(stderr, "FAILED %s\n", tests[i].name);
		} else {
			t_passed++;
			printf("ok %s\n", tests[i].name);
		}
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "no test named %s\n", argv[1]);
		return 2;
	}
	return t_summary();
}
