/*
 * fuse_fs.c - a udax pool as a kernel-mounted file system (libfuse3).
 *
 * The daemon mounts the pool with udax_mount() and answers the kernel's
 * requests through libfuse's high-level, path-based interface: every
 * callback below is one or two calls of the public udax API.  Errors are
 * the udax calls' negative errno values, passed straight back.
 *
 * What the kernel does for us, and what we set up for it:
 *
 *   - Permissions.  The file system is mounted with default_permissions,
 *     so the kernel checks mode bits, ownership and sticky directories
 *     before a request reaches us (udax itself checks none); as root the
 *     mount also gets allow_other so that every user can use it.  Files,
 *     directories and symbolic links created through FUSE are given to
 *     the caller (fuse_get_context()) right after udax creates them,
 *     with the caller's umask applied and set-group-ID directories
 *     handing down their group, as on a kernel file system.
 *
 *   - Symbolic links.  udax resolves paths lexically and never follows
 *     a link; the kernel walks every path component itself (LOOKUP,
 *     READLINK) and hands us link-free paths.
 *
 *   - Page cache.  Files are opened with direct_io off, so reads go
 *     through the kernel page cache and mmap() of a file on the mount
 *     works like on any FUSE file system: the mapping is backed by page
 *     cache pages that the kernel reads from and writes back to udax.
 *     That is not DAX.  Applications that want loads and stores to hit
 *     the pool directly use the LD_PRELOAD interposer libudax-preload.so
 *     (or udax_mmap), which maps pool blocks into the process.  Writes
 *     are write-through (no writeback cache): when write(2) returns, the
 *     data is in the pool and persistent, as with udax_pwrite.
 *
 *   - Inode numbers are udax's (use_ino); attributes are never cached
 *     (attr_timeout=0) so that sizes seen through two hard links of one
 *     file agree; names are cached for a second (entry_timeout=1), which
 *     is safe because every name change goes through this kernel mount.
 *
 *   - Open files.  The udax descriptor lives in fi->fh.  Files unlinked
 *     (or renamed over) while open are removed at once (hard_remove)
 *     rather than renamed to .fuse_hidden*: udax keeps an unlinked inode
 *     alive while a descriptor holds it, so read, write, fsync,
 *     ftruncate and close go on working through the descriptor
 *     (nullpath_ok: libfuse passes a NULL path for those calls); rename
 *     over an open file stays one atomic udax_rename, and a crash leaves
 *     no hidden files behind (mount reclaims the orphans).  The price,
 *     libfuse's: the kernel sends fstat, fchmod, fchown and futimens
 *     without the file handle, libfuse can no longer name the file, and
 *     those calls fail with ESTALE.  The mount option hide_unlinked
 *     brings back libfuse's hiding for programs that need them.
 *
 * Not supported: extended attributes (reads report none, setting one
 * gives EOPNOTSUPP, which cp -a and rsync -a tolerate), device nodes,
 * FIFOs and sockets (mknod gives EPERM), file locks beyond what the
 * kernel keeps locally.
 */
#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse/fuse_fs.h"
#include "udax.h"

/* renameat2(2) flags; <stdio.h> has them only with newer glibc. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* fallocate(2) modes (Linux values, as <linux/falloc.h>). */
#define FL_KEEP_SIZE 0x01
#define FL_PUNCH_HOLE 0x02
#define FL_ZERO_RANGE 0x10

struct ufuse {
	udax_fs *fs;
	bool hide_unlinked;  /* option: libfuse's .fuse_hidden* renames */
	bool unmounted;      /* destroy() has run udax_unmount() */
	int unmount_err;
};

/* The whole state of the daemon: one pool, one mount. */
static struct ufuse g_uf;

static udax_fs *FS(void)
{
	return g_uf.fs;
}

static int fh_fd(const struct fuse_file_info *fi)
{
	return (int)fi->fh;
}

/* ------------------------------------------------------------------ */
/* Ownership of new files                                             */
/* ------------------------------------------------------------------ */

/*
 * The owner a new entry at @path gets: the caller's uid, and either the
 * caller's gid or, below a set-group-ID directory, that directory's gid
 * (then a new directory inherits the set-group-ID bit: *@inherit_sgid).
 */
static void new_owner(const char *path, uid_t *uid, gid_t *gid,
		      bool *inherit_sgid)
{
	const struct fuse_context *ctx = fuse_get_context();
	const char *slash = strrchr(path, '/');
	char parent[UDAX_PATH_MAX + 1];
	size_t n = slash ? (size_t)(slash - path) : 0;
	struct stat st;

	*uid = ctx->uid;
	*gid = ctx->gid;
	*inherit_sgid = false;
	if (n > UDAX_PATH_MAX)
		return;
	if (n == 0) {
		strcpy(parent, "/");
	} else {
		memcpy(parent, path, n);
		parent[n] = '\0';
	}
	if (udax_stat(FS(), parent, &st) == 0 && (st.st_mode & S_ISGID)) {
		*gid = st.st_gid;
		*inherit_sgid = true;
	}
}

/* The caller's umask, applied again (the kernel normally has already). */
static mode_t masked(mode_t mode)
{
	return mode & ~fuse_get_context()->umask & 07777;
}

/* ------------------------------------------------------------------ */
/* Attributes                                                         */
/* ------------------------------------------------------------------ */

static int uf_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	int ret = fi ? udax_fstat(FS(), fh_fd(fi), st) :
		       udax_stat(FS(), path, st);

	if (ret < 0)
		return ret;
	st->st_blksize = UDAX_BLOCK_SIZE;
	return 0;
}

static int uf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	mode &= 07777;
	return fi ? udax_fchmod(FS(), fh_fd(fi), mode) :
		    udax_chmod(FS(), path, mode);
}

static int uf_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	return fi ? udax_fchown(FS(), fh_fd(fi), uid, gid) :
		    udax_chown(FS(), path, uid, gid);
}

static int uf_utimens(const char *path, const struct timespec ts[2],
		      struct fuse_file_info *fi)
{
	return fi ? udax_futimens(FS(), fh_fd(fi), ts) :
		    udax_utimens(FS(), path, ts);
}

static int uf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd, ret;

	if (fi)
		return udax_ftruncate(FS(), fh_fd(fi), size);
	/* The kernel checked write permission; udax checks none. */
	fd = udax_open(FS(), path, O_WRONLY, 0);
	if (fd < 0)
		return fd;
	ret = udax_ftruncate(FS(), fd, size);
	udax_close(FS(), fd);
	return ret;
}

static int uf_statfs(const char *path, struct statvfs *sv)
{
	struct udax_statfs sf;
	int ret = udax_statfs(FS(), &sf);

	if (ret < 0)
		return ret;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sf.block_size;
	sv->f_frsize = sf.block_size;
	sv->f_blocks = sf.total_blocks;
	sv->f_bfree = sf.free_blocks;
	sv->f_bavail = sf.free_blocks;
	sv->f_files = sf.total_inodes;
	sv->f_ffree = sf.free_inodes;
	sv->f_favail = sf.free_inodes;
	sv->f_namemax = sf.name_max;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Namespace                                                          */
/* ------------------------------------------------------------------ */

static int uf_mkdir(const char *path, mode_t mode)
{
	bool sgid;
	uid_t uid;
	gid_t gid;
	int ret;

	new_owner(path, &uid, &gid, &sgid);
	mode = masked(mode) | (sgid ? S_ISGID : 0);
	udax_set_creator(uid, gid);   /* owned by the caller from the start */
	ret = udax_mkdir(FS(), path, mode);
	udax_set_creator((uid_t)-1, (gid_t)-1);
	return ret;
}

static int uf_rmdir(const char *path)
{
	return udax_rmdir(FS(), path);
}

static int uf_unlink(const char *path)
{
	return udax_unlink(FS(), path);
}

static int uf_rename(const char *from, const char *to, unsigned int flags)
{
	unsigned uflags = 0;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;   /* RENAME_WHITEOUT and anything newer */
	if (flags & RENAME_NOREPLACE)
		uflags |= UDAX_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		uflags |= UDAX_RENAME_EXCHANGE;
	return udax_rename(FS(), from, to, uflags);
}

static int uf_link(const char *from, const char *to)
{
	return udax_link(FS(), from, to);
}

static int uf_symlink(const char *target, const char *path)
{
	bool sgid;
	uid_t uid;
	gid_t gid;
	int ret;

	new_owner(path, &uid, &gid, &sgid);
	udax_set_creator(uid, gid);
	ret = udax_symlink(FS(), target, path);
	udax_set_creator((uid_t)-1, (gid_t)-1);
	return ret;
}

static int uf_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	/* libfuse wants a NUL-terminated string, truncated if need be. */
	n = udax_readlink(FS(), path, buf, size - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/*
 * The open(2) flags udax gets.  O_APPEND is left to the kernel, which
 * computes each write's offset from the size under its inode lock
 * (udax_pwrite is positional); O_NONBLOCK, O_DIRECT, O_NOATIME and the
 * like mean nothing here.
 */
static int udax_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_SYNC | O_DSYNC | O_CREAT |
			O_EXCL);
}

static void set_cache_mode(struct fuse_file_info *fi)
{
	/*
	 * Keep the page cache (direct_io off): mmap() of a file on the
	 * mount then works, through page cache pages; true DAX mappings
	 * come from the LD_PRELOAD interposer libudax-preload.so.  The
	 * cache is dropped at each open (keep_cache off), as other opens
	 * through a hard link's second path have their own cache.
	 */
	fi->direct_io = 0;
	fi->keep_cache = 0;
}

static int uf_open(const char *path, struct fuse_file_info *fi)
{
	int fd = udax_open(FS(), path, udax_flags(fi->flags) & ~(O_CREAT | O_EXCL), 0);

	if (fd < 0)
		return fd;
	fi->fh = (uint64_t)fd;
	set_cache_mode(fi);
	return 0;
}

/*
 * Create @path owned by the caller, in one transaction with its name
 * (a file that already exists keeps its owner); returns the open
 * descriptor.
 */
static int create_owned(const char *path, int flags, mode_t mode)
{
	bool sgid;
	uid_t uid;
	gid_t gid;
	int fd;

	new_owner(path, &uid, &gid, &sgid);
	udax_set_creator(uid, gid);
	fd = udax_open(FS(), path, udax_flags(flags) | O_CREAT, masked(mode));
	udax_set_creator((uid_t)-1, (gid_t)-1);
	return fd;
}

static int uf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = create_owned(path, fi->flags, mode);

	if (fd < 0)
		return fd;
	fi->fh = (uint64_t)fd;
	set_cache_mode(fi);
	return 0;
}

/* mknod(2) of a regular file; udax stores no devices, FIFOs or sockets. */
static int uf_mknod(const char *path, mode_t mode, dev_t rdev)
{
	int fd;

	if (!S_ISREG(mode))
		return -EPERM;
	fd = create_owned(path, O_WRONLY | O_EXCL, mode);
	return fd < 0 ? fd : udax_close(FS(), fd);
}

static int uf_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	size_t done = 0;
	ssize_t n;

	if (size > INT_MAX)
		size = INT_MAX;
	while (done < size) {
		n = udax_pread(FS(), fh_fd(fi), buf + done, size - done,
			       off + (off_t)done);
		if (n < 0)
			return done ? (int)done : (int)n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

static int uf_write(const char *path, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	size_t done = 0;
	ssize_t n;

	if (size > INT_MAX)
		size = INT_MAX;
	while (done < size) {
		n = udax_pwrite(FS(), fh_fd(fi), buf + done, size - done,
				off + (off_t)done);
		if (n < 0)
			return done ? (int)done : (int)n;
		if (n == 0)
			return done ? (int)done : -EIO;
		done += (size_t)n;
	}
	return (int)done;
}

/* close(2) of one of possibly several descriptors: nothing to do, the
 * data is in the pool already. */
static int uf_flush(const char *path, struct fuse_file_info *fi)
{
	return 0;
}

static int uf_release(const char *path, struct fuse_file_info *fi)
{
	return udax_close(FS(), fh_fd(fi));
}

static int uf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return datasync ? udax_fdatasync(FS(), fh_fd(fi)) :
			  udax_fsync(FS(), fh_fd(fi));
}

static int uf_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	int umode = 0;

	if (mode & ~(FL_KEEP_SIZE | FL_PUNCH_HOLE | FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (mode & FL_KEEP_SIZE)
		umode |= UDAX_FALLOC_KEEP_SIZE;
	if (mode & FL_PUNCH_HOLE)
		umode |= UDAX_FALLOC_PUNCH_HOLE;
	if (mode & FL_ZERO_RANGE)
		umode |= UDAX_FALLOC_ZERO_RANGE;
	return udax_fallocate(FS(), fh_fd(fi), umode, off, len);
}

/* The kernel handles SEEK_SET/CUR/END itself; SEEK_DATA and SEEK_HOLE
 * come here and follow udax's extent map. */
static off_t uf_lseek(const char *path, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	if (!fi)
		return -EINVAL;
	return udax_lseek(FS(), fh_fd(fi), off, whence);
}

/* ------------------------------------------------------------------ */
/* Directories                                                        */
/* ------------------------------------------------------------------ */

struct dirent_snap {
	uint64_t ino;
	mode_t type;     /* S_IFDIR, S_IFREG, S_IFLNK */
	char *name;
};

/* A directory listing taken at opendir (and again at a rewind). */
struct dir_handle {
	char *path;
	struct dirent_snap *ents;
	size_t n;
	bool read_once;
};

static void dir_free_entries(struct dir_handle *dh)
{
	size_t i;

	for (i = 0; i < dh->n; i++)
		free(dh->ents[i].name);
	free(dh->ents);
	dh->ents = NULL;
	dh->n = 0;
}

static mode_t dtype_mode(unsigned char t)
{
	switch (t) {
	case DT_DIR: return S_IFDIR;
	case DT_LNK: return S_IFLNK;
	case DT_REG: return S_IFREG;
	default: return 0;
	}
}

static int dir_add(struct dir_handle *dh, size_t *cap, uint64_t ino,
		   mode_t type, const char *name)
{
	if (dh->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct dirent_snap *t = realloc(dh->ents, ncap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		dh->ents = t;
		*cap = ncap;
	}
	dh->ents[dh->n].name = strdup(name);
	if (!dh->ents[dh->n].name)
		return -ENOMEM;
	dh->ents[dh->n].ino = ino;
	dh->ents[dh->n].type = type;
	dh->n++;
	return 0;
}

/* "." and "..", then udax's listing (which omits them). */
static int dir_snapshot(struct dir_handle *dh)
{
	char parent[UDAX_PATH_MAX + 1];
	struct udax_dirent ent;
	struct stat st, pst;
	const char *slash;
	size_t cap = 0, n;
	udax_dir *d;
	int ret;

	dir_free_entries(dh);
	ret = udax_stat(FS(), dh->path, &st);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	slash = strrchr(dh->path, '/');
	n = slash && slash != dh->path ? (size_t)(slash - dh->path) : 1;
	if (n > UDAX_PATH_MAX)
		n = 1;
	memcpy(parent, dh->path, n);
	parent[n] = '\0';
	if (udax_stat(FS(), parent, &pst) < 0)
		pst = st;
	ret = udax_opendir(FS(), dh->path, &d);
	if (ret < 0)
		return ret;
	ret = dir_add(dh, &cap, st.st_ino, S_IFDIR, ".");
	if (!ret)
		ret = dir_add(dh, &cap, pst.st_ino, S_IFDIR, "..");
	while (!ret && (ret = udax_readdir(d, &ent)) > 0)
		ret = dir_add(dh, &cap, ent.d_ino, dtype_mode(ent.d_type),
			      ent.d_name);
	udax_closedir(d);
	if (ret < 0)
		dir_free_entries(dh);
	return ret < 0 ? ret : 0;
}

static int uf_opendir(const char *path, struct fuse_file_info *fi)
{
	struct dir_handle *dh = calloc(1, sizeof(*dh));
	int ret;

	if (!dh)
		return -ENOMEM;
	dh->path = strdup(path);
	if (!dh->path) {
		free(dh);
		return -ENOMEM;
	}
	ret = dir_snapshot(dh);
	if (ret < 0) {
		free(dh->path);
		free(dh);
		return ret;
	}
	fi->fh = (uint64_t)(uintptr_t)dh;
	return 0;
}

static int uf_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;
	struct stat st;
	size_t i;
	int ret;

	/* Offset 0 after a first pass is rewinddir(): list afresh.  (If
	 * the directory was renamed since opendir, keep the old list.) */
	if (off == 0 && dh->read_once && (ret = dir_snapshot(dh)) < 0 &&
	    ret != -ENOENT && ret != -ENOTDIR)
		return ret;
	dh->read_once = true;
	memset(&st, 0, sizeof(st));
	/* An entry's offset is the index of the next one. */
	for (i = off > 0 ? (size_t)off : 0; i < dh->n; i++) {
		st.st_ino = dh->ents[i].ino;
		st.st_mode = dh->ents[i].type;
		if (fill(buf, dh->ents[i].name, &st, (off_t)(i + 1), 0))
			break;
	}
	return 0;
}

static int uf_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;

	dir_free_entries(dh);
	free(dh->path);
	free(dh);
	return 0;
}

/* Directory changes commit before each call returns: nothing to sync. */
static int uf_fsyncdir(const char *path, int datasync,
		       struct fuse_file_info *fi)
{
	return 0;
}

/* ------------------------------------------------------------------ */
/* Extended attributes: none                                          */
/* ------------------------------------------------------------------ */

static int uf_setxattr(const char *path, const char *name, const char *value,
		       size_t size, int flags)
{
	return -EOPNOTSUPP;
}

static int uf_getxattr(const char *path, const char *name, char *value,
		       size_t size)
{
	return -ENODATA;
}

static int uf_listxattr(const char *path, char *list, size_t size)
{
	return 0;
}

static int uf_removexattr(const char *path, const char *name)
{
	return -ENODATA;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

static void *uf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;        /* st_ino is udax's inode number */
	cfg->readdir_ino = 0;    /* readdir fills in inode numbers itself */
	cfg->hard_remove = !g_uf.hide_unlinked;   /* see the top */
	cfg->nullpath_ok = 1;
	cfg->direct_io = 0;
	cfg->kernel_cache = 0;
	/*
	 * Let the kernel clear set-user-ID/set-group-ID bits on write and
	 * chown (it sends us a chmod); udax does not do it itself.
	 */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
#ifdef FUSE_CAP_HANDLE_KILLPRIV_V2
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV_V2;
#endif
	/* Write-through: a write(2) is in the pool when it returns. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->time_gran = 1;
	return &g_uf;
}

static void uf_destroy(void *private_data)
{
	struct ufuse *uf = private_data;

	if (uf && !uf->unmounted) {
		uf->unmount_err = udax_unmount(uf->fs);
		uf->unmounted = true;
	}
}

static const struct fuse_operations uf_ops = {
	.getattr = uf_getattr,
	.readlink = uf_readlink,
	.mknod = uf_mknod,
	.mkdir = uf_mkdir,
	.unlink = uf_unlink,
	.rmdir = uf_rmdir,
	.symlink = uf_symlink,
	.rename = uf_rename,
	.link = uf_link,
	.chmod = uf_chmod,
	.chown = uf_chown,
	.truncate = uf_truncate,
	.open = uf_open,
	.read = uf_read,
	.write = uf_write,
	.statfs = uf_statfs,
	.flush = uf_flush,
	.release = uf_release,
	.fsync = uf_fsync,
	.setxattr = uf_setxattr,
	.getxattr = uf_getxattr,
	.listxattr = uf_listxattr,
	.removexattr = uf_removexattr,
	.opendir = uf_opendir,
	.readdir = uf_readdir,
	.releasedir = uf_releasedir,
	.fsyncdir = uf_fsyncdir,
	.init = uf_init,
	.destroy = uf_destroy,
	.create = uf_create,
	.utimens = uf_utimens,
	.fallocate = uf_fallocate,
	.lseek = uf_lseek,
};

/* ------------------------------------------------------------------ */
/* Mounting                                                           */
/* ------------------------------------------------------------------ */

static bool is_udax_option(const char *o, size_t n)
{
	static const char *const exact[] = { "ro", "rw", "shadow" };
	size_t i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (n == strlen(exact[i]) && !memcmp(o, exact[i], n))
			return true;
	return n >= 11 && !memcmp(o, "write_lock=", 11);
}

/* Append @o (@n bytes) to the comma-separated list @*list. */
static int list_add(char **list, const char *o, size_t n)
{
	size_t len = *list ? strlen(*list) : 0;
	char *s = realloc(*list, len + n + 2);

	if (!s)
		return -1;
	if (len)
		s[len++] = ',';
	memcpy(s + len, o, n);
	s[len + n] = '\0';
	*list = s;
	return 0;
}

/*
 * Split @options into udax's own and libfuse's; *ro if "ro" wins.  The
 * daemon's own options (hide_unlinked) are taken out here.
 */
static int split_options(const char *options, char **udax_opts,
			 char **fuse_opts, bool *ro)
{
	const char *p = options, *e;
	size_t n;

	*udax_opts = *fuse_opts = NULL;
	*ro = false;
	g_uf.hide_unlinked = false;
	while (p && *p) {
		e = strchrnul(p, ',');
		n = (size_t)(e - p);
		if (n == 13 && !memcmp(p, "hide_unlinked", 13)) {
			g_uf.hide_unlinked = true;
		} else if (n) {
			bool mine = is_udax_option(p, n);

			if (mine && n == 2 && !memcmp(p, "ro", 2))
				*ro = true;
			else if (mine && n == 2 && !memcmp(p, "rw", 2))
				*ro = false;
			if (list_add(mine ? udax_opts : fuse_opts, p, n) < 0)
				return -ENOMEM;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

static int add_opt(char **optstr, const char *opt)
{
	return fuse_opt_add_opt_escaped(optstr, opt);
}

/*
 * The libfuse argument vector: our defaults first, so that options the
 * user gives (-o attr_timeout=... and the like) come later and win.
 */
static int build_args(struct fuse_args *args, const char *pool_abs,
		      const char *fuse_opts, bool ro)
{
	char *optstr = NULL, *fsname = NULL;
	int ret = -1;

	if (fuse_opt_add_arg(args, "udax") < 0)
		return -1;
	if (asprintf(&fsname, "fsname=%s", pool_abs) < 0) {
		fsname = NULL;
		goto out;
	}
	if (add_opt(&optstr, fsname) || add_opt(&optstr, "subtype=udax") ||
	    add_opt(&optstr, "default_permissions") ||
	    add_opt(&optstr, "entry_timeout=1") ||
	    add_opt(&optstr, "attr_timeout=0") ||
	    add_opt(&optstr, "negative_timeout=0") ||
	    (geteuid() == 0 && add_opt(&optstr, "allow_other")) ||
	    (ro && add_opt(&optstr, "ro")))
		goto out;
	if (fuse_opt_add_arg(args, "-o") < 0 || fuse_opt_add_arg(args, optstr) < 0)
		goto out;
	/* Already comma-separated and unescaped, as the user wrote them. */
	if (fuse_opts && (fuse_opt_add_arg(args, "-o") < 0 ||
			  fuse_opt_add_arg(args, fuse_opts) < 0))
		goto out;
	ret = 0;
out:
	free(fsname);
	free(optstr);
	return ret;
}

/*
 * Hold a shared flock on the mount point's directory (the one under the
 * mount) for as long as the daemon runs.  `udax umount` takes it
 * exclusively after unmounting, and so returns only once the daemon has
 * written everything back and marked the pool clean.
 */
static int lock_mountpoint(const char *mountpoint)
{
	int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Going into the background.  The fork comes first and the child does
 * all the work (udax_mount, the kernel mount, serving): udax does not
 * hand a mounted pool to a forked child, and the pool's flock must be
 * the daemon's.  The parent waits on a pipe for one status byte, so it
 * exits 0 only once the mount is in place and 1 after the child has
 * printed why it failed, with stderr still on the terminal.
 *
 * Returns -1 in the child (carry on, *@notify_fd to be passed to
 * daemon_ready), or the exit status in the parent.
 */
static int daemon_fork(int *notify_fd)
{
	int p[2], status;
	unsigned char st = 1;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "udax mount: pipe: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "udax mount: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return 1;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		*notify_fd = p[1];
		return -1;
	}
	close(p[1]);
	while ((n = read(p[0], &st, 1)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n == 1 && st == 0)
		return 0;
	/* The child failed (it said why) or died: reap it. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != 1)
		fprintf(stderr, "udax mount: the daemon died before the mount "
			"was ready\n");
	return 1;
}

/* In the child: detach from the terminal and release the parent. */
static void daemon_ready(int notify_fd, unsigned char status)
{
	int null;

	if (notify_fd < 0)
		return;
	if (status == 0) {
		if (chdir("/") < 0)
			status = 1;
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	}
	while (write(notify_fd, &status, 1) < 0 && errno == EINTR)
		;
	close(notify_fd);
}

int udax_fuse_mount(const char *pool, const char *mountpoint,
		    const char *options, int foreground)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config loop = { .clone_fd = 0, .max_idle_threads = 10 };
	char *udax_opts = NULL, *fuse_opts = NULL, *pool_abs = NULL;
	char *mnt_abs = NULL;
	int ret, rc = 1, lock_fd = -1, notify_fd = -1;
	struct fuse *f = NULL;
	bool ro, mounted = false;
	const char *detail;

	if (split_options(options, &udax_opts, &fuse_opts, &ro) < 0) {
		fprintf(stderr, "udax mount: out of memory\n");
		goto out;
	}
	if (!foreground && (rc = daemon_fork(&notify_fd)) >= 0)
		goto out;   /* the parent, done */
	rc = 1;
	pool_abs = realpath(pool, NULL);
	ret = udax_mount(pool, udax_opts, &g_uf.fs);
	if (ret < 0) {
		detail = udax_last_error();
		fprintf(stderr, "udax mount: %s: %s%s%s%s\n", pool,
			strerror(-ret), detail && *detail ? " (" : "",
			detail && *detail ? detail : "",
			detail && *detail ? ")" : "");
		goto out;
	}
	g_uf.unmounted = false;
	if (build_args(&args, pool_abs ? pool_abs : pool, fuse_opts, ro) < 0) {
		fprintf(stderr, "udax mount: out of memory\n");
		goto out_udax;
	}
	/* libfuse prints its own message for an unknown option. */
	f = fuse_new(&args, &uf_ops, sizeof(uf_ops), &g_uf);
	if (!f) {
		fprintf(stderr, "udax mount: invalid FUSE options%s%s\n",
			fuse_opts ? ": " : "", fuse_opts ? fuse_opts : "");
		goto out_udax;
	}
	/* Absolute: the daemon leaves its directory, and libfuse unmounts
	 * by this name when it is told to stop. */
	mnt_abs = realpath(mountpoint, NULL);
	if (mnt_abs)
		mountpoint = mnt_abs;
	lock_fd = lock_mountpoint(mountpoint);
	if (fuse_mount(f, mountpoint) != 0) {
		fprintf(stderr, "udax mount: cannot mount %s on %s (is it an "
			"existing directory, and /dev/fuse usable?)\n",
			pool, mountpoint);
		goto out_fuse;
	}
	mounted = true;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		fprintf(stderr, "udax mount: cannot install signal handlers\n");
		goto out_fuse;
	}
	daemon_ready(notify_fd, 0);
	notify_fd = -1;
	ret = fuse_loop_mt(f, &loop);
	fuse_remove_signal_handlers(fuse_get_session(f));
	rc = ret == 0 ? 0 : 1;
	if (ret != 0)
		fprintf(stderr, "udax mount: the FUSE loop failed (%d)\n", ret);
out_fuse:
	if (mounted)
		fuse_unmount(f);
	/* Runs destroy() -> udax_unmount() if the kernel ever said hello. */
	fuse_destroy(f);
out_udax:
	if (!g_uf.unmounted) {
		g_uf.unmount_err = udax_unmount(g_uf.fs);
		g_uf.unmounted = true;
	}
	if (g_uf.unmount_err < 0) {
		fprintf(stderr, "udax mount: unmounting %s: %s\n", pool,
			strerror(-g_uf.unmount_err));
		rc = 1;
	}
	g_uf.fs = NULL;
out:
	daemon_ready(notify_fd, 1);
	if (lock_fd >= 0)
		close(lock_fd);
	fuse_opt_free_args(&args);
	free(udax_opts);
	free(fuse_opts);
	free(pool_abs);
	free(mnt_abs);
	return rc;
}
