/*
 * b_bw.c - item 1: pread/pwrite bandwidth for requests of 4 KiB .. 2 MiB.
 *
 * Writes: udax pwrite over allocated blocks, udax pwrite into a fresh
 * file (every request allocates), kernel pwrite to a tmpfs file, and the
 * limits: memcpy and a non-temporal copy (streaming stores + sfence per
 * request) into a mapping of that same tmpfs file, i.e. the same kind of
 * memory the pool lives in.  Reads: udax pread, kernel pread, memcpy.
 * Requests walk sequentially through a file larger than the last-level
 * cache.  Variants are interleaved request size by request size and
 * repetition by repetition; the median GiB/s is reported (timed with
 * the thread's CPU time: see bench.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

enum { V_UDAX, V_UDAX_ALLOC, V_TMPFS, V_MEMCPY, V_NT, NV };
static const char *const vname[NV] = { "udax", "udax-alloc", "tmpfs", "memcpy", "nt-copy" };
static const size_t sizes[] = { 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 2 * MiB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct bw {
	udax_fs *fs;
	int ufd, ufd_alloc, kfd;
	char *map;          /* the tmpfs file, mapped and populated */
	uint64_t fsize;     /* file size (and working set) */
	uint64_t volume;    /* bytes moved per measurement */
	char *buf;          /* the caller's buffer, 2 MiB */
	char kpath[512];
};

static int applies(int v, int write)
{
	return write || (v != V_UDAX_ALLOC && v != V_NT);
}

static void one_op(struct bw *b, int v, int write, size_t req, uint64_t off)
{
	switch (v) {
	case V_UDAX:
		if (write)
			UCHECK(udax_pwrite(b->fs, b->ufd, b->buf, req, (off_t)off));
		else
			UCHECK(udax_pread(b->fs, b->ufd, b->buf, req, (off_t)off));
		break;
	case V_UDAX_ALLOC:
		UCHECK(udax_pwrite(b->fs, b->ufd_alloc, b->buf, req, (off_t)off));
		break;
	case V_TMPFS:
		if (write)
			KCHECK(pwrite(b->kfd, b->buf, req, (off_t)off));
		else
			KCHECK(pread(b->kfd, b->buf, req, (off_t)off));
		break;
	case V_MEMCPY:
		if (write)
			memcpy(b->map + off, b->buf, req);
		else
			memcpy(b->buf, b->map + off, req);
		break;
	case V_NT:
		nt_copy(b->map + off, b->buf, req);
		break;
	}
}

/* One measurement: GiB/s. */
static double measure(struct bw *b, int v, int write, size_t req)
{
	uint64_t total = b->volume, off = 0;

	if (v == V_UDAX_ALLOC) {
		UCHECK(udax_ftruncate(b->fs, b->ufd_alloc, 0));  /* untimed: free the blocks */
		total = b->fsize;
	}
	uint64_t t0 = cpu_ns();
	for (uint64_t done = 0; done < total; done += req) {
		one_op(b, v, write, req, off);
		off += req;
		if (off + req > b->fsize)
			off = 0;
	}
	uint64_t t = cpu_ns() - t0;
	return (double)total / (double)GiB / ((double)t / 1e9);
}

static void setup(struct bw *b, struct upool *p)
{
	b->fsize = opt.quick ? 64 * MiB : 256 * MiB;
	b->volume = opt.quick ? 128 * MiB : 512 * MiB;
	upool_make(p, "bw.pool", 2 * b->fsize + 64 * MiB, NULL);
	b->fs = p->fs;
	b->buf = aligned_alloc(PAGE, 2 * MiB);
	if (!b->buf)
		die("out of memory");
	fill_pattern(b->buf, 2 * MiB, 1);
	b->ufd = ufile_create(b->fs, "/bw", 0, 0);
	for (uint64_t off = 0; off < b->fsize; off += 2 * MiB)
		UCHECK(udax_pwrite(b->fs, b->ufd, b->buf, 2 * MiB, (off_t)off));
	b->ufd_alloc = ufile_create(b->fs, "/bw-alloc", 0, 0);
	scratch_path(b->kpath, sizeof(b->kpath), opt.shm, "bw.tmpfs");
	b->kfd = kfile_create(b->kpath, b->fsize, 0);
	b->map = mmap(NULL, b->fsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, b->kfd, 0);
	if (b->map == MAP_FAILED)
		die("mmap tmpfs file: %s", strerror(errno));
}

static void report_table(double (*res)[NSIZES], int write)
{
	md("**%s** (GiB/s, median of %d)\n\n", write ? "pwrite" : "pread", opt.reps);
	md("| request |");
	for (int v = 0; v < NV; v++)
		if (applies(v, write))
			md(" %s |", vname[v]);
	md(write ? " udax / nt-copy | udax / tmpfs |\n" : " udax / memcpy | udax / tmpfs |\n");
	md("| ---: |");
	for (int v = 0; v < NV; v++)
		if (applies(v, write))
			md(" ---: |");
	md(" ---: | ---: |\n");
	for (size_t s = 0; s < NSIZES; s++) {
		md("| %zu KiB |", sizes[s] / KiB);
		for (int v = 0; v < NV; v++)
			if (applies(v, write))
				md(" %.2f |", res[v][s]);
		double lim = write ? res[V_NT][s] : res[V_MEMCPY][s];
		md(" %.2f | %.2f |\n", res[V_UDAX][s] / lim, res[V_UDAX][s] / res[V_TMPFS][s]);
	}
	md("\n");
}

/* Measure every variant and size reps times; medians into res. */
static void measure_all(struct bw *b, int write, double (*res)[NSIZES])
{
	int reps = opt.reps;
	double *all = xmalloc(sizeof(double) * NV * NSIZES * (size_t)reps);

	for (int r = -1; r < reps; r++) {          /* r = -1: warm-up, not kept */
		for (size_t s = 0; s < NSIZES; s++)
			for (int k = 0; k < NV; k++) {
				int v = (k + (r < 0 ? 0 : r)) % NV;   /* rotate the order */
				if (!applies(v, write))
					continue;
				double g = measure(b, v, write, sizes[s]);
				if (r >= 0)
					all[((size_t)v * NSIZES + s) * (size_t)reps + (size_t)r] = g;
			}
	}
	for (int v = 0; v < NV; v++)
		for (size_t s = 0; s < NSIZES; s++) {
			double *m = &all[((size_t)v * NSIZES + s) * (size_t)reps];
			res[v][s] = applies(v, write) ? median(m, (size_t)reps) : 0;
		}
	free(all);
}

int bench_bw(void)
{
	struct bw b;
	struct upool p;
	static double res[2][NV][NSIZES];

	setup(&b, &p);
	md_begin("bw", "1. pread/pwrite bandwidth");
	md("File %llu MiB, %llu MiB moved per measurement; non-temporal copy: %s.\n\n",
	   (unsigned long long)(b.fsize / MiB), (unsigned long long)(b.volume / MiB), nt_copy_name());
	FILE *csv = csv_open("bw", "op,size_bytes,system,gib_per_s");
	for (int write = 1; write >= 0; write--) {
		note("bw: %s", write ? "pwrite" : "pread");
		measure_all(&b, write, res[write]);
		report_table(res[write], write);
		for (int v = 0; v < NV; v++)          /* grouped by series, for plotting */
			for (size_t s = 0; s < NSIZES && applies(v, write); s++)
				fprintf(csv, "%s,%zu,%s,%.4f\n", write ? "write" : "read", sizes[s],
				        vname[v], res[write][v][s]);
	}
	fclose(csv);
	md_end();
	munmap(b.map, b.fsize);
	close(b.kfd);
	scratch_remove(b.kpath);
	free(b.buf);
	upool_drop(&p);
	return 0;
}
