/*
 * test_namespace.c - the namespace API against POSIX expectations:
 * mkdir, rmdir, unlink, rename (with NOREPLACE and EXCHANGE), directory
 * streams, name and path limits, and lexical "." / "..".
 *
 * Every test that changes a pool unmounts it, runs fsck (which must
 * find nothing) and mounts it again to check that what it saw before
 * the unmount persisted.
 */
#include "t.h"

#include <dirent.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* mkfs + mount a fresh pool of @mb MiB; its path is copied to @path. */
static udax_fs *fresh(const char *tag, unsigned mb, char path[256])
{
	udax_fs *fs = NULL;

	snprintf(path, 256, "%s", t_pool(tag));
	if (udax_mkfs(path, (uint64_t)mb << 20, 0) != 0)
		return NULL;
	if (udax_mount(path, NULL, &fs) != 0)
		return NULL;
	return fs;
}

/* Unmount, check fsck finds the pool clean, mount again (NULL on error). */
static udax_fs *remount(udax_fs *fs, const char *pool)
{
	udax_fs *nfs = NULL;
	int problems;

	CHECK_EQ(udax_unmount(fs), 0);
	problems = t_fsck(pool);
	CHECK_EQ(problems, 0);
	if (udax_mount(pool, NULL, &nfs) != 0)
		return NULL;
	return nfs;
}

/* Unmount for good, fsck, remove the pool. */
static void finish(udax_fs *fs, const char *pool)
{
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

/* Create a regular file holding @data (may be NULL for an empty file). */
static int mkfile(udax_fs *fs, const char *path, const void *data, size_t len)
{
	int fd = udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return fd;
	if (len && udax_pwrite(fs, fd, data, len, 0) != (ssize_t)len) {
		udax_close(fs, fd);
		return -EIO;
	}
	return udax_close(fs, fd);
}

/* 1 if @path is a regular file whose contents are exactly @data. */
static int has_content(udax_fs *fs, const char *path, const void *data, size_t len)
{
	char *buf = malloc(len + 16);
	struct stat st;
	int fd, ok = 0;

	if (!buf)
		return 0;
	fd = udax_open(fs, path, O_RDONLY, 0);
	if (fd >= 0) {
		ok = udax_fstat(fs, fd, &st) == 0 && S_ISREG(st.st_mode) &&
		     st.st_size == (off_t)len &&
		     udax_pread(fs, fd, buf, len + 16, 0) == (ssize_t)len &&
		     memcmp(buf, data, len) == 0;
		udax_close(fs, fd);
	}
	free(buf);
	return ok;
}

static int has_text(udax_fs *fs, const char *path, const char *text)
{
	return has_content(fs, path, text, strlen(text));
}

static long long nlink_of(udax_fs *fs, const char *path)
{
	struct stat st;
	int r = udax_stat(fs, path, &st);

	return r < 0 ? r : (long long)st.st_nlink;
}

static long long ino_of(udax_fs *fs, const char *path)
{
	struct stat st;
	int r = udax_stat(fs, path, &st);

	return r < 0 ? r : (long long)st.st_ino;
}

static int is_dir(udax_fs *fs, const char *path)
{
	struct stat st;

	return udax_stat(fs, path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_reg(udax_fs *fs, const char *path)
{
	struct stat st;

	return udax_stat(fs, path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Check that directory @dir lists exactly @want (n names; a name that
 * ends in '/' must be a directory, the '/' not being part of the name,
 * any other a regular file), in strcmp order, without "." or "..", and
 * that each entry's d_ino is what stat reports for it.  Returns 1 if
 * it all matched (failures are reported through CHECK).
 */
static int check_listing(udax_fs *fs, const char *dir, const char *const *want, size_t n)
{
	struct udax_dirent ent;
	udax_dir *d = NULL;
	char **exp = malloc((n ? n : 1) * sizeof(*exp));
	size_t i, got = 0, bad_name = 0, bad_type = 0, bad_ino = 0, bad_order = 0;
	char prev[UDAX_NAME_MAX + 1] = "";
	char *path = malloc(UDAX_PATH_MAX + 1);
	int r, ok = 1;

	if (!exp || !path) {
		free(exp);
		free(path);
		CHECK(!"out of memory");
		return 0;
	}
	for (i = 0; i < n; i++)
		exp[i] = (char *)want[i];
	qsort(exp, n, sizeof(*exp), cmp_str);
	r = udax_opendir(fs, dir, &d);
	CHECK_EQ(r, 0);
	if (r != 0) {
		free(exp);
		free(path);
		return 0;
	}
	while ((r = udax_readdir(d, &ent)) == 1) {
		size_t len = strlen(ent.d_name);
		int want_dir = 0;

		if (got < n) {
			const char *e = exp[got];
			size_t elen = strlen(e);

			want_dir = elen && e[elen - 1] == '/';
			if (want_dir)
				elen--;
			if (len != elen || memcmp(ent.d_name, e, elen) != 0) {
				if (!bad_name++)
					fprintf(stderr, "    %s: entry %zu is \"%s\", expected \"%s\"\n",
					        dir, got, ent.d_name, e);
			}
		}
		if (!strcmp(ent.d_name, ".") || !strcmp(ent.d_name, ".."))
			bad_name++;
		if (got && strcmp(prev, ent.d_name) >= 0)
			bad_order++;
		snprintf(prev, sizeof(prev), "%s", ent.d_name);
		if (got < n && ent.d_type != (want_dir ? DT_DIR : DT_REG)) {
			if (!bad_type++)
				fprintf(stderr, "    %s: \"%s\" has d_type %d, expected %d\n",
				        dir, ent.d_name, ent.d_type, want_dir ? DT_DIR : DT_REG);
		}
		snprintf(path, UDAX_PATH_MAX + 1, "%s%s%s", dir,
		         dir[strlen(dir) - 1] == '/' ? "" : "/", ent.d_name);
		if ((long long)ent.d_ino != ino_of(fs, path))
			bad_ino++;
		got++;
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(udax_readdir(d, &ent), 0); /* stays at the end */
	CHECK_EQ(udax_closedir(d), 0);
	if (got != n) {
		fprintf(stderr, "    %s: %zu entries, expected %zu\n", dir, got, n);
		ok = 0;
	}
	CHECK_EQ(got, n);
	CHECK_EQ(bad_name, 0);
	CHECK_EQ(bad_type, 0);
	CHECK_EQ(bad_ino, 0);
	CHECK_EQ(bad_order, 0);
	free(exp);
	free(path);
	return ok && !bad_name && !bad_type && !bad_ino && !bad_order;
}

/* check_listing, naming the caller's line when the listing is wrong */
#define CHECK_LISTING(fs, dir, want, n) do { \
	if (!check_listing(fs, dir, want, n)) \
		fprintf(stderr, "    (listing of %s checked at %s:%d)\n", dir, __FILE__, __LINE__); \
	} while (0)
#define LISTING(fs, dir, ...) do { \
	static const char *const _w[] = { __VA_ARGS__ }; \
	CHECK_LISTING(fs, dir, _w, sizeof(_w) / sizeof(_w[0])); } while (0)
#define EMPTY_LISTING(fs, dir) CHECK_LISTING(fs, dir, NULL, 0)

/* snprintf into an array, checking nothing was cut off. */
#define PATHF(buf, ...) CHECK(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* ------------------------------------------------------------------ */
/* mkdir                                                              */
/* ------------------------------------------------------------------ */

static void test_mkdir(void)
{
	char pool[256];
	udax_fs *fs = fresh("mkdir", 16, pool);
	struct stat st;

	REQUIRE(fs);
	CHECK_EQ(udax_stat(fs, "/", &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_nlink, 2);
	EMPTY_LISTING(fs, "/");

	CHECK_EQ(udax_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(udax_stat(fs, "/a", &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(nlink_of(fs, "/"), 3);

	/* EEXIST: an existing dir, the root, an existing file */
	CHECK_EQ(udax_mkdir(fs, "/a", 0755), -EEXIST);
	CHECK_EQ(udax_mkdir(fs, "/a/", 0755), -EEXIST);
	CHECK_EQ(udax_mkdir(fs, "/", 0755), -EEXIST);
	CHECK_EQ(mkfile(fs, "/f", "file", 4), 0);
	CHECK_EQ(udax_mkdir(fs, "/f", 0755), -EEXIST);
	CHECK_EQ(nlink_of(fs, "/"), 3); /* failures changed nothing */

	/* ENOENT: a missing parent, at any depth */
	CHECK_EQ(udax_mkdir(fs, "/missing/x", 0755), -ENOENT);
	CHECK_EQ(udax_mkdir(fs, "/a/missing/x", 0755), -ENOENT);
	CHECK_EQ(udax_stat(fs, "/missing", &st), -ENOENT);

	/* ENOTDIR: a parent component that is a file */
	CHECK_EQ(udax_mkdir(fs, "/f/x", 0755), -ENOTDIR);
	CHECK_EQ(udax_mkdir(fs, "/f/x/y", 0755), -ENOTDIR);
	CHECK(has_text(fs, "/f", "file"));

	/* mode bits, and the parent's nlink rises by one per subdirectory */
	CHECK_EQ(udax_mkdir(fs, "/a/b", 0700), 0);
	CHECK_EQ(nlink_of(fs, "/a"), 3);
	CHECK_EQ(udax_mkdir(fs, "/a/c", 0750), 0);
	CHECK_EQ(nlink_of(fs, "/a"), 4);
	CHECK_EQ(udax_mkdir(fs, "/a/sticky", 01777), 0);
	CHECK_EQ(nlink_of(fs, "/a"), 5);
	CHECK_EQ(udax_mkdir(fs, "/a/sgid", 02755), 0);
	CHECK_EQ(nlink_of(fs, "/a"), 6);
	CHECK_EQ(nlink_of(fs, "/"), 3); /* grandchildren do not count */
	CHECK_EQ(udax_stat(fs, "/a/b", &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0700);
	CHECK_EQ(udax_stat(fs, "/a/c", &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0750);
	CHECK_EQ(udax_stat(fs, "/a/sticky", &st), 0);
	CHECK_EQ(st.st_mode & 07777, 01777);
	CHECK_EQ(udax_stat(fs, "/a/sgid", &st), 0);
	CHECK_EQ(st.st_mode & 07777, 02755);
	/* a file in a directory does not change its nlink */
	CHECK_EQ(mkfile(fs, "/a/file", NULL, 0), 0);
	CHECK_EQ(nlink_of(fs, "/a"), 6);
	/* a trailing slash on a new directory is fine (POSIX) */
	CHECK_EQ(udax_mkdir(fs, "/t/", 0711), 0);
	CHECK(is_dir(fs, "/t"));
	CHECK_EQ(nlink_of(fs, "/"), 4);

	LISTING(fs, "/", "a/", "f", "t/");
	LISTING(fs, "/a", "b/", "c/", "file", "sgid/", "sticky/");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a/", "f", "t/");
	LISTING(fs, "/a", "b/", "c/", "file", "sgid/", "sticky/");
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/a"), 6);
	CHECK_EQ(nlink_of(fs, "/a/b"), 2);
	CHECK_EQ(nlink_of(fs, "/f"), 1);
	CHECK_EQ(udax_stat(fs, "/a/c", &st), 0);
	CHECK_EQ(st.st_mode, S_IFDIR | 0750);
	CHECK_EQ(udax_stat(fs, "/a/sticky", &st), 0);
	CHECK_EQ(st.st_mode, S_IFDIR | 01777);
	CHECK_EQ(udax_stat(fs, "/t", &st), 0);
	CHECK_EQ(st.st_mode, S_IFDIR | 0711);
	CHECK_EQ(udax_mkdir(fs, "/a/b", 0755), -EEXIST);
	finish(fs, pool);
}

/* ------------------------------------------------------------------ */
/* rmdir and unlink                                                   */
/* ------------------------------------------------------------------ */

static void test_rmdir(void)
{
	char pool[256];
	udax_fs *fs = fresh("rmdir", 16, pool);
	struct udax_statfs s0, s1;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/keep", "k", 1), 0); /* root's dir block exists */
	CHECK_EQ(udax_statfs(fs, &s0), 0);
	CHECK_EQ(udax_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/a/b", 0755), 0);
	CHECK_EQ(mkfile(fs, "/a/b/f", "x", 1), 0);
	CHECK_EQ(mkfile(fs, "/file", "y", 1), 0);
	CHECK_EQ(nlink_of(fs, "/"), 3);

	CHECK_EQ(udax_rmdir(fs, "/a"), -ENOTEMPTY);
	CHECK_EQ(udax_rmdir(fs, "/a/b"), -ENOTEMPTY); /* holds a file */
	CHECK_EQ(udax_rmdir(fs, "/file"), -ENOTDIR);
	CHECK_EQ(udax_rmdir(fs, "/file/"), -ENOTDIR);
	CHECK_EQ(udax_rmdir(fs, "/a/b/f"), -ENOTDIR);
	CHECK_EQ(udax_rmdir(fs, "/"), -EBUSY);
	CHECK_EQ(udax_rmdir(fs, "/missing"), -ENOENT);
	CHECK_EQ(udax_rmdir(fs, "/missing/x"), -ENOENT);
	CHECK_EQ(udax_rmdir(fs, "/file/x"), -ENOTDIR);
	CHECK(is_reg(fs, "/file"));
	CHECK(is_dir(fs, "/a/b"));
	CHECK_EQ(nlink_of(fs, "/a"), 3);

	CHECK_EQ(udax_unlink(fs, "/a/b/f"), 0);
	CHECK_EQ(udax_rmdir(fs, "/a"), -ENOTEMPTY); /* still holds b */
	CHECK_EQ(udax_rmdir(fs, "/a/b/"), 0);      /* trailing slash fine on a dir */
	CHECK_EQ(udax_stat(fs, "/a/b", &(struct stat){0}), -ENOENT);
	CHECK_EQ(nlink_of(fs, "/a"), 2);
	CHECK_EQ(udax_rmdir(fs, "/a/b"), -ENOENT);
	CHECK_EQ(udax_rmdir(fs, "/a"), 0);
	CHECK_EQ(nlink_of(fs, "/"), 2);
	CHECK_EQ(udax_unlink(fs, "/file"), 0);
	LISTING(fs, "/", "keep");
	/* everything created since s0 is gone again, inodes and blocks
	 * (directories keep their blocks only while they exist) */
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK_EQ(s1.free_inodes, s0.free_inodes);
	CHECK_EQ(s1.free_blocks, s0.free_blocks);

	/* a removed directory name can be reused, as a file or dir */
	CHECK_EQ(mkfile(fs, "/a", "now a file", 10), 0);
	CHECK_EQ(udax_mkdir(fs, "/b", 0700), 0);

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a", "b/", "keep");
	CHECK(has_text(fs, "/a", "now a file"));
	CHECK_EQ(nlink_of(fs, "/"), 3);
	CHECK_EQ(udax_rmdir(fs, "/b"), 0);
	CHECK_EQ(nlink_of(fs, "/"), 2);
	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a", "keep");
	CHECK_EQ(nlink_of(fs, "/"), 2);
	finish(fs, pool);
}

static void test_unlink(void)
{
	char pool[256];
	udax_fs *fs = fresh("unlink", 16, pool);
	struct udax_statfs s0, s1;
	char data[3 * 4096];

	REQUIRE(fs);
	t_fill(data, sizeof(data), 21);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(mkfile(fs, "/d/keep", NULL, 0), 0); /* /d's first dir block */
	CHECK_EQ(udax_statfs(fs, &s0), 0);
	CHECK_EQ(mkfile(fs, "/f", data, sizeof(data)), 0);
	CHECK_EQ(mkfile(fs, "/d/g", "g", 1), 0);

	CHECK_EQ(udax_unlink(fs, "/d"), -EISDIR);
	CHECK_EQ(udax_unlink(fs, "/d/"), -EISDIR);
	CHECK_EQ(udax_unlink(fs, "/"), -EISDIR);
	CHECK_EQ(udax_unlink(fs, "/missing"), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/missing/x"), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/d/missing"), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/f/"), -ENOTDIR);   /* trailing slash on a file */
	CHECK_EQ(udax_unlink(fs, "/f/x"), -ENOTDIR);
	CHECK(has_content(fs, "/f", data, sizeof(data)));
	CHECK(is_dir(fs, "/d"));

	CHECK_EQ(udax_unlink(fs, "/f"), 0);
	CHECK_EQ(udax_stat(fs, "/f", &(struct stat){0}), -ENOENT);
	CHECK_EQ(udax_open(fs, "/f", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/f"), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/d/g"), 0);
	LISTING(fs, "/d", "keep");
	/* the files' inodes and blocks (data and extent maps) are free again */
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK_EQ(s1.free_inodes, s0.free_inodes);
	CHECK_EQ(s1.free_blocks, s0.free_blocks);
	CHECK_EQ(nlink_of(fs, "/d"), 2);

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "d/");
	LISTING(fs, "/d", "keep");
	CHECK_EQ(udax_stat(fs, "/f", &(struct stat){0}), -ENOENT);
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK_EQ(s1.free_inodes, s0.free_inodes);
	CHECK_EQ(s1.free_blocks, s0.free_blocks);
	finish(fs, pool);
}

/* ------------------------------------------------------------------ */
/* rename                                                             */
/* ------------------------------------------------------------------ */

static void test_rename_move(void)
{
	char pool[256];
	udax_fs *fs = fresh("mv", 16, pool);
	char data[5000];
	long long ino;

	REQUIRE(fs);
	t_fill(data, sizeof(data), 31);
	CHECK_EQ(mkfile(fs, "/a", data, sizeof(data)), 0);
	CHECK_EQ(udax_mkdir(fs, "/d1", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/d2", 0755), 0);
	ino = ino_of(fs, "/a");

	/* within one directory */
	CHECK_EQ(udax_rename(fs, "/a", "/b", 0), 0);
	CHECK_EQ(udax_stat(fs, "/a", &(struct stat){0}), -ENOENT);
	CHECK_EQ(ino_of(fs, "/b"), ino);
	CHECK(has_content(fs, "/b", data, sizeof(data)));
	CHECK_EQ(nlink_of(fs, "/b"), 1);
	LISTING(fs, "/", "b", "d1/", "d2/");

	/* across directories, keeping or changing the name */
	CHECK_EQ(udax_rename(fs, "/b", "/d1/b", 0), 0);
	CHECK_EQ(udax_rename(fs, "/d1/b", "/d2/c", 0), 0);
	CHECK_EQ(ino_of(fs, "/d2/c"), ino);
	CHECK(has_content(fs, "/d2/c", data, sizeof(data)));
	EMPTY_LISTING(fs, "/d1");
	LISTING(fs, "/d2", "c");
	LISTING(fs, "/", "d1/", "d2/");
	/* files moving do not change directory link counts */
	CHECK_EQ(nlink_of(fs, "/d1"), 2);
	CHECK_EQ(nlink_of(fs, "/d2"), 2);
	CHECK_EQ(nlink_of(fs, "/"), 4);

	/* an empty directory moves within its parent */
	CHECK_EQ(udax_rename(fs, "/d1", "/e1", 0), 0);
	CHECK(is_dir(fs, "/e1"));
	CHECK_EQ(nlink_of(fs, "/"), 4);

	/* an open descriptor follows the file */
	int fd = udax_open(fs, "/d2/c", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(udax_rename(fs, "/d2/c", "/top", 0), 0);
	CHECK_EQ(udax_pwrite(fs, fd, "HEAD", 4, 0), 4);
	CHECK_EQ(udax_close(fs, fd), 0);
	memcpy(data, "HEAD", 4);
	CHECK(has_content(fs, "/top", data, sizeof(data)));

	/* errors leave everything in place */
	CHECK_EQ(udax_rename(fs, "/missing", "/x", 0), -ENOENT);
	CHECK_EQ(udax_rename(fs, "/top", "/missing/x", 0), -ENOENT);
	CHECK_EQ(udax_rename(fs, "/top", "/top/x", 0), -ENOTDIR);
	CHECK_EQ(udax_rename(fs, "/top/", "/x", 0), -ENOTDIR);
	CHECK_EQ(udax_rename(fs, "/top", "/x/", 0), -ENOTDIR);
	LISTING(fs, "/", "d2/", "e1/", "top");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "d2/", "e1/", "top");
	EMPTY_LISTING(fs, "/d2");
	CHECK_EQ(ino_of(fs, "/top"), ino);
	CHECK(has_content(fs, "/top", data, sizeof(data)));
	CHECK_EQ(nlink_of(fs, "/"), 4);
	finish(fs, pool);
}

static void test_rename_replace(void)
{
	char pool[256];
	udax_fs *fs = fresh("mvrepl", 16, pool);
	struct udax_statfs s0, s1, s2;
	char src[3000], big[10 * 4096];
	long long ino;

	REQUIRE(fs);
	t_fill(src, sizeof(src), 41);
	t_fill(big, sizeof(big), 42);
	CHECK_EQ(mkfile(fs, "/src", src, sizeof(src)), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(mkfile(fs, "/d/placeholder", NULL, 0), 0); /* /d's dir block */
	ino = ino_of(fs, "/src");
	CHECK_EQ(udax_statfs(fs, &s0), 0);

	/* the target: a 40 KiB file in another directory */
	CHECK_EQ(mkfile(fs, "/d/dst", big, sizeof(big)), 0);
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK(s1.free_blocks + 10 <= s0.free_blocks);
	CHECK_EQ(s1.free_inodes + 1, s0.free_inodes);

	CHECK_EQ(udax_rename(fs, "/src", "/d/dst", 0), 0);
	CHECK_EQ(udax_stat(fs, "/src", &(struct stat){0}), -ENOENT);
	CHECK_EQ(ino_of(fs, "/d/dst"), ino);
	CHECK(has_content(fs, "/d/dst", src, sizeof(src)));
	CHECK_EQ(nlink_of(fs, "/d/dst"), 1);
	LISTING(fs, "/", "d/");
	LISTING(fs, "/d", "dst", "placeholder");
	/* the old target's inode and blocks are free again */
	CHECK_EQ(udax_statfs(fs, &s2), 0);
	CHECK_EQ(s2.free_blocks, s0.free_blocks);
	CHECK_EQ(s2.free_inodes, s0.free_inodes);

	/* replacing a target that is open: freed at its last close */
	CHECK_EQ(mkfile(fs, "/d/open", big, sizeof(big)), 0);
	int fd = udax_open(fs, "/d/open", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(udax_rename(fs, "/d/placeholder", "/d/open", 0), 0);
	char out[16];
	CHECK_EQ(udax_pread(fs, fd, out, 16, 0), 16);
	CHECK(memcmp(out, big, 16) == 0);
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_statfs(fs, &s2), 0);
	CHECK_EQ(s2.free_blocks, s0.free_blocks);
	CHECK_EQ(s2.free_inodes, s0.free_inodes); /* placeholder lives on as /d/open */
	CHECK(has_content(fs, "/d/open", "", 0));
	LISTING(fs, "/d", "dst", "open");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "d/");
	LISTING(fs, "/d", "dst", "open");
	CHECK(has_content(fs, "/d/dst", src, sizeof(src)));
	CHECK_EQ(udax_statfs(fs, &s2), 0);
	CHECK_EQ(s2.free_blocks, s0.free_blocks);
	CHECK_EQ(s2.free_inodes, s0.free_inodes);
	finish(fs, pool);
}

static void test_rename_flags(void)
{
	char pool[256];
	udax_fs *fs = fresh("mvflags", 16, pool);
	long long ia, ib, id;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/a", "contents of a", 13), 0);
	CHECK_EQ(mkfile(fs, "/b", "B!", 2), 0);
	CHECK_EQ(udax_mkdir(fs, "/dir", 0750), 0);
	CHECK_EQ(mkfile(fs, "/dir/inner", "inner", 5), 0);
	ia = ino_of(fs, "/a");
	ib = ino_of(fs, "/b");
	id = ino_of(fs, "/dir");

	/* NOREPLACE: refuses an existing target, moves to a new one */
	CHECK_EQ(udax_rename(fs, "/a", "/b", UDAX_RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ(udax_rename(fs, "/a", "/dir", UDAX_RENAME_NOREPLACE), -EEXIST);
	CHECK(has_text(fs, "/a", "contents of a"));
	CHECK(has_text(fs, "/b", "B!"));
	CHECK_EQ(udax_rename(fs, "/a", "/a2", UDAX_RENAME_NOREPLACE), 0);
	CHECK_EQ(udax_rename(fs, "/a2", "/a", UDAX_RENAME_NOREPLACE), 0);
	CHECK_EQ(ino_of(fs, "/a"), ia);

	/* EXCHANGE of two files */
	CHECK_EQ(udax_rename(fs, "/a", "/b", UDAX_RENAME_EXCHANGE), 0);
	CHECK(has_text(fs, "/a", "B!"));
	CHECK(has_text(fs, "/b", "contents of a"));
	CHECK_EQ(ino_of(fs, "/a"), ib);
	CHECK_EQ(ino_of(fs, "/b"), ia);
	LISTING(fs, "/", "a", "b", "dir/");

	/* EXCHANGE of a file and a directory in one parent */
	CHECK_EQ(udax_rename(fs, "/a", "/dir", UDAX_RENAME_EXCHANGE), 0);
	LISTING(fs, "/", "a/", "b", "dir");
	CHECK(has_text(fs, "/dir", "B!"));
	CHECK(has_text(fs, "/a/inner", "inner"));
	CHECK_EQ(ino_of(fs, "/a"), id);
	CHECK_EQ(nlink_of(fs, "/"), 3);
	CHECK_EQ(nlink_of(fs, "/a"), 2);

	/* EXCHANGE of a file and a directory in different parents: the
	 * directory's link moves between the parents */
	CHECK_EQ(udax_mkdir(fs, "/p", 0755), 0);
	CHECK_EQ(mkfile(fs, "/p/f", "in p", 4), 0);
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p"), 2);
	CHECK_EQ(udax_rename(fs, "/a", "/p/f", UDAX_RENAME_EXCHANGE), 0);
	LISTING(fs, "/", "a", "b", "dir", "p/");
	LISTING(fs, "/p", "f/");
	CHECK(has_text(fs, "/a", "in p"));
	CHECK(has_text(fs, "/p/f/inner", "inner"));
	CHECK_EQ(nlink_of(fs, "/"), 3);
	CHECK_EQ(nlink_of(fs, "/p"), 3);
	/* and back, the other way round (directory as the source) */
	CHECK_EQ(udax_rename(fs, "/p/f", "/a", UDAX_RENAME_EXCHANGE), 0);
	LISTING(fs, "/", "a/", "b", "dir", "p/");
	LISTING(fs, "/p", "f");
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p"), 2);
	/* two directories in different parents: both links move */
	CHECK_EQ(udax_mkdir(fs, "/p/sub", 0700), 0);
	CHECK_EQ(udax_rename(fs, "/a", "/p/sub", UDAX_RENAME_EXCHANGE), 0);
	CHECK(has_text(fs, "/p/sub/inner", "inner"));
	EMPTY_LISTING(fs, "/a");
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p"), 3);

	/* EXCHANGE needs both; NOREPLACE|EXCHANGE and unknown flags are EINVAL */
	CHECK_EQ(udax_rename(fs, "/b", "/nothing", UDAX_RENAME_EXCHANGE), -ENOENT);
	CHECK_EQ(udax_rename(fs, "/nothing", "/b", UDAX_RENAME_EXCHANGE), -ENOENT);
	CHECK_EQ(udax_rename(fs, "/b", "/dir",
	                     UDAX_RENAME_NOREPLACE | UDAX_RENAME_EXCHANGE), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/b", "/new", 0x4), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/b", "/new", 0x80000000u), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/b", "/new", UDAX_RENAME_NOREPLACE | 0x100), -EINVAL);
	CHECK(has_text(fs, "/b", "contents of a"));
	CHECK(has_text(fs, "/dir", "B!"));
	CHECK_EQ(udax_stat(fs, "/new", &(struct stat){0}), -ENOENT);

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a/", "b", "dir", "p/");
	LISTING(fs, "/p", "f", "sub/");
	EMPTY_LISTING(fs, "/a");
	LISTING(fs, "/p/sub", "inner");
	CHECK(has_text(fs, "/b", "contents of a"));
	CHECK(has_text(fs, "/dir", "B!"));
	CHECK(has_text(fs, "/p/f", "in p"));
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p"), 3);
	CHECK_EQ(nlink_of(fs, "/p/sub"), 2);
	finish(fs, pool);
}

static void test_rename_errors(void)
{
	char pool[256];
	udax_fs *fs = fresh("mverr", 16, pool);
	struct stat st0, st1;
	long long ia, ifl;

	REQUIRE(fs);
	CHECK_EQ(udax_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/a/b", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/a/b/c", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/full", 0755), 0);
	CHECK_EQ(mkfile(fs, "/full/x", "x", 1), 0);
	CHECK_EQ(udax_mkdir(fs, "/empty", 0755), 0);
	CHECK_EQ(mkfile(fs, "/f", "file f", 6), 0);
	ia = ino_of(fs, "/a");
	ifl = ino_of(fs, "/f");

	/* a directory into its own subtree */
	CHECK_EQ(udax_rename(fs, "/a", "/a/b/c/d", 0), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/a", "/a/x", 0), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/a/b", "/a/b/c/x", 0), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/a", "/a/b/c", UDAX_RENAME_EXCHANGE), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/a/b/c", "/a", UDAX_RENAME_EXCHANGE), -EINVAL);
	CHECK_EQ(udax_rename(fs, "/a", "/a/b", 0), -EINVAL);
	/* a directory over its own (non-empty) ancestor */
	CHECK_EQ(udax_rename(fs, "/a/b", "/a", 0), -ENOTEMPTY);
	CHECK_EQ(udax_rename(fs, "/a/b/c", "/a", 0), -ENOTEMPTY);

	/* type mismatches and a non-empty target */
	CHECK_EQ(udax_rename(fs, "/empty", "/full", 0), -ENOTEMPTY);
	CHECK_EQ(udax_rename(fs, "/f", "/empty", 0), -EISDIR);
	CHECK_EQ(udax_rename(fs, "/empty", "/f", 0), -ENOTDIR);

	/* the root, either way */
	CHECK_EQ(udax_rename(fs, "/", "/r", 0), -EBUSY);
	CHECK_EQ(udax_rename(fs, "/", "/a/r", 0), -EBUSY);
	CHECK_EQ(udax_rename(fs, "/f", "/", 0), -EBUSY);

	/* nothing changed */
	LISTING(fs, "/", "a/", "empty/", "f", "full/");
	LISTING(fs, "/a", "b/");
	LISTING(fs, "/a/b", "c/");
	LISTING(fs, "/full", "x");
	CHECK(has_text(fs, "/f", "file f"));
	CHECK_EQ(nlink_of(fs, "/"), 5);

	/* a rename to itself succeeds and changes nothing */
	CHECK_EQ(udax_stat(fs, "/f", &st0), 0);
	CHECK_EQ(udax_rename(fs, "/f", "/f", 0), 0);
	CHECK_EQ(udax_rename(fs, "/f", "/./f", 0), 0);
	CHECK_EQ(udax_rename(fs, "/a", "/a", 0), 0);
	CHECK_EQ(udax_rename(fs, "/a/b", "/a/../a/b", 0), 0);
	CHECK_EQ(udax_rename(fs, "/a", "/a", UDAX_RENAME_EXCHANGE), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st1), 0);
	CHECK_EQ(st1.st_ino, st0.st_ino);
	CHECK_EQ(st1.st_nlink, 1);
	CHECK_EQ(st1.st_size, st0.st_size);
	CHECK_EQ(ino_of(fs, "/a"), ia);
	CHECK_EQ(ino_of(fs, "/f"), ifl);
	CHECK_EQ(nlink_of(fs, "/a"), 3);
	CHECK_EQ(nlink_of(fs, "/"), 5);
	LISTING(fs, "/", "a/", "empty/", "f", "full/");
	LISTING(fs, "/a", "b/");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a/", "empty/", "f", "full/");
	LISTING(fs, "/a", "b/");
	LISTING(fs, "/a/b", "c/");
	CHECK(has_text(fs, "/f", "file f"));
	CHECK_EQ(ino_of(fs, "/f"), ifl);
	CHECK_EQ(nlink_of(fs, "/"), 5);
	finish(fs, pool);
}

/*
 * Renames whose source and target are the same entry.  rename(2) with
 * flags 0 does nothing and succeeds, but the checks that do not depend
 * on the two being different still apply, as on Linux:
 *   renameat2(f, f, RENAME_NOREPLACE)  -> EEXIST (the target exists);
 *   rename("f", "f/") / ("f/", "f")     -> ENOTDIR (POSIX: a trailing
 *                                          slash on a non-directory).
 */
static void test_rename_same_entry(void)
{
	char pool[256];
	udax_fs *fs = fresh("mvself", 16, pool);
	long long ifl, id;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/f", "self", 4), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	ifl = ino_of(fs, "/f");
	id = ino_of(fs, "/d");

	CHECK_EQ(udax_rename(fs, "/f", "/f", UDAX_RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ(udax_rename(fs, "/d", "/d", UDAX_RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ(udax_rename(fs, "/f", "/f", UDAX_RENAME_EXCHANGE), 0);
	CHECK_EQ(udax_rename(fs, "/f", "/f/", 0), -ENOTDIR);
	CHECK_EQ(udax_rename(fs, "/f/", "/f", 0), -ENOTDIR);
	/* trailing slashes are fine on directories */
	CHECK_EQ(udax_rename(fs, "/d", "/d/", 0), 0);
	CHECK_EQ(udax_rename(fs, "/d/", "/e/", 0), 0);
	CHECK_EQ(udax_rename(fs, "/e", "/d/", 0), 0);
	CHECK_EQ(ino_of(fs, "/d"), id);
	CHECK_EQ(ino_of(fs, "/f"), ifl);
	CHECK(has_text(fs, "/f", "self"));
	LISTING(fs, "/", "d/", "f");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "d/", "f");
	CHECK(has_text(fs, "/f", "self"));
	CHECK_EQ(nlink_of(fs, "/"), 3);
	finish(fs, pool);
}

/* A read-only mount refuses every namespace change and still lists. */
static void test_readonly_namespace(void)
{
	char pool[256];
	udax_fs *fs = fresh("ro", 16, pool);

	REQUIRE(fs);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(mkfile(fs, "/d/f", "ro", 2), 0);
	CHECK_EQ(mkfile(fs, "/g", NULL, 0), 0);
	CHECK_EQ(udax_unmount(fs), 0);
	fs = NULL;
	REQUIRE(udax_mount(pool, "ro", &fs) == 0);
	CHECK_EQ(udax_mkdir(fs, "/new", 0755), -EROFS);
	CHECK_EQ(udax_rmdir(fs, "/d"), -EROFS);
	CHECK_EQ(udax_unlink(fs, "/g"), -EROFS);
	CHECK_EQ(udax_unlink(fs, "/d/f"), -EROFS);
	CHECK_EQ(udax_rename(fs, "/g", "/h", 0), -EROFS);
	CHECK_EQ(udax_rename(fs, "/g", "/d", UDAX_RENAME_EXCHANGE), -EROFS);
	CHECK_EQ(udax_open(fs, "/new", O_RDWR | O_CREAT, 0644), -EROFS);
	LISTING(fs, "/", "d/", "g");
	LISTING(fs, "/d", "f");
	CHECK(has_text(fs, "/d/f", "ro"));
	CHECK_EQ(nlink_of(fs, "/"), 3);
	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "d/", "g");
	LISTING(fs, "/d", "f");
	finish(fs, pool);
}

static void test_rename_dirs(void)
{
	char pool[256];
	udax_fs *fs = fresh("mvdir", 16, pool);
	struct udax_statfs s0, s1;

	REQUIRE(fs);
	CHECK_EQ(udax_mkdir(fs, "/p1", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/p2", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/p1/d", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/p1/d/sub", 0755), 0);
	CHECK_EQ(mkfile(fs, "/p1/d/sub/f", "deep", 4), 0);
	CHECK_EQ(nlink_of(fs, "/p1"), 3);
	CHECK_EQ(nlink_of(fs, "/p2"), 2);

	/* a directory moved between parents moves its ".." link */
	CHECK_EQ(udax_rename(fs, "/p1/d", "/p2/d", 0), 0);
	CHECK_EQ(nlink_of(fs, "/p1"), 2);
	CHECK_EQ(nlink_of(fs, "/p2"), 3);
	CHECK_EQ(nlink_of(fs, "/p2/d"), 3);
	CHECK_EQ(nlink_of(fs, "/"), 4);
	EMPTY_LISTING(fs, "/p1");
	LISTING(fs, "/p2", "d/");
	CHECK(has_text(fs, "/p2/d/sub/f", "deep"));

	/* up to the root, then back down under a new name */
	CHECK_EQ(udax_rename(fs, "/p2/d", "/top", 0), 0);
	CHECK_EQ(nlink_of(fs, "/"), 5);
	CHECK_EQ(nlink_of(fs, "/p2"), 2);
	CHECK_EQ(udax_rename(fs, "/top", "/p1/deeper", 0), 0);
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p1"), 3);
	CHECK(has_text(fs, "/p1/deeper/sub/f", "deep"));

	/* a directory over an empty directory in another parent: the
	 * target's inode is freed, link counts follow */
	CHECK_EQ(udax_mkdir(fs, "/p2/victim", 0755), 0);
	CHECK_EQ(mkfile(fs, "/p2/victim/tmp", NULL, 0), 0);
	CHECK_EQ(udax_unlink(fs, "/p2/victim/tmp"), 0);
	CHECK_EQ(udax_statfs(fs, &s0), 0);
	CHECK_EQ(nlink_of(fs, "/p2"), 3);
	CHECK_EQ(udax_rename(fs, "/p1/deeper", "/p2/victim", 0), 0);
	CHECK_EQ(nlink_of(fs, "/p1"), 2);
	CHECK_EQ(nlink_of(fs, "/p2"), 3);
	CHECK_EQ(nlink_of(fs, "/p2/victim"), 3);
	CHECK(has_text(fs, "/p2/victim/sub/f", "deep"));
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK_EQ(s1.free_inodes, s0.free_inodes + 1);
	CHECK(s1.free_blocks > s0.free_blocks); /* victim's directory block */
	/* ... and over an empty directory in the same parent */
	CHECK_EQ(udax_mkdir(fs, "/p2/e", 0755), 0);
	CHECK_EQ(nlink_of(fs, "/p2"), 4);
	CHECK_EQ(udax_rename(fs, "/p2/victim", "/p2/e", 0), 0);
	CHECK_EQ(nlink_of(fs, "/p2"), 3);
	LISTING(fs, "/p2", "e/");
	LISTING(fs, "/p2/e", "sub/");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "p1/", "p2/");
	EMPTY_LISTING(fs, "/p1");
	LISTING(fs, "/p2", "e/");
	LISTING(fs, "/p2/e/sub", "f");
	CHECK_EQ(nlink_of(fs, "/"), 4);
	CHECK_EQ(nlink_of(fs, "/p1"), 2);
	CHECK_EQ(nlink_of(fs, "/p2"), 3);
	CHECK_EQ(nlink_of(fs, "/p2/e"), 3);
	CHECK_EQ(nlink_of(fs, "/p2/e/sub"), 2);
	/* the moved directory's parent is right: it can be removed bottom up */
	CHECK_EQ(udax_unlink(fs, "/p2/e/sub/f"), 0);
	CHECK_EQ(udax_rmdir(fs, "/p2/e/sub"), 0);
	CHECK_EQ(udax_rmdir(fs, "/p2/e"), 0);
	CHECK_EQ(nlink_of(fs, "/p2"), 2);
	fs = remount(fs, pool);
	REQUIRE(fs);
	EMPTY_LISTING(fs, "/p2");
	CHECK_EQ(nlink_of(fs, "/p2"), 2);
	finish(fs, pool);
}

/* ------------------------------------------------------------------ */
/* readdir                                                            */
/* ------------------------------------------------------------------ */

static void test_readdir_basic(void)
{
	char pool[256];
	udax_fs *fs = fresh("readdir", 16, pool);
	struct udax_dirent ent;
	udax_dir *d = NULL;

	REQUIRE(fs);
	/* created out of order; listed in name order */
	CHECK_EQ(mkfile(fs, "/zeta", NULL, 0), 0);
	CHECK_EQ(udax_mkdir(fs, "/Alpha", 0755), 0);
	CHECK_EQ(mkfile(fs, "/beta", "b", 1), 0);
	CHECK_EQ(udax_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(mkfile(fs, "/a0", NULL, 0), 0);
	CHECK_EQ(mkfile(fs, "/.hidden", NULL, 0), 0);
	CHECK_EQ(mkfile(fs, "/...", NULL, 0), 0);
	CHECK_EQ(udax_mkdir(fs, "/..x", 0755), 0);
	LISTING(fs, "/", "...", "..x/", ".hidden", "Alpha/", "a/", "a0", "beta", "zeta");
	LISTING(fs, "/.", "...", "..x/", ".hidden", "Alpha/", "a/", "a0", "beta", "zeta");
	EMPTY_LISTING(fs, "/a");
	EMPTY_LISTING(fs, "/a/");

	/* the first entry really is the first name */
	CHECK_EQ(udax_opendir(fs, "/", &d), 0);
	if (d) {
		CHECK_EQ(udax_readdir(d, &ent), 1);
		CHECK(strcmp(ent.d_name, "...") == 0);
		CHECK_EQ(ent.d_type, DT_REG);
		CHECK_EQ(udax_closedir(d), 0);
	}

	/* errors */
	d = NULL;
	CHECK_EQ(udax_opendir(fs, "/beta", &d), -ENOTDIR);
	CHECK_EQ(udax_opendir(fs, "/beta/", &d), -ENOTDIR);
	CHECK_EQ(udax_opendir(fs, "/missing", &d), -ENOENT);
	CHECK_EQ(udax_opendir(fs, "/beta/x", &d), -ENOTDIR);
	CHECK(d == NULL);

	/* a stream is a snapshot: changes after opendir do not disturb it */
	CHECK_EQ(udax_opendir(fs, "/a", &d), 0);
	CHECK_EQ(mkfile(fs, "/a/later", NULL, 0), 0);
	if (d) {
		int n = 0;
		while (udax_readdir(d, &ent) == 1)
			n++;
		CHECK(n == 0 || n == 1);
		CHECK_EQ(udax_closedir(d), 0);
	}
	LISTING(fs, "/a", "later");

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "...", "..x/", ".hidden", "Alpha/", "a/", "a0", "beta", "zeta");
	LISTING(fs, "/a", "later");
	finish(fs, pool);
}

/* Expected contents of the big directory: names and whether each is a dir. */
#define BIG_N 2000
struct bigset {
	char *names[2 * BIG_N];
	size_t n;
};

static void big_add(struct bigset *s, const char *name, int dir)
{
	size_t len = strlen(name);
	char *e = malloc(len + 2);

	memcpy(e, name, len);
	e[len] = dir ? '/' : 0;
	e[len + 1] = 0;
	s->names[s->n++] = e;
}

static void big_remove(struct bigset *s, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < s->n; i++) {
		const char *e = s->names[i];
		if (strncmp(e, name, len) == 0 && (e[len] == 0 || (e[len] == '/' && e[len + 1] == 0))) {
			free(s->names[i]);
			s->names[i] = s->names[--s->n];
			return;
		}
	}
	CHECK(!"big_remove: no such name");
}

static void big_free(struct bigset *s)
{
	while (s->n)
		free(s->names[--s->n]);
}

static void test_readdir_large(void)
{
	char pool[256], name[64], path[128];
	udax_fs *fs = fresh("bigdir", 48, pool);
	static struct bigset set;
	struct udax_statfs sf;
	struct stat st;
	long long blocks_full, ndirs = 0;
	int i, fails = 0;

	REQUIRE(fs);
	CHECK_EQ(udax_statfs(fs, &sf), 0);
	REQUIRE(sf.free_inodes > BIG_N + 16);
	CHECK_EQ(udax_mkdir(fs, "/big", 0755), 0);
	/* every 7th entry a directory, the rest files; names of varying length */
	for (i = 0; i < BIG_N; i++) {
		PATHF(name, "entry-%04d%.*s", i, i % 23, "-padding-padding-paddin");
		PATHF(path, "/big/%s", name);
		int r = i % 7 == 0 ? udax_mkdir(fs, path, 0755) : mkfile(fs, path, NULL, 0);
		if (r != 0 && !fails++)
			CHECK_EQ(r, 0);
		ndirs += i % 7 == 0;
		big_add(&set, name, i % 7 == 0);
	}
	CHECK_EQ(fails, 0);
	CHECK_LISTING(fs, "/big", (const char *const *)set.names, set.n);
	CHECK_EQ(nlink_of(fs, "/big"), 2 + ndirs);
	CHECK_EQ(udax_stat(fs, "/big", &st), 0);
	blocks_full = st.st_blocks;
	/* 2000 entries at 14 a block: at least 143 blocks */
	CHECK(blocks_full >= (BIG_N + 13) / 14 * (UDAX_BLOCK_SIZE / 512));

	/* delete every other entry */
	for (i = 0; i < BIG_N; i += 2) {
		PATHF(name, "entry-%04d%.*s", i, i % 23, "-padding-padding-paddin");
		PATHF(path, "/big/%s", name);
		int r = i % 7 == 0 ? udax_rmdir(fs, path) : udax_unlink(fs, path);
		if (r != 0 && !fails++)
			CHECK_EQ(r, 0);
		ndirs -= i % 7 == 0;
		big_remove(&set, name);
	}
	CHECK_EQ(fails, 0);
	CHECK_EQ(set.n, BIG_N / 2);
	CHECK_LISTING(fs, "/big", (const char *const *)set.names, set.n);
	CHECK_EQ(nlink_of(fs, "/big"), 2 + ndirs);

	fs = remount(fs, pool);
	REQUIRE(fs);
	CHECK_LISTING(fs, "/big", (const char *const *)set.names, set.n);
	CHECK_EQ(nlink_of(fs, "/big"), 2 + ndirs);

	/* re-add as many different names: they fit in the freed slots */
	for (i = 0; i < BIG_N / 2; i++) {
		PATHF(name, "new %d \xc3\xa9", i * 3);
		PATHF(path, "/big/%s", name);
		int r = i % 5 == 0 ? udax_mkdir(fs, path, 0700) : mkfile(fs, path, NULL, 0);
		if (r != 0 && !fails++)
			CHECK_EQ(r, 0);
		ndirs += i % 5 == 0;
		big_add(&set, name, i % 5 == 0);
	}
	CHECK_EQ(fails, 0);
	CHECK_EQ(set.n, BIG_N);
	CHECK_LISTING(fs, "/big", (const char *const *)set.names, set.n);
	CHECK_EQ(nlink_of(fs, "/big"), 2 + ndirs);
	CHECK_EQ(udax_stat(fs, "/big", &st), 0);
	CHECK(st.st_blocks <= blocks_full);
	/* lookups of old and new names */
	CHECK(is_reg(fs, "/big/entry-0001-"));
	CHECK(is_dir(fs, "/big/entry-0007-paddin"));
	CHECK_EQ(udax_stat(fs, "/big/entry-0000", &st), -ENOENT);
	CHECK(is_dir(fs, "/big/new 0 \xc3\xa9"));
	CHECK(is_reg(fs, "/big/new 3 \xc3\xa9"));

	fs = remount(fs, pool);
	REQUIRE(fs);
	CHECK_LISTING(fs, "/big", (const char *const *)set.names, set.n);
	CHECK_EQ(nlink_of(fs, "/big"), 2 + ndirs);
	LISTING(fs, "/", "big/");
	finish(fs, pool);
	big_free(&set);
}

/* ------------------------------------------------------------------ */
/* Names and paths                                                    */
/* ------------------------------------------------------------------ */

static void test_name_lengths(void)
{
	char pool[256];
	udax_fs *fs = fresh("names", 16, pool);
	char n255[UDAX_NAME_MAX + 1], n256[UDAX_NAME_MAX + 2];
	char p255[300], p256[300], pd[600], tmp[600];
	struct udax_dirent ent;
	udax_dir *d = NULL;

	REQUIRE(fs);
	memset(n255, 'L', sizeof(n255));
	n255[UDAX_NAME_MAX] = 0;
	memset(n256, 'M', sizeof(n256));
	n256[UDAX_NAME_MAX + 1] = 0;
	PATHF(p255, "/%s", n255);
	PATHF(p256, "/%s", n256);

	/* exactly 255 bytes: fine as a file, a directory, a rename target */
	CHECK_EQ(mkfile(fs, p255, "long", 4), 0);
	CHECK(has_text(fs, p255, "long"));
	CHECK_EQ(udax_opendir(fs, "/", &d), 0);
	if (d) {
		CHECK_EQ(udax_readdir(d, &ent), 1);
		CHECK_EQ(strlen(ent.d_name), 255);
		CHECK(strcmp(ent.d_name, n255) == 0);
		CHECK_EQ(udax_closedir(d), 0);
	}
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	PATHF(pd, "/d/%s", n255);
	CHECK_EQ(udax_mkdir(fs, pd, 0755), 0);
	PATHF(tmp, "%s/%s", pd, n255);
	CHECK_EQ(udax_rename(fs, p255, tmp, 0), 0); /* /d/L.../L... */
	CHECK(has_text(fs, tmp, "long"));

	/* 256 bytes: ENAMETOOLONG from every call, nothing created */
	CHECK_EQ(udax_mkdir(fs, p256, 0755), -ENAMETOOLONG);
	CHECK_EQ(udax_open(fs, p256, O_RDWR | O_CREAT, 0644), -ENAMETOOLONG);
	CHECK_EQ(udax_rename(fs, tmp, p256, 0), -ENAMETOOLONG);
	CHECK_EQ(udax_rename(fs, p256, "/x", 0), -ENAMETOOLONG);
	CHECK_EQ(udax_unlink(fs, p256), -ENAMETOOLONG);
	CHECK_EQ(udax_rmdir(fs, p256), -ENAMETOOLONG);
	CHECK_EQ(udax_stat(fs, p256, &(struct stat){0}), -ENAMETOOLONG);
	PATHF(tmp, "/d/%s/x", n256);
	CHECK_EQ(udax_mkdir(fs, tmp, 0755), -ENAMETOOLONG); /* in the middle too */

	/* spaces, UTF-8 and other bytes are just bytes */
	static const char *const odd[] = {
		"with space",
		" leading and trailing ",
		"caf\xc3\xa9",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",   /* 日本語 */
		"emoji \xf0\x9f\x8e\x89",
		"-dash",
		"tab\there",
		"\xff\xfe not utf-8",
		"a\\b:c*d?e\"f<g>h|",
	};
	size_t nodd = sizeof(odd) / sizeof(odd[0]);
	for (size_t i = 0; i < nodd; i++) {
		PATHF(tmp, "/%s", odd[i]);
		CHECK_EQ(mkfile(fs, tmp, odd[i], strlen(odd[i])), 0);
		CHECK(has_text(fs, tmp, odd[i]));
	}
	CHECK_EQ(udax_mkdir(fs, "/dir with space", 0755), 0);
	CHECK_EQ(udax_rename(fs, "/caf\xc3\xa9", "/dir with space/caf\xc3\xa9 \xe2\x98\x95", 0), 0);
	CHECK(has_text(fs, "/dir with space/caf\xc3\xa9 \xe2\x98\x95", "caf\xc3\xa9"));

	static const char *const root_after[] = {
		" leading and trailing ", "-dash", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"\xff\xfe not utf-8", "a\\b:c*d?e\"f<g>h|", "d/", "dir with space/",
		"emoji \xf0\x9f\x8e\x89", "tab\there", "with space",
	};
	CHECK_LISTING(fs, "/", root_after, sizeof(root_after) / sizeof(root_after[0]));

	fs = remount(fs, pool);
	REQUIRE(fs);
	CHECK_LISTING(fs, "/", root_after, sizeof(root_after) / sizeof(root_after[0]));
	LISTING(fs, "/dir with space", "caf\xc3\xa9 \xe2\x98\x95");
	PATHF(tmp, "/d/%s/%s", n255, n255);
	CHECK(has_text(fs, tmp, "long"));
	PATHF(tmp, "/d/%s", n255);
	CHECK(is_dir(fs, tmp));
	for (size_t i = 0; i < nodd; i++) {
		if (i == 2)
			continue; /* moved */
		PATHF(tmp, "/%s", odd[i]);
		CHECK(has_text(fs, tmp, odd[i]));
	}
	finish(fs, pool);
}

static void test_deep_paths(void)
{
	enum { DEPTH = 50 };
	char pool[256], path[1024], tmp[1024];
	udax_fs *fs = fresh("deep", 16, pool);
	size_t len = 0;
	int i;

	REQUIRE(fs);
	for (i = 0; i < DEPTH; i++) {
		len += snprintf(path + len, sizeof(path) - len, "/lvl%02d", i);
		CHECK_EQ(udax_mkdir(fs, path, 0755), 0);
	}
	PATHF(tmp, "%s/leaf", path);
	CHECK_EQ(mkfile(fs, tmp, "bottom", 6), 0);
	CHECK(has_text(fs, tmp, "bottom"));
	CHECK_EQ(nlink_of(fs, path), 2);
	LISTING(fs, path, "leaf");

	/* walk all the way up with ".." and down again */
	len = 0;
	len += snprintf(tmp + len, sizeof(tmp) - len, "%s", path);
	for (i = 0; i < DEPTH; i++)
		len += snprintf(tmp + len, sizeof(tmp) - len, "/..");
	CHECK_EQ(ino_of(fs, tmp), ino_of(fs, "/"));
	snprintf(tmp + len, sizeof(tmp) - len, "%s/leaf", path);
	CHECK(has_text(fs, tmp, "bottom"));
	/* one ".." too many climbs above the root */
	snprintf(tmp + len, sizeof(tmp) - len, "/../lvl00");
	CHECK_EQ(udax_stat(fs, tmp, &(struct stat){0}), -EINVAL);

	fs = remount(fs, pool);
	REQUIRE(fs);
	PATHF(tmp, "%s/leaf", path);
	CHECK(has_text(fs, tmp, "bottom"));
	/* move the leaf to the root and take the tree down bottom up */
	CHECK_EQ(udax_rename(fs, tmp, "/leaf", 0), 0);
	for (i = DEPTH - 1; i >= 0; i--) {
		CHECK_EQ(udax_rmdir(fs, path), 0);
		*strrchr(path, '/') = 0;
	}
	LISTING(fs, "/", "leaf");
	CHECK_EQ(nlink_of(fs, "/"), 2);
	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "leaf");
	CHECK(has_text(fs, "/leaf", "bottom"));
	finish(fs, pool);
}

static void test_dot_paths(void)
{
	char pool[256];
	udax_fs *fs = fresh("dots", 16, pool);
	long long ib;

	REQUIRE(fs);
	CHECK_EQ(udax_mkdir(fs, "/a", 0755), 0);
	CHECK_EQ(udax_mkdir(fs, "/a/./b", 0755), 0);
	ib = ino_of(fs, "/a/b");
	CHECK(ib > 0);
	CHECK_EQ(ino_of(fs, "/a/./b/../b"), ib);
	CHECK_EQ(ino_of(fs, "/a/b/."), ib);
	CHECK_EQ(ino_of(fs, "/a/b/.."), ino_of(fs, "/a"));
	CHECK_EQ(ino_of(fs, "/a/.."), ino_of(fs, "/"));
	CHECK_EQ(ino_of(fs, "//a///b//"), ib);
	CHECK_EQ(ino_of(fs, "a/b"), ib); /* relative to the root */
	CHECK_EQ(udax_stat(fs, "/..", &(struct stat){0}), -EINVAL);
	CHECK_EQ(udax_stat(fs, "/a/../..", &(struct stat){0}), -EINVAL);
	CHECK_EQ(udax_mkdir(fs, "/a/../../x", 0755), -EINVAL);

	/* every call takes dotted paths */
	CHECK_EQ(mkfile(fs, "/a/./b/../b/f", "dotted", 6), 0);
	CHECK(has_text(fs, "/a/b/f", "dotted"));
	CHECK_EQ(udax_mkdir(fs, "/a/b/../c", 0755), 0);
	CHECK(is_dir(fs, "/a/c"));
	CHECK_EQ(udax_rename(fs, "/a/b/./f", "/a/c/../c/./g", 0), 0);
	CHECK(has_text(fs, "/a/c/g", "dotted"));
	LISTING(fs, "/a/./", "b/", "c/");
	LISTING(fs, "/a/b/../c", "g");
	CHECK_EQ(udax_rmdir(fs, "/a/c/../b"), 0);
	/* "/", "." or ".." after a regular file is ENOTDIR, as the kernel
	 * has it; after a missing name ENOENT */
	CHECK_EQ(udax_stat(fs, "/a/c/g/", &(struct stat){0}), -ENOTDIR);
	CHECK_EQ(udax_stat(fs, "/a/c/g/.", &(struct stat){0}), -ENOTDIR);
	CHECK_EQ(udax_stat(fs, "/a/c/g/..", &(struct stat){0}), -ENOTDIR);
	CHECK_EQ(udax_open(fs, "/a/c/g/.", O_RDONLY, 0), -ENOTDIR);
	CHECK_EQ(udax_mkdir(fs, "/a/c/g/../x", 0755), -ENOTDIR);
	CHECK_EQ(udax_stat(fs, "/a/nope/..", &(struct stat){0}), -ENOENT);
	CHECK_EQ(udax_unlink(fs, "/a/./c/g/../g"), -ENOTDIR);
	CHECK_EQ(udax_unlink(fs, "/a/./c/../c/g"), 0);
	EMPTY_LISTING(fs, "/a/c");
	CHECK_EQ(nlink_of(fs, "/a/c/.."), 3);

	fs = remount(fs, pool);
	REQUIRE(fs);
	LISTING(fs, "/", "a/");
	LISTING(fs, "/a", "c/");
	EMPTY_LISTING(fs, "/a/c");
	CHECK_EQ(nlink_of(fs, "/a"), 3);
	finish(fs, pool);
}

int main(void)
{
	char cmd[128];

	RUN(test_mkdir);
	RUN(test_rmdir);
	RUN(test_unlink);
	RUN(test_rename_move);
	RUN(test_rename_replace);
	RUN(test_rename_flags);
	RUN(test_rename_errors);
	RUN(test_rename_dirs);
	RUN(test_rename_same_entry);
	RUN(test_readonly_namespace);
	RUN(test_readdir_basic);
	RUN(test_readdir_large);
	RUN(test_name_lengths);
	RUN(test_deep_paths);
	RUN(test_dot_paths);
	snprintf(cmd, sizeof(cmd), "rm -f /dev/shm/udax-test-%d-*.pool", (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s failed\n", cmd);
	return t_summary();
}
