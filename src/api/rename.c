/*
 * rename.c - rename(2) and renameat2(2)'s NOREPLACE and EXCHANGE.
 *
 * The whole rename, including the replaced target losing its name and
 * directory link counts moving, is one journal transaction.  A replaced
 * target that is no longer open is freed afterwards (release_inode).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "util/lockdep.h"

struct rn {
	struct walk from, to;
	struct dcent *fe, *te;
	struct inode *fi, *ti;    /* source and existing target (or NULL) */
};

static uint8_t dtype(const struct inode *ip)
{
	return dtype_of(ip->d.mode);
}

/* Is directory @anc equal to @dir or one of its ancestors? */
static int is_ancestor(udax_fs *fs, uint64_t anc, struct inode *dir)
{
	uint64_t ino = dir->ino;

	for (int depth = 0; depth < 1 << 20; depth++) {
		if (ino == anc)
			return 1;
		if (ino == ROOT_INO)
			return 0;
		int err;
		struct inode *ip = iget(&fs->m, ino, &err);
		if (!ip)
			return 0;
		uint64_t parent = ip->d.parent;
		iput(&fs->m, ip);
		ino = parent;
	}
	return 1; /* a cycle: refuse */
}

static int check_rename(udax_fs *fs, struct rn *r, unsigned flags)
{
	int fdir = S_ISDIR(r->fi->d.mode);

	if ((flags & UDAX_RENAME_EXCHANGE) && !r->ti)
		return -ENOENT;
	if ((flags & UDAX_RENAME_NOREPLACE) && r->ti)
		return -EEXIST;
	if (!fdir && (r->from.trailing_slash || r->to.trailing_slash) &&
	    !(r->ti && S_ISDIR(r->ti->d.mode) && (flags & UDAX_RENAME_EXCHANGE)))
		return -ENOTDIR;
	if (fdir && is_ancestor(fs, r->fi->ino, r->to.dir))
		return -EINVAL;
	if (r->ti && (flags & UDAX_RENAME_EXCHANGE) && S_ISDIR(r->ti->d.mode) &&
	    is_ancestor(fs, r->ti->ino, r->from.dir))
		return -EINVAL;
	if (r->ti && !(flags & UDAX_RENAME_EXCHANGE)) {
		int tdir = S_ISDIR(r->ti->d.mode);
		if (fdir && !tdir)
			return -ENOTDIR;
		if (!fdir && tdir)
			return -EISDIR;
		if (tdir) {
			int err = dir_load(&fs->m, r->ti);
			if (err)
				return err;
			if (r->ti->dc->count)
				return -ENOTEMPTY;
		}
	}
	return 0;
}

/* A directory moving from @from to @to: its ".." link moves too. */
static int move_dir_link(struct tx *tx, struct inode *dir, struct inode *from,
                         struct inode *to)
{
	if (!S_ISDIR(dir->d.mode) || from == to)
		return 0;
	struct dinode *d = tx_inode(tx, dir), *fd = tx_inode(tx, from), *td = tx_inode(tx, to);
	if (!d || !fd || !td)
		return tx->err;
	d->parent = to->ino;
	fd->nlink--;
	td->nlink++;
	return 0;
}

static int do_exchange(udax_fs *fs, struct tx *tx, struct rn *r)
{
	int err = dir_set_ino(tx, r->from.dir, r->fe, r->ti->ino, dtype(r->ti));
	if (!err)
		err = dir_set_ino(tx, r->to.dir, r->te, r->fi->ino, dtype(r->fi));
	if (!err)
		err = move_dir_link(tx, r->fi, r->from.dir, r->to.dir);
	if (!err)
		err = move_dir_link(tx, r->ti, r->to.dir, r->from.dir);
	return err;
}

static int do_move(udax_fs *fs, struct tx *tx, struct rn *r)
{
	int err;

	if (r->ti) {
		struct dinode *td = tx_inode(tx, r->ti);
		if (!td)
			return tx->err;
		if (S_ISDIR(r->ti->d.mode)) {
			struct dinode *pd = tx_inode(tx, r->to.dir);
			if (!pd)
				return tx->err;
			td->nlink = 0;
			pd->nlink--;
		} else {
			td->nlink--;
		}
		td->ctime_ns = now_ns();
		err = dir_set_ino(tx, r->to.dir, r->te, r->fi->ino, dtype(r->fi));
	} else {
		err = dir_add(tx, r->to.dir, r->to.name, r->to.len, r->fi->ino, dtype(r->fi));
	}
	if (!err)
		err = dir_remove(tx, r->from.dir, r->fe);
	if (!err)
		err = move_dir_link(tx, r->fi, r->from.dir, r->to.dir);
	return err;
}

static int rename_tx(udax_fs *fs, struct rn *r, unsigned flags)
{
	struct tx tx;
	uint64_t t = now_ns();

	tx_begin(&fs->m, &tx);
	int err = (flags & UDAX_RENAME_EXCHANGE) ? do_exchange(fs, &tx, r) : do_move(fs, &tx, r);
	struct dinode *a = err ? NULL : tx_inode(&tx, r->from.dir);
	struct dinode *b = a ? tx_inode(&tx, r->to.dir) : NULL;
	struct dinode *c = b ? tx_inode(&tx, r->fi) : NULL;
	if (!c) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	a->mtime_ns = a->ctime_ns = b->mtime_ns = b->ctime_ns = c->ctime_ns = t;
	return tx_commit(&tx);
}

static void lock_files(struct rn *r, int lock)
{
	struct inode *f = S_ISREG(r->fi->d.mode) ? r->fi : NULL;
	struct inode *t = r->ti && S_ISREG(r->ti->d.mode) && r->ti != r->fi ? r->ti : NULL;

	/* Two regular files: lock in inode order (they are never nested
	 * anywhere else, but keep the order fixed anyway). */
	if (f && t && t->ino < f->ino) {
		struct inode *x = f;
		f = t;
		t = x;
	}
	if (lock) {
		if (f) pl_wrlock(&f->rw, UL_INODE_RW);
		if (t) pl_wrlock_nested(&t->rw, UL_INODE_RW, 1);
	} else {
		if (t) pl_unlock(&t->rw);
		if (f) pl_unlock(&f->rw);
	}
}

static int rename_locked(udax_fs *fs, const char *from, const char *to,
                         unsigned flags, struct rn *r)
{
	int err = path_parent(fs, from, &r->from);
	if (!err)
		err = path_parent(fs, to, &r->to);
	if (err)
		return err;
	if (r->from.len == 0 || r->to.len == 0)
		return -EBUSY; /* renaming "/" or onto it */
	r->fe = walk_entry_of(&r->from);
	if (!r->fe)
		return -ENOENT;
	r->te = walk_entry_of(&r->to);
	if (r->fe == r->te) { /* same entry: nothing to do, but rename(2)'s errors hold */
		if (flags & UDAX_RENAME_NOREPLACE)
			return -EEXIST;
		if ((r->from.trailing_slash || r->to.trailing_slash) && r->fe->type != DT_DIR_)
			return -ENOTDIR;
		return 0;
	}
	r->fi = iget(&fs->m, r->fe->ino, &err);
	if (!r->fi)
		return err;
	if (r->te && !(r->ti = iget(&fs->m, r->te->ino, &err)))
		return err;
	err = check_rename(fs, r, flags);
	if (err)
		return err;
	lock_files(r, 1);
	err = rename_tx(fs, r, flags);
	lock_files(r, 0);
	return err;
}

int udax_rename(udax_fs *fs, const char *from, const char *to, unsigned flags)
{
	struct rn r;

	if (flags & ~(unsigned)(UDAX_RENAME_NOREPLACE | UDAX_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & UDAX_RENAME_NOREPLACE) && (flags & UDAX_RENAME_EXCHANGE))
		return -EINVAL;
	if (fs->m.rdonly)
		return -EROFS;
	memset(&r, 0, sizeof(r));
	ns_lock(fs);
	int err = rename_locked(fs, from, to, flags, &r);
	if (r.fi)
		iput(&fs->m, r.fi);
	if (r.ti)
		release_inode(fs, r.ti);
	walk_done(fs, &r.from);
	walk_done(fs, &r.to);
	ns_unlock(fs);
	return err;
}
