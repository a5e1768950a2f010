/*
 * test_attr.c - attributes and extra names: chmod/chown/utimens by path
 * and descriptor, hard links, symbolic links; each checked again after
 * an unmount, a clean fsck and a remount, and each refused cleanly on
 * bad input or a read-only mount.
 */
#include "t.h"

#include <sys/stat.h>
#include <dirent.h>
#include <time.h>

static udax_fs *fresh(const char *tag, char path[256])
{
	udax_fs *fs = NULL;

	snprintf(path, 256, "%s", t_pool(tag));
	if (udax_mkfs(path, 16ull << 20, 0) != 0 || udax_mount(path, NULL, &fs) != 0)
		return NULL;
	return fs;
}

static udax_fs *remount(udax_fs *fs, const char *pool, const char *opts)
{
	udax_fs *nfs = NULL;

	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(pool), 0);
	CHECK_EQ(udax_mount(pool, opts, &nfs), 0);
	return nfs;
}

static void finish(udax_fs *fs, const char *pool)
{
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static int mkfile(udax_fs *fs, const char *path, const char *data)
{
	int fd = udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return fd;
	ssize_t n = udax_pwrite(fs, fd, data, strlen(data), 0);
	udax_close(fs, fd);
	return n == (ssize_t)strlen(data) ? 0 : -EIO;
}

static void test_owner_at_create(void)
{
	char pool[256];
	udax_fs *fs = fresh("owner", pool);
	struct stat st;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/f", "x"), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_gid, getegid());
	CHECK_EQ(udax_stat(fs, "/d", &st), 0);
	CHECK_EQ(st.st_uid, geteuid());

	/* a server creating on behalf of another user: owned from the start */
	udax_set_creator(1000, 2000);
	CHECK_EQ(mkfile(fs, "/f2", "y"), 0);
	CHECK_EQ(udax_mkdir(fs, "/d2", 0755), 0);
	CHECK_EQ(udax_symlink(fs, "f2", "/l2"), 0);
	udax_set_creator((uid_t)-1, 3000);
	CHECK_EQ(mkfile(fs, "/f3", "z"), 0);
	udax_set_creator((uid_t)-1, (gid_t)-1);
	CHECK_EQ(mkfile(fs, "/f4", "w"), 0);
	const char *owned[] = { "/f2", "/d2", "/l2" };
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(udax_stat(fs, owned[i], &st), 0);
		CHECK_EQ(st.st_uid, 1000);
		CHECK_EQ(st.st_gid, 2000);
	}
	CHECK_EQ(udax_stat(fs, "/f3", &st), 0);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_gid, 3000);
	CHECK_EQ(udax_stat(fs, "/f4", &st), 0);
	CHECK_EQ(st.st_gid, getegid());
	finish(fs, pool);
}

static void test_chmod_chown(void)
{
	char pool[256];
	udax_fs *fs = fresh("chmod", pool);
	struct stat st, before;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/f", "hello"), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(udax_stat(fs, "/f", &before), 0);
	struct timespec pause = { 0, 2000000 };
	nanosleep(&pause, NULL);
	CHECK_EQ(udax_chmod(fs, "/f", 04751 | S_IFDIR), 0); /* type bits ignored */
	CHECK_EQ(udax_chmod(fs, "/d", 01777), 0);
	CHECK_EQ(udax_chown(fs, "/f", 1234, (gid_t)-1), 0);
	CHECK_EQ(udax_chown(fs, "/d", (uid_t)-1, 4321), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_mode, S_IFREG | 04751);
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, before.st_gid);
	CHECK(st.st_ctim.tv_sec > before.st_ctim.tv_sec ||
	      (st.st_ctim.tv_sec == before.st_ctim.tv_sec && st.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
	CHECK_EQ(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec); /* chmod is not a modification */

	int fd = udax_open(fs, "/f", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK_EQ(udax_fchmod(fs, fd, 0600), 0);
	CHECK_EQ(udax_fchown(fs, fd, 7, 8), 0);
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_fchmod(fs, fd, 0600), -EBADF);
	CHECK_EQ(udax_chmod(fs, "/nope", 0600), -ENOENT);
	CHECK_EQ(udax_chown(fs, "/f/x", 1, 1), -ENOTDIR);

	fs = remount(fs, pool, NULL);
	REQUIRE(fs);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_mode, S_IFREG | 0600);
	CHECK_EQ(st.st_uid, 7);
	CHECK_EQ(st.st_gid, 8);
	CHECK_EQ(udax_stat(fs, "/d", &st), 0);
	CHECK_EQ(st.st_mode, S_IFDIR | 01777);
	CHECK_EQ(st.st_gid, 4321);
	finish(fs, pool);
}

static void test_utimens(void)
{
	char pool[256];
	udax_fs *fs = fresh("utimens", pool);
	struct stat st, before;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/f", "data"), 0);
	struct timespec ts[2] = { { 1000000000, 5 }, { 1500000000, 999999999 } };
	CHECK_EQ(udax_utimens(fs, "/f", ts), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK_EQ(st.st_atim.tv_nsec, 5);
	CHECK_EQ(st.st_mtim.tv_sec, 1500000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 999999999);

	/* OMIT keeps one; NOW sets it to about now */
	struct timespec half[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	time_t t0 = time(NULL);
	CHECK_EQ(udax_utimens(fs, "/f", half), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK(st.st_mtim.tv_sec >= t0 && st.st_mtim.tv_sec <= time(NULL));

	/* bad times change nothing */
	before = st;
	struct timespec bad[2] = { { 5, 1000000000 }, { 5, 0 } };
	CHECK_EQ(udax_utimens(fs, "/f", bad), -EINVAL);
	struct timespec huge[2] = { { INT64_MAX / 1000000000, 0 }, { 5, 0 } };
	CHECK_EQ(udax_utimens(fs, "/f", huge), -EINVAL);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_atim.tv_sec, before.st_atim.tv_sec);
	CHECK_EQ(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

	int fd = udax_open(fs, "/f", O_RDWR, 0);
	CHECK(fd >= 0);
	ts[0].tv_sec = 42;
	ts[1].tv_sec = 43;
	CHECK_EQ(udax_futimens(fs, fd, ts), 0);
	CHECK_EQ(udax_close(fs, fd), 0);
	/* before 1970: tar and rsync restore such times */
	CHECK_EQ(udax_mkdir(fs, "/old", 0755), 0);
	struct timespec old[2] = { { -315619200, 250 }, { -1, 999999999 } };
	CHECK_EQ(udax_utimens(fs, "/old", old), 0);
	CHECK_EQ(udax_utimens(fs, "/", NULL), 0);

	fs = remount(fs, pool, NULL);
	REQUIRE(fs);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_atim.tv_sec, 42);
	CHECK_EQ(st.st_mtim.tv_sec, 43);
	CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
	CHECK_EQ(udax_stat(fs, "/old", &st), 0);
	CHECK_EQ(st.st_atim.tv_sec, -315619200);
	CHECK_EQ(st.st_atim.tv_nsec, 250);
	CHECK_EQ(st.st_mtim.tv_sec, -1);
	CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
	finish(fs, pool);
}

static void test_hard_links(void)
{
	char pool[256], buf[16] = { 0 };
	udax_fs *fs = fresh("link", pool);
	struct stat a, b;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/a", "shared"), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(udax_link(fs, "/a", "/d/b"), 0);
	CHECK_EQ(udax_stat(fs, "/a", &a), 0);
	CHECK_EQ(udax_stat(fs, "/d/b", &b), 0);
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(a.st_nlink, 2);
	CHECK_EQ(udax_link(fs, "/a", "/d/b"), -EEXIST);
	CHECK_EQ(udax_link(fs, "/d", "/e"), -EPERM);
	CHECK_EQ(udax_link(fs, "/nope", "/e"), -ENOENT);
	CHECK_EQ(udax_link(fs, "/a", "/nodir/e"), -ENOENT);
	CHECK_EQ(udax_link(fs, "/a", "/"), -EEXIST);

	/* a write through one name is seen through the other */
	int fd = udax_open(fs, "/d/b", O_RDWR, 0);
	CHECK(fd >= 0);
	CHECK_EQ(udax_pwrite(fs, fd, "SH", 2, 0), 2);
	CHECK_EQ(udax_close(fs, fd), 0);

	fs = remount(fs, pool, NULL);
	REQUIRE(fs);
	CHECK_EQ(udax_stat(fs, "/a", &a), 0);
	CHECK_EQ(a.st_nlink, 2);
	fd = udax_open(fs, "/a", O_RDONLY, 0);
	CHECK_EQ(udax_pread(fs, fd, buf, sizeof(buf), 0), 6);
	CHECK(memcmp(buf, "SHared", 6) == 0);
	udax_close(fs, fd);

	/* dropping one name keeps the data; dropping both frees it */
	struct udax_statfs s0, s1;
	CHECK_EQ(udax_unlink(fs, "/a"), 0);
	CHECK_EQ(udax_stat(fs, "/d/b", &b), 0);
	CHECK_EQ(b.st_nlink, 1);
	CHECK_EQ(udax_statfs(fs, &s0), 0);
	CHECK_EQ(udax_unlink(fs, "/d/b"), 0);
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK(s1.free_blocks > s0.free_blocks);
	finish(fs, pool);
}

static void test_symlinks(void)
{
	char pool[256], buf[256];
	udax_fs *fs = fresh("symlink", pool);
	struct stat st;
	char longest[UDAX_SYMLINK_MAX + 2];

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/target", "t"), 0);
	CHECK_EQ(udax_symlink(fs, "target", "/ln"), 0);
	CHECK_EQ(udax_symlink(fs, "../../anything/at all", "/dangling"), 0);
	CHECK_EQ(udax_stat(fs, "/ln", &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_size, 6);
	CHECK_EQ(st.st_blocks, 0);
	CHECK_EQ(udax_readlink(fs, "/ln", buf, sizeof(buf)), 6);
	CHECK(memcmp(buf, "target", 6) == 0);
	CHECK_EQ(udax_readlink(fs, "/ln", buf, 3), 3); /* truncated, as readlink(2) */
	CHECK_EQ(udax_readlink(fs, "/target", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(udax_readlink(fs, "/none", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(udax_open(fs, "/ln", O_RDONLY, 0), -ELOOP);
	CHECK_EQ(udax_open(fs, "/ln/x", O_RDONLY, 0), -ENOTDIR);
	CHECK_EQ(udax_symlink(fs, "x", "/ln"), -EEXIST);
	CHECK_EQ(udax_symlink(fs, "", "/e"), -ENOENT);
	memset(longest, 'a', sizeof(longest));
	longest[UDAX_SYMLINK_MAX + 1] = 0;
	CHECK_EQ(udax_symlink(fs, longest, "/toolong"), -ENAMETOOLONG);
	longest[UDAX_SYMLINK_MAX] = 0;
	CHECK_EQ(udax_symlink(fs, longest, "/longest"), 0);
	/* just past the inline limit: the target takes a block */
	struct udax_statfs s0, s1;
	CHECK_EQ(udax_statfs(fs, &s0), 0);
	char mid[149];
	for (int i = 0; i < 148; i++)
		mid[i] = (char)('a' + i % 26);
	mid[148] = 0;
	CHECK_EQ(udax_symlink(fs, mid, "/mid"), 0);
	CHECK_EQ(udax_statfs(fs, &s1), 0);
	CHECK_EQ(s0.free_blocks - s1.free_blocks, 2); /* the block and its extent leaf */
	CHECK_EQ(udax_stat(fs, "/mid", &st), 0);
	CHECK_EQ(st.st_size, 148);
	CHECK_EQ(st.st_blocks, 8);

	/* directory listings carry the type; links rename and hard-link */
	udax_dir *d;
	struct udax_dirent de;
	int lnk = 0;
	CHECK_EQ(udax_opendir(fs, "/", &d), 0);
	while (udax_readdir(d, &de) == 1)
		if (!strcmp(de.d_name, "ln"))
			lnk = de.d_type == DT_LNK;
	udax_closedir(d);
	CHECK(lnk);
	CHECK_EQ(udax_rename(fs, "/ln", "/ln2", 0), 0);
	CHECK_EQ(udax_link(fs, "/ln2", "/ln3"), 0);
	CHECK_EQ(udax_chown(fs, "/ln2", 5, 6), 0);

	fs = remount(fs, pool, NULL);
	REQUIRE(fs);
	CHECK_EQ(udax_readlink(fs, "/ln3", buf, sizeof(buf)), 6);
	char big[UDAX_SYMLINK_MAX + 1];
	CHECK_EQ(udax_readlink(fs, "/longest", big, sizeof(big)), UDAX_SYMLINK_MAX);
	CHECK(memcmp(big, longest, UDAX_SYMLINK_MAX) == 0);
	CHECK_EQ(udax_readlink(fs, "/mid", buf, sizeof(buf)), 148);
	CHECK(memcmp(buf, mid, 148) == 0);
	CHECK_EQ(udax_unlink(fs, "/mid"), 0);
	CHECK_EQ(udax_stat(fs, "/ln2", &st), 0);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_uid, 5);
	CHECK_EQ(udax_unlink(fs, "/ln2"), 0);
	CHECK_EQ(udax_unlink(fs, "/ln3"), 0);
	CHECK_EQ(udax_unlink(fs, "/dangling"), 0);
	CHECK_EQ(udax_stat(fs, "/ln3", &st), -ENOENT);
	finish(fs, pool);
}

static void test_readonly(void)
{
	char pool[256], buf[8];
	udax_fs *fs = fresh("attr-ro", pool);
	struct stat st;

	REQUIRE(fs);
	CHECK_EQ(mkfile(fs, "/f", "x"), 0);
	CHECK_EQ(udax_symlink(fs, "f", "/l"), 0);
	fs = remount(fs, pool, "ro");
	REQUIRE(fs);
	CHECK_EQ(udax_chmod(fs, "/f", 0), -EROFS);
	CHECK_EQ(udax_chown(fs, "/f", 1, 1), -EROFS);
	CHECK_EQ(udax_utimens(fs, "/f", NULL), -EROFS);
	CHECK_EQ(udax_link(fs, "/f", "/g"), -EROFS);
	CHECK_EQ(udax_symlink(fs, "f", "/m"), -EROFS);
	CHECK_EQ(udax_readlink(fs, "/l", buf, sizeof(buf)), 1);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(st.st_mode, S_IFREG | 0644);
	finish(fs, pool);
}

int main(void)
{
	RUN(test_owner_at_create);
	RUN(test_chmod_chown);
	RUN(test_utimens);
	RUN(test_hard_links);
	RUN(test_symlinks);
	RUN(test_readonly);
	return t_summary();
}
