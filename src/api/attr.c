/*
 * attr.c - attributes and the extra names of an inode: chmod, chown,
 * utimens (by path and by descriptor), hard links and symbolic links.
 *
 * Each change is one journal transaction that rewrites the inode (and,
 * for link/symlink, adds one directory entry), so after a crash it is
 * wholly there or wholly absent.  ctime moves with every change, as
 * POSIX asks.
 *
 * Symbolic links are stored, never followed: the target lives inline in
 * the inode (up to SYMLINK_INLINE bytes) or in one block, udax_stat()
 * reports the link itself, and udax_open() of a link gives -ELOOP.
 * Whoever resolves paths (the kernel over FUSE, or the interposer's
 * caller) reads the target with udax_readlink().
 *
 * Locking: ns_lock for the path walk and every namespace change, then
 * ip->rw (link-count changes of regular files, as in unlink), then
 * tx_lock through tx_begin.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/fs.h"
#include "util/lockdep.h"

_Static_assert(SYMLINK_MAX == UDAX_SYMLINK_MAX, "one limit");
_Static_assert(SYMLINK_MAX < BLK, "a long target fits one block");

/* What an attribute change does to the inode, inside its transaction. */
struct attr_change {
	int (*apply)(struct dinode *d, const struct attr_change *c, uint64_t now);
	mode_t mode;
	uid_t uid;
	gid_t gid;
	const struct timespec *ts;
};

static int apply_mode(struct dinode *d, const struct attr_change *c, uint64_t now)
{
	d->mode = (d->mode & S_IFMT) | (c->mode & 07777);
	return 0;
}

static int apply_owner(struct dinode *d, const struct attr_change *c, uint64_t now)
{
	if (c->uid != (uid_t)-1)
		d->uid = c->uid;
	if (c->gid != (gid_t)-1)
		d->gid = c->gid;
	return 0;
}

/* One timestamp of utimensat(2): UTIME_NOW, UTIME_OMIT or a time. */
static int pick_time(const struct timespec *t, uint64_t now, uint64_t *out)
{
	if (!t || t->tv_nsec == UTIME_NOW) {
		*out = now;
		return 0;
	}
	if (t->tv_nsec == UTIME_OMIT)
		return 0;
	/* signed ns since the epoch on media: about 292 years either way */
	if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000L ||
	    t->tv_sec > INT64_MAX / 1000000000 - 1 || t->tv_sec < INT64_MIN / 1000000000 + 1)
		return -EINVAL;
	*out = (uint64_t)((int64_t)t->tv_sec * 1000000000 + t->tv_nsec);
	return 0;
}

static int apply_times(struct dinode *d, const struct attr_change *c, uint64_t now)
{
	uint64_t a = d->atime_ns, m = d->mtime_ns;
	int err = pick_time(c->ts ? &c->ts[0] : NULL, now, &a);

	if (!err)
		err = pick_time(c->ts ? &c->ts[1] : NULL, now, &m);
	if (!err) {
		d->atime_ns = a;
		d->mtime_ns = m;
	}
	return err;
}

static int change_inode(udax_fs *fs, struct inode *ip, const struct attr_change *c)
{
	struct tx tx;
	uint64_t now = now_ns();

	tx_begin(&fs->m, &tx);
	struct dinode *d = tx_inode(&tx, ip);
	int err = d ? c->apply(d, c, now) : tx.err;
	if (err) {
		tx_abort(&tx);
		return err;
	}
	d->ctime_ns = now;
	return tx_commit(&tx);
}

static int change_path(udax_fs *fs, const char *path, const struct attr_change *c)
{
	struct inode *ip;
	int err;

	if (!fs)
		return -EINVAL;
	if (fs->m.rdonly)
		return -EROFS;
	ns_lock(fs);
	err = path_lookup(fs, path, &ip);
	if (!err) {
		err = change_inode(fs, ip, c);
		release_inode(fs, ip);
	}
	ns_unlock(fs);
	return err;
}

static int change_fd(udax_fs *fs, int fd, const struct attr_change *c)
{
	struct ufile *f = fd_get(fs, fd);
	int err;

	if (!f)
		return -EBADF;
	if (fs->m.rdonly) {
		fd_put(fs, f);
		return -EROFS;
	}
	/* directories' dinodes are under ns_lock (fs.h) */
	ns_lock(fs);
	err = change_inode(fs, f->ip, c);
	ns_unlock(fs);
	fd_put(fs, f);
	return err;
}

int udax_chmod(udax_fs *fs, const char *path, mode_t mode)
{
	return change_path(fs, path, &(struct attr_change){ .apply = apply_mode, .mode = mode });
}

int udax_fchmod(udax_fs *fs, int fd, mode_t mode)
{
	return change_fd(fs, fd, &(struct attr_change){ .apply = apply_mode, .mode = mode });
}

int udax_chown(udax_fs *fs, const char *path, uid_t uid, gid_t gid)
{
	return change_path(fs, path, &(struct attr_change){ .apply = apply_owner,
	                                                    .uid = uid, .gid = gid });
}

int udax_fchown(udax_fs *fs, int fd, uid_t uid, gid_t gid)
{
	return change_fd(fs, fd, &(struct attr_change){ .apply = apply_owner,
	                                                .uid = uid, .gid = gid });
}

int udax_utimens(udax_fs *fs, const char *path, const struct timespec ts[2])
{
	return change_path(fs, path, &(struct attr_change){ .apply = apply_times, .ts = ts });
}

int udax_futimens(udax_fs *fs, int fd, const struct timespec ts[2])
{
	return change_fd(fs, fd, &(struct attr_change){ .apply = apply_times, .ts = ts });
}

void udax_set_creator(uid_t uid, gid_t gid)
{
	meta_set_creator(uid, gid);
}

/* ---- new names ---- */

/* Find where a new name @path goes: its parent, and no entry yet. */
static int new_name(udax_fs *fs, const char *path, struct walk *w)
{
	int err = path_parent(fs, path, w);

	if (err)
		return err;
	if (w->len == 0 || walk_entry_of(w))
		err = -EEXIST;
	else if (w->trailing_slash)
		err = -ENOENT;
	if (err)
		walk_done(fs, w);
	return err;
}

/* Add entry @w -> @ip and bump @ip's link count, in one transaction. */
static int add_link(udax_fs *fs, struct walk *w, struct inode *ip)
{
	struct tx tx;

	tx_begin(&fs->m, &tx);
	int err = dir_add(&tx, w->dir, w->name, w->len, ip->ino, dtype_of(ip->d.mode));
	struct dinode *pd = err ? NULL : tx_inode(&tx, w->dir);
	struct dinode *d = pd ? tx_inode(&tx, ip) : NULL;
	if (!d) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	d->nlink++;
	pd->mtime_ns = pd->ctime_ns = d->ctime_ns = now_ns();
	return tx_commit(&tx);
}

int udax_link(udax_fs *fs, const char *from, const char *to)
{
	struct inode *ip;
	struct walk w;
	int err;

	if (!fs)
		return -EINVAL;
	if (fs->m.rdonly)
		return -EROFS;
	ns_lock(fs);
	err = path_lookup(fs, from, &ip);
	if (err)
		goto out;
	if (S_ISDIR(ip->d.mode))
		err = -EPERM;
	else if (ip->d.nlink >= 65000)
		err = -EMLINK;
	else
		err = new_name(fs, to, &w);
	if (!err) {
		int reg = S_ISREG(ip->d.mode);
		if (reg)
			pl_wrlock(&ip->rw, UL_INODE_RW);
		err = add_link(fs, &w, ip);
		if (reg)
			pl_unlock(&ip->rw);
		walk_done(fs, &w);
	}
	release_inode(fs, ip);
out:
	ns_unlock(fs);
	return err;
}

/* A target too long for the inode goes to a zeroed block at file block
 * 0, made persistent before the transaction that maps it commits. */
static int store_long_target(struct tx *tx, struct inode *ip, const char *target, size_t len)
{
	struct meta *m = tx->m;
	uint64_t pblk;
	int64_t got = alloc_blocks(tx, 1, 0, 0, &pblk);

	if (got < 0)
		return (int)got;
	char *b = meta_block(m, pblk);
	pmem_memcpy(&m->pm, b, target, len);
	pmem_memset(&m->pm, b + len, 0, BLK - len);
	pmem_drain(&m->pm);
	int err = xmap_insert(tx, ip, 0, pblk, 1);
	if (!err)
		ip->d.blocks = 1;
	return err;
}

static int create_symlink(udax_fs *fs, struct walk *w, const char *target, size_t len)
{
	struct tx tx;
	int err = 0;

	tx_begin(&fs->m, &tx);
	struct inode *ip = ialloc(&tx, S_IFLNK | 0777, 0, &err);
	if (ip)
		err = dir_add(&tx, w->dir, w->name, w->len, ip->ino, DT_LNK_);
	struct dinode *pd = err ? NULL : tx_inode(&tx, w->dir);
	struct dinode *d = pd ? tx_inode(&tx, ip) : NULL;
	if (!d) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	if (len <= SYMLINK_INLINE)
		memcpy(d->reserved, target, len);
	else if ((err = store_long_target(&tx, ip, target, len)) < 0) {
		tx_abort(&tx);
		return err;
	}
	d->size = len;
	pd->mtime_ns = pd->ctime_ns = now_ns();
	err = tx_commit(&tx);
	if (!err)
		iput(&fs->m, ip);
	return err;
}

int udax_symlink(udax_fs *fs, const char *target, const char *path)
{
	struct walk w;
	size_t len;
	int err;

	if (!fs)
		return -EINVAL;
	if (!target)
		return -EFAULT;
	len = strnlen(target, SYMLINK_MAX + 1);
	if (len == 0)
		return -ENOENT;
	if (len > SYMLINK_MAX)
		return -ENAMETOOLONG;
	if (fs->m.rdonly)
		return -EROFS;
	ns_lock(fs);
	err = new_name(fs, path, &w);
	if (!err) {
		err = create_symlink(fs, &w, target, len);
		walk_done(fs, &w);
	}
	ns_unlock(fs);
	return err;
}

ssize_t udax_readlink(udax_fs *fs, const char *path, char *buf, size_t size)
{
	struct inode *ip;
	ssize_t n;

	if (!fs)
		return -EINVAL;
	if (!buf || size == 0)
		return -EINVAL;
	ns_lock(fs);
	int err = path_lookup(fs, path, &ip);
	if (err) {
		n = err;
	} else {
		/* copied out after tx_lock: @buf may be a udax mapping, and
		 * a fault that allocates there under tx_lock would deadlock */
		char tmp[BLK];
		meta_lock(&fs->m);
		struct dextent x;
		uint64_t next;
		if (!S_ISLNK(ip->d.mode)) {
			n = -EINVAL;
		} else {
			n = (ssize_t)(ip->d.size < size ? ip->d.size : size);
			if (n > (ssize_t)BLK)
				n = BLK;
			if (ip->d.size <= SYMLINK_INLINE)
				memcpy(tmp, ip->d.reserved, (size_t)n);
			else if (xmap_lookup(&ip->xm, 0, &x, &next))
				memcpy(tmp, meta_block(&fs->m, x.pblk), (size_t)n);
			else
				n = -EUCLEAN; /* fsck reports the missing block */
		}
		meta_unlock(&fs->m);
		if (n > 0)
			memcpy(buf, tmp, (size_t)n);
		release_inode(fs, ip);
	}
	ns_unlock(fs);
	return n;
}
