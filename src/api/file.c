/*
 * file.c - descriptors: open, close, fstat, lseek, fsync.
 *
 * A descriptor holds a reference on its inode.  When the last
 * reference to an inode with no name left goes (close after unlink),
 * the inode's blocks and the inode itself are freed.  The descriptor
 * (struct ufile) is itself referenced by the table and by each call
 * using it (fd_get/fd_put, see fs.h), so close never frees it under a
 * call in another thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/sched.h"
#include "util/lockdep.h"

#define OPEN_FLAGS_OK (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_SYNC | \
                       O_DSYNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | \
                       O_LARGEFILE | O_NOATIME)

struct ufile *fd_get(udax_fs *fs, int fd)
{
	struct ufile *f = NULL;

#ifndef UDAX_BUG_FORK_FAULT
	if (fs && fs->m.forked)
		return NULL;   /* a child of fork: the parent's descriptors */
#endif
	if (!fs)
		return NULL;
	ul_mutex_lock(&fs->fd_lock, UL_FD);
	if (fd >= 0 && fd < fs->nfds)
		f = fs->fds[fd];
	if (f)
		f->refs++;
	ul_mutex_unlock(&fs->fd_lock);
	if (f)
		sched_point("fd:got");
	return f;
}

/* The last reference: commit times not yet committed, drop the inode. */
static void ufile_free(udax_fs *fs, struct ufile *f)
{
	if (S_ISREG(f->ip->d.mode) && !fs->m.rdonly) {
		pl_wrlock(&f->ip->rw, UL_INODE_RW);
		inode_sync_times(fs, f->ip, 0);
		pl_unlock(&f->ip->rw);
	}
	release_inode(fs, f->ip);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
}

void fd_put(udax_fs *fs, struct ufile *f)
{
	int last;

	if (!f)
		return;
	ul_mutex_lock(&fs->fd_lock, UL_FD);
	last = --f->refs == 0;
	ul_mutex_unlock(&fs->fd_lock);
	if (last)
		ufile_free(fs, f);
}

int fd_writable(const struct ufile *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* Drop a reference; the last one to an inode without a name frees it
 * (not on a read-only mount: the next read-write mount reaps it). */
void release_inode(udax_fs *fs, struct inode *ip)
{
	/* its link count may have changed in another process: the last
	 * reference of an unnamed inode frees it */
	if (!fs->m.rdonly)
		meta_validate(&fs->m, ip);
	if (iput(&fs->m, ip) && !fs->m.rdonly)
		meta_evict(&fs->m, ip);
}

static int fd_install(udax_fs *fs, struct ufile *f)
{
	int fd;

	ul_mutex_lock(&fs->fd_lock, UL_FD);
	for (fd = 0; fd < fs->nfds && fs->fds[fd]; fd++)
		;
	if (fd == fs->nfds) {
		int n = fs->nfds ? fs->nfds * 2 : 16;
		struct ufile **t = n <= 65536 ? realloc(fs->fds, n * sizeof(*t)) : NULL;
		if (!t) {
			ul_mutex_unlock(&fs->fd_lock);
			return -EMFILE;
		}
		memset(t + fs->nfds, 0, (n - fs->nfds) * sizeof(*t));
		fs->fds = t;
		fs->nfds = n;
	}
	fs->fds[fd] = f;
	ul_mutex_unlock(&fs->fd_lock);
	return fd;
}

static int create_file(udax_fs *fs, struct walk *w, mode_t mode, struct inode **out)
{
	struct tx tx;
	int err = 0;

	tx_begin(&fs->m, &tx);
	struct inode *ip = ialloc(&tx, S_IFREG | (mode & 07777), 0, &err);
	if (ip)
		err = dir_add(&tx, w->dir, w->name, w->len, ip->ino, DT_REG_);
	struct dinode *pd = err ? NULL : tx_inode(&tx, w->dir);
	if (!pd) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	pd->mtime_ns = pd->ctime_ns = now_ns();
	err = tx_commit(&tx);
	if (!err)
		*out = ip;
	return err;
}

static int check_open(const struct inode *ip, int flags)
{
	if (S_ISLNK(ip->d.mode))
		return -ELOOP; /* udax never follows symbolic links itself */
	if (S_ISDIR(ip->d.mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EISDIR;
	if (!S_ISDIR(ip->d.mode) && (flags & O_DIRECTORY))
		return -ENOTDIR;
	return 0;
}

/* Find or create the inode for open(); referenced on success. */
static int open_inode(udax_fs *fs, const char *path, int flags, mode_t mode,
                      struct inode **out)
{
	struct walk w;
	int err = path_parent(fs, path, &w);

	if (err)
		return err;
	if (w.len == 0) {
		*out = w.dir;
		return (flags & O_CREAT) && (flags & O_EXCL) ? (walk_done(fs, &w), -EEXIST) : 0;
	}
	struct dcent *e = walk_entry_of(&w);
	if (e && (flags & O_CREAT) && (flags & O_EXCL)) {
		err = -EEXIST;
	} else if (e) {
		*out = iget(&fs->m, e->ino, &err);
		if (*out && w.trailing_slash && !S_ISDIR((*out)->d.mode)) {
			iput(&fs->m, *out);
			err = -ENOTDIR;
		}
	} else if (!(flags & O_CREAT)) {
		err = -ENOENT;
	} else if (w.trailing_slash) {
		err = -EISDIR;
	} else if (fs->m.rdonly) {
		err = -EROFS;
	} else {
		err = create_file(fs, &w, mode, out);
	}
	walk_done(fs, &w);
	return err;
}

int udax_open(udax_fs *fs, const char *path, int flags, mode_t mode)
{
	struct inode *ip = NULL;
	struct ufile *f;
	int err;

	if (!fs)
		return -EINVAL;
	if ((flags & ~OPEN_FLAGS_OK) || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (fs->m.rdonly && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	ns_lock(fs);
	err = open_inode(fs, path, flags, mode, &ip);
	if (!err && (err = check_open(ip, flags)) < 0)
		release_inode(fs, ip);
	ns_unlock(fs);
	if (err)
		return err;
	if ((flags & O_TRUNC) && fd_writable(&(struct ufile){ .flags = flags }) && S_ISREG(ip->d.mode)) {
		pl_wrlock(&ip->rw, UL_INODE_RW);
		err = ip->d.size ? dax_set_size(&fs->m, ip, 0, 0) : 0;
		pl_unlock(&ip->rw);
		if (err) {
			release_inode(fs, ip);
			return err;
		}
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		release_inode(fs, ip);
		return -ENOMEM;
	}
	if (S_ISREG(ip->d.mode) && !dax_inode_get(&fs->m, ip, fs->m.pool.fd, fs->write_lock)) {
		release_inode(fs, ip);
		free(f);
		return -ENOMEM;
	}
	f->ip = ip;
	f->flags = flags;
	pthread_mutex_init(&f->pos_lock, NULL);
	f->refs = 1;            /* the table's */
	int fd = fd_install(fs, f);
	if (fd < 0) {
		release_inode(fs, ip);
		free(f);
	}
	return fd;
}

int udax_close(udax_fs *fs, int fd)
{
	struct ufile *f = NULL;

	if (!fs)
		return -EBADF;
	ul_mutex_lock(&fs->fd_lock, UL_FD);
	if (fd >= 0 && fd < fs->nfds) {
		f = fs->fds[fd];
		fs->fds[fd] = NULL;
	}
	ul_mutex_unlock(&fs->fd_lock);
	if (!f)
		return -EBADF;
	fd_put(fs, f);          /* the table's reference */
	return 0;
}

/* On media a time is a signed count of ns since the epoch (before 1970
 * is negative) kept in a uint64_t field. */
static struct timespec ns_to_ts(uint64_t ns)
{
	int64_t v = (int64_t)ns;
	struct timespec ts = { (time_t)(v / 1000000000), (long)(v % 1000000000) };

	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000L;
		ts.tv_sec--;
	}
	return ts;
}

void fill_stat(const struct inode *ip, struct stat *st)
{
	const struct dinode *d = &ip->d;

	memset(st, 0, sizeof(*st));
	st->st_ino = ip->ino;
	st->st_mode = d->mode;
	st->st_nlink = d->nlink;
	st->st_uid = d->uid;
	st->st_gid = d->gid;
	st->st_size = (off_t)d->size;
	st->st_blksize = BLK;
	st->st_blocks = (blkcnt_t)(d->blocks * (BLK / 512));
	st->st_atim = ns_to_ts(d->atime_ns);
	st->st_mtim = ns_to_ts(d->mtime_ns);
	st->st_ctim = ns_to_ts(d->ctime_ns);
}

int udax_fstat(udax_fs *fs, int fd, struct stat *st)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	if (!st) {
		fd_put(fs, f);
		return -EFAULT;
	}
	/* directories' fields are under ns_lock, files' under rw; @st is
	 * written unlocked: it may be a udax mapping, and a fault that
	 * allocates there under tx_lock would deadlock */
	struct stat s;
	ns_lock(fs);
	meta_lock(&fs->m);
	fill_stat(f->ip, &s);
	meta_unlock(&fs->m);
	ns_unlock(fs);
	*st = s;
	fd_put(fs, f);
	return 0;
}

/* SEEK_DATA / SEEK_HOLE from @off, following the extent map. */
static off_t seek_data_hole(struct inode *ip, uint64_t off, int data)
{
	uint64_t size = ip->d.size;
	struct dextent x;
	uint64_t next;

	if (off >= size)
		return -ENXIO;
	uint64_t b = off / BLK;
	if (data) {
		if (xmap_lookup(&ip->xm, b, &x, &next))
			return (off_t)off;
		return next != UINT64_MAX && next * BLK < size ? (off_t)(next * BLK) : -ENXIO;
	}
	while (xmap_lookup(&ip->xm, b, &x, &next))
		b = x.lblk + x.len;
	uint64_t hole = b * BLK > off ? b * BLK : off;
	return (off_t)(hole < size ? hole : size);
}

off_t udax_lseek(udax_fs *fs, int fd, off_t off, int whence)
{
	struct ufile *f = fd_get(fs, fd);
	off_t base, r;

	if (!f)
		return -EBADF;
	ul_mutex_lock(&f->pos_lock, UL_POS);
	pl_rdlock(&f->ip->rw, UL_INODE_RW);
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = f->pos; break;
	case SEEK_END: base = (off_t)f->ip->d.size; break;
	case SEEK_DATA:
	case SEEK_HOLE:
		r = off < 0 ? -ENXIO : seek_data_hole(f->ip, (uint64_t)off, whence == SEEK_DATA);
		goto done;
	default:
		r = -EINVAL;
		goto done;
	}
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		r = -EINVAL;
	else
		r = base + off;
done:
	if (r >= 0)
		f->pos = r;
	pl_unlock(&f->ip->rw);
	ul_mutex_unlock(&f->pos_lock);
	fd_put(fs, f);
	return r;
}

/* Commit timestamps that were changed without a transaction. */
int inode_sync_times(udax_fs *fs, struct inode *ip, int datasync)
{
	struct tx tx;

	if (datasync)
		return 0;
	tx_begin(&fs->m, &tx);
	if (!ip->times_dirty) {
		tx_abort(&tx);
		return 0;
	}
	if (!tx_inode(&tx, ip)) {
		tx_abort(&tx);
		return -E2BIG;
	}
	return tx_commit(&tx);
}

static int sync_common(udax_fs *fs, int fd, int datasync)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	if (fs->m.rdonly) {
		fd_put(fs, f);
		return 0;
	}
	/* pwrite data is already persistent; stores made through mappings
	 * are flushed here.  No inode lock: writeback works entry by entry
	 * and must not stop faults or writers for long. */
	int err = f->ip->upper ? dax_writeback(f->ip->upper, 0, UINT64_C(1) << 32) : 0;
	pmem_drain(&fs->m.pm);
	if (!err) {
		pl_wrlock(&f->ip->rw, UL_INODE_RW);
		err = inode_sync_times(fs, f->ip, datasync);
		pl_unlock(&f->ip->rw);
	}
	fd_put(fs, f);
	return err;
}

int udax_fsync(udax_fs *fs, int fd)
{
	return sync_common(fs, fd, 0);
}

int udax_fdatasync(udax_fs *fs, int fd)
{
	return sync_common(fs, fd, 1);
}
