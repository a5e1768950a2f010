/*
 * test_fsx.c - a model-based random-operation tester in the spirit of
 * fstests' fsx: writes, reads, truncates, fallocate in every mode,
 * fsync, close/reopen and unmount/remount (with fsck) on one file,
 * checked against an in-memory oracle after every step.
 *
 * Reproducible from a seed; on a mismatch it prints the seed and the
 * last operations.  UDAX_FSX_OPS sets the number of operations
 * per write_lock mode (default 8000), UDAX_FSX_SEED the seed (default
 * 1).  Loads, stores and msync through a mapping of the file are mixed
 * in, so the mapped and the read/write views are checked against one
 * oracle.  Small writes at
 * random offsets fragment the file into thousands of extents, so the
 * extent-leaf split/merge/repack code is exercised hard.
 */
#include "t.h"

#include <sys/mman.h>

#define MAXLEN (8u << 20)
#define HIST 16

static unsigned char *model, *buf, *out;
static uint64_t msize;
static uint64_t rng;
static char hist[HIST][96];
static long nop;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void logop(const char *fmt, long long a, long long b)
{
	snprintf(hist[nop % HIST], sizeof(hist[0]), fmt, a, b);
}

static void dump_history(void)
{
	fprintf(stderr, "  last operations (oldest first):\n");
	for (long i = nop - HIST + 1; i <= nop; i++)
		if (i >= 0)
			fprintf(stderr, "    #%ld %s\n", i, hist[i % HIST]);
}

/* Offsets: mostly block-granular small ranges, sometimes anything. */
static void pick_range(uint64_t *off, uint64_t *len, uint64_t maxlen)
{
	if (rnd_below(4)) {
		*off = rnd_below(MAXLEN / 4096) * 4096 + (rnd_below(3) ? 0 : rnd_below(4096));
		*len = 1 + rnd_below(rnd_below(4) ? 8192 : maxlen);
	} else {
		*off = rnd_below(MAXLEN);
		*len = 1 + rnd_below(maxlen);
	}
	if (*off + *len > MAXLEN)
		*len = MAXLEN - *off;
	if (*len == 0)
		*len = 1, *off = MAXLEN - 1;
}

static int do_write(udax_fs *fs, int fd)
{
	uint64_t off, len;
	pick_range(&off, &len, 300000);
	t_fill(buf, len, (unsigned)nop);
	logop("write off=%lld len=%lld", (long long)off, (long long)len);
	if (udax_pwrite(fs, fd, buf, len, (off_t)off) != (ssize_t)len)
		return -1;
	if (off > msize)
		memset(model + msize, 0, off - msize);
	memcpy(model + off, buf, len);
	if (off + len > msize)
		msize = off + len;
	return 0;
}

static int do_truncate(udax_fs *fs, int fd)
{
	uint64_t n = rnd_below(MAXLEN);
	logop("truncate %lld%.0lld", (long long)n, 0);
	if (udax_ftruncate(fs, fd, (off_t)n))
		return -1;
	if (n > msize)
		memset(model + msize, 0, n - msize);
	msize = n;
	return 0;
}

static int do_falloc(udax_fs *fs, int fd)
{
	static const int modes[] = {
		0, UDAX_FALLOC_KEEP_SIZE, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_ZERO_RANGE, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
	};
	int mode = modes[rnd_below(5)];
	uint64_t off, len;
	pick_range(&off, &len, 400000);
	logop("fallocate mode=%lld off/len packed=%lld", mode, (long long)(off << 20 | (len & 0xfffff)));
	snprintf(hist[nop % HIST], sizeof(hist[0]), "fallocate mode=%#x off=%llu len=%llu", mode,
	         (unsigned long long)off, (unsigned long long)len);
	if (udax_fallocate(fs, fd, mode, (off_t)off, (off_t)len))
		return -1;
	uint64_t end = off + len;
	if ((mode & (UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE)) && off < msize)
		memset(model + off, 0, (end < msize ? end : msize) - off);
	if (!(mode & UDAX_FALLOC_KEEP_SIZE) && end > msize) {
		memset(model + msize, 0, end - msize);
		msize = end;
	}
	return 0;
}

static int check_read(udax_fs *fs, int fd, uint64_t off, uint64_t len)
{
	ssize_t r = udax_pread(fs, fd, out, len, (off_t)off);
	uint64_t want = off >= msize ? 0 : (off + len > msize ? msize - off : len);
	if (r != (ssize_t)want) {
		fprintf(stderr, "  read off=%llu len=%llu returned %zd, expected %llu\n",
		        (unsigned long long)off, (unsigned long long)len, r, (unsigned long long)want);
		return -1;
	}
	for (uint64_t i = 0; i < want; i++) {
		if (out[i] != model[off + i]) {
			fprintf(stderr, "  byte %llu is %u, expected %u\n", (unsigned long long)(off + i),
			        out[i], model[off + i]);
			return -1;
		}
	}
	return 0;
}

static int check_all(udax_fs *fs, int fd)
{
	struct stat st;
	if (udax_fstat(fs, fd, &st) || (uint64_t)st.st_size != msize) {
		fprintf(stderr, "  size %lld, expected %llu\n", (long long)st.st_size,
		        (unsigned long long)msize);
		return -1;
	}
	return check_read(fs, fd, 0, MAXLEN);
}

/* The file stays mapped whole (MAXLEN) across the run; accesses go
 * only below EOF, so no SIGBUS. */
static char *map;
static const char *mount_opts;

static int map_file(udax_fs *fs, int fd)
{
	return udax_mmap(fs, fd, MAXLEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&map);
}

static int reopen(udax_fs **fs, int *fd, const char *pool, int remount)
{
	udax_munmap(*fs, map, MAXLEN);
	udax_close(*fs, *fd);
	if (remount) {
		udax_unmount(*fs);
		if (t_fsck(pool))
			return -1;
		if (udax_mount(pool, mount_opts, fs))
			return -1;
	}
	*fd = udax_open(*fs, "/fsx", O_RDWR, 0);
	return *fd < 0 || map_file(*fs, *fd) ? -1 : 0;
}

/* Loads and stores through the mapping, and msync. */
static int do_mapped(udax_fs *fs, uint64_t k)
{
	uint64_t off, len;
	if (msize == 0)
		return 0;
	pick_range(&off, &len, 200000);
	off %= msize;
	if (off + len > msize)
		len = msize - off;
	if (k == 0) {
		t_fill(buf, len, (unsigned)nop);
		logop("mapped store off=%lld len=%lld", (long long)off, (long long)len);
		memcpy(map + off, buf, len);
		memcpy(model + off, buf, len);
		return 0;
	}
	if (k == 1) {
		logop("msync off=%lld len=%lld", (long long)off, (long long)len);
		uint64_t a = off & ~4095ull;
		return udax_msync(fs, map + a, len + (off - a), MS_SYNC);
	}
	logop("mapped load off=%lld len=%lld", (long long)off, (long long)len);
	for (uint64_t i = 0; i < len; i++)
		if ((unsigned char)map[off + i] != model[off + i]) {
			fprintf(stderr, "  mapped byte %llu is %u, expected %u\n",
			        (unsigned long long)(off + i), (unsigned char)map[off + i], model[off + i]);
			return -1;
		}
	return 0;
}

static int step(udax_fs **fs, int *fd, const char *pool)
{
	uint64_t k = rnd_below(100), off, len;
	if (k < 35)
		return do_write(*fs, *fd);
	if (k < 45)
		return do_truncate(*fs, *fd);
	if (k < 60)
		return do_falloc(*fs, *fd);
	if (k < 80)
		return do_mapped(*fs, k < 68 ? 0 : k < 70 ? 1 : 2);
	if (k < 95) {
		pick_range(&off, &len, 500000);
		logop("read off=%lld len=%lld", (long long)off, (long long)len);
		return check_read(*fs, *fd, off, len);
	}
	if (k < 97) {
		logop("fsync%.0lld%.0lld", 0, 0);
		return udax_fsync(*fs, *fd);
	}
	logop("reopen remount=%lld%.0lld", (long long)(k == 99), 0);
	return reopen(fs, fd, pool, k == 99);
}

static void run_fsx(const char *opts)
{
	const char *e = getenv("UDAX_FSX_OPS");
	long ops = e ? atol(e) : 8000;
	e = getenv("UDAX_FSX_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 0) : 1;
	const char *pool = t_pool("fsx");
	udax_fs *fs;

	mount_opts = opts;
	rng = seed * 0x9E3779B97F4A7C15ull | 1;
	model = calloc(1, MAXLEN);
	buf = malloc(MAXLEN);
	out = malloc(MAXLEN);
	msize = 0;
	REQUIRE(udax_mkfs(pool, 64 << 20, 0) == 0);
	REQUIRE(udax_mount(pool, opts, &fs) == 0);
	int fd = udax_open(fs, "/fsx", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0 && map_file(fs, fd) == 0);
	for (nop = 0; nop < ops; nop++) {
		if (step(&fs, &fd, pool) || (nop % 500 == 499 && check_all(fs, fd))) {
			fprintf(stderr, "  fsx: mismatch at operation %ld, seed %llu, %s\n", nop,
			        (unsigned long long)seed, opts);
			dump_history();
			CHECK(!"fsx mismatch");
			break;
		}
	}
	CHECK(check_all(fs, fd) == 0);
	printf("  fsx %s: %ld operations, seed %llu\n", opts, nop, (unsigned long long)seed);
	udax_munmap(fs, map, MAXLEN);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
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
	RUN(test_fsx_entry);
	RUN(test_fsx_exclusive);
	RUN(test_fsx_flush);
	RUN(test_fsx_range);
	return t_summary();
}
