/*
 * test_model.c - a multi-threaded model tester: several threads share
 * one file, each owning a disjoint byte range and keeping its own model
 * of it, and mix pwrite (through their own descriptor or one shared
 * descriptor), stores through a shared and a private mapping, punch
 * hole, zero range, fsync and close/reopen of their own descriptor.
 * One thread owns the tail and truncates into it and regrows it.  At
 * checkpoints (all threads stopped at a barrier) every thread checks
 * every byte of its range through pread, the shared mapping and the
 * private mapping; loads between checkpoints check too.  Runs in each
 * write_lock mode.
 *
 * Layout (the file is pre-sized to 6 MiB):
 *   T0 [0, 2 MiB)             fallocated: one aligned 2 MiB run (PMD)
 *   T1 [2 MiB, 3 MiB + 1000)  sparse; closes and reopens its descriptor
 *   T2 [3 MiB + 1000, 4 MiB)  sparse; shares a page with T1
 *   T3 [4 MiB, 6 MiB)         fallocated (PMD); truncates to 4 MiB + r
 *                             and regrows to 6 MiB
 *
 * Private-mapping oracle, per byte (Linux semantics, see test_fsx.c):
 * a byte of a page not copied yet shows the file (the owner's model); a
 * page the owner stored to privately keeps its copy (the byte values
 * seen at the store); a shrinking truncate discards copies of pages
 * wholly past the new size; punch keeps them.  On the page T1 and T2
 * share, the neighbour's private store may copy the page at a moment
 * the owner does not know, so the owner checks there only bytes it has
 * stored privately itself.
 *
 * test_private_race: two threads store to different bytes of the same
 * not-yet-faulted private page, over and over; both stores must stay.
 *
 * Environment: UDAX_MODEL_OPS (operations per thread, default 4000;
 * 800 under UDAX_CRASH_LIGHT), UDAX_MODEL_SEED (default 1),
 * UDAX_MODEL_MODES="entry,flush", UDAX_MODEL_TRACE=<thread> (print every
 * operation of that thread, with its offsets).  Threads make the run
 * nondeterministic: a failure prints the thread, the byte, what each
 * view shows and the thread's last operations.  Long run:
 * UDAX_MODEL_OPS=200000 build/tests/test_model.
 *
 * Gates: each check class below is on by default (the engine passes them
 * all); NAME=0 turns one off to bisect a failure:
 *   UDAX_MODEL_EOF=1        past-EOF bytes of the tail's last page read
 *                           zero through the shared mapping
 *   UDAX_MODEL_PRIV=1       private copies are kept exactly (off: a
 *                           copied byte may show the file's data, and a
 *                           never-copied byte may read zero)
 *   UDAX_MODEL_PRIV_RACE=1  test_private_race
 *   UDAX_MODEL_PMD=1        T0 and T3 fallocated as 2 MiB runs, T3's
 *                           truncation point inside its run, and runs may
 *                           become wholly holes (2 MiB zero-page entries)
 *                           (off: T0 and T3 sparse, T3 truncates on the
 *                           2 MiB boundary, and the last byte of each run
 *                           holds data punch and zero never remove)
 */
#include "t.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define NT 4
#define MB (1u << 20)
#define TOTAL (6u * MB)
#define PG 4096u
#define HIST 12

static const char *const op_name[] = {
	"pwrite-own", "pwrite-shared", "map-store", "priv-store", "pread", "map-load",
	"priv-load", "punch", "zero", "fsync", "reopen", "truncate+regrow",
};
enum { PWRITE_OWN, PWRITE_SHARED, MSTORE, PSTORE, PREAD, MLOAD, PLOAD, PUNCH, ZERO,
       FSYNC, REOPEN, TRUNC, NOPS };

static int g_eof, g_priv, g_race, g_pmd;
static int g_trace = -1;   /* UDAX_MODEL_TRACE=<thread>: print its operations */

struct hist {
	int op;
	uint64_t off, len;
};

struct thr {
	int id;
	uint64_t base, len;
	uint64_t rng;
	int fd;
	unsigned char *model, *priv, *pst;   /* pst: 0 follows file, 1 private copy,
	                                      * 2 unknown (page shared with a neighbour),
	                                      * 3 private copy on such a page */
	unsigned char *buf;
	struct hist h[HIST];
	long nh;
	int failed;
};

static struct {
	udax_fs *fs;
	int sfd;                  /* the shared descriptor */
	char *map, *pmap;
	pthread_barrier_t bar;
	long ops;
	_Atomic uint64_t tail_size;    /* written by T3 only */
	int failures;
} S;

static struct thr T[NT];

/* Every check is on by default; NAME=0 turns one off (to bisect). */
static int env_on(const char *name)
{
	const char *v = getenv(name);
	return !(v && *v == '0');
}

static uint64_t xr(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void report(struct thr *t, const char *view, uint64_t i, unsigned got, unsigned want)
{
	unsigned char c = 0;
	if (t->failed++)
		return;
	udax_pread(S.fs, S.sfd, &c, 1, (off_t)(t->base + i));
	fprintf(stderr, "  T%d: %s byte %llu is %u, expected %u (pread %u, map %u, private %u, "
	        "state %u, private copy %u)\n", t->id, view, (unsigned long long)(t->base + i), got,
	        want, c, (unsigned char)S.map[t->base + i], (unsigned char)S.pmap[t->base + i],
	        t->pst[i], t->priv[i]);
	fprintf(stderr, "  T%d: last operations (oldest first):\n", t->id);
	for (long k = t->nh > HIST ? t->nh - HIST : 0; k < t->nh; k++) {
		struct hist *h = &t->h[k % HIST];
		fprintf(stderr, "    %s off=%llu len=%llu\n", op_name[h->op],
		        (unsigned long long)h->off, (unsigned long long)h->len);
	}
	__atomic_fetch_add(&S.failures, 1, __ATOMIC_RELAXED);
}

/* bytes of @t's range [a, a+n) (relative) within the current size */
static uint64_t live(struct thr *t, uint64_t a, uint64_t n)
{
	uint64_t size = S.tail_size;
	if (t->base + a >= size)
		return 0;
	return t->base + a + n > size ? size - t->base - a : n;
}

static int priv_ok(struct thr *t, uint64_t i, unsigned char v)
{
	switch (t->pst[i]) {
	case 0: return v == t->model[i] || (!g_priv && v == 0);
	case 1: return v == t->priv[i] || (!g_priv && (v == t->model[i] || v == 0));
	case 3: return v == t->priv[i] || !g_priv;   /* gate off: a neighbour may have
	                                              * copied the page after ours vanished */
	default: return 1;
	}
}

static void check_range(struct thr *t, uint64_t a, uint64_t n, int views)
{
	n = live(t, a, n);
	if (views & 1) {
		ssize_t r = udax_pread(S.fs, t->fd, t->buf, n, (off_t)(t->base + a));
		if (r != (ssize_t)n)
			report(t, "pread length", a, (unsigned)r, (unsigned)n);
		for (uint64_t i = 0; i < n && r == (ssize_t)n; i++)
			if (t->buf[i] != t->model[a + i]) {
				report(t, "pread", a + i, t->buf[i], t->model[a + i]);
				break;
			}
	}
	if (views & 2) {
		const unsigned char *m = (unsigned char *)S.map + t->base;
		for (uint64_t i = a; i < a + n; i++)
			if (m[i] != t->model[i]) {
				report(t, "shared mapping", i, m[i], t->model[i]);
				break;
			}
	}
	if (views & 4) {
		const unsigned char *m = (unsigned char *)S.pmap + t->base;
		for (uint64_t i = a; i < a + n; i++)
			if (!priv_ok(t, i, m[i])) {
				report(t, "private mapping", i, m[i],
				       t->pst[i] == 1 ? t->priv[i] : t->model[i]);
				break;
			}
	}
}

/* A private store to [a, a+n): every byte of ours on the pages it
 * touches becomes a private copy with the value the page shows now. */
static void priv_store(struct thr *t, uint64_t a, uint64_t n)
{
	const unsigned char *m = (unsigned char *)S.pmap + t->base;
	uint64_t ga = (t->base + a) / PG * PG, ge = (t->base + a + n + PG - 1) / PG * PG;
	uint64_t lo = ga > t->base ? ga - t->base : 0, hi = ge - t->base < t->len ? ge - t->base : t->len;
	hi = live(t, lo, hi - lo) + lo;
	for (uint64_t i = lo; i < hi; i++) {
		unsigned char v = m[i];
		if (!priv_ok(t, i, v))
			report(t, "private mapping (before a store)", i, v, t->model[i]);
		if (t->pst[i] != 2 || (i >= a && i < a + n)) {
			/* gate off: a stale zero page over data turns into the
			 * file's data when the store copies the block */
			int shared_page = t->pst[i] >= 2;
			t->priv[i] = v == 0 && !g_priv ? t->model[i] : v;
			t->pst[i] = shared_page ? 3 : 1;
		}
	}
	t_fill(t->buf, n, (unsigned)xr(&t->rng));
	memcpy(S.pmap + t->base + a, t->buf, n);
	memcpy(t->priv + a, t->buf, n);
	for (uint64_t i = a; i < a + n; i++)
		t->pst[i] = t->pst[i] >= 2 ? 3 : 1;
}

static void reopen_own(struct thr *t)
{
	udax_close(S.fs, t->fd);
	t->fd = udax_open(S.fs, "/model", O_RDWR, 0);
	if (t->fd < 0)
		report(t, "reopen", 0, 0, 0);
}

/* Gate UDAX_MODEL_PMD off: the last byte of every 2 MiB run (owned by
 * T0, T2, T3) holds data that punch and zero never reach, so no run is
 * ever wholly a hole and no 2 MiB zero-page entry is made. */
static void put_anchor(struct thr *t)
{
	unsigned char v = 0xa5;
	if (t->id == 1)
		return;
	if (udax_pwrite(S.fs, t->fd, &v, 1, (off_t)(t->base + t->len - 1)) != 1)
		report(t, "anchor pwrite", t->len - 1, 0, 0);
	t->model[t->len - 1] = v;
}

/* T3: truncate into the tail, check, regrow. */
static void trunc_regrow(struct thr *t)
{
	/* gate off: on the 2 MiB boundary only */
	uint64_t r = g_pmd ? 1 + xr(&t->rng) % (t->len - 1) : 0;
	if (udax_ftruncate(S.fs, t->fd, (off_t)(t->base + r)))
		report(t, "ftruncate", r, 0, 0);
	S.tail_size = t->base + r;
	memset(t->model + r, 0, t->len - r);
	/* Linux discards the private copies of pages wholly past EOF */
	for (uint64_t i = (r + PG - 1) / PG * PG; i < t->len; i++)
		t->pst[i] = 0;
	check_range(t, r > 8192 ? r - 8192 : 0, 8192, 7);
	if (g_eof) {
		const unsigned char *m = (unsigned char *)S.map + t->base;
		for (uint64_t i = r; i < (r + PG - 1) / PG * PG; i++)
			if (m[i]) {
				report(t, "past EOF through the shared mapping", i, m[i], 0);
				break;
			}
	}
	if (udax_ftruncate(S.fs, t->fd, (off_t)(t->base + t->len)))
		report(t, "ftruncate (regrow)", r, 0, 0);
	S.tail_size = t->base + t->len;
	if (!g_pmd)
		put_anchor(t);
}

static void one_op(struct thr *t)
{
	uint64_t k = xr(&t->rng) % 100, a = xr(&t->rng) % t->len, n;
	n = 1 + xr(&t->rng) % (xr(&t->rng) % 4 ? 9000 : 300000);
	if (xr(&t->rng) % 8 == 0)
		a = a / PG * PG, n = (n + PG - 1) / PG * PG;
	if (a + n > t->len)
		n = t->len - a;
	int op = k < 18 ? PWRITE_OWN : k < 26 ? PWRITE_SHARED : k < 42 ? MSTORE : k < 52 ? PSTORE :
	         k < 62 ? PREAD : k < 72 ? MLOAD : k < 80 ? PLOAD : k < 86 ? PUNCH : k < 90 ? ZERO :
	         k < 94 ? FSYNC : k < 97 ? (t->id == 1 ? REOPEN : FSYNC) :
	         (t->id == NT - 1 ? TRUNC : PREAD);
	t->h[t->nh % HIST] = (struct hist){ op, t->base + a, n };
	t->nh++;
	if (g_trace == t->id)
		fprintf(stderr, "  T%d op %ld: %s off=%llu len=%llu\n", t->id, t->nh - 1,
		        op_name[op], (unsigned long long)(t->base + a), (unsigned long long)n);
	switch (op) {
	case PWRITE_OWN:
	case PWRITE_SHARED:
		t_fill(t->buf, n, (unsigned)xr(&t->rng));
		if (udax_pwrite(S.fs, op == PWRITE_OWN ? t->fd : S.sfd, t->buf, n,
		                (off_t)(t->base + a)) != (ssize_t)n)
			report(t, "pwrite", a, 0, 0);
		memcpy(t->model + a, t->buf, n);
		break;
	case MSTORE:
		t_fill(t->buf, n, (unsigned)xr(&t->rng));
		memcpy(S.map + t->base + a, t->buf, n);
		memcpy(t->model + a, t->buf, n);
		break;
	case PSTORE: priv_store(t, a, n); break;
	case PREAD: check_range(t, a, n, 1); break;
	case MLOAD: check_range(t, a, n, 2); break;
	case PLOAD: check_range(t, a, n, 4); break;
	case PUNCH:
	case ZERO:
		/* gate off: never empty a whole 2 MiB run (its anchor page
		 * stays), so no PMD zero entry is ever made */
		if (!g_pmd && t->id != 1 && a + n > t->len - PG)
			n = a < t->len - PG ? t->len - PG - a : 0;
		if (n == 0)
			break;
		if (udax_fallocate(S.fs, t->fd, op == PUNCH ?
		                   UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE :
		                   UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
		                   (off_t)(t->base + a), (off_t)n))
			report(t, "fallocate", a, 0, 0);
		memset(t->model + a, 0, n);
		break;
	case FSYNC:
		if (udax_fsync(S.fs, t->fd))
			report(t, "fsync", a, 0, 0);
		break;
	case REOPEN: reopen_own(t); break;
	case TRUNC: trunc_regrow(t); break;
	}
}

static void *worker(void *arg)
{
	struct thr *t = arg;
	for (long i = 0; i < S.ops; i++) {
		one_op(t);
		if (i % 500 == 499 || i == S.ops - 1) {
			pthread_barrier_wait(&S.bar);
			check_range(t, 0, t->len, 7);
			pthread_barrier_wait(&S.bar);
		}
	}
	return NULL;
}

static void setup_threads(uint64_t seed)
{
	static const uint64_t bounds[NT + 1] = { 0, 2 * MB, 3 * MB + 1000, 4 * MB, 6 * MB };
	for (int i = 0; i < NT; i++) {
		struct thr *t = &T[i];
		memset(t, 0, sizeof(*t));
		t->id = i;
		t->base = bounds[i];
		t->len = bounds[i + 1] - bounds[i];
		t->rng = (seed + (uint64_t)i * 7919) * 0x9E3779B97F4A7C15ull | 1;
		t->model = calloc(1, t->len);
		t->priv = calloc(1, t->len);
		t->pst = calloc(1, t->len);
		t->buf = malloc(t->len);
		/* bytes on a page shared with a neighbour: unknown privately */
		uint64_t fp = (t->base + PG - 1) / PG * PG, lp = bounds[i + 1] / PG * PG;
		memset(t->pst, 2, fp - t->base);
		memset(t->pst + (lp - t->base), 2, bounds[i + 1] - lp);
		t->fd = udax_open(S.fs, "/model", O_RDWR, 0);
	}
}

static void run_model(const char *mode, uint64_t seed)
{
	const char *want = getenv("UDAX_MODEL_MODES");
	char opts[64];
	if (want && !strstr(want, mode))
		return;
	snprintf(opts, sizeof(opts), "write_lock=%s", mode);
	const char *pool = t_pool("model");
	S.fs = NULL;
	REQUIRE(udax_mkfs(pool, 64 << 20, 0) == 0 && udax_mount(pool, opts, &S.fs) == 0);
	S.sfd = udax_open(S.fs, "/model", O_RDWR | O_CREAT, 0644);
	REQUIRE(S.sfd >= 0);
	if (g_pmd) {
		REQUIRE(udax_fallocate(S.fs, S.sfd, 0, 0, 2 * MB) == 0);
		REQUIRE(udax_fallocate(S.fs, S.sfd, 0, 4 * MB, 2 * MB) == 0);
	}
	REQUIRE(udax_ftruncate(S.fs, S.sfd, TOTAL) == 0);
	S.tail_size = TOTAL;
	REQUIRE(udax_mmap(S.fs, S.sfd, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
	                  (void **)&S.map) == 0);
	REQUIRE(udax_mmap(S.fs, S.sfd, TOTAL, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0,
	                  (void **)&S.pmap) == 0);
	S.failures = 0;
	setup_threads(seed);
	for (int i = 0; i < NT && !g_pmd; i++)
		put_anchor(&T[i]);
	pthread_barrier_init(&S.bar, NULL, NT);
	pthread_t th[NT];
	for (int i = 0; i < NT; i++)
		pthread_create(&th[i], NULL, worker, &T[i]);
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&S.bar);
	CHECK_EQ(S.failures, 0);
	if (S.failures)
		fprintf(stderr, "  model %s: seed %llu failed (UDAX_MODEL_SEED=%llu UDAX_MODEL_MODES=%s)\n",
		        opts, (unsigned long long)seed, (unsigned long long)seed, mode);
	udax_munmap(S.fs, S.pmap, TOTAL);
	/* after a remount the file must still match every model */
	udax_munmap(S.fs, S.map, TOTAL);
	for (int i = 0; i < NT; i++)
		udax_close(S.fs, T[i].fd);
	udax_close(S.fs, S.sfd);
	udax_unmount(S.fs);
	CHECK_EQ(t_fsck(pool), 0);
	REQUIRE(udax_mount(pool, opts, &S.fs) == 0);
	int fd = udax_open(S.fs, "/model", O_RDWR, 0);
	REQUIRE(fd >= 0);
	unsigned char *b = malloc(TOTAL);
	CHECK_EQ(udax_pread(S.fs, fd, b, TOTAL, 0), TOTAL);
	for (int i = 0; i < NT; i++) {
		if (memcmp(b + T[i].base, T[i].model, T[i].len)) {
			fprintf(stderr, "  T%d's range differs after remount\n", i);
			CHECK(!"model after remount");
		}
		free(T[i].model);
		free(T[i].priv);
		free(T[i].pst);
		free(T[i].buf);
	}
	free(b);
	udax_close(S.fs, fd);
	udax_unmount(S.fs);
	unlink(pool);
	printf("  model %s: %d threads x %ld operations, seed %llu\n", opts, NT, S.ops,
	       (unsigned long long)seed);
}

static uint64_t g_seed;
static void test_model_entry(void) { run_model("entry", g_seed); }
static void test_model_exclusive(void) { run_model("exclusive", g_seed); }
static void test_model_flush(void) { run_model("flush", g_seed); }
static void test_model_range(void) { run_model("range", g_seed); }

/* ---- two threads storing to one not-yet-faulted private page ---- */

#define RPAGES 64
static struct {
	char *pm;
	pthread_barrier_t bar;
	int rounds;
} R;

static void *race_thread(void *arg)
{
	long side = (long)arg;
	for (int r = 0; r < R.rounds; r++) {
		pthread_barrier_wait(&R.bar);   /* main mapped a fresh window */
		for (int p = 0; p < RPAGES; p++)
			R.pm[(size_t)p * PG + (size_t)side * 2048] = (char)(1 + side + p);
		pthread_barrier_wait(&R.bar);
	}
	return NULL;
}

static void test_private_race(void)
{
	if (!g_race) {
		printf("  (skipped: UDAX_MODEL_PRIV_RACE=1 enables it)\n");
		return;
	}
	udax_fs *fs = t_fresh("prace", 64, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/r", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	/* half the pages hold blocks, half are holes */
	unsigned char *b = calloc(1, RPAGES * PG);
	memset(b, 0x11, RPAGES / 2 * PG);
	REQUIRE(udax_pwrite(fs, fd, b, RPAGES * PG, 0) == RPAGES * PG);
	REQUIRE(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
	                       RPAGES / 2 * PG, RPAGES / 2 * PG) == 0);
	R.rounds = getenv("UDAX_CRASH_LIGHT") ? 50 : 300;
	pthread_barrier_init(&R.bar, NULL, 3);
	pthread_t th[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_thread, (void *)i);
	int lost = 0;
	for (int r = 0; r < R.rounds; r++) {
		REQUIRE(udax_mmap(fs, fd, RPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0,
		                  (void **)&R.pm) == 0);
		pthread_barrier_wait(&R.bar);
		pthread_barrier_wait(&R.bar);
		for (int p = 0; p < RPAGES; p++)
			for (int s = 0; s < 2; s++)
				if (R.pm[(size_t)p * PG + (size_t)s * 2048] != (char)(1 + s + p)) {
					if (!lost++)
						fprintf(stderr, "  round %d page %d (%s): store of thread %d lost\n",
						        r, p, p < RPAGES / 2 ? "block" : "hole", s);
				}
		udax_munmap(fs, R.pm, RPAGES * PG);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&R.bar);
	CHECK_EQ(lost, 0);
	printf("  private race: %d rounds x %d pages, %d stores lost\n", R.rounds, RPAGES, lost);
	free(b);
	udax_close(fs, fd);
	udax_unmount(fs);
}

int main(void)
{
	const char *e = getenv("UDAX_MODEL_OPS");
	S.ops = e ? atol(e) : getenv("UDAX_CRASH_LIGHT") ? 800 : 4000;
	e = getenv("UDAX_MODEL_SEED");
	g_seed = e ? strtoull(e, NULL, 0) : 1;
	g_eof = env_on("UDAX_MODEL_EOF");
	g_priv = env_on("UDAX_MODEL_PRIV");
	g_race = env_on("UDAX_MODEL_PRIV_RACE");
	g_pmd = env_on("UDAX_MODEL_PMD");
	if ((e = getenv("UDAX_MODEL_TRACE")))
		g_trace = atoi(e);
	printf("  model: seed %llu, %ld operations per thread; gates: eof=%d priv=%d priv_race=%d "
	       "pmd=%d\n", (unsigned long long)g_seed, S.ops, g_eof, g_priv, g_race, g_pmd);
	RUN(test_model_entry);
	RUN(test_model_exclusive);
	RUN(test_model_flush);
	RUN(test_model_range);
	RUN(test_private_race);
	return t_summary();
}
