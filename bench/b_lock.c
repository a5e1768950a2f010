/*
 * b_lock.c - item 5: the write-locking cures side by side.
 *
 * The 2016 mail asked how pwrite should exclude page faults; udax
 * mounts with write_lock=entry (the rules Linux shipped), exclusive
 * (cure 1: pwrite holds the fault lock exclusively), flush (cure 2:
 * flush and invalidate after the copy under a short exclusive hold) or
 * range (cure 3: lock every mapping entry of the written range).
 *
 * Mixed workload: T threads (1, 2, 4, 8; the machine may have fewer
 * cores, then it is a contention test) on one file, each in its own
 * 2 MiB region, each iteration
 *   - PWRITES_PER_STORE pwrites of 4 KiB at random pages of the region,
 *   - one store through the shared mapping to the next page in turn;
 *     after every page of the region was stored to, msync the region,
 *     which write-protects it again: so every store is a page fault
 *     (a write fault on a clean block).
 * Reported: operations (pwrites + stores) per second, and the p50/p99
 * of the store latency (i.e. of the fault) and of pwrite.  Every region
 * has a 4 KiB entry at page 0, so faults are 4 KiB faults.  Then, alone:
 * 4 KiB and 2 MiB pwrite latency on a mapped file, per mode.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define NMODES 4
static const char *const mname[NMODES] = { "entry", "exclusive", "flush", "range" };
static const char *const mlabel[NMODES] = { "entry (Linux rules)", "exclusive (cure 1)",
                                            "flush (cure 2)", "range (cure 3)" };
#define NTHR 4
static const int nthreads[NTHR] = { 1, 2, 4, 8 };
#define MAXT 8
#define REGION_PAGES 512u
#define MAXSAMPLES (1u << 18)
#define PWRITES_PER_STORE 16
#define MAXREPS 16

struct shared {
	udax_fs *fs;
	int fd;
	char *map;
	pthread_barrier_t start;
	atomic_int stop;
};

struct worker {
	struct shared *sh;
	pthread_t tid;
	int id;
	uint64_t ops;
	size_t nstore, npw;
	double *store_us;      /* store (= fault) latencies */
	double *pw_us;         /* pwrite latencies */
};

static void timed_pwrite(struct worker *w, const char *buf, uint64_t *seed)
{
	uint64_t p = 1 + rnd(seed) % (REGION_PAGES - 1);
	off_t off = (off_t)((uint64_t)w->id * PMD + p * PAGE);
	uint64_t t0 = now_ns();
	UCHECK(udax_pwrite(w->sh->fs, w->sh->fd, buf, PAGE, off));
	if (w->npw < MAXSAMPLES)
		w->pw_us[w->npw++] = (double)(now_ns() - t0) / 1e3;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	char *region = sh->map + (uint64_t)w->id * PMD;
	uint64_t seed = (uint64_t)w->id * 7919 + 1, cursor = 1;
	char buf[PAGE];

	memset(buf, w->id, sizeof(buf));
	pthread_barrier_wait(&sh->start);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int i = 0; i < PWRITES_PER_STORE; i++)
			timed_pwrite(w, buf, &seed);
		uint64_t t0 = now_ns();
		*(volatile uint64_t *)(region + cursor * PAGE + 64) = t0;
		if (w->nstore < MAXSAMPLES)
			w->store_us[w->nstore++] = (double)(now_ns() - t0) / 1e3;
		w->ops += PWRITES_PER_STORE + 1;
		if (++cursor == REGION_PAGES) {
			cursor = 1;
			UCHECK(udax_msync(sh->fs, region, PMD, MS_SYNC));
		}
	}
	return NULL;
}

/* A fresh file of MAXT regions with a 4 KiB entry in each, mapped. */
static void mix_file(struct shared *sh)
{
	void *a;
	sh->fd = ufile_create(sh->fs, "/mix", MAXT * PMD, 0);
	UCHECK(udax_mmap(sh->fs, sh->fd, MAXT * PMD, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &a));
	sh->map = a;
	for (int i = 0; i < MAXT; i++)
		sh->map[(uint64_t)i * PMD] = 1;
	UCHECK(udax_fallocate(sh->fs, sh->fd, 0, 0, (off_t)(MAXT * PMD)));
	UCHECK(udax_fsync(sh->fs, sh->fd));
}

enum { R_OPS, R_F50, R_F99, R_W50, R_W99, NR };

/* Pool the workers' samples of one kind; p50 and p99 into out[0..1]. */
static void pooled(struct worker *w, int t, int store, double out[2])
{
	double *all = xmalloc(sizeof(double) * MAXSAMPLES * (size_t)t);
	size_t n = 0;

	for (int i = 0; i < t; i++) {
		size_t k = store ? w[i].nstore : w[i].npw;
		memcpy(all + n, store ? w[i].store_us : w[i].pw_us, k * sizeof(double));
		n += k;
	}
	out[0] = quantile(all, n, 0.50);
	out[1] = quantile(all, n, 0.99);
	free(all);
}

/* Run @t threads for @sec seconds; res[R_*] receives the figures. */
static void run_mix(struct shared *sh, struct worker *w, int t, double sec, double res[NR])
{
	pthread_barrier_init(&sh->start, NULL, (unsigned)t + 1);
	atomic_store(&sh->stop, 0);
	for (int i = 0; i < t; i++) {
		w[i].sh = sh;
		w[i].id = i;
		w[i].ops = 0;
		w[i].nstore = w[i].npw = 0;
		if (pthread_create(&w[i].tid, NULL, work, &w[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&sh->start);
	uint64_t t0 = now_ns(), ops = 0;
	usleep((useconds_t)(sec * 1e6));
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < t; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
	}
	res[R_OPS] = (double)ops / ((double)(now_ns() - t0) / 1e9);
	pooled(w, t, 1, &res[R_F50]);
	pooled(w, t, 0, &res[R_W50]);
	pthread_barrier_destroy(&sh->start);
}

/* Uncontended pwrite latency on a mapped, fully allocated file. */
static void pwrite_alone(struct shared *sh, size_t len, size_t n, double *p50, double *p99)
{
	uint64_t size = 16 * MiB;
	int fd = ufile_create(sh->fs, "/alone", size, 1);
	void *a;
	char *buf = aligned_alloc(PAGE, len);
	double *ns = xmalloc(sizeof(double) * n);

	if (!buf)
		die("out of memory");
	fill_pattern(buf, len, 5);
	UCHECK(udax_mmap(sh->fs, fd, size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &a));
	for (size_t i = 0, off = 0; i < n; i++, off = (off + len) % size) {
		uint64_t t0 = now_ns();
		UCHECK(udax_pwrite(sh->fs, fd, buf, len, (off_t)off));
		ns[i] = (double)(now_ns() - t0) / 1e3;
	}
	*p50 = quantile(ns, n, 0.5);
	*p99 = quantile(ns, n, 0.99);
	UCHECK(udax_munmap(sh->fs, a, size));
	UCHECK(udax_close(sh->fs, fd));
	free(ns);
	free(buf);
}

struct results {
	double mix[NMODES][NTHR][NR][MAXREPS];
	double w4[NMODES][2][MAXREPS], w2m[NMODES][2][MAXREPS];   /* [0] p50, [1] p99 */
};

static void one_mode(struct upool *p, int m, int r, double sec, struct results *res)
{
	char opts[64];
	struct shared sh = { 0 };
	struct worker w[MAXT];
	double v[NR];

	snprintf(opts, sizeof(opts), "write_lock=%s", mname[m]);
	upool_remount(p, opts);
	sh.fs = p->fs;
	note("lock: repetition %d, write_lock=%s", r + 1, mname[m]);
	for (int i = 0; i < MAXT; i++) {
		w[i].store_us = xmalloc(sizeof(double) * MAXSAMPLES);
		w[i].pw_us = xmalloc(sizeof(double) * MAXSAMPLES);
	}
	for (int i = 0; i < NTHR; i++) {
		mix_file(&sh);
		run_mix(&sh, w, nthreads[i], sec, v);
		for (int k = 0; k < NR; k++)
			res->mix[m][i][k][r] = v[k];
		UCHECK(udax_munmap(sh.fs, sh.map, MAXT * PMD));
		UCHECK(udax_close(sh.fs, sh.fd));
	}
	pwrite_alone(&sh, PAGE, opt.quick ? 5000 : 20000, &res->w4[m][0][r], &res->w4[m][1][r]);
	pwrite_alone(&sh, PMD, opt.quick ? 50 : 200, &res->w2m[m][0][r], &res->w2m[m][1][r]);
	for (int i = 0; i < MAXT; i++) {
		free(w[i].store_us);
		free(w[i].pw_us);
	}
}

static void report_mix(struct results *res, int reps, double sec)
{
	md("%d pwrites (4 KiB) per store; every store is a write fault on a clean block.  %ld CPUs, "
	   "%.1f s per run, median of %d runs; latencies in us.\n\n",
	   PWRITES_PER_STORE, sysconf(_SC_NPROCESSORS_ONLN), sec, reps);
	md("| write_lock | threads | ops/s | min..max | vs exclusive | fault p50 | fault p99 | "
	   "pwrite p50 | pwrite p99 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("lock", "mode,threads,ops_per_s,fault_p50_us,fault_p99_us,"
	                     "pwrite_p50_us,pwrite_p99_us");
	for (int m = 0; m < NMODES; m++)
		for (int i = 0; i < NTHR; i++) {
			double v[NR];
			for (int k = 0; k < NR; k++)
				v[k] = median(res->mix[m][i][k], (size_t)reps);
			double ex = median(res->mix[1][i][R_OPS], (size_t)reps);
			double lo = quantile(res->mix[m][i][R_OPS], (size_t)reps, 0);
			double hi = quantile(res->mix[m][i][R_OPS], (size_t)reps, 1);
			md("| %s | %d | %.0f | %.0fk..%.0fk | %.2f | %.1f | %.1f | %.2f | %.2f |\n",
			   mlabel[m], nthreads[i], v[R_OPS], lo / 1e3, hi / 1e3, v[R_OPS] / ex, v[R_F50],
			   v[R_F99], v[R_W50], v[R_W99]);
			fprintf(csv, "%s,%d,%.1f,%.2f,%.2f,%.3f,%.3f\n", mname[m], nthreads[i],
			        v[R_OPS], v[R_F50], v[R_F99], v[R_W50], v[R_W99]);
		}
	fclose(csv);
}

static void report(struct results *res, int reps, double sec)
{
	md_begin("lock", "5. write_lock cures under mixed mmap stores and pwrites");
	report_mix(res, reps, sec);
	md("\n**Uncontended pwrite latency on a mapped file** (us, median of %d)\n\n", reps);
	md("| write_lock | 4 KiB p50 | 4 KiB p99 | 2 MiB p50 | 2 MiB p99 |\n"
	   "| --- | ---: | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("lock_alone", "mode,size_bytes,p50_us,p99_us");
	for (int m = 0; m < NMODES; m++) {
		size_t n = (size_t)reps;
		double v[4] = { median(res->w4[m][0], n), median(res->w4[m][1], n),
		                median(res->w2m[m][0], n), median(res->w2m[m][1], n) };
		md("| %s | %.2f | %.2f | %.1f | %.1f |\n", mlabel[m], v[0], v[1], v[2], v[3]);
		fprintf(csv, "%s,%llu,%.3f,%.3f\n", mname[m], (unsigned long long)PAGE, v[0], v[1]);
		fprintf(csv, "%s,%llu,%.3f,%.3f\n", mname[m], (unsigned long long)PMD, v[2], v[3]);
	}
	fclose(csv);
	md("\n");
	md_end();
}

int bench_lock(void)
{
	static struct results res;
	struct upool p;
	/* many short runs: on a virtual machine the cost of a fault flips
	 * between runs (TLB shootdowns), so the median needs samples */
	int reps = opt.quick ? 1 : 2 * opt.reps - 1;
	double sec = opt.quick ? 0.3 : 0.5;

	if (reps > MAXREPS)
		reps = MAXREPS;
	upool_make(&p, "lock.pool", 128 * MiB, NULL);
	for (int r = 0; r < reps; r++)
		for (int k = 0; k < NMODES; k++)
			one_mode(&p, (k + r) % NMODES, r, sec, &res);
	report(&res, reps, sec);
	upool_drop(&p);
	return 0;
}
