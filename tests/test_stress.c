/*
 * test_stress.c - many threads on one file, mixing stores and loads
 * through a shared mapping with pread, pwrite, punch hole, fsync, and a
 * chaos thread that truncates and regrows the tail; every byte is
 * checked against per-thread models at the end, through pread and
 * through the mapping, and again after a remount.  Runs in each
 * write_lock mode.  UDAX_STRESS_OPS (default 3000) sets operations per
 * thread.
 *
 * Each worker owns a 256 KiB region; the chaos thread owns the tail,
 * the only part whose size changes, so a worker never touches memory
 * past end of file and each region has a single exact model.
 */
#include "t.h"

#include <pthread.h>
#include <sys/mman.h>

#define NT 4
#define RS (256u << 10)
#define CS (512u << 10)
#define TOTAL (NT * RS + CS)

struct shared {
	udax_fs *fs;
	int fd;
	char *map;
	long ops;
	unsigned char model[TOTAL];
	volatile uint64_t size;     /* written only by the chaos thread */
	int failures;
};

static uint64_t xr(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct worker {
	struct shared *sh;
	int id;
};

static void fail(struct shared *sh, const char *what, int id, uint64_t off)
{
	fprintf(stderr, "  thread %d: %s mismatch at %llu\n", id, what, (unsigned long long)off);
	__atomic_fetch_add(&sh->failures, 1, __ATOMIC_RELAXED);
}

static void region_op(struct shared *sh, int id, uint64_t base, uint64_t span, uint64_t *rng,
                      unsigned char *buf)
{
	uint64_t k = xr(rng) % 100, off = base + xr(rng) % span;
	uint64_t len = 1 + xr(rng) % 9000;
	if (off + len > base + span)
		len = base + span - off;
	if (k < 30) {                              /* store through the mapping */
		t_fill(buf, len, (unsigned)xr(rng));
		memcpy(sh->map + off, buf, len);
		memcpy(sh->model + off, buf, len);
	} else if (k < 55) {                       /* pwrite */
		t_fill(buf, len, (unsigned)xr(rng));
		if (udax_pwrite(sh->fs, sh->fd, buf, len, (off_t)off) != (ssize_t)len)
			fail(sh, "pwrite", id, off);
		memcpy(sh->model + off, buf, len);
	} else if (k < 70) {                       /* pread */
		if (udax_pread(sh->fs, sh->fd, buf, len, (off_t)off) != (ssize_t)len ||
		    memcmp(buf, sh->model + off, len))
			fail(sh, "pread", id, off);
	} else if (k < 85) {                       /* load through the mapping */
		if (memcmp(sh->map + off, sh->model + off, len)) {
			uint64_t i = 0;
			while (sh->map[off + i] == sh->model[off + i])
				i++;
			unsigned char c = 0;
			udax_pread(sh->fs, sh->fd, &c, 1, (off_t)(off + i));
			fprintf(stderr, "  byte %llu: mapped %u, model %u, pread %u\n",
			        (unsigned long long)(off + i), (unsigned char)sh->map[off + i],
			        sh->model[off + i], c);
			fail(sh, "mapped load", id, off);
		}
	} else if (k < 93) {                       /* punch whole pages */
		uint64_t s = (off + 4095) & ~4095ull, e = (off + len) & ~4095ull;
		if (e > s) {
			if (udax_fallocate(sh->fs, sh->fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			                   (off_t)s, (off_t)(e - s)))
				fail(sh, "punch", id, s);
			memset(sh->model + s, 0, e - s);
		}
	} else if (k < 97) {
		if (udax_fsync(sh->fs, sh->fd))
			fail(sh, "fsync", id, 0);
	} else {                                   /* stores into the zero page, then pwrite */
		uint64_t pg = off & ~4095ull;
		if (udax_fallocate(sh->fs, sh->fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		                   (off_t)pg, 4096) == 0)
			memset(sh->model + pg, 0, 4096);
		(void)*(volatile char *)(sh->map + pg);     /* read fault: zero page */
		sh->map[pg + 1] = 7;                        /* write fault */
		sh->model[pg + 1] = 7;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	uint64_t rng = 0x1234567ull * (uint64_t)(w->id + 1);
	unsigned char *buf = malloc(10000);

	for (long i = 0; i < sh->ops; i++)
		region_op(sh, w->id, (uint64_t)w->id * RS, RS, &rng, buf);
	free(buf);
	return NULL;
}

static void chaos_resize(struct shared *sh, uint64_t *rng)
{
	uint64_t n = NT * RS + xr(rng) % (CS + 1);
	if (udax_ftruncate(sh->fs, sh->fd, (off_t)n)) {
		fail(sh, "truncate", -1, n);
		return;
	}
	if (n < sh->size)
		memset(sh->model + n, 0, sh->size - n);
	sh->size = n;
}

static void *chaos_main(void *arg)
{
	struct shared *sh = arg;
	uint64_t rng = 0xC0FFEEull;
	unsigned char *buf = malloc(10000);

	for (long i = 0; i < sh->ops; i++) {
		uint64_t k = xr(&rng) % 10;
		uint64_t room = sh->size - NT * RS;
		if (k < 3 || room < 10000) {
			chaos_resize(sh, &rng);
		} else {
			/* the tail's own region ops, bounded by the current size */
			region_op(sh, NT, NT * RS, room - 9000, &rng, buf);
		}
	}
	free(buf);
	return NULL;
}

static int check_file(struct shared *sh, const char *when)
{
	unsigned char *out = malloc(TOTAL);
	int bad = 0;
	ssize_t r = udax_pread(sh->fs, sh->fd, out, TOTAL, 0);
	if (r != (ssize_t)sh->size) {
		fprintf(stderr, "  %s: read %zd bytes, size is %llu\n", when, r, (unsigned long long)sh->size);
		bad = 1;
	} else if (memcmp(out, sh->model, sh->size)) {
		for (uint64_t i = 0; i < sh->size; i++)
			if (out[i] != sh->model[i]) {
				fprintf(stderr, "  %s: byte %llu is %u, expected %u\n", when,
				        (unsigned long long)i, out[i], sh->model[i]);
				break;
			}
		bad = 1;
	}
	free(out);
	return bad;
}

static void run_mode(const char *opts, long ops)
{
	const char *pool = t_pool("stress");
	struct shared *sh = calloc(1, sizeof(*sh));
	pthread_t th[NT + 1];
	struct worker w[NT];

	REQUIRE(udax_mkfs(pool, 64 << 20, 0) == 0);
	REQUIRE(udax_mount(pool, opts, &sh->fs) == 0);
	sh->fd = udax_open(sh->fs, "/shared", O_RDWR | O_CREAT, 0644);
	REQUIRE(udax_ftruncate(sh->fs, sh->fd, TOTAL) == 0);
	sh->size = TOTAL;
	sh->ops = ops;
	REQUIRE(udax_mmap(sh->fs, sh->fd, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
	                  (void **)&sh->map) == 0);
	for (int i = 0; i < NT; i++) {
		w[i] = (struct worker){ sh, i };
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	pthread_create(&th[NT], NULL, chaos_main, sh);
	for (int i = 0; i <= NT; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(sh->failures, 0);
	CHECK_EQ(check_file(sh, "after the run"), 0);
	CHECK(memcmp(sh->map, sh->model, NT * RS) == 0);
	CHECK_EQ(udax_fsync(sh->fs, sh->fd), 0);
	udax_munmap(sh->fs, sh->map, TOTAL);
	udax_close(sh->fs, sh->fd);
	udax_unmount(sh->fs);
	CHECK_EQ(t_fsck(pool), 0);
	REQUIRE(udax_mount(pool, opts, &sh->fs) == 0);
	sh->fd = udax_open(sh->fs, "/shared", O_RDONLY, 0);
	CHECK_EQ(check_file(sh, "after remount"), 0);
	udax_close(sh->fs, sh->fd);
	udax_unmount(sh->fs);
	printf("  %s: %d threads x %ld operations\n", opts, NT + 1, ops);
	free(sh);
	unlink(pool);
}

static long ops_per_thread(void)
{
	const char *e = getenv("UDAX_STRESS_OPS");
	return e ? atol(e) : 3000;
}

static void test_stress_entry(void) { run_mode("write_lock=entry", ops_per_thread()); }
static void test_stress_exclusive(void) { run_mode("write_lock=exclusive", ops_per_thread()); }
static void test_stress_flush(void) { run_mode("write_lock=flush", ops_per_thread()); }
static void test_stress_range(void) { run_mode("write_lock=range", ops_per_thread()); }

int main(void)
{
	RUN(test_stress_entry);
	RUN(test_stress_exclusive);
	RUN(test_stress_flush);
	RUN(test_stress_range);
	return t_summary();
}
