/*
 * names.c - calls that name files: the stat family (stat, lstat,
 * fstat, fstatat, statx and glibc's older __xstat entry points),
 * access, unlink, rename, mkdir, rmdir, link, symlink, readlink, the
 * attribute calls (chmod, chown, utime*), statfs/statvfs, and chdir.
 *
 * A call whose paths are not under the prefix goes to libc untouched.
 * A call with one path inside and one outside (rename, link) gets
 * EXDEV, as between two file systems.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "preload/preload.h"

#define NOT_OURS INT_MIN

/* Pool path for (@dirfd, @path), following a final link if @follow. */
static int upath_of(int dirfd, const char *path, int follow, char *up)
{
	return follow ? pl_path_follow(dirfd, path, up) : pl_path(dirfd, path, up);
}

/* The common shape: classify one path, run @expr on `up`, or fall
 * through to @real. */
#define ON_PATH(dirfd, path, follow, real, expr)                               \
	({                                                                     \
		char up[UDAX_PATH_MAX + 1];                                    \
		int _k = upath_of(dirfd, path, follow, up);                    \
		long _r;                                                       \
		if (_k == PATH_HOST)                                           \
			_r = (real);                                           \
		else if (_k < 0)                                               \
			_r = pl_fail(_k);                                      \
		else                                                           \
			_r = UCALL(expr);                                      \
		_r;                                                            \
	})

/* ---- stat ---- */

static int stat_fd(int fd, struct stat *st)
{
	return (int)ON_UDAX_FD(fd, NOT_OURS, udax_fstat(fs, pf->ufd, st));
}

PRELOAD_EXPORT int stat(const char *path, struct stat *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(stat)(path, st), udax_stat(fs, up, st));
}

PRELOAD_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(stat64)(path, st),
	                    udax_stat(fs, up, (struct stat *)st));
}

PRELOAD_EXPORT int lstat(const char *path, struct stat *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(lstat)(path, st), udax_stat(fs, up, st));
}

PRELOAD_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(lstat64)(path, st),
	                    udax_stat(fs, up, (struct stat *)st));
}

PRELOAD_EXPORT int fstat(int fd, struct stat *st)
{
	int r = stat_fd(fd, st);
	return r != NOT_OURS ? r : REAL(fstat)(fd, st);
}

PRELOAD_EXPORT int fstat64(int fd, struct stat64 *st)
{
	int r = stat_fd(fd, (struct stat *)st);
	return r != NOT_OURS ? r : REAL(fstat64)(fd, st);
}

static int statat(int dirfd, const char *path, struct stat *st, int flags)
{
	if ((flags & AT_EMPTY_PATH) && path && !*path)
		return stat_fd(dirfd, st);
	return (int)ON_PATH(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), NOT_OURS,
	                    udax_stat(fs, up, st));
}

PRELOAD_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int r = statat(dirfd, path, st, flags);
	return r != NOT_OURS ? r : REAL(fstatat)(dirfd, path, st, flags);
}

PRELOAD_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	int r = statat(dirfd, path, (struct stat *)st, flags);
	return r != NOT_OURS ? r : REAL(fstatat64)(dirfd, path, st, flags);
}

static void statx_from_stat(struct statx *sx, const struct stat *st)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st->st_blksize;
	sx->stx_nlink = (uint32_t)st->st_nlink;
	sx->stx_uid = st->st_uid;
	sx->stx_gid = st->st_gid;
	sx->stx_mode = (uint16_t)st->st_mode;
	sx->stx_ino = st->st_ino;
	sx->stx_size = (uint64_t)st->st_size;
	sx->stx_blocks = (uint64_t)st->st_blocks;
	sx->stx_atime.tv_sec = st->st_atim.tv_sec;
	sx->stx_atime.tv_nsec = (uint32_t)st->st_atim.tv_nsec;
	sx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	sx->stx_mtime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
	sx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	sx->stx_ctime.tv_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

PRELOAD_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
                         struct statx *sx)
{
	struct stat st;
	int r = path ? statat(dirfd, path, &st, flags) : NOT_OURS;

	if (r == NOT_OURS)
		return REAL(statx)(dirfd, path, flags, mask, sx);
	if (r == 0)
		statx_from_stat(sx, &st);
	return r;
}

/* glibc before 2.33 compiled stat() into calls of these. */
PRELOAD_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(__xstat)(ver, path, st), udax_stat(fs, up, st));
}

PRELOAD_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(__xstat64)(ver, path, st),
	                    udax_stat(fs, up, (struct stat *)st));
}

PRELOAD_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(__lxstat)(ver, path, st), udax_stat(fs, up, st));
}

PRELOAD_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(__lxstat64)(ver, path, st),
	                    udax_stat(fs, up, (struct stat *)st));
}

PRELOAD_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	int r = stat_fd(fd, st);
	return r != NOT_OURS ? r : REAL(__fxstat)(ver, fd, st);
}

PRELOAD_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	int r = stat_fd(fd, (struct stat *)st);
	return r != NOT_OURS ? r : REAL(__fxstat64)(ver, fd, st);
}

PRELOAD_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int fl)
{
	int r = statat(dirfd, path, st, fl);
	return r != NOT_OURS ? r : REAL(__fxstatat)(ver, dirfd, path, st, fl);
}

PRELOAD_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int fl)
{
	int r = statat(dirfd, path, (struct stat *)st, fl);
	return r != NOT_OURS ? r : REAL(__fxstatat64)(ver, dirfd, path, st, fl);
}

/* ---- access ---- */

/* The permission check access(2) makes, with the real (or, for
 * AT_EACCESS, effective) ids; udax itself checks nothing. */
static int check_access(udax_fs *fs, const char *up, int amode, int eff)
{
	struct stat st;
	int err = udax_stat(fs, up, &st);

	if (err || amode == F_OK)
		return err;
	if (amode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if ((amode & W_OK) && pl_readonly())
		return -EROFS;
	uid_t uid = eff ? geteuid() : getuid();
	gid_t gid = eff ? getegid() : getgid();
	unsigned bits;
	if (uid == 0) /* root: everything but exec of a file no one may exec */
		return (amode & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111) ? -EACCES : 0;
	if (st.st_uid == uid)
		bits = (st.st_mode >> 6) & 7;
	else if (st.st_gid == gid || group_member(st.st_gid))
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return ((unsigned)amode & ~bits) ? -EACCES : 0;
}

PRELOAD_EXPORT int access(const char *path, int amode)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(access)(path, amode),
	                    check_access(fs, up, amode, 0));
}

PRELOAD_EXPORT int faccessat(int dirfd, const char *path, int amode, int flags)
{
	return (int)ON_PATH(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
	                    REAL(faccessat)(dirfd, path, amode, flags),
	                    check_access(fs, up, amode, !!(flags & AT_EACCESS)));
}

PRELOAD_EXPORT int euidaccess(const char *path, int amode)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(euidaccess)(path, amode),
	                    check_access(fs, up, amode, 1));
}

PRELOAD_EXPORT int eaccess(const char *path, int amode)
{
	return euidaccess(path, amode);
}

/* ---- namespace ---- */

PRELOAD_EXPORT int unlink(const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(unlink)(path), udax_unlink(fs, up));
}

PRELOAD_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	return (int)ON_PATH(dirfd, path, 0, REAL(unlinkat)(dirfd, path, flags),
	                    (flags & ~AT_REMOVEDIR) ? -EINVAL
	                    : (flags & AT_REMOVEDIR) ? udax_rmdir(fs, up) : udax_unlink(fs, up));
}

PRELOAD_EXPORT int rmdir(const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(rmdir)(path), udax_rmdir(fs, up));
}

static int mkdir_mode(mode_t mode)
{
	return mode & ~pl_umask() & 07777;
}

PRELOAD_EXPORT int mkdir(const char *path, mode_t mode)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(mkdir)(path, mode),
	                    udax_mkdir(fs, up, mkdir_mode(mode)));
}

PRELOAD_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return (int)ON_PATH(dirfd, path, 0, REAL(mkdirat)(dirfd, path, mode),
	                    udax_mkdir(fs, up, mkdir_mode(mode)));
}

/* Two-path calls: both udax, both host, or EXDEV. */
static int two_paths(int d1, const char *p1, int d2, const char *p2, char *u1, char *u2)
{
	int k1 = pl_path(d1, p1, u1), k2 = pl_path(d2, p2, u2);

	if (k1 < 0 || k2 < 0)
		return k1 < 0 ? k1 : k2;
	if (k1 != k2)
		return -EXDEV;
	return k1;
}

static int rename_at(int d1, const char *p1, int d2, const char *p2, unsigned fl)
{
	char u1[UDAX_PATH_MAX + 1], u2[UDAX_PATH_MAX + 1];
	int k = two_paths(d1, p1, d2, p2, u1, u2);

	if (k == PATH_HOST)
		return NOT_OURS;
	if (k < 0)
		return pl_fail(k);
	if (fl & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return pl_fail(-EINVAL);
	unsigned uf = (fl & RENAME_NOREPLACE ? UDAX_RENAME_NOREPLACE : 0) |
	              (fl & RENAME_EXCHANGE ? UDAX_RENAME_EXCHANGE : 0);
	return (int)UCALL(udax_rename(fs, u1, u2, uf));
}

PRELOAD_EXPORT int rename(const char *from, const char *to)
{
	int r = rename_at(AT_FDCWD, from, AT_FDCWD, to, 0);
	return r != NOT_OURS ? r : REAL(rename)(from, to);
}

PRELOAD_EXPORT int renameat(int d1, const char *from, int d2, const char *to)
{
	int r = rename_at(d1, from, d2, to, 0);
	return r != NOT_OURS ? r : REAL(renameat)(d1, from, d2, to);
}

PRELOAD_EXPORT int renameat2(int d1, const char *from, int d2, const char *to, unsigned fl)
{
	int r = rename_at(d1, from, d2, to, fl);
	return r != NOT_OURS ? r : REAL(renameat2)(d1, from, d2, to, fl);
}

static int link_at(int d1, const char *p1, int d2, const char *p2, int flags)
{
	char u1[UDAX_PATH_MAX + 1], u2[UDAX_PATH_MAX + 1];
	int k = two_paths(d1, p1, d2, p2, u1, u2);

	if (k == PATH_HOST)
		return NOT_OURS;
	if (k == PATH_UDAX && (flags & AT_SYMLINK_FOLLOW))
		k = pl_path_follow(d1, p1, u1);
	if (k < 0)
		return pl_fail(k);
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return pl_fail(-EINVAL);
	return (int)UCALL(udax_link(fs, u1, u2));
}

PRELOAD_EXPORT int link(const char *from, const char *to)
{
	int r = link_at(AT_FDCWD, from, AT_FDCWD, to, 0);
	return r != NOT_OURS ? r : REAL(link)(from, to);
}

PRELOAD_EXPORT int linkat(int d1, const char *from, int d2, const char *to, int flags)
{
	int r = link_at(d1, from, d2, to, flags);
	return r != NOT_OURS ? r : REAL(linkat)(d1, from, d2, to, flags);
}

PRELOAD_EXPORT int symlink(const char *target, const char *path)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(symlink)(target, path),
	                    udax_symlink(fs, target, up));
}

PRELOAD_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	return (int)ON_PATH(dirfd, path, 0, REAL(symlinkat)(target, dirfd, path),
	                    udax_symlink(fs, target, up));
}

PRELOAD_EXPORT ssize_t readlink(const char *path, char *buf, size_t n)
{
	return ON_PATH(AT_FDCWD, path, 0, REAL(readlink)(path, buf, n),
	               udax_readlink(fs, up, buf, n));
}

PRELOAD_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	return ON_PATH(dirfd, path, 0, REAL(readlinkat)(dirfd, path, buf, n),
	               udax_readlink(fs, up, buf, n));
}

/* ---- attributes ---- */

PRELOAD_EXPORT int chmod(const char *path, mode_t mode)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(chmod)(path, mode), udax_chmod(fs, up, mode));
}

PRELOAD_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return (int)ON_PATH(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
	                    REAL(fchmodat)(dirfd, path, mode, flags),
	                    udax_chmod(fs, up, mode));
}

PRELOAD_EXPORT int fchmod(int fd, mode_t mode)
{
	return (int)ON_UDAX_FD(fd, REAL(fchmod)(fd, mode), udax_fchmod(fs, pf->ufd, mode));
}

PRELOAD_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(chown)(path, uid, gid),
	                    udax_chown(fs, up, uid, gid));
}

PRELOAD_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(lchown)(path, uid, gid),
	                    udax_chown(fs, up, uid, gid));
}

PRELOAD_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if ((flags & AT_EMPTY_PATH) && path && !*path)
		return fchown(dirfd, uid, gid);
	return (int)ON_PATH(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
	                    REAL(fchownat)(dirfd, path, uid, gid, flags),
	                    udax_chown(fs, up, uid, gid));
}

PRELOAD_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	return (int)ON_UDAX_FD(fd, REAL(fchown)(fd, uid, gid), udax_fchown(fs, pf->ufd, uid, gid));
}

PRELOAD_EXPORT int utimensat(int dirfd, const char *path, const struct timespec ts[2], int fl)
{
	if (!path) /* glibc's futimens() */
		return (int)ON_UDAX_FD(dirfd, REAL(utimensat)(dirfd, path, ts, fl),
		                       udax_futimens(fs, pf->ufd, ts));
	return (int)ON_PATH(dirfd, path, !(fl & AT_SYMLINK_NOFOLLOW),
	                    REAL(utimensat)(dirfd, path, ts, fl), udax_utimens(fs, up, ts));
}

PRELOAD_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	return (int)ON_UDAX_FD(fd, REAL(futimens)(fd, ts), udax_futimens(fs, pf->ufd, ts));
}

static const struct timespec *tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	if (!tv)
		return NULL;
	for (int i = 0; i < 2; i++) {
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return ts;
}

PRELOAD_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(utimes)(path, tv),
	                    udax_utimens(fs, up, tv_to_ts(tv, ts)));
}

PRELOAD_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(lutimes)(path, tv),
	                    udax_utimens(fs, up, tv_to_ts(tv, ts)));
}

PRELOAD_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];
	return (int)ON_UDAX_FD(fd, REAL(futimes)(fd, tv),
	                       udax_futimens(fs, pf->ufd, tv_to_ts(tv, ts)));
}

PRELOAD_EXPORT int utime(const char *path, const struct utimbuf *ub)
{
	struct timespec ts[2];
	if (ub) {
		ts[0] = (struct timespec){ ub->actime, 0 };
		ts[1] = (struct timespec){ ub->modtime, 0 };
	}
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(utime)(path, ub),
	                    udax_utimens(fs, up, ub ? ts : NULL));
}

/* ---- statfs ---- */

static int fill_statfs(udax_fs *fs, struct statfs *sf)
{
	struct udax_statfs u;
	int err = udax_statfs(fs, &u);

	if (err)
		return err;
	memset(sf, 0, sizeof(*sf));
	sf->f_type = 0x75646178; /* "udax" */
	sf->f_bsize = sf->f_frsize = (long)u.block_size;
	sf->f_blocks = u.total_blocks;
	sf->f_bfree = sf->f_bavail = u.free_blocks;
	sf->f_files = u.total_inodes;
	sf->f_ffree = u.free_inodes;
	sf->f_namelen = (long)u.name_max;
	if (pl_readonly())
		sf->f_flags = ST_RDONLY;
	return 0;
}

static void statvfs_of(const struct statfs *sf, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = (unsigned long)sf->f_bsize;
	sv->f_blocks = sf->f_blocks;
	sv->f_bfree = sv->f_bavail = sf->f_bfree;
	sv->f_files = sf->f_files;
	sv->f_ffree = sv->f_favail = sf->f_ffree;
	sv->f_namemax = (unsigned long)sf->f_namelen;
	sv->f_flag = (unsigned long)sf->f_flags;
}

PRELOAD_EXPORT int statfs(const char *path, struct statfs *sf)
{
	struct stat st;
	return (int)ON_PATH(AT_FDCWD, path, 1, REAL(statfs)(path, sf),
	                    udax_stat(fs, up, &st) ?: fill_statfs(fs, sf));
}

PRELOAD_EXPORT int statfs64(const char *path, struct statfs64 *sf)
{
	return statfs(path, (struct statfs *)sf);
}

PRELOAD_EXPORT int fstatfs(int fd, struct statfs *sf)
{
	return (int)ON_UDAX_FD(fd, REAL(fstatfs)(fd, sf), fill_statfs(fs, sf));
}

PRELOAD_EXPORT int fstatfs64(int fd, struct statfs64 *sf)
{
	return fstatfs(fd, (struct statfs *)sf);
}

PRELOAD_EXPORT int statvfs(const char *path, struct statvfs *sv)
{
	struct statfs sf;
	char up[UDAX_PATH_MAX + 1];
	if (pl_path_follow(AT_FDCWD, path, up) == PATH_HOST)
		return REAL(statvfs)(path, sv);
	int r = statfs(path, &sf);
	if (r == 0)
		statvfs_of(&sf, sv);
	return r;
}

PRELOAD_EXPORT int statvfs64(const char *path, struct statvfs64 *sv)
{
	return statvfs(path, (struct statvfs *)sv);
}

PRELOAD_EXPORT int fstatvfs(int fd, struct statvfs *sv)
{
	struct statfs sf;
	if (!pf_is_udax(fd))
		return REAL(fstatvfs)(fd, sv);
	int r = fstatfs(fd, &sf);
	if (r == 0)
		statvfs_of(&sf, sv);
	return r;
}

PRELOAD_EXPORT int fstatvfs64(int fd, struct statvfs64 *sv)
{
	return fstatvfs(fd, (struct statvfs *)sv);
}

/* ---- working directory ---- */

PRELOAD_EXPORT int chdir(const char *path)
{
	char up[UDAX_PATH_MAX + 1];
	if (pl_path(AT_FDCWD, path, up) != PATH_UDAX)
		return REAL(chdir)(path);
	pl_warn_once("chdir", "chdir() into the udax prefix is not supported (ENOTSUP); "
	             "use absolute paths");
	return pl_fail(-ENOTSUP);
}

PRELOAD_EXPORT int fchdir(int fd)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(fchdir)(fd);
	pl_warn_once("chdir", "chdir() into the udax prefix is not supported (ENOTSUP); "
	             "use absolute paths");
	return pl_fail(-ENOTSUP);
}

/* ---- realpath ---- */

/* glibc's realpath() walks the path with internal calls that never see
 * the prefix; a udax path is resolved here instead: lexically, with a
 * final symbolic link followed, and it must exist. */
static char *realpath_udax(const char *path, char *resolved, int *ours)
{
	char up[UDAX_PATH_MAX + 1];
	struct stat st;
	int k = pl_path_follow(AT_FDCWD, path, up);

	*ours = k != PATH_HOST;
	if (!*ours)
		return NULL;
	if (k < 0 || UCALL(udax_stat(fs, up, &st)) < 0) {
		if (k < 0)
			errno = -k;
		return NULL;
	}
	size_t ul = strlen(up);
	if (ul > 1 && up[ul - 1] == '/')
		up[--ul] = 0;   /* a kept trailing slash */
	/* prefix and pool path are both normalised already */
	char full[PATH_MAX];
	int n = snprintf(full, sizeof(full), "%s%s", pl_prefix(), strcmp(up, "/") ? up : "");
	if (n < 0 || n >= (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (!resolved && !(resolved = malloc(PATH_MAX))) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(resolved, full, (size_t)n + 1);
	return resolved;
}

PRELOAD_EXPORT char *realpath(const char *path, char *resolved)
{
	int ours;
	char *r = realpath_udax(path, resolved, &ours);
	return ours ? r : REAL(realpath)(path, resolved);
}

extern char *__realpath_chk(const char *path, char *resolved, size_t len);
PRELOAD_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t len)
{
	int ours;
	if (resolved && len < PATH_MAX)
		return REAL(__realpath_chk)(path, resolved, len); /* glibc aborts */
	char *r = realpath_udax(path, resolved, &ours);
	return ours ? r : REAL(__realpath_chk)(path, resolved, len);
}

PRELOAD_EXPORT char *canonicalize_file_name(const char *path)
{
	int ours;
	char *r = realpath_udax(path, NULL, &ours);
	return ours ? r : REAL(canonicalize_file_name)(path);
}

/* remove() calls unlink/rmdir inside glibc, where the prefix is unseen. */
PRELOAD_EXPORT int remove(const char *path)
{
	struct stat st;
	return (int)ON_PATH(AT_FDCWD, path, 0, REAL(remove)(path),
	                    udax_stat(fs, up, &st) ?: S_ISDIR(st.st_mode) ? udax_rmdir(fs, up)
	                                                                   : udax_unlink(fs, up));
}
