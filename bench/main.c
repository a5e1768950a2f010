/*
 * main.c - udax-bench: the benchmark suite of udax (issue 5).
 *
 *   udax-bench [--quick] [--reps N] [--out DIR] [--shm DIR] [--disk DIR] BENCH...
 *
 * BENCH is one or more of: info bw lat mmap fault fsync lock meta all.
 * Each writes DIR/<bench>.csv (long form, one measurement per row) and
 * DIR/<bench>.md (a Markdown table, also printed on stdout).  bench/run.sh
 * runs every benchmark in its own process and assembles the report.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "bench.h"

struct bench_opts opt = {
	.reps = 0,
	.out = "results",
	.shm = "/dev/shm",
	.disk = "/var/tmp",
};

static const struct {
	const char *name;
	int (*fn)(void);
	const char *what;
} benches[] = {
	{ "info", bench_info, "machine facts and the copy/flush instructions used" },
	{ "bw", bench_bw, "1. pread/pwrite bandwidth vs tmpfs, memcpy, non-temporal copy" },
	{ "lat", bench_lat, "2. 4 KiB overwrite and append+fsync latency vs tmpfs, ext4" },
	{ "mmap", bench_mmap, "3. mmap first-touch read, random write faults into holes" },
	{ "fault", bench_fault, "3. fault latency per kind" },
	{ "fsync", bench_fsync, "4. fsync after dirtying K pages of a mapped file" },
	{ "lock", bench_lock, "5. write_lock=entry|exclusive|flush|range under contention" },
	{ "meta", bench_meta, "6. create, rename, unlink per second vs tmpfs" },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: udax-bench [--quick] [--reps N] [--out DIR] [--shm DIR] [--disk DIR] "
	           "BENCH...\n"
	           "  --quick     small sizes and few repetitions (CI smoke run)\n"
	           "  --reps N    repetitions per measurement (default 5, quick 3)\n"
	           "  --out DIR   where CSV and Markdown go (default results)\n"
	           "  --shm DIR   tmpfs directory for pools and tmpfs files (default /dev/shm)\n"
	           "  --disk DIR  disk directory for the ext4 rows (default /var/tmp)\n"
	           "BENCH:\n");
	for (size_t i = 0; i < NBENCH; i++)
		fprintf(f, "  %-6s %s\n", benches[i].name, benches[i].what);
	fprintf(f, "  all    every benchmark above, in this order\n");
}

static int run_one(const char *name)
{
	for (size_t i = 0; i < NBENCH; i++)
		if (!strcmp(name, benches[i].name)) {
			uint64_t t0 = now_ns();
			int r = benches[i].fn();
			fprintf(stderr, "udax-bench %s: %.1f s\n", name, (double)(now_ns() - t0) / 1e9);
			return r;
		}
	fprintf(stderr, "udax-bench: unknown benchmark '%s'\n", name);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick"))
			opt.quick = 1;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return usage(stdout), 0;
		else if (i + 1 < argc && !strcmp(a, "--reps"))
			opt.reps = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(a, "--out"))
			opt.out = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--shm"))
			opt.shm = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--disk"))
			opt.disk = argv[++i];
		else
			return usage(stderr), 2;
	}
	if (i == argc)
		return usage(stderr), 2;
	if (opt.reps <= 0)
		opt.reps = opt.quick ? 3 : 5;
	if (mkdir(opt.out, 0755) < 0 && errno != EEXIST)
		die("cannot create %s: %s", opt.out, strerror(errno));
	int status = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "all")) {
			for (size_t k = 0; k < NBENCH && !status; k++)
				status = run_one(benches[k].name);
		} else {
			status = run_one(argv[i]);
		}
		if (status)
			break;
	}
	return status;
}
