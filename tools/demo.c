/*
 * demo.c - "udax demo": a guided tour of udax, end to end.
 *
 * It is a smoke test a user can run in a second and a readable example
 * of the API at once: format, mount, write, read back, rename, remount,
 * check, and finally a simulated power cut with the shadow backend.
 * Each step prints one "[demo]" line so the output reads as a story;
 * the first failure stops the tour with a message and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udax.h"

int udax_demo(const char *pool);
int demo_race(const char *pool);

#define MIB (1u << 20)
#define DEMO_POOL_SIZE (64ull << 20)
#define DEMO_DEFAULT_POOL "/dev/shm/udax-demo.pool"

struct demo_file {
	const char *path;
	unsigned char *data;   /* what the file must read back as */
	size_t size;
	bool sparse;           /* leave all-zero blocks unwritten */
};

enum { F_TEXT, F_RANDOM, F_SPARSE, NFILES };

struct demo {
	const char *pool;
	char *crash;           /* "<pool>.crash", the saved crash image */
	udax_fs *fs;
	struct demo_file files[NFILES];
};

static const char hello_text[] =
	"Hello from udax!\n"
	"This file lives in a memory-mapped pool: reads and writes are\n"
	"plain loads and stores, flushed to the persistence domain.\n";

/* Print why the tour stops; returns -1 so callers can `return failed()`. */
static int failed(const char *step, const char *path, int err)
{
	fprintf(stderr, "[demo] FAILED: %s %s: %s\n", step, path,
		strerror(err < 0 ? -err : err));
	return -1;
}

/* As failed(), for mkfs/mount/fsck, which leave a detail message. */
static int failed_detail(const char *step, const char *path, int err)
{
	const char *detail = udax_last_error();

	failed(step, path, err);
	if (detail && *detail)
		fprintf(stderr, "[demo]   detail: %s\n", detail);
	return -1;
}

/* xorshift64*: reproducible "random" bytes without touching rand(). */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1, v;
	size_t i;

	for (i = 0; i < n; i += sizeof(v)) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, n - i < sizeof(v) ? n - i : sizeof(v));
	}
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Build the expected contents of the three demo files. */
static int make_contents(struct demo *d)
{
	struct demo_file *f = d->files;

	f[F_TEXT] = (struct demo_file){ "/docs/hello.txt", NULL,
					sizeof(hello_text) - 1, false };
	f[F_RANDOM] = (struct demo_file){ "/data/random.bin", NULL,
					  4 * MIB, false };
	/* 1 MiB of data, a 2 MiB hole, 1 MiB of data. */
	f[F_SPARSE] = (struct demo_file){ "/data/sparse.bin", NULL,
					  4 * MIB, true };
	f[F_TEXT].data = malloc(f[F_TEXT].size);
	f[F_RANDOM].data = malloc(f[F_RANDOM].size);
	f[F_SPARSE].data = calloc(1, f[F_SPARSE].size);
	if (!f[F_TEXT].data || !f[F_RANDOM].data || !f[F_SPARSE].data)
		return failed("allocate", "buffers", -ENOMEM);
	memcpy(f[F_TEXT].data, hello_text, f[F_TEXT].size);
	fill_random(f[F_RANDOM].data, f[F_RANDOM].size, 1);
	fill_random(f[F_SPARSE].data, MIB, 2);
	fill_random(f[F_SPARSE].data + 3 * MIB, MIB, 3);
	return 0;
}

static int demo_mount(struct demo *d, const char *path, const char *opts)
{
	int ret = udax_mount(path, opts, &d->fs);

	if (ret < 0) {
		d->fs = NULL;
		return failed_detail("mount", path, ret);
	}
	printf("[demo] mounted %s%s%s\n", path, opts ? " with -o " : "",
	       opts ? opts : "");
	return 0;
}

static int demo_unmount(struct demo *d, const char *path)
{
	int ret = udax_unmount(d->fs);

	d->fs = NULL;
	if (ret < 0)
		return failed("unmount", path, ret);
	printf("[demo] unmounted %s\n", path);
	return 0;
}

static int write_file(struct demo *d, const struct demo_file *f)
{
	size_t off, len;
	ssize_t n;
	int fd, ret;

	fd = udax_open(d->fs, f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("create", f->path, fd);
	/* Block by block, so that a sparse file's zero blocks stay holes. */
	for (off = 0; off < f->size; off += len) {
		len = f->size - off < UDAX_BLOCK_SIZE ? f->size - off :
							UDAX_BLOCK_SIZE;
		if (f->sparse && all_zero(f->data + off, len))
			continue;
		n = udax_pwrite(d->fs, fd, f->data + off, len, off);
		if (n != (ssize_t)len) {
			udax_close(d->fs, fd);
			return failed("write", f->path, n < 0 ? (int)n : -EIO);
		}
	}
	ret = udax_ftruncate(d->fs, fd, f->size);
	if (ret == 0)
		ret = udax_fsync(d->fs, fd);
	udax_close(d->fs, fd);
	if (ret < 0)
		return failed("fsync", f->path, ret);
	printf("[demo] wrote %s (%zu bytes%s)\n", f->path, f->size,
	       f->sparse ? ", with a 2 MiB hole in the middle" : "");
	return 0;
}

/* Read the whole file back and compare it byte for byte. */
static int verify_file(struct demo *d, const char *path,
		       const unsigned char *want, size_t size)
{
	unsigned char *buf = malloc(size + 1);
	ssize_t n = -ENOMEM;
	size_t i;
	int fd;

	fd = udax_open(d->fs, path, O_RDONLY, 0);
	if (fd < 0 || !buf) {
		free(buf);
		return failed("open", path, fd < 0 ? fd : -ENOMEM);
	}
	/* One byte more than expected, so a too-long file shows up too. */
	n = udax_pread(d->fs, fd, buf, size + 1, 0);
	udax_close(d->fs, fd);
	if (n < 0) {
		free(buf);
		return failed("read", path, (int)n);
	}
	if ((size_t)n != size || memcmp(buf, want, size)) {
		for (i = 0; i < (size_t)n && i < size && buf[i] == want[i]; i++)
			;
		fprintf(stderr, "[demo] FAILED: %s: read %zd bytes, expected "
			"%zu; first difference at byte %zu\n", path, n, size, i);
		free(buf);
		return -1;
	}
	free(buf);
	printf("[demo] verified %s: %zu bytes match\n", path, size);
	return 0;
}

static int verify_all(struct demo *d)
{
	int i;

	for (i = 0; i < NFILES; i++)
		if (verify_file(d, d->files[i].path, d->files[i].data,
				d->files[i].size))
			return -1;
	return 0;
}

/* Show that the sparse file's middle really is a hole, not zeros. */
static int check_hole(struct demo *d)
{
	const char *path = d->files[F_SPARSE].path;
	off_t hole, data;
	struct stat st;
	int fd, ret;

	fd = udax_open(d->fs, path, O_RDONLY, 0);
	if (fd < 0)
		return failed("open", path, fd);
	hole = udax_lseek(d->fs, fd, 0, SEEK_HOLE);
	data = udax_lseek(d->fs, fd, hole < 0 ? 0 : hole, SEEK_DATA);
	ret = udax_fstat(d->fs, fd, &st);
	udax_close(d->fs, fd);
	if (ret < 0)
		return failed("stat", path, ret);
	if (hole != MIB || data != 3 * MIB) {
		fprintf(stderr, "[demo] FAILED: %s: expected a hole at "
			"1..3 MiB, SEEK_HOLE gave %jd and SEEK_DATA %jd\n",
			path, (intmax_t)hole, (intmax_t)data);
		return -1;
	}
	printf("[demo] %s: hole at %jd..%jd, %jd KiB allocated of %jd KiB\n",
	       path, (intmax_t)hole, (intmax_t)data,
	       (intmax_t)st.st_blocks / 2, (intmax_t)st.st_size / 1024);
	return 0;
}

static int create_files(struct demo *d)
{
	static const char *const dirs[] = { "/docs", "/data" };
	int i, ret;

	for (i = 0; i < 2; i++) {
		ret = udax_mkdir(d->fs, dirs[i], 0755);
		if (ret < 0)
			return failed("mkdir", dirs[i], ret);
		printf("[demo] created directory %s\n", dirs[i]);
	}
	for (i = 0; i < NFILES; i++)
		if (write_file(d, &d->files[i]))
			return -1;
	return check_hole(d);
}

/* Print the tree under @dir, one "[demo]" line per entry. */
static int list_tree(struct demo *d, const char *dir)
{
	struct udax_dirent ent;
	char path[UDAX_PATH_MAX + 1];
	struct stat st;
	udax_dir *dh;
	int ret;

	ret = udax_opendir(d->fs, dir, &dh);
	if (ret < 0)
		return failed("opendir", dir, ret);
	while ((ret = udax_readdir(dh, &ent)) > 0) {
		snprintf(path, sizeof(path), "%s/%s",
			 strcmp(dir, "/") ? dir : "", ent.d_name);
		ret = udax_stat(d->fs, path, &st);
		if (ret < 0)
			break;
		printf("[demo]   %c %9jd  %s\n", S_ISDIR(st.st_mode) ? 'd' : '-',
		       (intmax_t)st.st_size, path);
		if (S_ISDIR(st.st_mode) && list_tree(d, path)) {
			udax_closedir(dh);
			return -1;
		}
	}
	udax_closedir(dh);
	return ret < 0 ? failed("list", dir, ret) : 0;
}

static int show_statfs(struct demo *d)
{
	struct udax_statfs sf;
	int ret = udax_statfs(d->fs, &sf);

	if (ret < 0)
		return failed("statfs", d->pool, ret);
	printf("[demo] statfs: %" PRIu64 " blocks of %" PRIu64 " bytes, %"
	       PRIu64 " free; %" PRIu64 " inodes, %" PRIu64 " free\n",
	       sf.total_blocks, sf.block_size, sf.free_blocks,
	       sf.total_inodes, sf.free_inodes);
	return 0;
}

static int rename_text(struct demo *d)
{
	const char *from = d->files[F_TEXT].path, *to = "/docs/readme.txt";
	int ret;

	ret = udax_rename(d->fs, from, to, 0);
	if (ret < 0)
		return failed("rename", from, ret);
	printf("[demo] renamed %s to %s\n", from, to);
	d->files[F_TEXT].path = to;
	return 0;
}

/* The old name must be gone and the new one readable after a remount. */
static int check_renamed(struct demo *d)
{
	struct stat st;
	int ret = udax_stat(d->fs, "/docs/hello.txt", &st);

	if (ret != -ENOENT) {
		fprintf(stderr, "[demo] FAILED: /docs/hello.txt still "
			"exists after the rename (stat: %d)\n", ret);
		return -1;
	}
	return 0;
}

static void fsck_line(void *arg, const char *problem)
{
	printf("[demo]   fsck: %s\n", problem);
}

static int run_fsck(const char *path)
{
	int ret = udax_fsck(path, fsck_line, NULL);

	if (ret < 0)
		return failed_detail("fsck", path, ret);
	if (ret > 0) {
		fprintf(stderr, "[demo] FAILED: fsck %s: %d problems\n", path,
			ret);
		return -1;
	}
	printf("[demo] fsck: clean\n");
	return 0;
}

/* ------------------------------------------------------------------ */

/* Format, fill, read back, rename, remount, read back again, check. */
static int tour(struct demo *d)
{
	int ret;

	printf("[demo] formatting %s (%llu MiB)\n", d->pool,
	       DEMO_POOL_SIZE >> 20);
	ret = udax_mkfs(d->pool, DEMO_POOL_SIZE, UDAX_MKFS_FORCE);
	if (ret < 0)
		return failed_detail("mkfs", d->pool, ret);
	if (demo_mount(d, d->pool, NULL) || create_files(d))
		return -1;
	printf("[demo] the tree now:\n");
	if (list_tree(d, "/") || verify_all(d) || show_statfs(d) ||
	    rename_text(d) || demo_unmount(d, d->pool))
		return -1;
	printf("[demo] remounting to read everything back from the pool\n");
	if (demo_mount(d, d->pool, NULL) || check_renamed(d) ||
	    verify_all(d) || check_hole(d) || demo_unmount(d, d->pool))
		return -1;
	return run_fsck(d->pool);
}

static const char kept_text[] = "written and fsynced before the power cut\n";
static const char unsynced_text[] = "written but never fsynced\n";

/* Under the shadow backend: one file fsynced, one left without fsync. */
static int crash_writes(struct demo *d)
{
	struct demo_file kept = { "/crash/kept", (unsigned char *)kept_text,
				  sizeof(kept_text) - 1, false };
	const char *path = "/crash/unsynced";
	ssize_t n;
	int fd, ret;

	ret = udax_mkdir(d->fs, "/crash", 0755);
	if (ret < 0)
		return failed("mkdir", "/crash", ret);
	if (write_file(d, &kept))
		return -1;
	fd = udax_open(d->fs, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("create", path, fd);
	n = udax_pwrite(d->fs, fd, unsynced_text, sizeof(unsynced_text) - 1,
			0);
	if (n != (ssize_t)sizeof(unsynced_text) - 1)
		return failed("write", path, n < 0 ? (int)n : -EIO);
	/* Left open and unsynced on purpose; unmount closes it. */
	printf("[demo] wrote %s and did not fsync it\n", path);
	return 0;
}

/* What does the crash image say about the file that was never synced? */
static int report_unsynced(struct demo *d)
{
	const char *path = "/crash/unsynced";
	char buf[sizeof(unsynced_text)];
	struct stat st;
	ssize_t n;
	int fd, ret;

	ret = udax_stat(d->fs, path, &st);
	if (ret == -ENOENT) {
		printf("[demo] %s did not survive the power cut\n", path);
		return 0;
	}
	if (ret < 0)
		return failed("stat", path, ret);
	fd = udax_open(d->fs, path, O_RDONLY, 0);
	if (fd < 0)
		return failed("open", path, fd);
	n = udax_pread(d->fs, fd, buf, sizeof(buf), 0);
	udax_close(d->fs, fd);
	if (n < 0)
		return failed("read", path, (int)n);
	printf("[demo] %s survived too, %s: udax data is persistent when "
	       "pwrite returns, and creating a file commits at once\n", path,
	       n == (ssize_t)sizeof(unsynced_text) - 1 &&
	       !memcmp(buf, unsynced_text, n) ? "intact" : "but changed");
	return 0;
}

/* Save what a power cut would leave, then mount and check that image. */
static int crash_tour(struct demo *d)
{
	int ret;

	printf("[demo] crash test: the shadow backend keeps a second image "
	       "that only flushed and fenced stores reach\n");
	if (demo_mount(d, d->pool, "shadow") || crash_writes(d))
		return -1;
	ret = udax_shadow_save(d->fs, d->crash);
	if (ret < 0)
		return failed("shadow_save", d->crash, ret);
	printf("[demo] power cut after %" PRIu64 " fences: saved the "
	       "persisted image to %s\n", udax_shadow_fences(d->fs), d->crash);
	if (demo_unmount(d, d->pool))
		return -1;
	printf("[demo] mounting the crash image (this replays the journal)\n");
	if (demo_mount(d, d->crash, NULL) ||
	    verify_file(d, "/crash/kept", (const unsigned char *)kept_text,
			sizeof(kept_text) - 1) ||
	    report_unsynced(d) || demo_unmount(d, d->crash))
		return -1;
	return run_fsck(d->crash);
}

int udax_demo(const char *pool)
{
	struct demo d = { .pool = pool && *pool ? pool : DEMO_DEFAULT_POOL };
	int ret = -1, i;

	if (asprintf(&d.crash, "%s.crash", d.pool) < 0) {
		d.crash = NULL;
		failed("allocate", "crash path", -ENOMEM);
		goto out;
	}
	if (make_contents(&d) == 0 && tour(&d) == 0 && crash_tour(&d) == 0 &&
	    demo_race(d.pool) == 0)
		ret = 0;
out:
	if (d.fs)
		udax_unmount(d.fs);
	if (d.crash) {
		unlink(d.crash);
		free(d.crash);
	}
	for (i = 0; i < NFILES; i++)
		free(d.files[i].data);
	if (ret == 0)
		printf("[demo] all done; look around with: udax ls %s /data\n",
		       d.pool);
	return ret ? 1 : 0;
}
