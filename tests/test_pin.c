/*
 * test_pin.c - udax_pin / udax_unpin: a udax mapping handed to the
 * kernel.  The kernel cannot take udax's faults, so without a pin a
 * system call on a page that is not present, or present read-only when
 * the kernel must store, fails with EFAULT.  Checked here: the errors;
 * write(pipe, map) of a never-touched mapping; read(pipe, map) stores
 * that fsync makes durable (read back, and from the crash image); fsync
 * while a write pin is held leaves the page writable and dirty; and a
 * pinned range survives VMA-budget eviction (UDAX_MAP_BUDGET, set for
 * the whole program to 200 above the VMAs the process starts with).
 */
#include "t.h"

#include <sys/mman.h>

#define PG 4096

static char *pool_of(const char *tag, udax_fs **fs, const char *opts)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s", t_pool(tag));
	*fs = NULL;
	if (udax_mkfs(path, 64u << 20, 0) || udax_mount(path, opts, fs))
		return NULL;
	return path;
}

/* A file of @size bytes (a hole) mapped shared with @prot. */
static char *map_file(udax_fs *fs, const char *name, size_t size, int prot, int *fdp)
{
	void *m = NULL;
	int fd = udax_open(fs, name, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || udax_ftruncate(fs, fd, (off_t)size) ||
	    udax_mmap(fs, fd, size, prot, MAP_SHARED, 0, &m))
		return NULL;
	*fdp = fd;
	return m;
}

/* Read the file back from what a power cut would leave now. */
static int crash_read(udax_fs *fs, const char *pool, const char *name, char *out, size_t n)
{
	char img[300];
	udax_fs *c;
	snprintf(img, sizeof(img), "%s.crash", pool);
	if (udax_shadow_save(fs, img))
		return -1;
	int problems = t_fsck(img);
	if (udax_mount(img, NULL, &c))
		return -1;
	int fd = udax_open(c, name, O_RDONLY, 0);
	ssize_t r = fd < 0 ? -1 : udax_pread(c, fd, out, n, 0);
	udax_close(c, fd);
	udax_unmount(c);
	unlink(img);
	return problems || r != (ssize_t)n ? -1 : 0;
}

static void pin_errors(void)
{
	udax_fs *fs;
	char *pool = pool_of("errs", &fs, NULL);
	int fd, rfd;
	REQUIRE(pool);
	char *m = map_file(fs, "/f", 4 * PG, PROT_READ | PROT_WRITE, &fd);
	REQUIRE(m);
	char host[PG];
	CHECK_EQ(udax_pin(NULL, m, PG, PROT_READ), -EINVAL);
	CHECK_EQ(udax_pin(fs, NULL, PG, PROT_READ), -EINVAL);
	CHECK_EQ(udax_pin(fs, m, 0, PROT_READ), -EINVAL);
	CHECK_EQ(udax_pin(fs, m, SIZE_MAX, PROT_READ), -EINVAL);    /* wraps around */
	CHECK_EQ(udax_pin(fs, m, PG, 0), -EINVAL);
	CHECK_EQ(udax_pin(fs, m, PG, PROT_EXEC), -EINVAL);
	CHECK_EQ(udax_pin(fs, host, PG, PROT_READ), -ENOMEM);      /* not udax memory */
	CHECK_EQ(udax_pin(fs, m, 8 * PG, PROT_READ), -ENOMEM);     /* past the mapping */
	CHECK_EQ(udax_unpin(fs, m, PG), -EINVAL);                  /* not pinned */
	/* a read-only mapping can be pinned for reading only */
	void *ro = NULL;
	rfd = udax_open(fs, "/f", O_RDONLY, 0);
	REQUIRE(udax_mmap(fs, rfd, 4 * PG, PROT_READ, MAP_SHARED, 0, &ro) == 0);
	CHECK_EQ(udax_pin(fs, ro, PG, PROT_WRITE), -EACCES);
	CHECK_EQ(udax_pin(fs, ro, PG, PROT_READ), 0);
	CHECK_EQ(udax_unpin(fs, ro, PG), 0);
	CHECK_EQ(udax_unpin(fs, ro, PG), -EINVAL);
	/* past end of file: EFAULT, and nothing stays pinned */
	void *big = NULL;
	REQUIRE(udax_mmap(fs, fd, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &big) == 0);
	CHECK_EQ(udax_pin(fs, (char *)big + 3 * PG, 2 * PG, PROT_WRITE), -EFAULT);
	CHECK_EQ(udax_unpin(fs, (char *)big + 3 * PG, 2 * PG), -EINVAL);
	/* pins nest */
	CHECK_EQ(udax_pin(fs, m + 10, 100, PROT_READ), 0);
	CHECK_EQ(udax_pin(fs, m + 10, 100, PROT_WRITE), 0);
	CHECK_EQ(udax_unpin(fs, m + 10, 100), 0);
	CHECK_EQ(udax_unpin(fs, m + 10, 100), 0);
	CHECK_EQ(udax_unpin(fs, m + 10, 100), -EINVAL);
	udax_munmap(fs, big, 16 * PG);
	udax_munmap(fs, ro, 4 * PG);
	udax_munmap(fs, m, 4 * PG);
	udax_close(fs, rfd);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

/* The kernel reads a never-touched mapping (holes and a block). */
static void pin_kernel_reads(void)
{
	udax_fs *fs;
	char *pool = pool_of("kread", &fs, NULL);
	int fd, p[2];
	REQUIRE(pool && pipe(p) == 0);
	int wfd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	REQUIRE(udax_pwrite(fs, wfd, "block", 5, PG) == 5);
	char *m = map_file(fs, "/f", 4 * PG, PROT_READ | PROT_WRITE, &fd);
	REQUIRE(m);
	/* the defect itself: without a pin the kernel cannot fault it in */
	CHECK(write(p[1], m, 4 * PG) == -1 && errno == EFAULT);
	REQUIRE(udax_pin(fs, m, 4 * PG, PROT_READ) == 0);
	CHECK_EQ(write(p[1], m, 4 * PG), 4 * PG);
	udax_unpin(fs, m, 4 * PG);
	char got[4 * PG];
	CHECK_EQ(read(p[0], got, sizeof(got)), 4 * PG);
	CHECK(!memcmp(got + PG, "block", 5) && got[0] == 0 && got[3 * PG] == 0);
	close(p[0]);
	close(p[1]);
	udax_munmap(fs, m, 4 * PG);
	udax_close(fs, wfd);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

/* The kernel stores into a mapping (a hole): the page becomes dirty,
 * fsync flushes it.  An fsync while the pin is held flushes but leaves
 * the page writable, so the kernel can store again, and the next fsync
 * flushes that too. */
static void pin_kernel_writes_durable(void)
{
	udax_fs *fs;
	char *pool = pool_of("kwrite", &fs, "shadow");
	int fd, p[2];
	REQUIRE(pool && pipe(p) == 0);
	char *m = map_file(fs, "/f", 4 * PG, PROT_READ | PROT_WRITE, &fd);
	REQUIRE(m);
	char data[2 * PG], got[2 * PG];
	t_fill(data, sizeof(data), 7);
	REQUIRE(udax_pin(fs, m + PG, 2 * PG, PROT_WRITE) == 0);
	REQUIRE(write(p[1], data, PG) == PG);
	CHECK_EQ(read(p[0], m + PG, PG), PG);
	CHECK_EQ(udax_fsync(fs, fd), 0);               /* while pinned */
	REQUIRE(write(p[1], data + PG, PG) == PG);
	CHECK_EQ(read(p[0], m + 2 * PG, PG), PG);      /* still writable */
	REQUIRE(write(p[1], "again", 5) == 5);
	CHECK_EQ(read(p[0], m + PG, 5), 5);            /* the flushed page too */
	CHECK_EQ(udax_unpin(fs, m + PG, 2 * PG), 0);
	memcpy(data, "again", 5);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK_EQ(udax_pread(fs, fd, got, sizeof(got), PG), (ssize_t)sizeof(got));
	CHECK(!memcmp(got, data, sizeof(got)));
	memset(got, 0, sizeof(got));
	char all[3 * PG];
	CHECK_EQ(crash_read(fs, pool, "/f", all, sizeof(all)), 0);
	CHECK(!memcmp(all + PG, data, sizeof(data)));
	close(p[0]);
	close(p[1]);
	udax_munmap(fs, m, 4 * PG);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

/* Many faults under a budget of 200 VMAs evict the oldest mappings;
 * a pinned range is not among them. */
static void pin_survives_eviction(void)
{
	udax_fs *fs;
	char *pool = pool_of("evict", &fs, NULL);
	int fd, p[2];
	REQUIRE(pool && pipe(p) == 0);
	size_t n = 1024;
	char *m = map_file(fs, "/f", n * PG, PROT_READ | PROT_WRITE, &fd);
	REQUIRE(m);
	REQUIRE(udax_pin(fs, m, 2 * PG, PROT_WRITE) == 0);
	/* every other page: each store maps one page, two VMAs apiece */
	for (size_t i = 4; i < n; i += 2)
		m[i * PG] = 1;
	char data[2 * PG], got[2 * PG];
	t_fill(data, sizeof(data), 9);
	REQUIRE(write(p[1], data, sizeof(data)) == (ssize_t)sizeof(data));
	CHECK_EQ(read(p[0], m, sizeof(data)), (ssize_t)sizeof(data));
	CHECK_EQ(udax_unpin(fs, m, 2 * PG), 0);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK_EQ(udax_pread(fs, fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	CHECK(!memcmp(got, data, sizeof(got)));
	close(p[0]);
	close(p[1]);
	udax_munmap(fs, m, n * PG);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
}

int main(void)
{
	/* 200 VMAs above what the process has already (a sanitizer runtime
	 * has many of its own); read once, at the first udax_mmap */
	long base = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	for (int c; f && (c = getc(f)) != EOF;)
		base += c == '\n';
	if (f)
		fclose(f);
	char budget[32];
	snprintf(budget, sizeof(budget), "%ld", base + 200);
	setenv("UDAX_MAP_BUDGET", budget, 1);
	RUN(pin_errors);
	RUN(pin_kernel_reads);
	RUN(pin_kernel_writes_durable);
	RUN(pin_survives_eviction);
	return t_summary();
}
