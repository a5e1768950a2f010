/*
 * test_fsx.c - a model-based random-operation tester in the spirit of
 * fstests' fsx: writes, reads, truncates, fallocate in every mode,
 * loads, stores and msync through a mapping, fsync, close/reopen and
 * unmount/remount (with fsck) on one file, checked against an in-memory
 * oracle after every step, in each write_lock mode.
 *
 * Operations are generated from a seed into a list first and then
 * applied, so a failing run can be replayed: on a mismatch the tester
 * shrinks the list (dropping chunks of operations while the failure
 * persists, ddmin-style) and prints the minimized sequence.
 * UDAX_FSX_OPS sets the operations per mode (default 5000),
 * UDAX_FSX_SEED the seed (default 1).  Small writes at random offsets
 * fragment the file into thousands of extents, so the extent-leaf
 * split/merge/repack code is exercised hard.
 */
#include "t.h"

#include <sys/mman.h>

#define MAXLEN (8u << 20)

enum kind { WRITE, TRUNCATE, FALLOC, MSTORE, MSYNC, MLOAD, READ, FSYNC, REOPEN, REMOUNT };
static const char *const kind_name[] = {
	"write", "truncate", "fallocate", "mapped-store", "msync", "mapped-load",
	"read", "fsync", "reopen", "remount",
};

struct fop {
	enum kind kind;
	int mode;               /* fallocate mode */
	uint64_t off, len;      /* offsets; for mapped ops taken modulo the size */
	unsigned seed;          /* data pattern */
};

/* the run being applied */
static unsigned char *model, *buf, *out;
static uint64_t msize;
static char *map;
static const char *mount_opts;
static udax_fs *fs;
static int fd;
static const char *pool;
static int quiet;
static long inject_at = -1;   /* self-test: corrupt the oracle after this op */

/* ---- generation ---- */

static uint64_t rng;

static uint64_t rnd_below(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

/* Offsets: mostly block-granular small ranges, sometimes anything. */
static void pick_range(struct fop *o, uint64_t maxlen)
{
	if (rnd_below(4)) {
		o->off = rnd_below(MAXLEN / 4096) * 4096 + (rnd_below(3) ? 0 : rnd_below(4096));
		o->len = 1 + rnd_below(rnd_below(4) ? 8192 : maxlen);
	} else {
		o->off = rnd_below(MAXLEN);
		o->len = 1 + rnd_below(maxlen);
	}
	if (o->off + o->len > MAXLEN)
		o->len = MAXLEN - o->off;
	if (o->len == 0)
		o->len = 1, o->off = MAXLEN - 1;
}

static struct fop gen_op(long i)
{
	static const int modes[] = {
		0, UDAX_FALLOC_KEEP_SIZE, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_ZERO_RANGE, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
	};
	struct fop o = { .seed = (unsigned)i };
	uint64_t k = rnd_below(100);
	o.kind = k < 35 ? WRITE : k < 45 ? TRUNCATE : k < 60 ? FALLOC : k < 68 ? MSTORE :
	         k < 70 ? MSYNC : k < 80 ? MLOAD : k < 95 ? READ : k < 97 ? FSYNC :
	         k < 99 ? REOPEN : REMOUNT;
	o.mode = modes[rnd_below(5)];
	pick_range(&o, o.kind == WRITE ? 300000 : o.kind == FALLOC ? 400000 : 500000);
	if (o.kind == TRUNCATE)
		o.off = rnd_below(MAXLEN);
	return o;
}

static void print_op(long i, const struct fop *o)
{
	fprintf(stderr, "    #%ld %s off=%llu len=%llu", i, kind_name[o->kind],
	        (unsigned long long)o->off, (unsigned long long)o->len);
	if (o->kind == FALLOC)
		fprintf(stderr, " mode=%#x", o->mode);
	fprintf(stderr, "\n");
}

/* ---- application ---- */

static int check_read(uint64_t off, uint64_t len)
{
	ssize_t r = udax_pread(fs, fd, out, len, (off_t)off);
	uint64_t want = off >= msize ? 0 : (off + len > msize ? msize - off : len);
	if (r != (ssize_t)want) {
		if (!quiet)
			fprintf(stderr, "  read off=%llu len=%llu returned %zd, expected %llu\n",
			        (unsigned long long)off, (unsigned long long)len, r,
			        (unsigned long long)want);
		return -1;
	}
	for (uint64_t i = 0; i < want; i++) {
		if (out[i] != model[off + i]) {
			if (!quiet)
				fprintf(stderr, "  byte %llu is %u, expected %u\n",
				        (unsigned long long)(off + i), out[i], model[off + i]);
			return -1;
		}
	}
	return 0;
}

static int check_all(void)
{
	struct stat st;
	if (udax_fstat(fs, fd, &st) || (uint64_t)st.st_size != msize) {
		if (!quiet)
			fprintf(stderr, "  size %lld, expected %llu\n", (long long)st.st_size,
			        (unsigned long long)msize);
		return -1;
	}
	return check_read(0, MAXLEN);
}

/* The file stays mapped whole (MAXLEN); accesses go only below EOF. */
static int map_file(void)
{
	return udax_mmap(fs, fd, MAXLEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&map);
}

static int reopen(int remount)
{
	udax_munmap(fs, map, MAXLEN);
	udax_close(fs, fd);
	if (remount) {
		udax_unmount(fs);
		if (t_fsck(pool) || udax_mount(pool, mount_opts, &fs))
			return -1;
	}
	fd = udax_open(fs, "/fsx", O_RDWR, 0);
	return fd < 0 || map_file() ? -1 : 0;
}

static void model_fill(uint64_t from, uint64_t to)
{
	if (to > from)
		memset(model + from, 0, to - from);
}

static int apply_falloc(const struct fop *o)
{
	uint64_t end = o->off + o->len;
	if (udax_fallocate(fs, fd, o->mode, (off_t)o->off, (off_t)o->len))
		return -1;
	if ((o->mode & (UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE)) && o->off < msize)
		model_fill(o->off, end < msize ? end : msize);
	if (!(o->mode & UDAX_FALLOC_KEEP_SIZE) && end > msize) {
		model_fill(msize, end);
		msize = end;
	}
	return 0;
}

static int apply_mapped(const struct fop *o)
{
	if (msize == 0)
		return 0;
	uint64_t off = o->off % msize, len = o->len;
	if (off + len > msize)
		len = msize - off;
	if (o->kind == MSTORE) {
		t_fill(buf, len, o->seed);
		memcpy(map + off, buf, len);
		memcpy(model + off, buf, len);
		return 0;
	}
	if (o->kind == MSYNC) {
		uint64_t a = off & ~4095ull;
		return udax_msync(fs, map + a, len + (off - a), MS_SYNC);
	}
	return memcmp(map + off, model + off, len) ? -1 : 0;
}

static int apply(const struct fop *o)
{
	switch (o->kind) {
	case WRITE:
		t_fill(buf, o->len, o->seed);
		if (udax_pwrite(fs, fd, buf, o->len, (off_t)o->off) != (ssize_t)o->len)
			return -1;
		model_fill(msize, o->off);
		memcpy(model + o->off, buf, o->len);
		if (o->off + o->len > msize)
			msize = o->off + o->len;
		return 0;
	case TRUNCATE:
		if (udax_ftruncate(fs, fd, (off_t)o->off))
			return -1;
		model_fill(msize, o->off);
		msize = o->off;
		return 0;
	case FALLOC: return apply_falloc(o);
	case MSTORE: case MSYNC: case MLOAD: return apply_mapped(o);
	case READ: return check_read(o->off, o->len);
	case FSYNC: return udax_fsync(fs, fd);
	case REOPEN: return reopen(0);
	case REMOUNT: return reopen(1);
	}
	return -1;
}

/* Apply ops[i] for every i with keep[i]; returns the index of the first
 * failing operation, or -1 when the whole list passes. */
static long run_list(const struct fop *ops, const char *keep, long n)
{
	long fail = -1;

	memset(model, 0, MAXLEN);
	msize = 0;
	unlink(pool);
	if (udax_mkfs(pool, 64 << 20, 0) || udax_mount(pool, mount_opts, &fs))
		return 0;
	fd = udax_open(fs, "/fsx", O_RDWR | O_CREAT, 0644);
	if (fd < 0 || map_file())
		return 0;
	for (long i = 0; i < n && fail < 0; i++) {
		if (keep && !keep[i])
			continue;
		int r = apply(&ops[i]);
		if (i == inject_at)
			model[ops[i].off] ^= 0x5a;
		if (r || (i % 500 == 499 && check_all()))
			fail = i;
	}
	if (fail < 0 && check_all())
		fail = n - 1;
	udax_munmap(fs, map, MAXLEN);
	udax_close(fs, fd);
	udax_unmount(fs);
	if (fail < 0 && t_fsck(pool))
		fail = n - 1;
	return fail;
}

/* ddmin-lite: drop chunks while the run still fails; bounded effort. */
static long minimize(const struct fop *ops, long n)
{
	char *keep = malloc((size_t)n);
	long left = n, replays = 0;

	memset(keep, 1, (size_t)n);
	quiet = 1;
	for (long chunk = n / 2; chunk >= 1 && replays < 400; chunk /= 2) {
		for (long s = 0; s < n && replays < 400; s += chunk) {
			long dropped = 0;
			for (long i = s; i < s + chunk && i < n; i++)
				if (keep[i]) {
					keep[i] = 0;
					dropped++;
				}
			if (!dropped)
				continue;
			replays++;
			if (run_list(ops, keep, n) >= 0) {
				left -= dropped;    /* still fails without them */
			} else {
				for (long i = s; i < s + chunk && i < n; i++)
					keep[i] = 1;  /* needed: put them back */
				left = 0;
				for (long i = 0; i < n; i++)
					left += keep[i];
			}
		}
	}
	quiet = 0;
	fprintf(stderr, "  minimized to %ld operations (%ld replays):\n", left, replays);
	for (long i = 0; i < n; i++)
		if (keep[i])
			print_op(i, &ops[i]);
	free(keep);
	return left;
}

static void run_fsx(const char *opts)
{
	const char *e = getenv("UDAX_FSX_OPS");
	long n = e ? atol(e) : 5000;
	e = getenv("UDAX_FSX_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 0) : 1;
	struct fop *ops = malloc(sizeof(*ops) * (size_t)n);

	mount_opts = opts;
	pool = t_pool("fsx");
	rng = seed * 0x9E3779B97F4A7C15ull | 1;
	for (long i = 0; i < n; i++)
		ops[i] = gen_op(i);
	model = calloc(1, MAXLEN);
	buf = malloc(MAXLEN);
	out = malloc(MAXLEN);
	long fail = run_list(ops, NULL, n);
	if (fail >= 0) {
		fprintf(stderr, "  fsx: mismatch at operation %ld, seed %llu, %s\n", fail,
		        (unsigned long long)seed, opts);
		CHECK(!"fsx mismatch");
		minimize(ops, fail + 1);
	}
	printf("  fsx %s: %ld operations, seed %llu\n", opts, n, (unsigned long long)seed);
	unlink(pool);
	free(ops);
	free(model);
	free(buf);
	free(out);
}

/* The minimizer itself: with the oracle corrupted after one write, the
 * failure must be found and shrunk to that write alone. */
static void test_fsx_minimizer(void)
{
	long n = 3000;
	struct fop *ops = malloc(sizeof(*ops) * (size_t)n);

	mount_opts = NULL;
	pool = t_pool("fsxmin");
	rng = 7 * 0x9E3779B97F4A7C15ull | 1;
	for (long i = 0; i < n; i++)
		ops[i] = gen_op(i);
	ops[n - 1] = (struct fop){ .kind = WRITE, .off = 12345, .len = 777, .seed = 1 };
	inject_at = n - 1;
	model = calloc(1, MAXLEN);
	buf = malloc(MAXLEN);
	out = malloc(MAXLEN);
	quiet = 1;
	long fail = run_list(ops, NULL, n);
	quiet = 0;
	CHECK(fail >= inject_at);
	if (fail >= 0)
		CHECK(minimize(ops, fail + 1) == 1);
	inject_at = -1;
	unlink(pool);
	free(ops);
	free(model);
	free(buf);
	free(out);
}

static void test_fsx_entry(void) { run_fsx("write_lock=entry"); }
static void test_fsx_exclusive(void) { run_fsx("write_lock=exclusive"); }
static void test_fsx_flush(void) { run_fsx("write_lock=flush"); }
static void test_fsx_range(void) { run_fsx("write_lock=range"); }

int main(void)
{
	RUN(test_fsx_minimizer);
	RUN(test_fsx_entry);
	RUN(test_fsx_exclusive);
	RUN(test_fsx_flush);
	RUN(test_fsx_range);
	return t_summary();
}
