/*
 * b_meta.c - item 6: namespace operations per second, udax vs tmpfs.
 *
 * In one directory: create N empty files (open O_CREAT|O_EXCL + close),
 * rename each to a new name in the same directory, unlink each.  Every
 * udax operation commits a journal transaction before it returns; the
 * kernel's tmpfs keeps its namespace in memory only.  Timed with the
 * thread's CPU time (see bench.h); median of repetitions.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

enum { S_UDAX, S_TMPFS, NS };
static const char *const sname[NS] = { "udax", "tmpfs" };
enum { O_CREATE, O_RENAME, O_UNLINK, NO };
static const char *const oname[NO] = { "create", "rename", "unlink" };

struct mb {
	udax_fs *fs;
	char kdir[512];
	size_t n;
};

static void name_of(struct mb *b, int s, char *buf, size_t len, char tag, size_t i)
{
	if (s == S_UDAX)
		snprintf(buf, len, "/d/%c%07zu", tag, i);
	else
		snprintf(buf, len, "%s/%c%07zu", b->kdir, tag, i);
}

static void one_op(struct mb *b, int s, int o, size_t i)
{
	char x[600], y[600];

	name_of(b, s, x, sizeof(x), o == O_UNLINK ? 'g' : 'f', i);
	if (o == O_RENAME)
		name_of(b, s, y, sizeof(y), 'g', i);
	if (s == S_UDAX) {
		if (o == O_CREATE) {
			int fd = udax_open(b->fs, x, O_WRONLY | O_CREAT | O_EXCL, 0644);
			UCHECK(fd);
			UCHECK(udax_close(b->fs, fd));
		} else if (o == O_RENAME) {
			UCHECK(udax_rename(b->fs, x, y, 0));
		} else {
			UCHECK(udax_unlink(b->fs, x));
		}
		return;
	}
	if (o == O_CREATE) {
		int fd = open(x, O_WRONLY | O_CREAT | O_EXCL, 0644);
		KCHECK(fd);
		close(fd);
	} else if (o == O_RENAME) {
		KCHECK(rename(x, y));
	} else {
		KCHECK(unlink(x));
	}
}

/* One repetition on system @s: ops/s of each operation into @res. */
static void run(struct mb *b, int s, double res[NO])
{
	for (int o = 0; o < NO; o++) {
		uint64_t t0 = cpu_ns();
		for (size_t i = 0; i < b->n; i++)
			one_op(b, s, o, i);
		res[o] = (double)b->n / ((double)(cpu_ns() - t0) / 1e9);
	}
}

int bench_meta(void)
{
	struct mb b = { .n = opt.quick ? 2000 : 10000 };
	struct upool p;
	static double res[NS][NO][64];
	int reps = opt.reps < 64 ? opt.reps : 64;

	upool_make(&p, "meta.pool", 256 * MiB, NULL);
	b.fs = p.fs;
	UCHECK(udax_mkdir(b.fs, "/d", 0755));
	scratch_path(b.kdir, sizeof(b.kdir), opt.shm, "meta.d");
	KCHECK(mkdir(b.kdir, 0755));
	scratch_add(b.kdir);
	double warm[NO];
	for (int s = 0; s < NS; s++)
		run(&b, s, warm);
	for (int r = 0; r < reps; r++)
		for (int k = 0; k < NS; k++) {
			double v[NO];
			int s = (k + r) % NS;
			run(&b, s, v);
			for (int o = 0; o < NO; o++)
				res[s][o][r] = v[o];
		}
	md_begin("meta", "6. Metadata operations");
	md("%zu files in one directory, operations per second, median of %d.\n\n", b.n, reps);
	md("| operation | udax | tmpfs | udax / tmpfs |\n| --- | ---: | ---: | ---: |\n");
	FILE *csv = csv_open("meta", "op,system,ops_per_s");
	for (int o = 0; o < NO; o++) {
		double u = median(res[S_UDAX][o], (size_t)reps);
		double k = median(res[S_TMPFS][o], (size_t)reps);
		md("| %s | %.0f | %.0f | %.2f |\n", oname[o], u, k, u / k);
		fprintf(csv, "%s,%s,%.1f\n%s,%s,%.1f\n", oname[o], sname[S_UDAX], u, oname[o],
		        sname[S_TMPFS], k);
	}
	md("\n");
	fclose(csv);
	md_end();
	scratch_remove(b.kdir);
	upool_drop(&p);
	return 0;
}
