/*
 * t.h - the tiny test harness every test program uses.
 *
 * A test program defines test functions and lists them in main() with
 * RUN(fn).  CHECK() records a failure with file:line and the failing
 * expression and lets the test go on; REQUIRE() stops the current test.
 * main() returns t_summary(), which prints "N passed, N failed" and
 * exits non-zero on any failure.
 */
#ifndef UDAX_T_H
#define UDAX_T_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udax.h"

static int t_passed, t_failed, t_cur_failed;
static const char *t_name;

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, t_name, #c); \
	t_cur_failed = 1; } } while (0)
#define REQUIRE(c) do { if (!(c)) { \
	fprintf(stderr, "  FAIL %s:%d [%s]: %s (stopping this test)\n", __FILE__, __LINE__, t_name, #c); \
	t_cur_failed = 1; return; } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { \
	fprintf(stderr, "  FAIL %s:%d [%s]: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
	        t_name, #a, _a, #b, _b); t_cur_failed = 1; } } while (0)

#define RUN(fn) do { t_name = #fn; t_cur_failed = 0; fn(); \
	if (t_cur_failed) { t_failed++; fprintf(stderr, "FAILED %s\n", #fn); } \
	else { t_passed++; printf("ok %s\n", #fn); } fflush(stdout); } while (0)

static inline int t_summary(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}

/* A fresh pool path under /dev/shm, unique per process and tag. */
static inline const char *t_pool(const char *tag)
{
	static char path[8][256];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, 256, "/dev/shm/udax-test-%d-%s.pool", (int)getpid(), tag);
	unlink(p);
	return p;
}

/* mkfs + mount a fresh pool of @mb MiB. */
static inline udax_fs *t_fresh(const char *tag, unsigned mb, const char *opts)
{
	udax_fs *fs = NULL;
	const char *p = t_pool(tag);
	if (udax_mkfs(p, (uint64_t)mb << 20, 0) != 0)
		return NULL;
	if (udax_mount(p, opts, &fs) != 0)
		return NULL;
	return fs;
}

static inline void t_fill(void *buf, size_t n, unsigned seed)
{
	unsigned char *b = buf;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		b[i] = (unsigned char)x;
	}
}

static void t_count_problem(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "    fsck: %s\n", msg);
}

/* Run fsck; returns the number of problems. */
static inline int t_fsck(const char *pool)
{
	int n = 0;
	int r = udax_fsck(pool, t_count_problem, &n);
	return r < 0 ? 1000 : r;
}

#endif
