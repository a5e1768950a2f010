/*
 * util.c - statistics, random numbers, result files, scratch files and
 * pools for udax-bench.
 *
 * Scratch files (pools, kernel comparison files, directories) are
 * registered when created and removed at exit, also when a benchmark
 * dies or the run is interrupted, so /dev/shm is left as it was found.
 */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

double median(double *v, size_t n)
{
	return quantile(v, n, 0.5);
}

uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

uint64_t *permutation(uint64_t n, uint64_t seed)
{
	uint64_t *p = xmalloc(n * sizeof(*p)), s = seed;
	for (uint64_t i = 0; i < n; i++)
		p[i] = i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = rnd(&s) % i, t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

/* ---- scratch files ---- */

#define MAX_SCRATCH 32
static char scratch[MAX_SCRATCH][512];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);   /* best effort */
	return 0;
}

void scratch_path(char *buf, size_t len, const char *dir, const char *tag)
{
	snprintf(buf, len, "%s/udax-bench-%d-%s", dir, (int)getpid(), tag);
}

void scratch_add(const char *path)
{
	for (int i = 0; i < MAX_SCRATCH; i++)
		if (!scratch[i][0]) {
			snprintf(scratch[i], sizeof(scratch[i]), "%s", path);
			return;
		}
	die("too many scratch files");
}

void scratch_remove(const char *path)
{
	for (int i = 0; i < MAX_SCRATCH; i++)
		if (!strcmp(scratch[i], path)) {
			nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			scratch[i][0] = 0;
		}
}

static void scratch_cleanup(void)
{
	for (int i = 0; i < MAX_SCRATCH; i++)
		if (scratch[i][0]) {
			nftw(scratch[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			scratch[i][0] = 0;
		}
}

/* Interrupted: exit() runs scratch_cleanup.  Not async-signal-safe in
 * the strict sense, acceptable for a benchmark tool. */
static void on_signal(int sig)
{
	exit(128 + sig);
}

__attribute__((constructor)) static void scratch_init(void)
{
	atexit(scratch_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
}

void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "udax-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

int kfile_create(const char *path, uint64_t size, int sparse)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	KCHECK(fd);
	scratch_add(path);
	KCHECK(ftruncate(fd, (off_t)size));
	if (sparse)
		return fd;
	char *buf = xmalloc(MiB);
	fill_pattern(buf, MiB, 7);
	for (uint64_t off = 0; off < size; off += MiB)
		KCHECK(pwrite(fd, buf, size - off < MiB ? size - off : MiB, (off_t)off));
	free(buf);
	return fd;
}

/* ---- pools ---- */

void upool_make(struct upool *p, const char *tag, uint64_t size, const char *mntopts)
{
	scratch_path(p->path, sizeof(p->path), opt.shm, tag);
	scratch_add(p->path);
	int r = udax_mkfs(p->path, size, UDAX_MKFS_FORCE);
	if (r < 0)
		die("udax_mkfs %s: %s (%s)", p->path, strerror(-r), udax_last_error());
	r = udax_mount(p->path, mntopts, &p->fs);
	if (r < 0)
		die("udax_mount %s: %s (%s)", p->path, strerror(-r), udax_last_error());
}

void upool_remount(struct upool *p, const char *mntopts)
{
	UCHECK(udax_unmount(p->fs));
	int r = udax_mount(p->path, mntopts, &p->fs);
	if (r < 0)
		die("udax_mount %s: %s (%s)", p->path, strerror(-r), udax_last_error());
}

void upool_drop(struct upool *p)
{
	UCHECK(udax_unmount(p->fs));
	p->fs = NULL;
	scratch_remove(p->path);
}

int ufile_create(udax_fs *fs, const char *path, uint64_t size, int alloc)
{
	int fd = udax_open(fs, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	UCHECK(fd);
	if (alloc && size)
		UCHECK(udax_fallocate(fs, fd, 0, 0, (off_t)size));
	else
		UCHECK(udax_ftruncate(fs, fd, (off_t)size));
	return fd;
}

/* ---- output ---- */

static FILE *md_file;

static FILE *open_out(const char *name, const char *ext)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.%s", opt.out, name, ext);
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	return f;
}

FILE *csv_open(const char *name, const char *header)
{
	FILE *f = open_out(name, "csv");
	fprintf(f, "%s\n", header);
	return f;
}

void md_begin(const char *name, const char *title)
{
	md_file = open_out(name, "md");
	md("\n### %s\n\n", title);
}

void md(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (md_file) {
		va_start(ap, fmt);
		vfprintf(md_file, fmt, ap);
		va_end(ap);
	}
	fflush(stdout);
}

void md_end(void)
{
	if (md_file)
		fclose(md_file);
	md_file = NULL;
}

void note(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  .. ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}
