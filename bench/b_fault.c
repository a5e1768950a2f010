/*
 * b_fault.c - item 3 (latency part): one page fault at a time, per kind,
 * in microseconds (the time of the single load or store that faults).
 *
 * Files are laid out in 2 MiB regions and one access per region is
 * timed, in random region order, so every access is a fault of its own
 * and not served by the previous one's fault-around or PMD mapping.
 *
 * PTE kinds.  Page 0 of every region is first written through the
 * mapping (an allocating fault) and fsync'ed: that leaves a clean PTE
 * entry in each region, so udax serves the region with 4 KiB faults.
 * Page 300 is written with pwrite and read once through the mapping
 * (mapped read-only, clean).  Then, per region:
 *   zero    load from page 100, a hole     -> zero page mapped
 *   alloc   store to page 200, a hole      -> block allocated, mapped
 *   mkwrite store to page 300              -> clean block made writable
 * PMD kinds, on a fully allocated (2 MiB-aligned) file and on a sparse
 * one, per region:
 *   pmd-read    load from the region's first byte -> 2 MiB mapped
 *   pmd-mkwrite then a store into it              -> 2 MiB made writable
 *   pmd-zero    load from a region of a hole      -> 2 MiB zero mapping
 * The kernel rows do the same on tmpfs files (tmpfs here has no huge
 * pages: its "PMD" rows are 4 KiB faults with the kernel's fault-around).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

enum { S_UDAX, S_TMPFS, NS };
static const char *const sname[NS] = { "udax", "tmpfs" };
enum { K_ZERO, K_ALLOC, K_MKWRITE, K_PMD_READ, K_PMD_MKWRITE, K_PMD_ZERO, NK };
static const char *const kname[NK] = {
	"read fault on a hole (zero page; 4 KiB)",
	"write fault on a hole (allocate; 4 KiB)",
	"write fault on a clean block (mkwrite; 4 KiB)",
	"read fault on allocated 2 MiB (PMD)",
	"write fault on clean 2 MiB (PMD mkwrite)",
	"read fault on a 2 MiB hole (PMD zero page)",
};
static const char *const ktag[NK] = { "zero", "alloc", "mkwrite", "pmd-read", "pmd-mkwrite",
                                      "pmd-zero" };
#define PG_ZERO 100
#define PG_ALLOC 200
#define PG_MKWRITE 300

struct file {
	int fd;
	char *a;
	uint64_t size;
	char path[512];       /* tmpfs only */
};

struct fb {
	udax_fs *fs;
	uint64_t nreg, npmd;  /* regions of the PTE file, of the PMD files */
	uint64_t seed;
};

static void file_open(struct fb *b, int s, struct file *f, const char *name, uint64_t size, int alloc)
{
	f->size = size;
	if (s == S_UDAX) {
		char path[64];
		snprintf(path, sizeof(path), "/%s", name);
		f->fd = ufile_create(b->fs, path, size, alloc);
		void *a;
		UCHECK(udax_mmap(b->fs, f->fd, size, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &a));
		f->a = a;
		return;
	}
	scratch_path(f->path, sizeof(f->path), opt.shm, name);
	f->fd = kfile_create(f->path, size, !alloc);
	f->a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->a == MAP_FAILED)
		die("mmap: %s", strerror(errno));
}

static void file_close(struct fb *b, int s, struct file *f)
{
	if (s == S_UDAX) {
		UCHECK(udax_munmap(b->fs, f->a, f->size));
		UCHECK(udax_close(b->fs, f->fd));
		return;
	}
	munmap(f->a, f->size);
	close(f->fd);
	scratch_remove(f->path);
}

/* Time one access per region at @pg, regions in random order. */
static void sample(struct fb *b, struct file *f, uint64_t nreg, uint64_t pg, int write,
                   double *us)
{
	uint64_t *order = permutation(nreg, ++b->seed);
	for (uint64_t i = 0; i < nreg; i++) {
		volatile char *p = f->a + order[i] * PMD + pg * PAGE;
		uint64_t t0 = now_ns();
		if (write)
			*p = 1;
		else
			(void)*p;
		us[i] = (double)(now_ns() - t0) / 1e3;
	}
	free(order);
}

/* The PTE file of @b->nreg regions (see the header comment). */
static void pte_kinds(struct fb *b, int s, double *us[NK])
{
	struct file f;
	char page[PAGE];

	memset(page, 7, sizeof(page));
	file_open(b, s, &f, "pte", b->nreg * PMD, 0);
	for (uint64_t r = 0; r < b->nreg; r++) {
		f.a[r * PMD] = 1;
		off_t off = (off_t)(r * PMD + PG_MKWRITE * PAGE);
		if (s == S_UDAX)
			UCHECK(udax_pwrite(b->fs, f.fd, page, PAGE, off));
		else
			KCHECK(pwrite(f.fd, page, PAGE, off));
	}
	if (s == S_UDAX)
		UCHECK(udax_fsync(b->fs, f.fd));
	else
		KCHECK(fsync(f.fd));
	for (uint64_t r = 0; r < b->nreg; r++)
		(void)*(volatile char *)(f.a + r * PMD + PG_MKWRITE * PAGE);
	sample(b, &f, b->nreg, PG_ZERO, 0, us[K_ZERO]);
	sample(b, &f, b->nreg, PG_ALLOC, 1, us[K_ALLOC]);
	sample(b, &f, b->nreg, PG_MKWRITE, 1, us[K_MKWRITE]);
	file_close(b, s, &f);
}

static void pmd_kinds(struct fb *b, int s, double *us[NK])
{
	struct file f;

	file_open(b, s, &f, "pmd", b->npmd * PMD, 1);
	sample(b, &f, b->npmd, 0, 0, us[K_PMD_READ]);
	sample(b, &f, b->npmd, 0, 1, us[K_PMD_MKWRITE]);
	file_close(b, s, &f);
	file_open(b, s, &f, "pmdzero", b->npmd * PMD, 0);
	sample(b, &f, b->npmd, 0, 0, us[K_PMD_ZERO]);
	file_close(b, s, &f);
}

static uint64_t nsamples(struct fb *b, int k)
{
	return k < K_PMD_READ ? b->nreg : b->npmd;
}

static void report(struct fb *b, double p50[NK][NS][64], double p99[NK][NS][64], int reps)
{
	md_begin("fault", "3. Page fault latency per kind");
	md("Microseconds per faulting access; p50/p99 over the samples of a repetition, median of "
	   "%d repetitions.  tmpfs has no huge pages here: its 2 MiB rows are ordinary 4 KiB faults "
	   "(with fault-around).\n\n", reps);
	md("| fault kind | samples | udax p50 | udax p99 | tmpfs p50 | tmpfs p99 "
	   "| udax / tmpfs (p50) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("fault", "tag,kind,system,samples,p50_us,p99_us");
	for (int k = 0; k < NK; k++) {
		double v[NS][2];
		for (int s = 0; s < NS; s++) {
			v[s][0] = median(p50[k][s], (size_t)reps);
			v[s][1] = median(p99[k][s], (size_t)reps);
			fprintf(csv, "%s,%s,%s,%llu,%.3f,%.3f\n", ktag[k], kname[k], sname[s],
			        (unsigned long long)nsamples(b, k), v[s][0], v[s][1]);
		}
		md("| %s | %llu | %.1f | %.1f | %.1f | %.1f | %.2f |\n", kname[k],
		   (unsigned long long)nsamples(b, k), v[S_UDAX][0], v[S_UDAX][1], v[S_TMPFS][0],
		   v[S_TMPFS][1], v[S_UDAX][0] / v[S_TMPFS][0]);
	}
	md("\n");
	fclose(csv);
	md_end();
}

int bench_fault(void)
{
	struct fb b = { .nreg = opt.quick ? 512 : 2048, .npmd = opt.quick ? 64 : 256 };
	struct upool p;
	static double p50[NK][NS][64], p99[NK][NS][64];
	int reps = opt.reps < 64 ? opt.reps : 64;
	double *us[NK];

	upool_make(&p, "fault.pool", 2 * b.npmd * PMD + 8 * b.nreg * PAGE + 64 * MiB, NULL);
	b.fs = p.fs;
	for (int k = 0; k < NK; k++)
		us[k] = xmalloc(sizeof(double) * nsamples(&b, k));
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < NS; i++) {
			int s = (i + r) % NS;
			note("fault: repetition %d, %s", r + 1, sname[s]);
			pte_kinds(&b, s, us);
			pmd_kinds(&b, s, us);
			for (int k = 0; k < NK; k++) {
				p50[k][s][r] = quantile(us[k], nsamples(&b, k), 0.50);
				p99[k][s][r] = quantile(us[k], nsamples(&b, k), 0.99);
			}
		}
	report(&b, p50, p99, reps);
	for (int k = 0; k < NK; k++)
		free(us[k]);
	upool_drop(&p);
	return 0;
}
