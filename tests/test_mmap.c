/*
 * test_mmap.c - the DAX engine through udax_mmap: every fault kind, the
 * zero page and its eviction, PMD and PTE paths, dirty tracking across
 * fsync, SIGBUS past EOF, chaining to the application's SIGSEGV handler,
 * the recursive pread/pwrite, MAP_PRIVATE copy-on-write, truncate and
 * punch under a live mapping, crash durability of mapped stores (shadow
 * backend), and the errno of every bad argument.
 */
#include "t.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "api/fs.h"
#include "dax/dax.h"

static sigjmp_buf jb;
static volatile int got_sig, app_segv_calls;
static void *volatile sig_addr;

static void app_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	sig_addr = si->si_addr;
	if (sig == SIGSEGV)
		app_segv_calls++;
	siglongjmp(jb, 1);
}

/* Run @access; returns the signal it raised (0 if none). */
#define TRY(access) ({ got_sig = 0; if (!sigsetjmp(jb, 1)) { access; } got_sig; })

static struct dax_inode *dax_of(udax_fs *fs, int fd)
{
	struct ufile *f = fd_get(fs, fd);
	struct dax_inode *di = f->ip->upper;   /* lives while @fd is open */

	fd_put(fs, f);
	return di;
}

static udax_fs *fresh(const char *tag, unsigned mb, const char *opts, const char **pool)
{
	*pool = t_pool(tag);
	udax_fs *fs = NULL;
	if (udax_mkfs(*pool, (uint64_t)mb << 20, 0) || udax_mount(*pool, opts, &fs))
		return NULL;
	return fs;
}

static void test_hole_read_then_pwrite(void)
{
	const char *pool;
	udax_fs *fs = fresh("zero", 32, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	REQUIRE(udax_ftruncate(fs, fd, 16384) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(p[5000], 0);                                 /* read fault on a hole */
	struct dax_inode *di = dax_of(fs, fd);
	CHECK(entry_peek(di, 1) & E_ZERO);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, 0);                            /* reading allocates nothing */
	/* pwrite fills the hole: the existing mapping shows it, no remap */
	CHECK_EQ(udax_pwrite(fs, fd, "hello", 5, 5000), 5);
	CHECK(memcmp(p + 5000, "hello", 5) == 0);
	CHECK(!(entry_peek(di, 1) & E_ZERO));
	udax_munmap(fs, p, 16384);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void test_write_fault_dirty_fsync(void)
{
	const char *pool;
	udax_fs *fs = fresh("dirty", 32, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_ftruncate(fs, fd, 3 * 4096);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	struct dax_inode *di = dax_of(fs, fd);
	p[4096 + 7] = 'x';                                    /* write fault on a hole */
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, 8);                            /* one block allocated */
	CHECK(entry_peek(di, 1) & E_DIRTY);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK(!(entry_peek(di, 1) & E_DIRTY));                /* clean after fsync */
	p[4096 + 8] = 'y';                                    /* store again: must fault */
	CHECK(entry_peek(di, 1) & E_DIRTY);                   /* dirty re-armed */
	CHECK_EQ(udax_msync(fs, p + 4096, 4096, MS_SYNC), 0);
	CHECK(!(entry_peek(di, 1) & E_DIRTY));
	/* a store to a clean mapped block (mkwrite) */
	udax_pwrite(fs, fd, "abc", 3, 0);                     /* allocates page 0 */
	CHECK_EQ(p[1], 'b');                                  /* read fault maps it */
	CHECK(!(entry_peek(di, 0) & E_DIRTY));
	p[0] = 'A';
	CHECK(entry_peek(di, 0) & E_DIRTY);
	char b[4];
	udax_pread(fs, fd, b, 3, 0);
	CHECK(memcmp(b, "Abc", 3) == 0);                      /* one copy of the data */
	udax_munmap(fs, p, 3 * 4096);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void test_pmd(void)
{
	const char *pool;
	udax_fs *fs = fresh("pmd", 64, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	size_t len = 4 << 20;
	char *b = malloc(len);
	t_fill(b, len, 9);
	REQUIRE(udax_pwrite(fs, fd, b, len, 0) == (ssize_t)len);
	char *p;
	REQUIRE(udax_mmap(fs, fd, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ((uintptr_t)p % (2 << 20), 0);
	CHECK(memcmp(p, b, len) == 0);
	struct dax_inode *di = dax_of(fs, fd);
	p[100] = 1;                                           /* PMD write fault */
	uint64_t e = entry_peek(di, 0);
	CHECK(e & E_PMD);
	CHECK(e & E_DIRTY);
	CHECK_EQ(entry_peek(di, 300), e);                     /* one entry covers 512 pages */
	/* msync of a sub-range inside the 2 MiB entry flushes it */
	p[4096 + 5] = 2;
	CHECK_EQ(udax_msync(fs, p + 4096, 4096, MS_SYNC), 0);
	CHECK(!(entry_peek(di, 0) & E_DIRTY));
	p[100] = 1;
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK(!(entry_peek(di, 0) & E_DIRTY));
	udax_munmap(fs, p, len);
	/* PMD zero entry over a 2 MiB hole, then a 4 KiB write inside it */
	int fd2 = udax_open(fs, "/g", O_RDWR | O_CREAT, 0644);
	udax_ftruncate(fs, fd2, 4 << 20);
	REQUIRE(udax_mmap(fs, fd2, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	struct dax_inode *d2 = dax_of(fs, fd2);
	CHECK_EQ(p[8192], 0);
	CHECK((entry_peek(d2, 2) & (E_PMD | E_ZERO)) == (E_PMD | E_ZERO));
	p[8192] = 5;                                          /* PTE write inside PMD zero */
	CHECK(!(entry_peek(d2, 0) & E_PMD));
	CHECK(entry_peek(d2, 2) & E_DIRTY);
	CHECK_EQ(p[8192], 5);
	CHECK_EQ(p[0], 0);
	CHECK_EQ(p[(2 << 20) - 1], 0);
	char c;
	udax_pread(fs, fd2, &c, 1, 8192);
	CHECK_EQ(c, 5);
	/* PTE entries in a run: a PMD fault there must fall back */
	p[(2 << 20) + 4096] = 6;
	CHECK_EQ(p[(2 << 20) + 8192], 0);
	CHECK(!(entry_peek(d2, 512 + 2) & E_PMD));
	udax_munmap(fs, p, 4 << 20);
	free(b);
	udax_close(fs, fd);
	udax_close(fs, fd2);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void test_sigbus_and_chaining(void)
{
	const char *pool;
	udax_fs *fs = fresh("sigbus", 16, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_pwrite(fs, fd, "0123456789", 10, 0);
	volatile char *p;
	REQUIRE(udax_mmap(fs, fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(TRY((void)p[4000]), 0);                     /* inside the last page: zeros */
	CHECK_EQ(p[4000], 0);
	CHECK_EQ(TRY((void)p[4096]), SIGBUS);                /* the page past EOF */
	CHECK(sig_addr == (void *)(p + 4096));
	CHECK_EQ(TRY(p[2 * 4096] = 1), SIGBUS);
	/* a store to a read-only mapping is the application's SIGSEGV */
	volatile char *r;
	REQUIRE(udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, 0, (void **)&r) == 0);
	CHECK_EQ(r[1], '1');
	int before = app_segv_calls;
	CHECK_EQ(TRY(r[1] = 'x'), SIGSEGV);
	CHECK_EQ(app_segv_calls, before + 1);
	CHECK_EQ(r[1], '1');
	/* a fault that is not udax's reaches the application unchanged */
	char *own = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_EQ(TRY((void)*(volatile char *)own), SIGSEGV);
	CHECK(sig_addr == own);
	munmap(own, 4096);
	/* after munmap the window behaves like unmapped memory */
	char *gone = (char *)r;
	CHECK_EQ(udax_munmap(fs, (void *)r, 4096), 0);
	CHECK_EQ(TRY((void)*(volatile char *)gone), SIGSEGV);
	udax_munmap(fs, (void *)p, 3 * 4096);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

static void test_recursion(void)
{
	const char *pool;
	udax_fs *fs = fresh("recur", 32, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_ftruncate(fs, fd, 64 * 1024);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 64 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	/* pwrite whose source is a mapping of the same range, unfaulted */
	CHECK_EQ(udax_pwrite(fs, fd, p, 32 * 1024, 0), 32 * 1024);
	/* and of a hole into the range it is filling, shifted by a page */
	memset(p, 'a', 8192);
	CHECK_EQ(udax_pwrite(fs, fd, p, 16 * 1024, 4096), 16 * 1024);
	char buf[16];
	udax_pread(fs, fd, buf, 1, 4096 + 8191);
	CHECK_EQ(buf[0], 'a');
	/* pread into a mapping of the same file (write faults into holes) */
	udax_pwrite(fs, fd, "XYZ", 3, 60000);
	CHECK_EQ(udax_pread(fs, fd, p + 40000, 3, 60000), 3);
	CHECK(memcmp(p + 40000, "XYZ", 3) == 0);
	udax_pread(fs, fd, buf, 3, 40000);
	CHECK(memcmp(buf, "XYZ", 3) == 0);
	/* a bad user pointer is -EFAULT, not a crash */
	CHECK_EQ(udax_pwrite(fs, fd, (void *)16, 10, 0), -EFAULT);
	udax_munmap(fs, p, 64 * 1024);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void test_private_cow(void)
{
	const char *pool;
	udax_fs *fs = fresh("cow", 16, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_pwrite(fs, fd, "shared!", 7, 0);
	udax_ftruncate(fs, fd, 8192);
	char *priv, *sh;
	REQUIRE(udax_mmap(fs, fd, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, (void **)&priv) == 0);
	REQUIRE(udax_mmap(fs, fd, 8192, PROT_READ, MAP_SHARED, 0, (void **)&sh) == 0);
	CHECK(memcmp(priv, "shared!", 7) == 0);
	priv[0] = 'S';                                        /* copy on write */
	priv[5000] = 'h';                                     /* write into a hole */
	CHECK_EQ(priv[0], 'S');
	CHECK_EQ(sh[0], 's');
	CHECK_EQ(sh[5000], 0);
	char b[8];
	udax_pread(fs, fd, b, 7, 0);
	CHECK(memcmp(b, "shared!", 7) == 0);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, 8);                            /* the hole stays a hole */
	CHECK_EQ(udax_mmap(fs, fd, 8192, PROT_READ, MAP_PRIVATE | UDAX_MAP_SYNC, 0, (void **)&sh), -EINVAL);
	udax_munmap(fs, priv, 8192);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

static void test_truncate_punch_mapped(void)
{
	const char *pool;
	udax_fs *fs = fresh("trmap", 16, NULL, &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	char b[4 * 4096];
	memset(b, 'q', sizeof(b));
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	volatile char *p;
	REQUIRE(udax_mmap(fs, fd, sizeof(b), PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	p[3 * 4096] = 'w';
	CHECK_EQ(p[2 * 4096], 'q');
	/* punch page 1: the mapping reads zeros there, nothing reaches the freed block */
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 4096, 4096), 0);
	CHECK_EQ(p[4096], 0);
	CHECK_EQ(p[4095], 'q');
	/* truncate to two pages: pages 2 and 3 now raise SIGBUS */
	CHECK_EQ(udax_ftruncate(fs, fd, 8192), 0);
	CHECK_EQ(TRY((void)p[3 * 4096]), SIGBUS);
	CHECK_EQ(TRY(p[2 * 4096] = 1), SIGBUS);
	CHECK_EQ(TRY((void)p[0]), 0);
	/* a store into the hole page allocates again */
	p[4096] = 'n';
	char c;
	udax_pread(fs, fd, &c, 1, 4096);
	CHECK_EQ(c, 'n');
	/* the mapping survives unlink and close */
	udax_close(fs, fd);
	CHECK_EQ(udax_unlink(fs, "/f"), 0);
	CHECK_EQ(p[4096], 'n');
	p[0] = 'z';
	CHECK_EQ(udax_munmap(fs, (void *)p, sizeof(b)), 0);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void test_crash_keeps_fsynced_stores(void)
{
	const char *pool;
	char img[256];
	udax_fs *fs = fresh("mcrash", 16, "shadow", &pool);
	REQUIRE(fs);
	snprintf(img, sizeof(img), "%s.img", pool);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	udax_ftruncate(fs, fd, 8192);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	memcpy(p, "durable", 7);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	memcpy(p + 4096, "lost", 4);          /* never flushed */
	memcpy(p + 100, "again", 5);          /* store after fsync, then fsync */
	CHECK_EQ(udax_fsync(fs, fd), 0);
	memcpy(p + 200, "late", 4);           /* after the last fsync */
	REQUIRE(udax_shadow_save(fs, img) == 0);
	udax_munmap(fs, p, 8192);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(img), 0);
	REQUIRE(udax_mount(img, NULL, &fs) == 0);
	fd = udax_open(fs, "/f", O_RDONLY, 0);
	char b[8] = { 0 };
	udax_pread(fs, fd, b, 7, 0);
	CHECK(memcmp(b, "durable", 7) == 0);
	udax_pread(fs, fd, b, 5, 100);
	CHECK(memcmp(b, "again", 5) == 0);
	/* "lost" was flushed by the second fsync too: page 1 was dirty */
	udax_pread(fs, fd, b, 4, 4096);
	CHECK(memcmp(b, "lost", 4) == 0);
	udax_pread(fs, fd, b, 4, 200);
	CHECK(memcmp(b, "late", 4) != 0);     /* never flushed: the shadow drops it */
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(img);
	unlink(pool);
}

/* fsync writes back adjacent dirty pages with adjacent blocks as one
 * run: every page of the run must be flushed and write-protected (a
 * store after the fsync must dirty its page again), and pages around
 * the run, or in another run, must be done as well. */
static void test_run_writeback(void)
{
	const char *pool;
	char img[256], b[8];
	udax_fs *fs = fresh("mrun", 16, "shadow", &pool);
	REQUIRE(fs);
	snprintf(img, sizeof(img), "%s.img", pool);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	static char zero[1 << 20];
	/* one extent: blocks adjacent; under 2 MiB: PTE entries only */
	REQUIRE(udax_pwrite(fs, fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero));
	char *p;
	REQUIRE(udax_mmap(fs, fd, sizeof(zero), PROT_READ | PROT_WRITE, MAP_SHARED, 0,
	                  (void **)&p) == 0);
	for (int pg = 10; pg < 60; pg++)
		memcpy(p + pg * 4096 + 7, "run1", 4);
	memcpy(p + 100 * 4096, "solo", 4);
	for (int pg = 200; pg < 256; pg++)
		memcpy(p + pg * 4096 + 9, "run2", 4);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	/* stores into the middle and the end of the first run after fsync */
	memcpy(p + 35 * 4096 + 7, "RE35", 4);
	memcpy(p + 59 * 4096 + 7, "RE59", 4);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	REQUIRE(udax_shadow_save(fs, img) == 0);
	udax_munmap(fs, p, sizeof(zero));
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(img), 0);
	REQUIRE(udax_mount(img, NULL, &fs) == 0);
	fd = udax_open(fs, "/f", O_RDONLY, 0);
	int bad = 0;
	for (int pg = 10; pg < 60; pg++) {
		const char *want = pg == 35 ? "RE35" : pg == 59 ? "RE59" : "run1";
		udax_pread(fs, fd, b, 4, pg * 4096 + 7);
		bad += memcmp(b, want, 4) != 0;
	}
	for (int pg = 200; pg < 256; pg++) {
		udax_pread(fs, fd, b, 4, pg * 4096 + 9);
		bad += memcmp(b, "run2", 4) != 0;
	}
	udax_pread(fs, fd, b, 4, 100 * 4096);
	bad += memcmp(b, "solo", 4) != 0;
	CHECK_EQ(bad, 0);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(img);
	unlink(pool);
}

static void test_bad_args(void)
{
	udax_fs *fs = t_fresh("mbad", 16, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	int ro = udax_open(fs, "/f", O_RDONLY, 0);
	int wo = udax_open(fs, "/f", O_WRONLY, 0);
	int dir = udax_open(fs, "/", O_RDONLY, 0);
	void *p;
	CHECK_EQ(udax_mmap(fs, fd, 0, PROT_READ, MAP_SHARED, 0, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, 100, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, -4096, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ, 0, 0, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, 0, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, 0, &p), -EINVAL);
	CHECK_EQ(udax_mmap(fs, 99, 4096, PROT_READ, MAP_SHARED, 0, &p), -EBADF);
	CHECK_EQ(udax_mmap(fs, ro, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p), -EACCES);
	CHECK_EQ(udax_mmap(fs, wo, 4096, PROT_READ, MAP_SHARED, 0, &p), -EACCES);
	CHECK_EQ(udax_mmap(fs, dir, 4096, PROT_READ, MAP_SHARED, 0, &p), -ENODEV);
	CHECK_EQ(udax_mmap(fs, fd, 4096, PROT_READ, MAP_SHARED, (off_t)UDAX_MAX_FILE_SIZE, &p), -EOVERFLOW);
	/* read-only fd, private writable: allowed */
	CHECK_EQ(udax_mmap(fs, ro, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &p), 0);
	CHECK_EQ(udax_munmap(fs, (char *)p + 4096, 4096), -EINVAL);
	CHECK_EQ(udax_munmap(fs, p, 8192), -EINVAL);
	CHECK_EQ(udax_msync(fs, (char *)p + 1, 10, MS_SYNC), -EINVAL);
	CHECK_EQ(udax_msync(fs, p, 10, MS_SYNC | MS_ASYNC), -EINVAL);
	CHECK_EQ(udax_msync(fs, p, 10, 0x100), -EINVAL);
	char own[8192];
	CHECK_EQ(udax_msync(fs, (void *)(((uintptr_t)own + 4095) & ~4095ul), 10, MS_SYNC), -ENOMEM);
	CHECK_EQ(udax_munmap(fs, p, 4096), 0);
	CHECK_EQ(udax_munmap(fs, p, 4096), -EINVAL);
	udax_unmount(fs);
}

/* Calls that fill a caller's buffer under tx_lock must not fault there:
 * a buffer that is a udax mapping over a hole takes a write fault that
 * allocates, i.e. takes tx_lock again (release builds deadlocked; the
 * debug build's checker aborts in dax_fault).  Each call gets its own
 * hole page of a shared mapping. */
static void test_results_into_mapping(void)
{
	udax_fs *fs = t_fresh("resmap", 16, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(udax_ftruncate(fs, fd, 8 * 4096) == 0);
	REQUIRE(udax_symlink(fs, "/some/target", "/l") == 0);
	char *m;
	REQUIRE(udax_mmap(fs, fd, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&m) == 0);
	alarm(20);   /* a deadlock fails the test instead of hanging it */
	CHECK_EQ(udax_fstat(fs, fd, (struct stat *)(m + 0 * 4096)), 0);
	CHECK_EQ(((struct stat *)m)->st_size, 8 * 4096);
	CHECK_EQ(udax_stat(fs, "/f", (struct stat *)(m + 1 * 4096)), 0);
	CHECK_EQ(((struct stat *)(m + 4096))->st_size, 8 * 4096);
	CHECK_EQ(udax_statfs(fs, (struct udax_statfs *)(m + 2 * 4096)), 0);
	CHECK_EQ(((struct udax_statfs *)(m + 2 * 4096))->block_size, 4096);
	CHECK_EQ(udax_readlink(fs, "/l", m + 3 * 4096, 100), 12);
	CHECK(memcmp(m + 3 * 4096, "/some/target", 12) == 0);
	CHECK_EQ(udax_info(fs, (struct udax_info *)(m + 4 * 4096)), 0);
	alarm(0);
	CHECK_EQ(udax_munmap(fs, m, 8 * 4096), 0);
	udax_close(fs, fd);
	udax_unmount(fs);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = app_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	RUN(test_hole_read_then_pwrite);
	RUN(test_write_fault_dirty_fsync);
	RUN(test_pmd);
	RUN(test_sigbus_and_chaining);
	RUN(test_recursion);
	RUN(test_private_cow);
	RUN(test_truncate_punch_mapped);
	RUN(test_crash_keeps_fsynced_stores);
	RUN(test_run_writeback);
	RUN(test_bad_args);
	RUN(test_results_into_mapping);
	return t_summary();
}
