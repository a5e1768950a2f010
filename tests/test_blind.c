/*
 * test_blind.c - regression tests for the mapping defects that outside
 * programs found and the earlier testers did not (issue 10, "blind
 * spots").  One test per defect, named after it; each fails on the code
 * before its fix (the ones marked MUTANT also on a library built with
 * UDAX_BUG_<NAME>, which puts the bug back; see tests/CMakeLists.txt).
 *
 *   punch_pmd_end      a 2 MiB entry straddling the end of a punched
 *                      range: stores after the punch were never
 *                      tracked                      MUTANT PMD_STRADDLE
 *   zero_after_shrink  a 2 MiB zero page straddling a truncation or
 *                      punch point kept showing zeros after pwrite
 *                                                   MUTANT PMD_STRADDLE
 *   tail_past_eof      bytes past EOF in the last page read old data
 *                      through a mapping            MUTANT STALE_TAIL
 *   hole_eexist        pwrite into a hole a write fault filled
 *                      meanwhile: -EEXIST, data lost
 *                                                   MUTANT HOLE_NO_RECHECK
 *   private_stale_zero a private mapping kept the zero page after
 *                      pwrite filled the hole
 *   private_copy_kept  a private copy was thrown away when the write
 *                      path evicted a shared 2 MiB zero page
 *   private_two_stores two threads storing into one unfaulted private
 *                      page: one store lost
 *   kernel_copy        see test_pin / the interposer tests
 *   fork_child_fault   a forked child's fault committed a transaction
 *                      on its copy of the volume     MUTANT FORK_FAULT
 *   map_uncommitted    a fault mapped a block of a pwrite that had not
 *                      committed                     MUTANT MAP_UNCOMMITTED
 *   range_lock_fails   write_lock=range copied with no lock when a lock
 *                      could not be taken
 *   size_commit_fails  pwrite reported success when committing the new
 *                      size failed
 *   msync_huge_len     msync/flush with a length that wraps looped
 *
 * Usage: test_blind [NAME]   (no name: all of them)
 */
#include "t.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "api/fs.h"
#include "vm/vm.h"
#include "dax/dax.h"
#include "util/inject.h"
#include "util/sched.h"

#define MiB (1u << 20)
#define PG 4096u
#define WAIT_MS 5000

static struct dax_inode *dax_of(udax_fs *fs, int fd)
{
	struct ufile *f = fd_get(fs, fd);
	struct dax_inode *di = f->ip->upper;
	fd_put(fs, f);
	return di;
}

static udax_fs *mount_fresh(const char *tag, const char *opts, const char **pool, int *fd)
{
	udax_fs *fs;
	*pool = t_pool(tag);
	if (udax_mkfs(*pool, 64 << 20, 0) || udax_mount(*pool, opts, &fs))
		return NULL;
	*fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	return *fd < 0 ? NULL : fs;
}

/* Save the shadow image and read @n bytes at @off of /f from it (after
 * an fsck that must be clean); @fs stays mounted. */
static int read_crash_image(udax_fs *fs, const char *pool, off_t off, char *out, size_t n)
{
	char img[300];
	snprintf(img, sizeof(img), "%s.crash", pool);
	if (udax_shadow_save(fs, img))
		return -1;
	int problems = t_fsck(img);
	udax_fs *c;
	if (udax_mount(img, NULL, &c))
		return -1;
	int fd = udax_open(c, "/f", O_RDONLY, 0);
	memset(out, 0, n);
	ssize_t r = fd < 0 ? -1 : udax_pread(c, fd, out, n, off);
	udax_close(c, fd);
	udax_unmount(c);
	unlink(img);
	return problems || r < 0 ? -1 : 0;
}

static int finish(udax_fs *fs, const char *pool)
{
	int err = udax_unmount(fs);
	int problems = t_fsck(pool);
	unlink(pool);
	return err || problems;
}

/* ---- 1. a 2 MiB entry straddling the end of the range ---- */

static void punch_pmd_end_mode(int how)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pmdend", "shadow", &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_fallocate(fs, fd, 0, 0, 4 * MiB) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	p[0] = 1;                        /* a 2 MiB entry at 0 */
	REQUIRE(entry_peek(dax_of(fs, fd), 0) & E_PMD);
	p[5 * PG] = 'a';
	if (how == 0)
		CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, PG), 0);
	else
		CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE, 0, PG), 0);
	p[5 * PG] = 'b';                 /* must fault and be tracked again */
	CHECK(entry_peek(dax_of(fs, fd), 5) & E_DIRTY);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	char out[2];
	REQUIRE(read_crash_image(fs, pool, 5 * PG, out, 1) == 0);
	CHECK_EQ(out[0], 'b');
	/* the same through truncate: clean 2 MiB entry at 512 straddling
	 * the new end, then a store below it */
	p[512 * PG] = 1;
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK_EQ(udax_ftruncate(fs, fd, 600 * PG), 0);
	p[513 * PG] = 'c';
	CHECK(entry_peek(dax_of(fs, fd), 513) & E_DIRTY);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	REQUIRE(read_crash_image(fs, pool, 513 * PG, out, 1) == 0);
	CHECK_EQ(out[0], 'c');
	udax_munmap(fs, p, 4 * MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

static void punch_pmd_end(void) { punch_pmd_end_mode(0); punch_pmd_end_mode(1); }

/* ---- 2. a 2 MiB zero page straddling a truncation or punch point ---- */

static void zero_after_shrink_mode(const char *opts, int punch)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("zshrink", opts, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 4 * MiB) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(p[0], 0);               /* a 2 MiB zero page at 0 */
	if (punch)
		CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		                        100 * PG, PG), 0);
	else
		CHECK_EQ(udax_ftruncate(fs, fd, 300 * PG), 0);
	char x[PG];
	memset(x, 'x', sizeof(x));
	CHECK_EQ(udax_pwrite(fs, fd, x, PG, 10 * PG), PG);
	CHECK_EQ(p[10 * PG], 'x');
	CHECK_EQ(p[10 * PG + PG - 1], 'x');
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK_EQ(p[10 * PG], 'x');
	udax_munmap(fs, p, 4 * MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

static void zero_after_shrink(void)
{
	static const char *const modes[] = { "write_lock=entry", "write_lock=exclusive",
	                                     "write_lock=flush", "write_lock=range" };
	for (int m = 0; m < 4; m++) {
		zero_after_shrink_mode(modes[m], 0);
		zero_after_shrink_mode(modes[m], 1);
	}
}

/* ---- 3. bytes past EOF through a mapping ---- */

static int all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void tail_past_eof(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("tail", NULL, &pool, &fd);
	REQUIRE(fs);
	char a[PG];
	memset(a, 'A', sizeof(a));
	REQUIRE(udax_pwrite(fs, fd, a, PG, 0) == PG);
	REQUIRE(udax_ftruncate(fs, fd, 16) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, PG, PROT_READ, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(p[0], 'A');
	CHECK(all_zero(p + 16, PG - 16));
	CHECK_EQ(udax_pwrite(fs, fd, a, 16, 16), 16);
	CHECK_EQ(p[31], 'A');
	CHECK(all_zero(p + 32, PG - 32));
	/* a mapping made before the truncate sees it too */
	REQUIRE(udax_pwrite(fs, fd, a, PG, 0) == PG);
	CHECK_EQ(p[PG - 1], 'A');
	REQUIRE(udax_ftruncate(fs, fd, 100) == 0);
	CHECK(all_zero(p + 100, PG - 100));
	/* and a private one */
	char *q;
	REQUIRE(udax_mmap(fs, fd, PG, PROT_READ, MAP_PRIVATE, 0, (void **)&q) == 0);
	CHECK(all_zero(q + 100, PG - 100));
	udax_munmap(fs, q, PG);
	udax_munmap(fs, p, PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 4. pwrite into a hole that a write fault fills meanwhile ---- */

struct pw_job {
	udax_fs *fs;
	int fd;
	off_t off;
	size_t len;
	ssize_t result;
	char *load;              /* instead: load a byte from here */
	_Atomic int done;
};

static void *pw_run(void *arg)
{
	struct pw_job *j = arg;
	if (j->load) {
		j->result = *(volatile char *)j->load;
	} else {
		char b[64];
		memset(b, 'W', sizeof(b));
		j->result = udax_pwrite(j->fs, j->fd, b, j->len, j->off);
	}
	atomic_store(&j->done, 1);
	return NULL;
}

static void hole_eexist_mode(const char *opts)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("eexist", opts, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 64 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	/* deterministic: the pwrite found the hole, then a fault fills it */
	sched_arm("write:hole");
	struct pw_job j = { fs, fd, 0x400, 8, 0, NULL, 0 };
	pthread_t t;
	pthread_create(&t, NULL, pw_run, &j);
	REQUIRE(sched_wait("write:hole", WAIT_MS) == 0);
	p[0xc00] = 'F';                  /* write fault allocates block 0 */
	sched_release("write:hole");
	pthread_join(t, NULL);
	sched_reset();
	CHECK_EQ(j.result, 8);
	char out[PG];
	CHECK_EQ(udax_pread(fs, fd, out, PG, 0), PG);
	CHECK_EQ(out[0x400], 'W');
	CHECK_EQ(out[0x407], 'W');
	CHECK_EQ(out[0xc00], 'F');
	udax_munmap(fs, p, 64 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

static void hole_eexist(void)
{
	hole_eexist_mode("write_lock=entry");
	hole_eexist_mode("write_lock=flush");
}

/* ---- 5. private mappings: the file's data in pages not yet copied ---- */

static void private_stale_zero(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pzero", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 8 * PG) == 0);
	char *q, *p;
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ, MAP_PRIVATE, 0, (void **)&q) == 0);
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(q[0], 0);
	CHECK_EQ(q[PG], 0);
	CHECK_EQ(q[2 * PG], 0);
	CHECK_EQ(udax_pwrite(fs, fd, "data", 4, 0), 4);
	CHECK_EQ(q[0], 'd');             /* pwrite filled the hole */
	p[PG] = 's';                     /* a shared write fault fills one */
	CHECK_EQ(q[PG], 's');
	CHECK_EQ(udax_fallocate(fs, fd, 0, 2 * PG, PG), 0);
	p[2 * PG] = 'f';                 /* fallocate, then a store */
	CHECK_EQ(q[2 * PG], 'f');
	udax_munmap(fs, p, 8 * PG);
	udax_munmap(fs, q, 8 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* A private copy survives the write path's eviction of zero pages
 * (a shared 2 MiB zero page spans it), in every write_lock mode. */
static void private_copy_kept_mode(const char *opts)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pcopy", opts, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 4 * MiB) == 0);
	char *q, *p;
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, (void **)&q) == 0);
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	q[100 * PG] = 'p';               /* the process's own copy */
	q[7 * PG + 1] = 'q';             /* and one of the page pwrite fills */
	CHECK_EQ(p[0], 0);               /* shared 2 MiB zero page */
	CHECK_EQ(udax_pwrite(fs, fd, "XY", 2, 7 * PG), 2);
	CHECK_EQ(p[7 * PG], 'X');
	CHECK_EQ(q[100 * PG], 'p');
	CHECK_EQ(q[7 * PG + 1], 'q');    /* copied before: stays the copy */
	CHECK_EQ(q[7 * PG], 0);
	p[200 * PG] = 's';               /* shared 4 KiB fault in the zero run */
	CHECK_EQ(q[100 * PG], 'p');
	CHECK_EQ(q[200 * PG], 's');
	udax_munmap(fs, p, 4 * MiB);
	udax_munmap(fs, q, 4 * MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

static void private_copy_kept(void)
{
	private_copy_kept_mode("write_lock=entry");
	private_copy_kept_mode("write_lock=exclusive");
	private_copy_kept_mode("write_lock=flush");
	private_copy_kept_mode("write_lock=range");
}

struct big_job {
	udax_fs *fs;
	int fd;
	char *buf;
	ssize_t r;
};

static void *big_run(void *arg)
{
	struct big_job *b = arg;
	b->r = udax_pwrite(b->fs, b->fd, b->buf, 2 * MiB, 0);
	return NULL;
}

/* Found while fixing 2: a 2 MiB read fault in a second mapping replaced
 * a zero entry the write path had not evicted yet; the first mapping
 * kept the zero page with no entry left to evict. */
static void pmd_zero_two_maps(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pmd2", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 4 * MiB) == 0);
	char *p1, *p2;
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ, MAP_SHARED, 0, (void **)&p1) == 0);
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ, MAP_SHARED, 0, (void **)&p2) == 0);
	CHECK_EQ(p1[0], 0);              /* 2 MiB zero page in the first map */
	REQUIRE(entry_peek(dax_of(fs, fd), 0) & E_ZERO);
	char *big = malloc(2 * MiB);
	REQUIRE(big);
	memset(big, 'Z', 2 * MiB);
	sched_arm("write:allocated");    /* committed, not yet evicted */
	pthread_t t;
	struct big_job bj = { fs, fd, big, 0 };
	pthread_create(&t, NULL, big_run, &bj);
	REQUIRE(sched_wait("write:allocated", WAIT_MS) == 0);
	CHECK_EQ(p2[0], 'Z');            /* second map: the block */
	sched_release("write:allocated");
	pthread_join(t, NULL);
	sched_reset();
	CHECK_EQ(bj.r, 2 * MiB);
	CHECK_EQ(p1[0], 'Z');
	CHECK_EQ(p1[2 * MiB - 1], 'Z');
	free(big);
	udax_munmap(fs, p1, 4 * MiB);
	udax_munmap(fs, p2, 4 * MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* Punch keeps a private mapping's own copies (as Linux does); truncate
 * discards the copies of pages past the new end.  (Found by the widened
 * fsx: the first fix dropped them on punch too.) */
static void private_copy_punch(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("ppunch", NULL, &pool, &fd);
	REQUIRE(fs);
	char *f = malloc(64 * 1024);
	REQUIRE(f);
	memset(f, 'F', 64 * 1024);
	REQUIRE(udax_pwrite(fs, fd, f, 64 * 1024, 0) == 64 * 1024);
	free(f);
	char *q;
	REQUIRE(udax_mmap(fs, fd, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, (void **)&q) == 0);
	q[PG] = 'P';                     /* own copy of page 1 */
	CHECK_EQ(q[2 * PG], 'F');        /* page 2 shows the file */
	q[5 * PG] = 'Q';                 /* own copy of page 5 */
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, PG, 2 * PG), 0);
	CHECK_EQ(q[PG], 'P');            /* kept */
	CHECK_EQ(q[PG + 1], 'F');
	CHECK_EQ(q[2 * PG], 0);          /* the hole now */
	CHECK_EQ(udax_ftruncate(fs, fd, 4 * PG), 0);
	CHECK_EQ(udax_ftruncate(fs, fd, 16 * PG), 0);
	CHECK_EQ(q[5 * PG], 0);          /* past the end once: copy gone */
	CHECK_EQ(q[PG], 'P');            /* below it: kept */
	udax_munmap(fs, q, 64 * 1024);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* Found by review: a 4 KiB fault in a mapping covering part of a 2 MiB
 * run that has a 2 MiB entry mapped the whole run, outside the mapping
 * and over the application's own memory. */
static void pmd_partial_window_mode(int zero)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pmdpart", NULL, &pool, &fd);
	REQUIRE(fs);
	if (zero)
		REQUIRE(udax_ftruncate(fs, fd, 4 * MiB) == 0);
	else
		REQUIRE(udax_fallocate(fs, fd, 0, 0, 4 * MiB) == 0);
	char *a, *b;
	REQUIRE(udax_mmap(fs, fd, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&a) == 0);
	if (zero)
		CHECK_EQ(a[0], 0);       /* 2 MiB zero entry */
	else
		a[0] = 1;                /* 2 MiB dirty entry */
	REQUIRE(entry_peek(dax_of(fs, fd), 0) & E_PMD);
	/* B: the last page of the first run only */
	REQUIRE(udax_mmap(fs, fd, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 2 * MiB - PG, (void **)&b) == 0);
	struct window *w = vm_find(b, PG);
	REQUIRE(w);
	char *rs = w->reserved;
	vm_put(w);
	/* the application's memory right below B's reservation */
	char *app = mmap(rs - 64 * 1024, 64 * 1024, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (app == MAP_FAILED) {
		printf("  (address below the reservation taken: skipped)\n");
	} else {
		memset(app, 0xAA, 64 * 1024);
		if (zero)
			CHECK_EQ(b[0], 0);
		else
			b[0] = 7;
		size_t bad = 0;
		for (size_t i = 0; i < 64 * 1024; i++)
			bad += (unsigned char)app[i] != 0xAA;
		CHECK_EQ(bad, 0);
		munmap(app, 64 * 1024);
	}
	if (!zero) {
		CHECK_EQ(a[2 * MiB - PG], 7);
		CHECK_EQ(udax_fsync(fs, fd), 0);
		b[1] = 8;                /* tracked again after the fsync */
		CHECK(entry_peek(dax_of(fs, fd), 511) & E_DIRTY);
	}
	udax_munmap(fs, b, PG);
	udax_munmap(fs, a, 4 * MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

static void pmd_partial_window(void) { pmd_partial_window_mode(0); pmd_partial_window_mode(1); }

/* Found by review: fault-around on a neighbouring page re-mapped a page
 * pinned for writing read-only; the kernel's store got EFAULT. */
static void pin_fault_around(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("pinaround", NULL, &pool, &fd);
	REQUIRE(fs);
	char *buf = malloc(MiB);
	REQUIRE(buf);
	memset(buf, 'd', MiB);
	REQUIRE(udax_pwrite(fs, fd, buf, MiB, 0) == MiB);
	free(buf);
	char *p;
	REQUIRE(udax_mmap(fs, fd, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	REQUIRE(udax_pin(fs, p + 5 * PG, PG, PROT_WRITE) == 0);
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	REQUIRE(write(pfd[1], "hello", 5) == 5);
	CHECK_EQ(p[0], 'd');             /* a read fault next to the pin */
	CHECK_EQ(read(pfd[0], p + 5 * PG, 5), 5);
	CHECK_EQ(udax_unpin(fs, p + 5 * PG, PG), 0);
	CHECK_EQ(p[5 * PG + 4], 'o');
	close(pfd[0]);
	close(pfd[1]);
	udax_munmap(fs, p, MiB);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* Found by review: pwrite copied into a block a write fault had
 * published but not committed; the fault's commit failed, the block
 * went back, and pwrite's data with it. */
static __thread sigjmp_buf *volatile bus_jmp;

static void on_bus(int sig)
{
	(void)sig;
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	_exit(99);
}

struct fault_job {
	volatile char *addr;
	int got_sigbus;
};

static void *fault_store_run(void *arg)
{
	struct fault_job *j = arg;
	sigjmp_buf jb;
	if (sigsetjmp(jb, 1)) {
		j->got_sigbus = 1;
		bus_jmp = NULL;
		return NULL;
	}
	bus_jmp = &jb;
	*j->addr = 'F';
	bus_jmp = NULL;
	return NULL;
}

static void write_uncommitted(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("wuncommit", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 8 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, &old);
	sched_arm("fill:published");
	struct fault_job fj = { p + 3 * PG, 0 };
	pthread_t tf, tw;
	pthread_create(&tf, NULL, fault_store_run, &fj);     /* F: allocating fault */
	REQUIRE(sched_wait("fill:published", WAIT_MS) == 0);
	struct pw_job w = { fs, fd, 3 * PG + 100, 8, 0, NULL, 0 };
	pthread_create(&tw, NULL, pw_run, &w);                /* W: pwrite there */
	usleep(200 * 1000);
	fail_arm("tx_commit", 0);                             /* F's commit fails */
	sched_release("fill:published");
	pthread_join(tf, NULL);
	pthread_join(tw, NULL);
	fail_reset();
	sched_reset();
	sigaction(SIGBUS, &old, NULL);
	CHECK(fj.got_sigbus);                                 /* the fault failed */
	CHECK_EQ(w.result, 8);
	char out[8];
	CHECK_EQ(udax_pread(fs, fd, out, 8, 3 * PG + 100), 8);
	CHECK(memcmp(out, "WWWWWWWW", 8) == 0);               /* pwrite's data is there */
	CHECK_EQ(p[3 * PG + 100], 'W');
	udax_munmap(fs, p, 8 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 6. two stores into one unfaulted private page ---- */

struct ps_job {
	char *base;
	int npages, off;
	pthread_barrier_t *bar;
};

static void *ps_run(void *arg)
{
	struct ps_job *j = arg;
	for (int i = 0; i < j->npages; i++) {
		pthread_barrier_wait(j->bar);
		((volatile char *)j->base)[(size_t)i * PG + (size_t)j->off] = (char)(1 + i % 100);
	}
	return NULL;
}

static void private_two_stores(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("ptwo", NULL, &pool, &fd);
	REQUIRE(fs);
	enum { N = 2000 };
	REQUIRE(udax_ftruncate(fs, fd, (off_t)N * PG) == 0);
	REQUIRE(udax_fallocate(fs, fd, 0, 0, (N / 2) * PG) == 0);   /* half blocks, half holes */
	char *q;
	REQUIRE(udax_mmap(fs, fd, (size_t)N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0,
	                  (void **)&q) == 0);
	/* deterministic first: one fault holds the page, the other waits */
	sched_arm("private:locked");
	struct ps_job one = { q, 1, 100, NULL };
	pthread_barrier_t b1;
	pthread_barrier_init(&b1, NULL, 1);
	one.bar = &b1;
	pthread_t t0;
	pthread_create(&t0, NULL, ps_run, &one);
	if (sched_wait("private:locked", WAIT_MS) == 0) {
		struct ps_job two = { q, 1, 200, &b1 };
		pthread_t t1;
		pthread_create(&t1, NULL, ps_run, &two);
		usleep(100 * 1000);      /* it faults and waits for the lock */
		sched_release("private:locked");
		pthread_join(t1, NULL);
	} else {
		CHECK(!"private fault never reached private:locked");
	}
	pthread_join(t0, NULL);
	sched_reset();
	CHECK_EQ(q[100], 1);
	CHECK_EQ(q[200], 1);
	/* then a stress run over many pages */
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct ps_job a = { q + PG, N - 1, 10, &bar }, b = { q + PG, N - 1, 3000, &bar };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, ps_run, &a);
	pthread_create(&tb, NULL, ps_run, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	int lost = 0;
	for (int i = 0; i < N - 1; i++)
		lost += q[PG + (size_t)i * PG + 10] != (char)(1 + i % 100) ||
		        q[PG + (size_t)i * PG + 3000] != (char)(1 + i % 100);
	CHECK_EQ(lost, 0);
	udax_munmap(fs, q, (size_t)N * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 9. a forked child's fault ---- */

static void fork_child_fault(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("fork", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_pwrite(fs, fd, "hello", 5, 0) == 5);
	REQUIRE(udax_ftruncate(fs, fd, 4 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(p[0], 'h');             /* present in the parent */
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL); /* (a sanitizer runtime may catch it) */
		if (p[0] != 'h')         /* present pages keep working */
			_exit(3);
		p[2 * PG] = 'c';         /* a hole: needs the file system */
		_exit(0);
	}
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
	/* the library API on the inherited handle writes nothing either */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		bad |= udax_pwrite(fs, fd, "child", 5, 8 * PG) != -EBADF;
		bad |= udax_mkdir(fs, "/d", 0755) != -EIO;
		bad |= udax_unmount(fs) != 0;
		_exit(bad ? 4 : 0);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct stat sb;
	CHECK_EQ(udax_stat(fs, "/d", &sb), -ENOENT);
	p[3 * PG] = 'P';                 /* the parent goes on */
	CHECK_EQ(udax_fsync(fs, fd), 0);
	char out[8];
	CHECK_EQ(udax_pread(fs, fd, out, 1, 2 * PG), 1);
	CHECK_EQ(out[0], 0);
	CHECK_EQ(udax_pread(fs, fd, out, 1, 3 * PG), 1);
	CHECK_EQ(out[0], 'P');
	udax_munmap(fs, p, 4 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);   /* fsck: no leaked or doubly used block */
}

/* ---- 10. a fault must not map a block before its commit ---- */

static void map_uncommitted(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("uncommit", "shadow", &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 8 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | UDAX_MAP_SYNC, 0,
	                  (void **)&p) == 0);
	/* A: pwrite into the hole, held after publishing, before commit */
	sched_arm("write:published");
	struct pw_job a = { fs, fd, PG, 8, 0, NULL, 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, pw_run, &a);
	REQUIRE(sched_wait("write:published", WAIT_MS) == 0);
	/* B: a read fault on that page must wait for the commit */
	struct pw_job b = { fs, fd, 0, 0, 0, p + PG, 0 };
	pthread_create(&tb, NULL, pw_run, &b);
	usleep(200 * 1000);
	CHECK(!atomic_load(&b.done));
	/* and the commit fails: B must see the hole, not the freed block */
	fail_arm("tx_commit", 0);
	sched_release("write:published");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a.result, -EIO);
	CHECK_EQ(b.result, 0);
	CHECK(!(entry_peek(dax_of(fs, fd), 1) & E_BLOCK));
	fail_reset();
	sched_reset();
	/* now the same with a commit that succeeds: B maps the data */
	sched_arm("write:published");
	struct pw_job a2 = { fs, fd, 2 * PG, 8, 0, NULL, 0 };
	pthread_create(&ta, NULL, pw_run, &a2);
	REQUIRE(sched_wait("write:published", WAIT_MS) == 0);
	struct pw_job b2 = { fs, fd, 0, 0, 0, p + 2 * PG, 0 };
	pthread_create(&tb, NULL, pw_run, &b2);
	usleep(200 * 1000);
	CHECK(!atomic_load(&b2.done));
	sched_release("write:published");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a2.result, 8);
	CHECK_EQ(b2.result, 'W');
	sched_reset();
	udax_munmap(fs, p, 8 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 12. write_lock=range when a lock cannot be taken ---- */

static void range_lock_fails(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("rangefail", "write_lock=range", &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 8 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	CHECK_EQ(p[0], 0);
	char b[2 * PG];
	memset(b, 'r', sizeof(b));
	fail_arm("range:lock", 1);       /* the second page's lock fails */
	CHECK_EQ(udax_pwrite(fs, fd, b, sizeof(b), PG / 2), -ENOMEM);
	CHECK_EQ(fail_hits("range:lock"), 1);
	fail_reset();
	CHECK_EQ(udax_pread(fs, fd, b, sizeof(b), 0), sizeof(b));
	CHECK(all_zero(b, sizeof(b)));
	memset(b, 'r', sizeof(b));
	fail_arm("range:alloc", 0);
	CHECK_EQ(udax_pwrite(fs, fd, b, 10, 5 * PG), -ENOMEM);
	fail_reset();
	char out[16];
	CHECK_EQ(udax_pread(fs, fd, out, 10, 5 * PG), 10);
	CHECK(all_zero(out, 10));        /* nothing was copied unlocked */
	CHECK_EQ(udax_pwrite(fs, fd, b, 10, 5 * PG), 10);
	CHECK_EQ(p[5 * PG], 'r');        /* and the zero page went */
	udax_munmap(fs, p, 8 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 13. the size commit of a pwrite fails ---- */

static void size_commit_fails(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("sizefail", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_fallocate(fs, fd, UDAX_FALLOC_KEEP_SIZE, 0, 4 * PG) == 0);
	fail_arm("tx_commit", 0);
	CHECK_EQ(udax_pwrite(fs, fd, "abcdefgh", 8, 0), -EIO);
	fail_reset();
	struct stat st;
	CHECK_EQ(udax_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(udax_pwrite(fs, fd, "abcdefgh", 8, 0), 8);
	/* growing past a part within the file: the part inside counts */
	fail_arm("tx_commit", 0);
	CHECK_EQ(udax_pwrite(fs, fd, "0123456789", 10, 4), 4);
	fail_reset();
	CHECK_EQ(udax_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 8);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

/* ---- 14. msync / flush lengths that wrap ---- */

static void msync_huge_len(void)
{
	const char *pool;
	int fd;
	udax_fs *fs = mount_fresh("hugelen", NULL, &pool, &fd);
	REQUIRE(fs);
	REQUIRE(udax_ftruncate(fs, fd, 8 * PG) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	p[0] = 1;
	alarm(20);                       /* the old code looped for hours */
	CHECK_EQ(udax_msync(fs, p, SIZE_MAX - PG + 1, MS_SYNC), -ENOMEM);
	CHECK_EQ(udax_msync(fs, p, SIZE_MAX - (uintptr_t)p + 1, MS_SYNC), -ENOMEM);
	CHECK_EQ(udax_msync(fs, p, (size_t)1 << 62, MS_SYNC), -ENOMEM);
	CHECK_EQ(udax_flush(fs, p, SIZE_MAX), -ENOMEM);
	CHECK_EQ(udax_flush(fs, p + PG, SIZE_MAX - (uintptr_t)p), -ENOMEM);
	CHECK_EQ(udax_msync(fs, p, 8 * PG, MS_SYNC), 0);
	CHECK_EQ(udax_flush(fs, p, 8 * PG), 0);
	alarm(0);
	udax_munmap(fs, p, 8 * PG);
	udax_close(fs, fd);
	CHECK(finish(fs, pool) == 0);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
#define T(n) { #n, n }
		T(punch_pmd_end), T(zero_after_shrink), T(tail_past_eof), T(hole_eexist),
		T(private_stale_zero), T(private_copy_kept), T(private_two_stores),
		T(private_copy_punch), T(pmd_zero_two_maps), T(pmd_partial_window),
		T(pin_fault_around), T(write_uncommitted), T(fork_child_fault), T(map_uncommitted), T(range_lock_fails),
		T(size_commit_fails), T(msync_huge_len),
#undef T
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		t_name = tests[i].name;
		t_cur_failed = 0;
		tests[i].fn();
		if (t_cur_failed) {
			t_failed++;
			fprintf(stderr, "FAILED %s\n", tests[i].name);
		} else {
			t_passed++;
			printf("ok %s\n", tests[i].name);
		}
		fflush(stdout);
	}
	return t_summary();
}
