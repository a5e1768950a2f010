/*
 * bench.h - shared pieces of udax-bench: options, timing, statistics,
 * result output (CSV + Markdown), scratch files and pools, copy kernels.
 *
 * Every benchmark measures udax and its comparison points side by side
 * in the same process and the same run, interleaving the variants
 * repetition by repetition, and reports medians over repetitions: the
 * ratios hold on a noisy machine even when absolute times do not.
 */
#ifndef UDAX_BENCH_H
#define UDAX_BENCH_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <udax.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define PAGE UINT64_C(4096)
#define PMD (2 * MiB)

struct bench_opts {
	int quick;            /* --quick: small sizes, few repetitions */
	int reps;             /* repetitions per measurement (median taken) */
	const char *out;      /* result directory */
	const char *shm;      /* tmpfs directory: pools and kernel tmpfs files */
	const char *disk;     /* disk-backed directory for the ext4 rows */
};
extern struct bench_opts opt;

/* ---- timing ----
 * now_ns: wall clock (vDSO, cheap); per-operation latencies and
 * multi-threaded runs.  cpu_ns: CPU time of the calling thread (a
 * system call); bulk single-threaded phases of pure memory work use it,
 * so time spent preempted by other processes on a shared machine is not
 * counted.  On an idle machine the two agree for such phases. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- statistics (both sort @v in place) ---- */
double quantile(double *v, size_t n, double q);
double median(double *v, size_t n);

/* ---- pseudo-random numbers (xorshift64*) ---- */
uint64_t rnd(uint64_t *state);
/* A random permutation of 0..n-1 (malloc'ed). */
uint64_t *permutation(uint64_t n, uint64_t seed);

/* ---- errors: print and exit (scratch files are removed at exit) ---- */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define UCHECK(x) do { long long r_ = (long long)(x); \
	if (r_ < 0) die("%s:%d: %s: %s", __FILE__, __LINE__, #x, strerror((int)-r_)); } while (0)
#define KCHECK(x) do { if ((long long)(x) < 0) \
	die("%s:%d: %s: %s", __FILE__, __LINE__, #x, strerror(errno)); } while (0)
void *xmalloc(size_t n);

/* ---- output: DIR/<name>.csv and DIR/<name>.md (+ stdout) ---- */
FILE *csv_open(const char *name, const char *header);
void md_begin(const char *name, const char *title);
void md(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void md_end(void);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* progress, stderr */

/* ---- scratch files (removed at exit and on SIGINT/SIGTERM) ---- */
void scratch_path(char *buf, size_t len, const char *dir, const char *tag);
void scratch_add(const char *path);
void scratch_remove(const char *path);
/* A kernel file of @size bytes, written (not sparse) unless @sparse. */
int kfile_create(const char *path, uint64_t size, int sparse);

/* A udax pool in opt.shm: mkfs + mount; drop = unmount + remove. */
struct upool {
	char path[512];
	udax_fs *fs;
};
void upool_make(struct upool *p, const char *tag, uint64_t size, const char *mntopts);
void upool_remount(struct upool *p, const char *mntopts);
void upool_drop(struct upool *p);
/* Create (O_TRUNC) a udax file; with @alloc, fallocate @size bytes, else
 * ftruncate it to @size (a hole). */
int ufile_create(udax_fs *fs, const char *path, uint64_t size, int alloc);

/* ---- copy kernels (copy.c) ---- */
/* Non-temporal copy: AVX2 or SSE2 streaming stores, then sfence. */
void nt_copy(void *dst, const void *src, size_t n);
const char *nt_copy_name(void);
void fill_pattern(void *p, size_t n, uint64_t seed);
/* Read every byte of [p, p+n) (sum of words); returns the sum. */
uint64_t read_all(const void *p, size_t n);
/* Read one word per page; returns the sum. */
uint64_t touch_pages(const void *p, size_t n);

/* ---- the benchmarks ---- */
int bench_info(void);
int bench_bw(void);
int bench_lat(void);
int bench_mmap(void);
int bench_fault(void);
int bench_fsync(void);
int bench_lock(void);
int bench_meta(void);

#endif
