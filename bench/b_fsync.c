/*
 * b_fsync.c - item 4: fsync after dirtying K pages of a mapped file.
 *
 * udax's writeback finds dirty entries through the index's dirty marks,
 * so its cost should follow K, never the file size.  Two layouts of a
 * fully allocated file (1 GiB; quick 256 MiB), mapped once:
 *   pmd  allocated with fallocate (2 MiB-aligned runs): faults map
 *        2 MiB at a time and a store dirties a whole 2 MiB entry, which
 *        fsync write-protects and flushes whole.  K distinct random pages.
 *   pte  every 2 MiB region holds a 4 KiB entry (page 0 was written
 *        through the mapping first), so faults and dirty tracking are
 *        per 4 KiB page.  The first K pages, sequentially (random 4 KiB
 *        pages would split the mapping into more kernel VMAs than
 *        vm.max_map_count allows at large K; see the report).
 * Per repetition: store one byte into each of the K pages (untimed),
 * then time udax_fsync (thread CPU time, see bench.h; the clock read
 * adds about a microsecond here).  First, K = 1 in a 64 MiB file and in
 * the large one, both fresh, interleaved round by round.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bench.h"

enum { L_PMD, L_PTE, NL };
static const char *const lname[NL] = { "pmd (random pages)", "pte (sequential pages)" };

struct ff {
	int fd;
	char *a;
	uint64_t size;
	int layout;
};

static void ff_open(udax_fs *fs, struct ff *f, const char *path, uint64_t size, int layout)
{
	void *a;

	f->size = size;
	f->layout = layout;
	f->fd = ufile_create(fs, path, size, layout == L_PMD);
	UCHECK(udax_mmap(fs, f->fd, size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &a));
	f->a = a;
	if (layout == L_PTE) {
		for (uint64_t off = 0; off < size; off += PMD)
			f->a[off] = 1;           /* a 4 KiB entry in every region */
		UCHECK(udax_fallocate(fs, f->fd, 0, 0, (off_t)size));
	}
	UCHECK(udax_fsync(fs, f->fd));
}

/* Dirty K pages; returns the time it took (faults), in seconds. */
static double dirty(struct ff *f, uint64_t k, uint64_t seed)
{
	uint64_t npages = f->size / PAGE;
	uint64_t *perm = f->layout == L_PMD ? permutation(npages, seed) : NULL;
	uint64_t t0 = cpu_ns();

	for (uint64_t i = 0; i < k && i < npages; i++)
		f->a[(perm ? perm[i] : i) * PAGE + seed % PAGE] = (char)seed;
	double sec = (double)(cpu_ns() - t0) / 1e9;
	free(perm);
	return sec;
}

/* One repetition: dirty k pages, then time fsync; us.  *dirty_us gets
 * the time the stores took. */
static double fsync_once(udax_fs *fs, struct ff *f, uint64_t k, uint64_t seed, double *dirty_us)
{
	*dirty_us = dirty(f, k, seed) * 1e6;
	uint64_t t0 = cpu_ns();
	UCHECK(udax_fsync(fs, f->fd));
	return (double)(cpu_ns() - t0) / 1e3;
}

/* Median over reps of fsync time (us) after dirtying k pages. */
static double fsync_after(udax_fs *fs, struct ff *f, uint64_t k, int reps, double *dirty_us)
{
	double t[64], d[64];

	for (int r = 0; r < reps; r++)
		t[r] = fsync_once(fs, f, k, k * 1000 + (uint64_t)r + 1, &d[r]);
	*dirty_us = median(d, (size_t)reps);
	return median(t, (size_t)reps);
}

/* Large K is slow where a fault costs tens of microseconds: fewer reps. */
static int reps_for(uint64_t k)
{
	int r = opt.reps < 64 ? opt.reps : 64;
	if (k >= 262144)
		return 1;
	return k >= 65536 && r > 3 ? 3 : r;
}

#define SIZE_ROUNDS 15

/* K = 1 in a fresh 64 MiB file and in the (still fresh) large one,
 * interleaved round by round: us[layout][0 small, 1 large], medians. */
static void size_measure(udax_fs *fs, struct ff big[NL], double us[NL][2])
{
	struct ff small[NL];
	double t[NL][2][SIZE_ROUNDS], d;

	for (int l = 0; l < NL; l++) {
		char path[32];
		snprintf(path, sizeof(path), "/small%d", l);
		ff_open(fs, &small[l], path, 64 * MiB, l);
	}
	for (int r = 0; r < SIZE_ROUNDS; r++)
		for (int l = 0; l < NL; l++)
			for (int b = 0; b < 2; b++)
				t[l][b][r] = fsync_once(fs, b ? &big[l] : &small[l], 1, (uint64_t)r + 7, &d);
	for (int l = 0; l < NL; l++) {
		for (int b = 0; b < 2; b++)
			us[l][b] = median(t[l][b], SIZE_ROUNDS);
		UCHECK(udax_munmap(fs, small[l].a, small[l].size));
		UCHECK(udax_close(fs, small[l].fd));
	}
}

static void size_report(double us[NL][2], uint64_t size)
{
	md("\n**fsync with one dirty page vs file size** (us, median of %d interleaved rounds, "
	   "measured before the K sweep on fresh files)\n\n", SIZE_ROUNDS);
	md("| layout | 64 MiB file | %llu MiB file | large / small |\n| --- | ---: | ---: | ---: |\n",
	   (unsigned long long)(size / MiB));
	FILE *csv = csv_open("fsync_size", "layout,k,file_bytes,fsync_us");
	for (int l = 0; l < NL; l++) {
		md("| %s | %.1f | %.1f | %.2f |\n", lname[l], us[l][0], us[l][1], us[l][1] / us[l][0]);
		fprintf(csv, "%s,1,%llu,%.3f\n", lname[l], (unsigned long long)(64 * MiB), us[l][0]);
		fprintf(csv, "%s,1,%llu,%.3f\n", lname[l], (unsigned long long)size, us[l][1]);
	}
	fclose(csv);
}

static void k_table(const uint64_t *ks, size_t nk, double us[][NL], double dirty_us[][NL],
                    uint64_t size)
{
	md("File %llu MiB, mapped; fsync time and the time the K stores took (their faults), "
	   "median of %d (3 for K = 65536, one run for K = 262144).\n\n",
	   (unsigned long long)(size / MiB), opt.reps);
	md("| K |");
	for (int l = 0; l < NL; l++)
		md(" fsync us, %s | us per page | dirtying us |", lname[l]);
	md("\n| ---: |");
	for (int l = 0; l < NL; l++)
		md(" ---: | ---: | ---: |");
	md("\n");
	for (size_t i = 0; i < nk; i++) {
		md("| %llu |", (unsigned long long)ks[i]);
		for (int l = 0; l < NL; l++)
			md(" %.1f | %.3f | %.0f |", us[i][l], us[i][l] / (double)ks[i], dirty_us[i][l]);
		md("\n");
	}
	FILE *csv = csv_open("fsync", "layout,k,file_bytes,fsync_us,dirty_us");
	for (int l = 0; l < NL; l++)            /* grouped by series, for plotting */
		for (size_t i = 0; i < nk; i++)
			fprintf(csv, "%s,%llu,%llu,%.3f,%.1f\n", lname[l], (unsigned long long)ks[i],
			        (unsigned long long)size, us[i][l], dirty_us[i][l]);
	fclose(csv);
}

int bench_fsync(void)
{
	static const uint64_t full_k[] = { 1, 16, 256, 4096, 65536, 262144 };
	static const uint64_t quick_k[] = { 1, 16, 256, 4096 };
	const uint64_t *ks = opt.quick ? quick_k : full_k;
	size_t nk = opt.quick ? 4 : 6;
	uint64_t size = opt.quick ? 256 * MiB : GiB;
	double us[6][NL], dirty_us[6][NL], size_us[NL][2];
	struct upool p;
	struct ff big[NL];

	upool_make(&p, "fsync.pool", 2 * size + 256 * MiB, NULL);
	for (int l = 0; l < NL; l++)
		ff_open(p.fs, &big[l], l == L_PMD ? "/pmd" : "/pte", size, l);
	note("fsync: K = 1, 64 MiB vs %llu MiB", (unsigned long long)(size / MiB));
	size_measure(p.fs, big, size_us);
	for (size_t i = 0; i < nk; i++) {
		note("fsync: K = %llu", (unsigned long long)ks[i]);
		for (int l = 0; l < NL; l++)
			us[i][l] = fsync_after(p.fs, &big[l], ks[i], reps_for(ks[i]), &dirty_us[i][l]);
	}
	md_begin("fsync", "4. fsync after dirtying K pages");
	k_table(ks, nk, us, dirty_us, size);
	size_report(size_us, size);
	md("\n");
	md_end();
	for (int l = 0; l < NL; l++)
		UCHECK(udax_munmap(p.fs, big[l].a, big[l].size));
	upool_drop(&p);
	return 0;
}
