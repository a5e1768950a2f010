/*
 * test_api.c - the file API: open flags, read/write/pread/pwrite,
 * lseek (SEEK_DATA/SEEK_HOLE), ftruncate, fallocate, fstat, fsync, and
 * the errno each bad input gets.
 */
#include "t.h"

#include <linux/falloc.h>
#include <sys/wait.h>

static const char *pool_of(udax_fs *fs)
{
	(void)fs;
	return NULL;
}

static void test_create_write_read(void)
{
	udax_fs *fs = t_fresh("cwr", 16, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/a", O_RDWR | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	char buf[10000], out[10000];
	t_fill(buf, sizeof(buf), 1);
	CHECK_EQ(udax_write(fs, fd, buf, sizeof(buf)), sizeof(buf));
	CHECK_EQ(udax_lseek(fs, fd, 0, SEEK_CUR), sizeof(buf));
	CHECK_EQ(udax_lseek(fs, fd, 0, SEEK_SET), 0);
	CHECK_EQ(udax_read(fs, fd, out, sizeof(out)), sizeof(out));
	CHECK(memcmp(buf, out, sizeof(buf)) == 0);
	CHECK_EQ(udax_read(fs, fd, out, 10), 0); /* EOF */
	CHECK_EQ(udax_pread(fs, fd, out, 100, 9950), 50);
	CHECK(memcmp(out, buf + 9950, 50) == 0);
	struct stat st;
	CHECK_EQ(udax_fstat(fs, fd, &st), 0);
	CHECK_EQ(st.st_size, 10000);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0644);
	CHECK_EQ(st.st_blocks, 3 * 8);
	CHECK_EQ(udax_fsync(fs, fd), 0);
	CHECK_EQ(udax_fdatasync(fs, fd), 0);
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_close(fs, fd), -EBADF);
	udax_unmount(fs);
	(void)pool_of;
}

static void test_open_flags(void)
{
	udax_fs *fs = t_fresh("flags", 16, NULL);
	REQUIRE(fs);
	CHECK_EQ(udax_open(fs, "/nope", O_RDONLY, 0), -ENOENT);
	int fd = udax_open(fs, "/f", O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(udax_open(fs, "/f", O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);
	CHECK_EQ(udax_pwrite(fs, fd, "hello", 5, 0), 5);
	char b[8];
	CHECK_EQ(udax_pread(fs, fd, b, 5, 0), -EBADF); /* write-only */
	udax_close(fs, fd);
	fd = udax_open(fs, "/f", O_RDONLY, 0);
	CHECK_EQ(udax_pwrite(fs, fd, "x", 1, 0), -EBADF);
	CHECK_EQ(udax_ftruncate(fs, fd, 0), -EINVAL);
	udax_close(fs, fd);
	fd = udax_open(fs, "/f", O_RDWR | O_TRUNC, 0);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_blocks, 0);
	udax_close(fs, fd);
	/* O_APPEND */
	fd = udax_open(fs, "/f", O_WRONLY | O_APPEND, 0);
	CHECK_EQ(udax_write(fs, fd, "ab", 2), 2);
	CHECK_EQ(udax_pwrite(fs, fd, "cd", 2, 0), 2); /* appends anyway, as Linux */
	udax_close(fs, fd);
	fd = udax_open(fs, "/f", O_RDONLY, 0);
	CHECK_EQ(udax_pread(fs, fd, b, 8, 0), 4);
	CHECK(memcmp(b, "abcd", 4) == 0);
	udax_close(fs, fd);
	/* bad flags and modes */
	CHECK_EQ(udax_open(fs, "/f", O_RDWR | O_WRONLY | O_RDONLY | 3, 0), -EINVAL);
	CHECK_EQ(udax_open(fs, "/f", O_RDONLY | O_ASYNC, 0), -EINVAL);
	CHECK_EQ(udax_open(fs, "/", O_RDWR, 0), -EISDIR);
	CHECK_EQ(udax_open(fs, "/f", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	CHECK_EQ(udax_open(fs, "/f/", O_RDONLY, 0), -ENOTDIR);
	CHECK_EQ(udax_open(fs, "/f/x", O_RDONLY | O_CREAT, 0644), -ENOTDIR);
	CHECK_EQ(udax_open(fs, "/missing/x", O_RDWR | O_CREAT, 0644), -ENOENT);
	CHECK_EQ(udax_open(fs, "", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(udax_open(fs, "/..", O_RDONLY, 0), -EINVAL);
	CHECK_EQ(udax_open(fs, "/a/../../b", O_RDONLY, 0), -EINVAL);
	char longname[300];
	memset(longname, 'n', sizeof(longname));
	longname[0] = '/';
	longname[299] = 0;
	CHECK_EQ(udax_open(fs, longname, O_RDWR | O_CREAT, 0644), -ENAMETOOLONG);
	longname[256] = 0; /* 255-byte name: fine */
	fd = udax_open(fs, longname, O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	udax_close(fs, fd);
	char *huge = malloc(UDAX_PATH_MAX + 10);
	for (int i = 0; i < UDAX_PATH_MAX + 9; i++)
		huge[i] = i % 2 ? 'a' : '/';
	huge[UDAX_PATH_MAX + 9] = 0;
	CHECK_EQ(udax_open(fs, huge, O_RDONLY, 0), -ENAMETOOLONG);
	free(huge);
	/* relative and dotted paths resolve from the root */
	fd = udax_open(fs, "./f", O_RDONLY, 0);
	CHECK(fd >= 0);
	udax_close(fs, fd);
	CHECK_EQ(udax_close(fs, 12345), -EBADF);
	CHECK_EQ(udax_close(fs, -1), -EBADF);
	udax_unmount(fs);
}

static void test_offsets(void)
{
	udax_fs *fs = t_fresh("offs", 16, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/o", O_RDWR | O_CREAT, 0644);
	char b[4] = "abc";
	CHECK_EQ(udax_pwrite(fs, fd, b, 3, -1), -EINVAL);
	CHECK_EQ(udax_pread(fs, fd, b, 3, -5), -EINVAL);
	CHECK_EQ(udax_pwrite(fs, fd, b, 3, (off_t)UDAX_MAX_FILE_SIZE), -EFBIG);
	CHECK_EQ(udax_pwrite(fs, fd, b, 3, INT64_MAX), -EFBIG);
	CHECK_EQ(udax_pwrite(fs, fd, b, 3, (off_t)UDAX_MAX_FILE_SIZE - 2), 2); /* clipped */
	CHECK_EQ(udax_lseek(fs, fd, -1, SEEK_SET), -EINVAL);
	CHECK_EQ(udax_lseek(fs, fd, 0, 99), -EINVAL);
	CHECK_EQ(udax_lseek(fs, fd, INT64_MAX, SEEK_END), -EINVAL);
	CHECK_EQ(udax_ftruncate(fs, fd, -1), -EINVAL);
	CHECK_EQ(udax_ftruncate(fs, fd, (off_t)UDAX_MAX_FILE_SIZE + 1), -EFBIG);
	CHECK_EQ(udax_pwrite(fs, fd, b, 0, 0), 0);
	CHECK_EQ(udax_pwrite(fs, 77, b, 1, 0), -EBADF);
	CHECK_EQ(udax_pread(fs, 77, b, 1, 0), -EBADF);
	udax_close(fs, fd);
	udax_unmount(fs);
}

static void test_holes_and_seek(void)
{
	udax_fs *fs = t_fresh("holes", 32, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/s", O_RDWR | O_CREAT, 0644);
	char b[4096];
	t_fill(b, sizeof(b), 7);
	/* data at [1M, 1M+4K) and [3M, 3M+4K); size 4M */
	CHECK_EQ(udax_pwrite(fs, fd, b, 4096, 1 << 20), 4096);
	CHECK_EQ(udax_pwrite(fs, fd, b, 4096, 3 << 20), 4096);
	CHECK_EQ(udax_ftruncate(fs, fd, 4 << 20), 0);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_size, 4 << 20);
	CHECK_EQ(st.st_blocks, 2 * 8);
	CHECK_EQ(udax_lseek(fs, fd, 0, SEEK_DATA), 1 << 20);
	CHECK_EQ(udax_lseek(fs, fd, 0, SEEK_HOLE), 0);
	CHECK_EQ(udax_lseek(fs, fd, 1 << 20, SEEK_HOLE), (1 << 20) + 4096);
	CHECK_EQ(udax_lseek(fs, fd, (1 << 20) + 4096, SEEK_DATA), 3 << 20);
	CHECK_EQ(udax_lseek(fs, fd, (3 << 20) + 10, SEEK_DATA), (3 << 20) + 10);
	CHECK_EQ(udax_lseek(fs, fd, (3 << 20) + 10, SEEK_HOLE), (3 << 20) + 4096);
	CHECK_EQ(udax_lseek(fs, fd, (3 << 20) + 4096, SEEK_DATA), -ENXIO);
	CHECK_EQ(udax_lseek(fs, fd, 4 << 20, SEEK_HOLE), -ENXIO);
	CHECK_EQ(udax_lseek(fs, fd, -1, SEEK_DATA), -ENXIO);
	/* holes read as zeros */
	char z[8192];
	memset(z, 1, sizeof(z));
	CHECK_EQ(udax_pread(fs, fd, z, sizeof(z), (1 << 20) - 4096), 8192);
	for (int i = 0; i < 4096; i++)
		if (z[i]) { CHECK(!"hole not zero"); break; }
	CHECK(memcmp(z + 4096, b, 4096) == 0);
	udax_close(fs, fd);
	udax_unmount(fs);
}

static void test_truncate(void)
{
	udax_fs *fs = t_fresh("trunc", 16, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/t", O_RDWR | O_CREAT, 0644);
	char b[10000], out[10000];
	t_fill(b, sizeof(b), 3);
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	struct udax_statfs sf0, sf1;
	udax_statfs(fs, &sf0);
	CHECK_EQ(udax_ftruncate(fs, fd, 5000), 0);
	udax_statfs(fs, &sf1);
	CHECK_EQ(sf1.free_blocks, sf0.free_blocks + 1);
	/* growing again must show zeros past the old end, not stale data */
	CHECK_EQ(udax_ftruncate(fs, fd, 10000), 0);
	CHECK_EQ(udax_pread(fs, fd, out, sizeof(out), 0), 10000);
	CHECK(memcmp(out, b, 5000) == 0);
	int clean = 1;
	for (int i = 5000; i < 10000; i++)
		clean &= out[i] == 0;
	CHECK(clean);
	/* write past EOF after shrinking: the gap is zeros too */
	CHECK_EQ(udax_ftruncate(fs, fd, 100), 0);
	CHECK_EQ(udax_pwrite(fs, fd, "Z", 1, 3000), 1);
	CHECK_EQ(udax_pread(fs, fd, out, 4000, 0), 3001);
	clean = 1;
	for (int i = 100; i < 3000; i++)
		clean &= out[i] == 0;
	CHECK(clean);
	CHECK_EQ(out[3000], 'Z');
	CHECK_EQ(udax_ftruncate(fs, fd, 0), 0);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, 0);
	udax_close(fs, fd);
	udax_unmount(fs);
}

static void test_fallocate(void)
{
	udax_fs *fs = t_fresh("falloc", 32, NULL);
	REQUIRE(fs);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	struct stat st;
	CHECK_EQ(udax_fallocate(fs, fd, 0, 0, 1 << 20), 0);
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK_EQ(st.st_blocks, (1 << 20) / 512);
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_KEEP_SIZE, 1 << 20, 1 << 20), 0);
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK_EQ(st.st_blocks, (2 << 20) / 512);
	/* data written, then punched: zeros and fewer blocks */
	char b[16384], out[16384];
	t_fill(b, sizeof(b), 5);
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 100, 10000), 0);
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, (2 << 20) / 512 - 8); /* only block 1 fully inside */
	udax_pread(fs, fd, out, sizeof(out), 0);
	CHECK(memcmp(out, b, 100) == 0);
	int zero = 1;
	for (int i = 100; i < 10100; i++)
		zero &= out[i] == 0;
	CHECK(zero);
	CHECK(memcmp(out + 10100, b + 10100, sizeof(b) - 10100) == 0);
	/* zero range keeps allocation */
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	udax_fstat(fs, fd, &st);
	long long before = st.st_blocks;
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_ZERO_RANGE, 10, 9000), 0);
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, before);
	udax_pread(fs, fd, out, sizeof(out), 0);
	zero = 1;
	for (int i = 10; i < 9010; i++)
		zero &= out[i] == 0;
	CHECK(zero);
	CHECK(memcmp(out + 9010, b + 9010, 1000) == 0);
	/* zero range past EOF grows the file */
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_ZERO_RANGE, 3 << 20, 4096), 0);
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_size, (3 << 20) + 4096);
	/* errors */
	CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE, 0, 10), -EOPNOTSUPP);
	CHECK_EQ(udax_fallocate(fs, fd, 0x40, 0, 10), -EOPNOTSUPP);
	CHECK_EQ(udax_fallocate(fs, fd, 0, -1, 10), -EINVAL);
	CHECK_EQ(udax_fallocate(fs, fd, 0, 0, 0), -EINVAL);
	CHECK_EQ(udax_fallocate(fs, fd, 0, (off_t)UDAX_MAX_FILE_SIZE, 10), -EFBIG);
	CHECK_EQ(udax_fallocate(fs, 99, 0, 0, 10), -EBADF);
	udax_close(fs, fd);
	fd = udax_open(fs, "/f", O_RDONLY, 0);
	CHECK_EQ(udax_fallocate(fs, fd, 0, 0, 10), -EBADF);
	udax_close(fs, fd);
	udax_unmount(fs);
}

static void test_enospc(void)
{
	const char *p = t_pool("enospc");
	REQUIRE(udax_mkfs(p, 8 << 20, 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	int fd = udax_open(fs, "/keep", O_RDWR | O_CREAT, 0644);
	char b[65536];
	t_fill(b, sizeof(b), 11);
	CHECK_EQ(udax_pwrite(fs, fd, b, sizeof(b), 0), sizeof(b));
	udax_close(fs, fd);
	fd = udax_open(fs, "/big", O_RDWR | O_CREAT, 0644);
	ssize_t r;
	off_t off = 0;
	while ((r = udax_pwrite(fs, fd, b, sizeof(b), off)) > 0)
		off += r;
	CHECK_EQ(r, -ENOSPC);
	CHECK(off > (4 << 20));
	/* a second file cannot grow either, and creating dirs may fail */
	int fd2 = udax_open(fs, "/more", O_RDWR | O_CREAT, 0644);
	if (fd2 >= 0) {
		CHECK_EQ(udax_pwrite(fs, fd2, b, 4096, 0), -ENOSPC);
		udax_close(fs, fd2);
	}
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	char out[65536];
	fd = udax_open(fs, "/keep", O_RDONLY, 0);
	CHECK_EQ(udax_pread(fs, fd, out, sizeof(out), 0), sizeof(out));
	CHECK(memcmp(out, b, sizeof(b)) == 0);
	udax_close(fs, fd);
	/* freeing space makes it usable again */
	CHECK_EQ(udax_unlink(fs, "/big"), 0);
	fd = udax_open(fs, "/more", O_RDWR | O_CREAT, 0644);
	CHECK_EQ(udax_pwrite(fs, fd, b, sizeof(b), 0), sizeof(b));
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_unlink_while_open(void)
{
	const char *p = t_pool("orphan");
	REQUIRE(udax_mkfs(p, 16 << 20, 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	struct udax_statfs s0, s1, s2;
	/* the root's first directory block exists before we measure */
	udax_close(fs, udax_open(fs, "/other", O_RDWR | O_CREAT, 0644));
	udax_statfs(fs, &s0);
	int fd = udax_open(fs, "/gone", O_RDWR | O_CREAT, 0644);
	char b[8192] = "still here";
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	CHECK_EQ(udax_unlink(fs, "/gone"), 0);
	CHECK_EQ(udax_open(fs, "/gone", O_RDONLY, 0), -ENOENT);
	char out[16];
	CHECK_EQ(udax_pread(fs, fd, out, 10, 0), 10);
	CHECK(memcmp(out, "still here", 10) == 0);
	udax_statfs(fs, &s1);
	CHECK_EQ(s1.free_blocks, s0.free_blocks - 3); /* 2 data + 1 extent leaf */
	udax_close(fs, fd);
	udax_statfs(fs, &s2);
	CHECK_EQ(s2.free_blocks, s0.free_blocks);
	CHECK_EQ(s2.free_inodes, s0.free_inodes);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_persist_across_remount(void)
{
	const char *p = t_pool("remount");
	REQUIRE(udax_mkfs(p, 128 << 20, 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	size_t n = 64 << 20;
	char *b = malloc(n), *out = malloc(n);
	t_fill(b, n, 42);
	int fd = udax_open(fs, "/big", O_RDWR | O_CREAT, 0644);
	for (size_t off = 0; off < n; off += 1 << 20)
		CHECK_EQ(udax_pwrite(fs, fd, b + off, 1 << 20, (off_t)off), 1 << 20);
	udax_close(fs, fd);
	udax_unmount(fs);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	fd = udax_open(fs, "/big", O_RDONLY, 0);
	CHECK_EQ(udax_pread(fs, fd, out, n, 0), (ssize_t)n);
	CHECK(memcmp(b, out, n) == 0);
	struct stat st;
	udax_fstat(fs, fd, &st);
	CHECK_EQ(st.st_blocks, n / 512);
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	free(b);
	free(out);
	unlink(p);
}

/* A shrink commits the size first and frees blocks after; a crash in
 * between leaves blocks past EOF.  Growing the file again must show
 * zeros there, never the old data (found by the image fuzzer). */
static char cut_img[300];
static uint64_t cut_at;

static void cut_hook(udax_fs *fs, uint64_t fence, void *arg)
{
	(void)arg;
	if (fence == cut_at)
		udax_shadow_save(fs, cut_img);
}

static void test_grow_after_crashed_truncate(void)
{
	const char *p = t_pool("growcrash");
	snprintf(cut_img, sizeof(cut_img), "%s.img", p);
	REQUIRE(udax_mkfs(p, 16 << 20, 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	char b[8192];
	memset(b, 'S', sizeof(b));
	udax_pwrite(fs, fd, b, sizeof(b), 0);
	udax_close(fs, fd);
	udax_unmount(fs);
	int tried = 0;
	char work[300], cmd[700];
	snprintf(work, sizeof(work), "%s.work", p);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", p, work);
	for (cut_at = 1; cut_at < 40; cut_at++) {
		unlink(cut_img);
		/* the shadow backend works on the pool file: start each cut
		 * from a fresh copy */
		REQUIRE(system(cmd) == 0);
		REQUIRE(udax_mount(work, "shadow", &fs) == 0);
		uint64_t base = udax_shadow_fences(fs);
		fd = udax_open(fs, "/f", O_RDWR, 0);
		cut_at += base;
		udax_shadow_set_hook(fs, cut_hook, NULL);
		udax_ftruncate(fs, fd, 0);
		udax_shadow_set_hook(fs, NULL, NULL);
		cut_at -= base;
		udax_close(fs, fd);
		udax_unmount(fs);
		if (access(cut_img, F_OK) != 0)
			break;                     /* past the last fence of the truncate */
		tried++;
		udax_fs *c;
		REQUIRE(udax_mount(cut_img, NULL, &c) == 0);
		int cf = udax_open(c, "/f", O_RDWR, 0);
		struct stat st;
		udax_fstat(c, cf, &st);
		int truncated = st.st_size == 0;
		CHECK(truncated || st.st_size == (off_t)sizeof(b));
		CHECK_EQ(udax_ftruncate(c, cf, sizeof(b)), 0);
		char out[8192];
		CHECK_EQ(udax_pread(c, cf, out, sizeof(out), 0), (ssize_t)sizeof(out));
		/* the truncate never happened (all 'S') or it did (zeros) */
		int all_s = 1, all_z = 1;
		for (size_t i = 0; i < sizeof(out); i++) {
			all_s &= out[i] == 'S';
			all_z &= out[i] == 0;
		}
		CHECK(truncated ? all_z : all_s);
		udax_close(c, cf);
		udax_unmount(c);
		CHECK_EQ(t_fsck(cut_img), 0);
	}
	CHECK(tried >= 4);
	unlink(cut_img);
	unlink(work);
	unlink(p);
}

/* Mount @pool with @opts in a child process; its udax_mount() result. */
static int mount_in_child(const char *pool, const char *opts)
{
	pid_t pid = fork();

	if (pid == 0) {
		udax_fs *fs;
		int err = udax_mount(pool, opts, &fs);
		if (!err)
			udax_unmount(fs);
		_exit(err == -EBUSY ? 1 : err ? 2 : 0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -EIO;
	return WEXITSTATUS(status) == 1 ? -EBUSY : WEXITSTATUS(status) ? -EIO : 0;
}

/* Mount @pool in a child that reads /f and checks it holds @want. */
static int read_in_child(const char *pool, const char *opts, const char *want)
{
	pid_t pid = fork();

	if (pid == 0) {
		udax_fs *fs;
		char buf[16] = "";
		int err = udax_mount(pool, opts, &fs);
		if (err)
			_exit(2);
		int fd = udax_open(fs, "/f", O_RDONLY, 0);
		ssize_t n = fd >= 0 ? udax_pread(fs, fd, buf, sizeof(buf) - 1, 0) : -1;
		udax_unmount(fs);
		_exit(n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0 ? 0 : 3);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -EIO;
	return WEXITSTATUS(status);
}

/* Any number of processes mount a pool, read-write or read-only, and
 * see each other's writes; what must be alone (mkfs --force, fsck
 * --repair) refuses while anyone has it mounted. */
static void test_other_process(void)
{
	const char *pool = t_pool("procs");
	udax_fs *fs;

	REQUIRE(udax_mkfs(pool, 8ull << 20, 0) == 0);
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	CHECK_EQ(udax_pwrite(fs, fd, "live", 4, 0), 4);
	CHECK_EQ(mount_in_child(pool, NULL), 0);
	CHECK_EQ(mount_in_child(pool, "ro"), 0);
	CHECK_EQ(read_in_child(pool, NULL, "live"), 0);
	CHECK_EQ(read_in_child(pool, "ro", "live"), 0);
	CHECK_EQ(udax_pwrite(fs, fd, "LIVE2", 5, 0), 5);
	CHECK_EQ(read_in_child(pool, "ro", "LIVE2"), 0);
	CHECK_EQ(udax_mkfs(pool, 8ull << 20, UDAX_MKFS_FORCE), -EBUSY);
	CHECK_EQ(udax_fsck_ex(pool, UDAX_FSCK_REPAIR, NULL, NULL, NULL), -EBUSY);
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_unmount(fs), 0);

	REQUIRE(udax_mount(pool, "ro", &fs) == 0);
	CHECK_EQ(mount_in_child(pool, "ro"), 0);
	CHECK_EQ(mount_in_child(pool, NULL), 0);
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(mount_in_child(pool, NULL), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

int main(void)
{
	RUN(test_other_process);
	RUN(test_create_write_read);
	RUN(test_open_flags);
	RUN(test_offsets);
	RUN(test_holes_and_seek);
	RUN(test_truncate);
	RUN(test_fallocate);
	RUN(test_enospc);
	RUN(test_unlink_while_open);
	RUN(test_persist_across_remount);
	RUN(test_grow_after_crashed_truncate);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -f /dev/shm/udax-test-%d-*", (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return t_summary();
}
