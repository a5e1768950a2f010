/*
 * test_vma.c - the kernel's VMA limit.  A file written at random pages
 * through a mapping needs one kernel VMA per page, and Linux caps a
 * process at vm.max_map_count of them.  udax keeps its mappings under a
 * budget by evicting the oldest (faulting them back later) and
 * write-protecting by zapping under pressure; the file must stay fully
 * usable, fsync must still flush every dirty page, and the process must
 * stay under the budget.  The test lowers the budget to reach it fast
 * (UDAX_MAP_BUDGET); UDAX_VMA_FULL=1 runs the full case: a 1 GiB
 * file, every page dirtied in random order, under the real limit.
 */
#include "t.h"

#include <sys/mman.h>

static void shuffle(uint32_t *a, uint32_t n, uint64_t seed)
{
	for (uint32_t i = n - 1; i > 0; i--) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		uint32_t j = (uint32_t)(seed % (i + 1)), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;
	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static void test_random_dirty_under_budget(void)
{
	int full = getenv("UDAX_VMA_FULL") && *getenv("UDAX_VMA_FULL") == '1';
	uint64_t file = full ? (1ull << 30) : (64ull << 20);
	uint32_t pages = full ? (uint32_t)(file / 4096) : 12000;
	const char *pool = t_pool("vma");
	char img[300];
	snprintf(img, sizeof(img), "%s.img", pool);
	REQUIRE(udax_mkfs(pool, file + (full ? (256ull << 20) : (64ull << 20)), 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(pool, "shadow", &fs) == 0);
	int fd = udax_open(fs, "/r", O_RDWR | O_CREAT, 0644);
	REQUIRE(udax_ftruncate(fs, fd, (off_t)file) == 0);
	char *p;
	REQUIRE(udax_mmap(fs, fd, file, PROT_READ | PROT_WRITE, MAP_SHARED, 0, (void **)&p) == 0);
	uint32_t *order = malloc(sizeof(uint32_t) * (file / 4096));
	for (uint32_t i = 0; i < file / 4096; i++)
		order[i] = i;
	shuffle(order, (uint32_t)(file / 4096), 42);
	long peak = 0;
	for (uint32_t i = 0; i < pages; i++) {
		uint64_t pg = order[i];
		memcpy(p + pg * 4096 + 8, &pg, 8);         /* allocating write fault */
		if (i % 2000 == 1999) {
			long n = count_maps();
			peak = n > peak ? n : peak;
		}
	}
	printf("  %u pages dirtied at random; peak %ld kernel mappings\n", pages, peak);
	const char *b = getenv("UDAX_MAP_BUDGET");
	long budget = b ? atol(b) : 65530;
	CHECK(peak <= budget + 64);
	/* every page reads back, through pread and through the mapping */
	int bad = 0;
	for (uint32_t i = 0; i < pages; i++) {
		uint64_t pg = order[i], v = 0, m;
		udax_pread(fs, fd, &v, 8, (off_t)(pg * 4096 + 8));
		memcpy(&m, p + pg * 4096 + 8, 8);
		bad += v != pg || m != pg;
	}
	CHECK_EQ(bad, 0);
	/* fsync flushes every dirty page, evicted or not */
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK(count_maps() <= budget + 64);
	REQUIRE(udax_shadow_save(fs, img) == 0);
	udax_munmap(fs, p, file);
	udax_close(fs, fd);
	udax_unmount(fs);
	REQUIRE(udax_mount(img, NULL, &fs) == 0);
	fd = udax_open(fs, "/r", O_RDONLY, 0);
	bad = 0;
	for (uint32_t i = 0; i < pages; i++) {
		uint64_t pg = order[i], v = 0;
		udax_pread(fs, fd, &v, 8, (off_t)(pg * 4096 + 8));
		bad += v != pg;
	}
	CHECK_EQ(bad, 0);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(img), 0);
	free(order);
	unlink(img);
	unlink(pool);
}

int main(void)
{
	if (!getenv("UDAX_VMA_FULL") || *getenv("UDAX_VMA_FULL") != '1')
		setenv("UDAX_MAP_BUDGET", "1500", 0);
	RUN(test_random_dirty_under_budget);
	return t_summary();
}
