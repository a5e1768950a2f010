/*
 * b_lat.c - item 2: 4 KiB write latency, p50 and p99.
 *
 * overwrite:    pwrite 4 KiB over allocated data, sequential offsets
 *               wrapping through the file (udax: persistent on return;
 *               the kernel rows: into the page cache).
 * append+fsync: pwrite 4 KiB at end of file, then fsync; one sample is
 *               both calls.  The file is truncated (untimed) before each
 *               repetition.
 * Against the kernel on a tmpfs file and on a file on the machine's
 * disk (ext4 here; see the info table).  Each repetition measures every
 * system in turn; the reported p50/p99 are medians over repetitions.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

enum { S_UDAX, S_TMPFS, S_DISK, NS };
static const char *const sname[NS] = { "udax", "tmpfs", "ext4" };
enum { T_OVERWRITE, T_APPEND, NT };
static const char *const tname[NT] = { "overwrite 4 KiB", "append 4 KiB + fsync" };
static const char *const ttag[NT] = { "overwrite", "append+fsync" };

struct lat {
	udax_fs *fs;
	int ufd[NT];
	int kfd[NS][NT];
	char kpath[NS][NT][512];
	uint64_t fsize;
	char *buf;
};

static void do_write(struct lat *l, int s, int t, uint64_t off)
{
	if (s == S_UDAX)
		UCHECK(udax_pwrite(l->fs, l->ufd[t], l->buf, PAGE, (off_t)off));
	else
		KCHECK(pwrite(l->kfd[s][t], l->buf, PAGE, (off_t)off));
}

static void do_fsync(struct lat *l, int s, int t)
{
	if (s == S_UDAX)
		UCHECK(udax_fsync(l->fs, l->ufd[t]));
	else
		KCHECK(fsync(l->kfd[s][t]));
}

static void do_truncate(struct lat *l, int s, int t)
{
	if (s == S_UDAX)
		UCHECK(udax_ftruncate(l->fs, l->ufd[t], 0));
	else
		KCHECK(ftruncate(l->kfd[s][t], 0));
	do_fsync(l, s, t);
}

/* One repetition of test @t on system @s: @n samples in ns. */
static void run(struct lat *l, int s, int t, double *ns, size_t n)
{
	uint64_t off = 0;

	if (t == T_APPEND)
		do_truncate(l, s, t);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		do_write(l, s, t, off);
		if (t == T_APPEND)
			do_fsync(l, s, t);
		ns[i] = (double)(now_ns() - t0);
		off += PAGE;
		if (t == T_OVERWRITE && off >= l->fsize)
			off = 0;
	}
}

static size_t samples(int s, int t)
{
	if (t == T_OVERWRITE)
		return opt.quick ? 20000 : 100000;
	if (s == S_DISK)
		return opt.quick ? 100 : 500;
	return opt.quick ? 2000 : 10000;
}

static void setup(struct lat *l, struct upool *p)
{
	l->fsize = opt.quick ? 16 * MiB : 64 * MiB;
	l->buf = aligned_alloc(PAGE, PAGE);
	if (!l->buf)
		die("out of memory");
	fill_pattern(l->buf, PAGE, 3);
	upool_make(p, "lat.pool", 4 * l->fsize + 64 * MiB, NULL);
	l->fs = p->fs;
	l->ufd[T_OVERWRITE] = ufile_create(l->fs, "/overwrite", l->fsize, 1);
	l->ufd[T_APPEND] = ufile_create(l->fs, "/append", 0, 0);
	for (int s = S_TMPFS; s < NS; s++)
		for (int t = 0; t < NT; t++) {
			const char *dir = s == S_DISK ? opt.disk : opt.shm;
			char tag[32];
			snprintf(tag, sizeof(tag), "lat%d", t);
			scratch_path(l->kpath[s][t], sizeof(l->kpath[s][t]), dir, tag);
			l->kfd[s][t] = kfile_create(l->kpath[s][t], t == T_OVERWRITE ? l->fsize : 0, 0);
			KCHECK(fsync(l->kfd[s][t]));
		}
}

static void teardown(struct lat *l, struct upool *p)
{
	for (int s = S_TMPFS; s < NS; s++)
		for (int t = 0; t < NT; t++) {
			close(l->kfd[s][t]);
			scratch_remove(l->kpath[s][t]);
		}
	free(l->buf);
	upool_drop(p);
}

int bench_lat(void)
{
	struct lat l;
	struct upool p;
	static double p50[NT][NS][64], p99[NT][NS][64];
	int reps = opt.reps < 64 ? opt.reps : 64;

	setup(&l, &p);
	double *ns = xmalloc(sizeof(double) * samples(S_UDAX, T_OVERWRITE));
	for (int t = 0; t < NT; t++) {
		note("lat: %s", tname[t]);
		for (int s = 0; s < NS; s++)          /* warm-up */
			run(&l, s, t, ns, samples(s, t) / 10);
		for (int r = 0; r < reps; r++)
			for (int k = 0; k < NS; k++) {
				int s = (k + r) % NS;
				size_t n = samples(s, t);
				run(&l, s, t, ns, n);
				p50[t][s][r] = quantile(ns, n, 0.50) / 1e3;
				p99[t][s][r] = quantile(ns, n, 0.99) / 1e3;
			}
	}
	free(ns);
	md_begin("lat", "2. 4 KiB write latency");
	md("Microseconds; p50 and p99 of each repetition, median over %d repetitions.\n\n", reps);
	md("| test | system | samples | p50 us | p99 us | udax p50 / this p50 |\n"
	   "| --- | --- | ---: | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("lat", "test,system,samples,p50_us,p99_us");
	for (int t = 0; t < NT; t++) {
		double u50 = median(p50[t][S_UDAX], (size_t)reps);
		for (int s = 0; s < NS; s++) {
			double a = median(p50[t][s], (size_t)reps), b = median(p99[t][s], (size_t)reps);
			md("| %s | %s | %zu | %.2f | %.2f | %.3g |\n", tname[t], sname[s],
			   samples(s, t), a, b, u50 / a);
			fprintf(csv, "%s,%s,%zu,%.3f,%.3f\n", ttag[t], sname[s], samples(s, t), a, b);
		}
	}
	md("\n");
	fclose(csv);
	md_end();
	teardown(&l, &p);
	return 0;
}
