/*
 * test_fsx.c - a model-based random-operation tester in the spirit of
 * fstests' fsx: writes, reads, truncates, fallocate in every mode,
 * loads, stores and msync through a shared and a private mapping,
 * kernel-side copies from and into the mappings through a pipe, fsync,
 * close/reopen and unmount/remount (with fsck) on one file, checked
 * against an in-memory oracle after every step, in each write_lock mode.
 *
 * The file spans four 2 MiB-aligned regions.  Besides small block-sized
 * ranges, the generator fallocates whole aligned 2 MiB runs (so a mapped
 * access there is served by one PMD entry), loads whole runs (PMD zero
 * entries over holes), and puts truncate, punch and zero-range
 * boundaries anywhere inside 2 MiB runs.
 *
 * Oracles:
 *   - the file: model[] and msize; pread, the shared mapping and kernel
 *     copies out of it must match;
 *   - past EOF: the bytes of the page holding EOF beyond EOF read zero
 *     through the shared mapping (and a private page not yet copied);
 *   - the private mapping (Linux semantics, checked against the kernel
 *     on tmpfs and ext4): a page the private mapping stored to keeps its
 *     private copy; a shrinking truncate discards the copies of pages
 *     wholly past the new size; punch hole and zero range keep them
 *     ("hole-punching should not remove private COWed pages",
 *     mm/truncate.c); every other page shows the file's current data.
 *
 * Operations are generated from a seed into a list first and then
 * applied (each run in a forked child, so a crash is a failure like any
 * other), so a failing run can be replayed: on a mismatch the tester
 * shrinks the list (dropping chunks of operations while the failure
 * persists, ddmin-style) and prints the minimized sequence.
 *
 * Seeds: each mode runs the fixed seed 1 and one extra seed that changes
 * with every commit: UDAX_FSX_SEED_EXTRA if set, else derived from
 * `git rev-parse HEAD` of the source tree (skipped, saying so, without
 * git).  The seeds are printed at start.  To reproduce a failure:
 *     UDAX_FSX_SEEDS=<seed> UDAX_FSX_MODES=<mode> build/tests/test_fsx
 * (plus any gate the failing check needs, see below).
 * UDAX_FSX_SEEDS="1,7,42" replaces the seed list (UDAX_FSX_SEED=n is
 * the same for one seed), UDAX_FSX_OPS the operations per seed and mode
 * (default 5000; 1500 when UDAX_CRASH_LIGHT is set, as in the sanitizer
 * builds), UDAX_FSX_MODES="entry,range" the write_lock modes.  Long run:
 * scripts/fsx-long.sh (docs/testing.md).
 *
 * Gates: each check class below is on by default (the engine passes them
 * all) and can be turned off with NAME=0 to bisect a failure:
 *   UDAX_FSX_KERNEL=1     write(pipe, map) / read(pipe, map) on the shared
 *                         and private mapping (the kernel gets EFAULT on
 *                         pages udax has not made present)
 *   UDAX_FSX_EOF=1        bytes past EOF in the last page read zero
 *                         through the mappings after a shrinking truncate
 *   UDAX_FSX_PRIV_HOLE=1  a private page not copied yet shows the file's
 *                         data after pwrite or a shared store filled a
 *                         hole (off: it may also read all zeros)
 *   UDAX_FSX_PRIV_PUNCH=1 punch hole keeps private copies (off: the page
 *                         may show its private copy or the file's data)
 *   UDAX_FSX_PRIV_KEEP=1  a private copy survives everything but a
 *                         truncate past it (off: any copied page may
 *                         later show the file's data instead: udax's
 *                         zero-page eviction zaps private mappings too)
 *   UDAX_FSX_PMD=1        the 2 MiB-run operations: whole-run fallocate,
 *                         whole-run loads, boundaries inside runs
 */
#include "t.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAXLEN (8u << 20)
#define PMD (2u << 20)
#define PG 4096u
#define KMAX 65536u            /* kernel copies: at most one pipe's worth */

enum kind {
	WRITE, TRUNCATE, FALLOC, MSTORE, MSYNC, MLOAD, READ, FSYNC, REOPEN, REMOUNT,
	PSTORE, PLOAD, KLOAD, KSTORE,
};
static const char *const kind_name[] = {
	"write", "truncate", "fallocate", "mapped-store", "msync", "mapped-load",
	"read", "fsync", "reopen", "remount", "private-store", "private-load",
	"kernel-load", "kernel-store",
};

struct fop {
	enum kind kind;
	int mode;               /* fallocate mode; for K* ops 1 = private mapping */
	uint64_t off, len;      /* for mapped ops: off below EOF, else taken modulo it */
	unsigned seed;          /* data pattern */
};

/* gates */
static int g_kernel, g_eof, g_priv_hole, g_priv_punch, g_priv_keep, g_pmd;

/* the run being applied */
static unsigned char *model, *buf, *out, *pmodel, *pcow;
static uint64_t msize;
static char *map, *pmap;
static const char *mount_opts;
static udax_fs *fs;
static int fd;
static int pfd[2] = { -1, -1 };
static const char *pool;
static int quiet;
static long inject_at = -1;   /* self-test: corrupt the oracle after this op */
static volatile long *progress;   /* shared with the forked run: op in flight */

enum { COW_NONE, COW_YES, COW_MAYBE };   /* pcow[] per page */

/* Every check is on by default; NAME=0 turns one off (to bisect). */
static int env_on(const char *name)
{
	const char *v = getenv(name);
	return !(v && *v == '0');
}

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
}

static void clip_op(struct fop *o)
{
	if (o->off >= MAXLEN)
		o->off = MAXLEN - 1;
	if (o->off + o->len > MAXLEN)
		o->len = MAXLEN - o->off;
	if (o->len == 0)
		o->len = 1, o->off = MAXLEN - 1;
}

/* A point inside a 2 MiB run: page-aligned, byte-anywhere, or near an edge. */
static uint64_t pmd_point(void)
{
	uint64_t r = rnd_below(MAXLEN / PMD) * PMD;
	switch (rnd_below(4)) {
	case 0: return r + rnd_below(PMD / PG) * PG;
	case 1: return r + rnd_below(PMD);
	case 2: return r + PMD - 1 - rnd_below(3 * PG);
	default: return r + 1 + rnd_below(3 * PG);
	}
}

/* The 2 MiB-run operations (UDAX_FSX_PMD). */
static int gen_pmd(struct fop *o)
{
	uint64_t k = rnd_below(100);
	if (k < 20) {                 /* fallocate whole aligned runs */
		o->kind = FALLOC;
		o->mode = rnd_below(2) ? 0 : UDAX_FALLOC_KEEP_SIZE;
		o->off = rnd_below(MAXLEN / PMD) * PMD;
		o->len = (1 + rnd_below(2)) * PMD;
	} else if (k < 30) {          /* write a whole aligned run */
		o->kind = WRITE;
		o->off = rnd_below(MAXLEN / PMD) * PMD;
		o->len = PMD;
	} else if (k < 45) {          /* truncate inside a run */
		o->kind = TRUNCATE;
		o->off = pmd_point();
	} else if (k < 65) {          /* punch / zero with boundaries inside runs */
		static const int m[] = {
			UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, UDAX_FALLOC_ZERO_RANGE,
			UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
		};
		o->kind = FALLOC;
		o->mode = m[rnd_below(3)];
		o->off = pmd_point();
		uint64_t e = pmd_point();
		o->len = e > o->off ? e - o->off : 1 + rnd_below(3 * PMD);
	} else if (k < 85) {          /* load whole runs: PMD faults */
		o->kind = rnd_below(3) ? MLOAD : PLOAD;
		o->off = rnd_below(MAXLEN / PMD) * PMD;
		o->len = PMD;
	} else {                      /* a store inside a run */
		o->kind = rnd_below(4) ? MSTORE : PSTORE;
		o->off = pmd_point();
		o->len = 1 + rnd_below(rnd_below(2) ? 64 : 3 * PG);
	}
	return 0;
}

static struct fop gen_op(long i)
{
	static const int modes[] = {
		0, UDAX_FALLOC_KEEP_SIZE, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		UDAX_FALLOC_ZERO_RANGE, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE,
	};
	struct fop o = { .seed = (unsigned)i };
	if (g_pmd && rnd_below(4) == 0) {
		gen_pmd(&o);
		clip_op(&o);
		return o;
	}
	uint64_t k = rnd_below(100);
	o.kind = k < 32 ? WRITE : k < 40 ? TRUNCATE : k < 53 ? FALLOC : k < 60 ? MSTORE :
	         k < 62 ? MSYNC : k < 70 ? MLOAD : k < 74 ? PSTORE : k < 78 ? PLOAD :
	         k < 93 ? READ : k < 95 ? FSYNC : k < 97 ? REOPEN : k < 98 ? REMOUNT :
	         g_kernel ? (rnd_below(2) ? KLOAD : KSTORE) : READ;
	o.mode = modes[rnd_below(5)];
	pick_range(&o, o.kind == WRITE ? 300000 : o.kind == FALLOC ? 400000 : 500000);
	if (o.kind == TRUNCATE)
		o.off = rnd_below(MAXLEN);
	if (o.kind == KLOAD || o.kind == KSTORE) {
		o.mode = (int)rnd_below(2);
		o.len = 1 + rnd_below(KMAX);
	}
	clip_op(&o);
	return o;
}

static void print_op(long i, const struct fop *o)
{
	fprintf(stderr, "    #%ld %s off=%llu len=%llu", i, kind_name[o->kind],
	        (unsigned long long)o->off, (unsigned long long)o->len);
	if (o->kind == FALLOC)
		fprintf(stderr, " mode=%#x", o->mode);
	if (o->kind == KLOAD || o->kind == KSTORE)
		fprintf(stderr, " %s", o->mode ? "private" : "shared");
	fprintf(stderr, "\n");
}

/* ---- oracle helpers ---- */

static uint64_t eof_page_end(void)
{
	return (msize + PG - 1) / PG * PG;
}

/* What the file shows at byte i (zero past EOF). */
static unsigned char file_byte(uint64_t i)
{
	return i < msize ? model[i] : 0;
}

/* Compare the private mapping's page @p (bytes [from, to) of it) with
 * the oracle; resolves COW_MAYBE pages.  0 or -1. */
static int check_priv_page(uint64_t p, uint64_t from, uint64_t to)
{
	const unsigned char *m = (const unsigned char *)pmap;
	int cow = pcow[p];
	if (cow == COW_MAYBE) {
		/* still the private copy, or the file's data: decide on the
		 * whole page (what is in the mapping) and remember */
		uint64_t a = p * PG, e = a + PG < eof_page_end() ? a + PG : eof_page_end();
		int priv = !memcmp(m + a, pmodel + a, e - a), file = 1;
		for (uint64_t i = a; i < e && file; i++)
			file = m[i] == file_byte(i);
		if (!priv && !file) {
			if (!quiet)
				fprintf(stderr, "  private page %llu is neither its copy nor the file\n",
				        (unsigned long long)p);
			return -1;
		}
		cow = priv ? COW_YES : COW_NONE;
		/* gate off: a copy may still vanish later */
		pcow[p] = cow == COW_YES && !g_priv_keep ? COW_MAYBE : cow;
	}
	if (cow == COW_YES) {
		for (uint64_t i = from; i < to; i++)
			if (m[i] != pmodel[i]) {
				if (!quiet)
					fprintf(stderr, "  private byte %llu is %u, private copy %u\n",
					        (unsigned long long)i, m[i], pmodel[i]);
				return -1;
			}
		return 0;
	}
	int zeros = 1;
	for (uint64_t i = from; i < to; i++) {
		if (m[i] == file_byte(i))
			continue;
		if (i >= msize && !g_eof)
			continue;
		if (!g_priv_hole) {   /* tolerated: a stale zero page */
			uint64_t a = p * PG, e = a + PG < eof_page_end() ? a + PG : eof_page_end();
			for (uint64_t j = a; j < e && zeros; j++)
				zeros = m[j] == 0;
			if (zeros)
				return 0;
		}
		if (!quiet)
			fprintf(stderr, "  private byte %llu is %u, file %u (size %llu)\n",
			        (unsigned long long)i, m[i], file_byte(i), (unsigned long long)msize);
		return -1;
	}
	return 0;
}

static int check_priv(uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	if (end > eof_page_end())
		end = eof_page_end();
	for (uint64_t a = off; a < end;) {
		uint64_t p = a / PG, e = (p + 1) * PG < end ? (p + 1) * PG : end;
		if (check_priv_page(p, a, e))
			return -1;
		a = e;
	}
	return 0;
}

/* Make pages of [off, off+len) private copies (a store is about to hit
 * them), resolving COW_MAYBE pages from what the mapping shows. */
static int priv_copy(uint64_t off, uint64_t len)
{
	for (uint64_t p = off / PG; p * PG < off + len; p++) {
		if (pcow[p] == COW_MAYBE && check_priv_page(p, p * PG, p * PG))
			return -1;
		if (pcow[p] == COW_NONE) {
			/* past EOF: zero, or (gate off) whatever the page shows */
			for (uint64_t i = p * PG; i < (p + 1) * PG; i++)
				pmodel[i] = i < msize || g_eof || i >= eof_page_end() ?
				            file_byte(i) : (unsigned char)pmap[i];
			pcow[p] = g_priv_keep ? COW_YES : COW_MAYBE;
		}
	}
	return 0;
}

static int check_eof(void)
{
	if (!g_eof)
		return 0;
	for (uint64_t i = msize; i < eof_page_end(); i++)
		if (map[i]) {
			if (!quiet)
				fprintf(stderr, "  byte %llu past EOF %llu reads %u through the mapping\n",
				        (unsigned long long)i, (unsigned long long)msize,
				        (unsigned char)map[i]);
			return -1;
		}
	return check_priv(msize, eof_page_end() - msize);
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

static int check_map(const char *what, const unsigned char *m, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (m[i] != model[off + i]) {
			if (!quiet) {
				unsigned char c = 0;
				udax_pread(fs, fd, &c, 1, (off_t)(off + i));
				fprintf(stderr, "  %s byte %llu is %u, expected %u (pread %u)\n", what,
				        (unsigned long long)(off + i), m[i], model[off + i], c);
			}
			return -1;
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
	if (check_read(0, MAXLEN) || check_map("mapped", (unsigned char *)map, 0, msize))
		return -1;
	return check_priv(0, msize) || check_eof();
}

/* The file stays mapped whole (MAXLEN), shared and private; accesses go
 * only below the end of the page holding EOF. */
static int map_file(void)
{
	memset(pcow, COW_NONE, MAXLEN / PG);
	if (udax_mmap(fs, fd, MAXLEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&map))
		return -1;
	return udax_mmap(fs, fd, MAXLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, (void **)&pmap);
}

static int reopen(int remount)
{
	udax_munmap(fs, map, MAXLEN);
	udax_munmap(fs, pmap, MAXLEN);
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

/* A shrinking truncate discards the private copies of pages wholly past
 * the new size (Linux: unmap_mapping_range(..., even_cows=1)). */
static void priv_truncate(uint64_t size)
{
	for (uint64_t p = (size + PG - 1) / PG; p < MAXLEN / PG; p++)
		pcow[p] = COW_NONE;
}

static int apply_falloc(const struct fop *o)
{
	uint64_t end = o->off + o->len;
	if (udax_fallocate(fs, fd, o->mode, (off_t)o->off, (off_t)o->len))
		return -1;
	if ((o->mode & (UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE)) && o->off < msize)
		model_fill(o->off, end < msize ? end : msize);
	if ((o->mode & UDAX_FALLOC_PUNCH_HOLE) && !g_priv_punch) {
		/* Linux keeps private copies over a punched range; udax may
		 * drop those of whole pages: accept either until resolved */
		for (uint64_t p = (o->off + PG - 1) / PG; (p + 1) * PG <= end; p++)
			if (pcow[p] == COW_YES)
				pcow[p] = COW_MAYBE;
	}
	if (!(o->mode & UDAX_FALLOC_KEEP_SIZE) && end > msize) {
		model_fill(msize, end);
		msize = end;
	}
	return 0;
}

/* Mapped ops: off is used as is when below EOF, else taken modulo EOF. */
static int mapped_range(const struct fop *o, uint64_t *off, uint64_t *len)
{
	if (msize == 0)
		return 0;
	*off = o->off < msize ? o->off : o->off % msize;
	*len = o->len;
	if (*off + *len > msize)
		*len = msize - *off;
	return 1;
}

/* Kernel-side copies: write(pipe, map + off) reads the mapping,
 * read(pipe, map + off) stores into it. */
static int kernel_load(const char *m, uint64_t off, uint64_t len)
{
	/* the library's contract: pin what the kernel will touch */
	int perr = udax_pin(fs, (char *)m + off, len, PROT_READ);
	if (perr) {
		if (!quiet)
			fprintf(stderr, "  udax_pin(%s+%llu, %llu, READ) = %d\n", m == map ? "map" : "pmap",
			        (unsigned long long)off, (unsigned long long)len, perr);
		return -1;
	}
	ssize_t w = write(pfd[1], m + off, len);
	int e = errno;
	udax_unpin(fs, (char *)m + off, len);
	if (w > 0 && read(pfd[0], out, (size_t)w) != w)
		return -1;
	if (w != (ssize_t)len) {
		if (!quiet)
			fprintf(stderr, "  write(pipe, %s+%llu, %llu) returned %zd (%s)\n",
			        m == map ? "map" : "pmap", (unsigned long long)off,
			        (unsigned long long)len, w, w < 0 ? strerror(e) : "short");
		return -1;
	}
	return 0;
}

static int kernel_store(char *m, uint64_t off, uint64_t len)
{
	if (write(pfd[1], buf, len) != (ssize_t)len)
		return -1;
	int perr = udax_pin(fs, m + off, len, PROT_WRITE);
	if (perr) {
		if (!quiet)
			fprintf(stderr, "  udax_pin(%s+%llu, %llu, WRITE) = %d\n", m == map ? "map" : "pmap",
			        (unsigned long long)off, (unsigned long long)len, perr);
		if (read(pfd[0], out, len) != (ssize_t)len)
			return -1;
		return -1;
	}
	ssize_t r = read(pfd[0], m + off, len);
	int e = errno;
	udax_unpin(fs, m + off, len);
	if (r != (ssize_t)len) {
		/* drain what is left so the pipe is empty for the next op */
		uint64_t left = len - (r > 0 ? (uint64_t)r : 0);
		if (read(pfd[0], out, left) != (ssize_t)left)
			return -1;
		if (!quiet)
			fprintf(stderr, "  read(pipe, %s+%llu, %llu) returned %zd (%s)\n",
			        m == map ? "map" : "pmap", (unsigned long long)off,
			        (unsigned long long)len, r, r < 0 ? strerror(e) : "short");
		return -1;
	}
	return 0;
}

static int apply_mapped(const struct fop *o)
{
	uint64_t off, len;
	if (!mapped_range(o, &off, &len))
		return 0;
	switch (o->kind) {
	case MSTORE:
		t_fill(buf, len, o->seed);
		memcpy(map + off, buf, len);
		memcpy(model + off, buf, len);
		return 0;
	case MSYNC: {
		uint64_t a = off & ~4095ull;
		return udax_msync(fs, map + a, len + (off - a), MS_SYNC);
	}
	case MLOAD:
		return check_map("mapped", (unsigned char *)map + off, off, len);
	case PSTORE:
		if (priv_copy(off, len))
			return -1;
		t_fill(buf, len, o->seed);
		memcpy(pmap + off, buf, len);
		memcpy(pmodel + off, buf, len);
		return 0;
	case PLOAD:
		return check_priv(off, len);
	case KLOAD:
		if (kernel_load(o->mode ? pmap : map, off, len))
			return -1;
		if (!o->mode)
			return check_map("kernel copy of mapped", out, off, len);
		/* the kernel saw what loads see, and that is the oracle's */
		if (memcmp(out, pmap + off, len)) {
			if (!quiet)
				fprintf(stderr, "  kernel copy of the private mapping differs\n");
			return -1;
		}
		return check_priv(off, len);
	case KSTORE:
		t_fill(buf, len, o->seed);
		if (o->mode && priv_copy(off, len))
			return -1;
		if (kernel_store(o->mode ? pmap : map, off, len))
			return -1;
		memcpy((o->mode ? pmodel : model) + off, buf, len);
		return 0;
	default:
		return -1;
	}
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
		if (o->off < msize)
			priv_truncate(o->off);
		msize = o->off;
		return 0;
	case FALLOC: return apply_falloc(o);
	case READ: return check_read(o->off, o->len);
	case FSYNC: return udax_fsync(fs, fd);
	case REOPEN: return reopen(0);
	case REMOUNT: return reopen(1);
	default: return apply_mapped(o);
	}
}

/* Apply ops[i] for every i with keep[i], in this process; returns the
 * index of the first failing operation, or -1 when the whole list
 * passes. */
static long run_list_here(const struct fop *ops, const char *keep, long n)
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
		*progress = i;
		int r = apply(&ops[i]);
		if (i == inject_at)
			model[ops[i].off] ^= 0x5a;
		if (r || check_eof() || (i % 500 == 499 && check_all()))
			fail = i;
	}
	if (fail < 0 && check_all())
		fail = n - 1;
	udax_munmap(fs, map, MAXLEN);
	udax_munmap(fs, pmap, MAXLEN);
	udax_close(fs, fd);
	udax_unmount(fs);
	if (fail < 0 && t_fsck(pool))
		fail = n - 1;
	return fail;
}

/* Run the list in a forked child so a crash (a stray SIGBUS/SIGSEGV, an
 * abort) counts as a failure at the operation in flight. */
static long run_list(const struct fop *ops, const char *keep, long n)
{
	int p[2];
	long fail = 0;

	fflush(stdout);
	fflush(stderr);
	if (pipe(p))
		return 0;
	*progress = -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fail = run_list_here(ops, keep, n);
		if (write(p[1], &fail, sizeof(fail)) != sizeof(fail))
			_exit(2);
		fflush(stderr);
		_exit(0);
	}
	close(p[1]);
	int st = 0;
	ssize_t r = pid > 0 ? read(p[0], &fail, sizeof(fail)) : -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (r != sizeof(fail)) {
		fail = *progress < 0 ? 0 : *progress;
		if (!quiet)
			fprintf(stderr, "  run died (%s %d) at operation %ld\n",
			        WIFSIGNALED(st) ? "signal" : "exit",
			        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), fail);
	}
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
	/* replay the minimized list once, loudly: what failed */
	fprintf(stderr, "  replay of the minimized list:\n");
	run_list(ops, keep, n);
	free(keep);
	return left;
}

static void alloc_run(void)
{
	model = calloc(1, MAXLEN);
	pmodel = calloc(1, MAXLEN);
	pcow = calloc(1, MAXLEN / PG);
	buf = malloc(MAXLEN);
	out = malloc(MAXLEN);
	if (!progress)
		progress = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pfd[0] < 0 && pipe(pfd) == 0)
		fcntl(pfd[1], F_SETPIPE_SZ, (int)(4 * KMAX));
}

static void free_run(void)
{
	free(model);
	free(pmodel);
	free(pcow);
	free(buf);
	free(out);
}

static void run_fsx_seed(const char *opts, uint64_t seed, long n)
{
	struct fop *ops = malloc(sizeof(*ops) * (size_t)n);

	mount_opts = opts;
	pool = t_pool("fsx");
	rng = seed * 0x9E3779B97F4A7C15ull | 1;
	for (long i = 0; i < n; i++)
		ops[i] = gen_op(i);
	alloc_run();
	long fail = run_list(ops, NULL, n);
	if (fail >= 0) {
		fprintf(stderr, "  fsx: mismatch at operation %ld, seed %llu, %s "
		        "(reproduce: UDAX_FSX_SEEDS=%llu UDAX_FSX_MODES=%s)\n", fail,
		        (unsigned long long)seed, opts, (unsigned long long)seed, opts + 11);
		CHECK(!"fsx mismatch");
		minimize(ops, fail + 1);
	}
	printf("  fsx %s: %ld operations, seed %llu\n", opts, n, (unsigned long long)seed);
	unlink(pool);
	free(ops);
	free_run();
}

/* ---- seeds and modes ---- */

static uint64_t seeds[64];
static int nseeds;

static void parse_seeds(const char *s)
{
	while (s && *s && nseeds < 64) {
		char *end;
		uint64_t v = strtoull(s, &end, 0);
		if (end == s)
			break;
		seeds[nseeds++] = v;
		s = *end ? end + 1 : end;
	}
}

/* The extra seed: UDAX_FSX_SEED_EXTRA, else from the commit id. */
static int extra_seed(uint64_t *out_seed)
{
	const char *e = getenv("UDAX_FSX_SEED_EXTRA");
	if (e && *e) {
		*out_seed = strtoull(e, NULL, 0);
		return 1;
	}
#ifdef UDAX_SOURCE_DIR
	FILE *p = popen("git -C '" UDAX_SOURCE_DIR "' rev-parse HEAD 2>/dev/null", "r");
	char line[128] = "";
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = 0;
		pclose(p);
	}
	line[12] = 0;   /* 48 bits of the commit id */
	char *end;
	uint64_t v = strtoull(line, &end, 16);
	if (end != line && v) {
		*out_seed = v;
		return 1;
	}
#endif
	return 0;
}

static long n_ops(void)
{
	const char *e = getenv("UDAX_FSX_OPS");
	if (e)
		return atol(e);
	e = getenv("UDAX_CRASH_LIGHT");
	return e && *e == '1' ? 1500 : 5000;
}

static void setup(void)
{
	g_kernel = env_on("UDAX_FSX_KERNEL");
	g_eof = env_on("UDAX_FSX_EOF");
	g_priv_hole = env_on("UDAX_FSX_PRIV_HOLE");
	g_priv_punch = env_on("UDAX_FSX_PRIV_PUNCH");
	g_priv_keep = env_on("UDAX_FSX_PRIV_KEEP");
	g_pmd = env_on("UDAX_FSX_PMD");
	parse_seeds(getenv("UDAX_FSX_SEEDS"));
	if (!nseeds)
		parse_seeds(getenv("UDAX_FSX_SEED"));
	if (!nseeds) {
		uint64_t x;
		seeds[nseeds++] = 1;
		if (extra_seed(&x))
			seeds[nseeds++] = x;
		else
			printf("  fsx: no UDAX_FSX_SEED_EXTRA and no git: fixed seed only\n");
	}
	printf("  fsx seeds:");
	for (int i = 0; i < nseeds; i++)
		printf(" %llu", (unsigned long long)seeds[i]);
	printf("; %ld operations per seed and mode; gates: kernel=%d eof=%d priv_hole=%d "
	       "priv_punch=%d priv_keep=%d pmd=%d\n", n_ops(), g_kernel, g_eof, g_priv_hole,
	       g_priv_punch, g_priv_keep, g_pmd);
}

static void run_fsx(const char *mode)
{
	const char *want = getenv("UDAX_FSX_MODES");
	char opts[64];
	if (want && !strstr(want, mode))
		return;
	snprintf(opts, sizeof(opts), "write_lock=%s", mode);
	for (int i = 0; i < nseeds; i++)
		run_fsx_seed(opts, seeds[i], n_ops());
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
	alloc_run();
	quiet = 1;
	long fail = run_list(ops, NULL, n);
	CHECK(fail >= inject_at);
	if (fail >= 0) {
		/* minimize() prints; keep the self-test quiet */
		int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		long left = minimize(ops, fail + 1);
		dup2(saved, 2);
		close(saved);
		close(devnull);
		CHECK(left == 1);
	}
	quiet = 0;
	inject_at = -1;
	unlink(pool);
	free(ops);
	free_run();
}

static void test_fsx_entry(void) { run_fsx("entry"); }
static void test_fsx_exclusive(void) { run_fsx("exclusive"); }
static void test_fsx_flush(void) { run_fsx("flush"); }
static void test_fsx_range(void) { run_fsx("range"); }

int main(void)
{
	setup();
	RUN(test_fsx_minimizer);
	RUN(test_fsx_entry);
	RUN(test_fsx_exclusive);
	RUN(test_fsx_flush);
	RUN(test_fsx_range);
	return t_summary();
}
