/*
 * b_mmap.c - item 3 (throughput part): mmap through udax's own page
 * faults against the kernel's mmap of a tmpfs file.
 *
 * first-touch read: a fully allocated file (1 GiB; quick 256 MiB) is
 *   mapped afresh for every measurement and read sequentially, either
 *   every byte (GiB/s) or one load per 4 KiB page (the cost of getting
 *   the mapping in place, per page).  udax serves 2 MiB-aligned runs
 *   with one PMD fault, the kernel tmpfs mapping with 4 KiB faults plus
 *   its fault-around.
 * random write faults into holes: a sparse file of the same size, one
 *   store into each of N distinct random pages; every store allocates a
 *   block (udax: a committed journal transaction per fault).
 * Timed with the thread's CPU time (see bench.h); median of repetitions.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

enum { S_UDAX, S_TMPFS, NS };
static const char *const sname[NS] = { "udax", "tmpfs" };
enum { T_READ, T_TOUCH, T_HOLES, NT };
static const char *const tname[NT] = {
	"first-touch sequential read (every byte)",
	"first-touch sequential read (one load per page)",
	"random 4 KiB write faults into holes",
};
static const char *const tunit[NT] = { "GiB/s", "ns/page", "faults/s" };

struct mm {
	udax_fs *fs;
	int useq, uholes, kseq, kholes;
	char kseq_path[512], kholes_path[512];
	uint64_t fsize, nholes;
	uint64_t *perm;       /* random page order for the hole test */
};

static volatile uint64_t sink;

static char *map(struct mm *m, int s, int fd, int prot)
{
	void *a;
	if (s == S_UDAX) {
		UCHECK(udax_mmap(m->fs, fd, m->fsize, prot, MAP_SHARED, 0, &a));
		return a;
	}
	a = mmap(NULL, m->fsize, prot, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return a;
}

static void unmap(struct mm *m, int s, char *a)
{
	if (s == S_UDAX)
		UCHECK(udax_munmap(m->fs, a, m->fsize));
	else
		KCHECK(munmap(a, m->fsize));
}

/* Empty the hole file again (untimed). */
static void reset_holes(struct mm *m, int s)
{
	if (s == S_UDAX) {
		UCHECK(udax_ftruncate(m->fs, m->uholes, 0));
		UCHECK(udax_ftruncate(m->fs, m->uholes, (off_t)m->fsize));
	} else {
		KCHECK(ftruncate(m->kholes, 0));
		KCHECK(ftruncate(m->kholes, (off_t)m->fsize));
	}
}

/* One measurement of test @t on system @s, in the test's unit. */
static double measure(struct mm *m, int s, int t)
{
	if (t == T_HOLES)
		reset_holes(m, s);
	int fd = s == S_UDAX ? (t == T_HOLES ? m->uholes : m->useq)
	                     : (t == T_HOLES ? m->kholes : m->kseq);
	char *a = map(m, s, fd, t == T_HOLES ? PROT_READ | PROT_WRITE : PROT_READ);
	uint64_t t0 = cpu_ns();
	if (t == T_READ)
		sink += read_all(a, m->fsize);
	else if (t == T_TOUCH)
		sink += touch_pages(a, m->fsize);
	else
		for (uint64_t i = 0; i < m->nholes; i++)
			*(volatile char *)(a + m->perm[i] * PAGE) = 1;
	double sec = (double)(cpu_ns() - t0) / 1e9;
	unmap(m, s, a);
	if (t == T_READ)
		return (double)m->fsize / (double)GiB / sec;
	if (t == T_TOUCH)
		return sec * 1e9 / (double)(m->fsize / PAGE);
	return (double)m->nholes / sec;
}

static void setup(struct mm *m, struct upool *p)
{
	m->fsize = opt.quick ? 256 * MiB : GiB;
	m->nholes = opt.quick ? 4096 : 16384;
	upool_make(p, "mmap.pool", m->fsize + m->nholes * PAGE + 128 * MiB, NULL);
	m->fs = p->fs;
	m->useq = ufile_create(m->fs, "/seq", m->fsize, 1);
	m->uholes = ufile_create(m->fs, "/holes", m->fsize, 0);
	scratch_path(m->kseq_path, sizeof(m->kseq_path), opt.shm, "mmap-seq");
	scratch_path(m->kholes_path, sizeof(m->kholes_path), opt.shm, "mmap-holes");
	m->kseq = kfile_create(m->kseq_path, m->fsize, 0);
	m->kholes = kfile_create(m->kholes_path, m->fsize, 1);
	m->perm = permutation(m->fsize / PAGE, 42);
}

static void teardown(struct mm *m, struct upool *p)
{
	close(m->kseq);
	close(m->kholes);
	scratch_remove(m->kseq_path);
	scratch_remove(m->kholes_path);
	free(m->perm);
	upool_drop(p);
}

int bench_mmap(void)
{
	struct mm m;
	struct upool p;
	static double res[NT][NS][64];
	int reps = opt.reps < 64 ? opt.reps : 64;

	setup(&m, &p);
	for (int t = 0; t < NT; t++) {
		note("mmap: %s", tname[t]);
		for (int s = 0; s < NS; s++)
			measure(&m, s, t);            /* warm-up */
		for (int r = 0; r < reps; r++)
			for (int k = 0; k < NS; k++)
				res[t][(k + r) % NS][r] = measure(&m, (k + r) % NS, t);
	}
	md_begin("mmap", "3. mmap: first-touch read and write faults into holes");
	md("File %llu MiB; %llu random pages for the hole test; median of %d.\n\n",
	   (unsigned long long)(m.fsize / MiB), (unsigned long long)m.nholes, reps);
	md("| test | unit | udax | tmpfs | udax / tmpfs |\n| --- | --- | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("mmap", "test,unit,system,value");
	for (int t = 0; t < NT; t++) {
		double v[NS];
		for (int s = 0; s < NS; s++) {
			v[s] = median(res[t][s], (size_t)reps);
			fprintf(csv, "%s,%s,%s,%.4f\n", tname[t], tunit[t], sname[s], v[s]);
		}
		/* for ns/page lower is better: print the speed-up the same way */
		double ratio = t == T_TOUCH ? v[S_TMPFS] / v[S_UDAX] : v[S_UDAX] / v[S_TMPFS];
		md("| %s | %s | %.2f | %.2f | %.2f%s |\n", tname[t], tunit[t], v[S_UDAX], v[S_TMPFS],
		   ratio, t == T_TOUCH ? " (speed)" : "");
	}
	md("\n");
	fclose(csv);
	md_end();
	teardown(&m, &p);
	return 0;
}
