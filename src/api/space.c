/*
 * space.c - ftruncate and fallocate: changing which blocks a file has.
 *
 * Shrinking commits the new size first and frees blocks after, so a
 * crash leaves either the old size or the new one with, at worst, some
 * blocks past EOF still allocated (as fallocate KEEP_SIZE would).
 * Growing zeroes the stale tail of the old last block first.  Blocks
 * allocated by fallocate are zeroed and fenced before the transaction
 * that maps them commits.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/sched.h"
#include "util/lockdep.h"


static int ftruncate_file(udax_fs *fs, struct ufile *f, off_t len)
{
	if (len < 0)
		return -EINVAL;
	if ((uint64_t)len > UDAX_MAX_FILE_SIZE)
		return -EFBIG;
	if (!fd_writable(f) || !S_ISREG(f->ip->d.mode))
		return -EINVAL;
	pl_wrlock(&f->ip->rw, UL_INODE_RW);
	int err = dax_set_size(&fs->m, f->ip, (uint64_t)len, 1);
	pl_unlock(&f->ip->rw);
	return err;
}

int udax_ftruncate(udax_fs *fs, int fd, off_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	int err = ftruncate_file(fs, f, len);
	fd_put(fs, f);
	return err;
}

static int check_falloc(struct ufile *f, int mode, off_t off, off_t len)
{
	const int known = UDAX_FALLOC_KEEP_SIZE | UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE;

	if (mode & ~known)
		return -EOPNOTSUPP;
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && !(mode & UDAX_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && (mode & UDAX_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((uint64_t)off + (uint64_t)len > UDAX_MAX_FILE_SIZE)
		return -EFBIG;
	if (!fd_writable(f))
		return -EBADF;
	if (S_ISDIR(f->ip->d.mode))
		return -EISDIR;
	return 0;
}

int udax_fallocate(udax_fs *fs, int fd, int mode, off_t off, off_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	int err = check_falloc(f, mode, off, len);
	if (err) {
		fd_put(fs, f);
		return err;
	}
	struct inode *ip = f->ip;
	uint64_t s = (uint64_t)off, e = s + (uint64_t)len;
	pl_wrlock(&ip->rw, UL_INODE_RW);
	if (mode & UDAX_FALLOC_PUNCH_HOLE) {
		err = dax_punch(&fs->m, ip, s, e);
	} else {
		if (mode & UDAX_FALLOC_ZERO_RANGE)
			dax_zero_mapped(&fs->m, ip, s, e);
		err = dax_fill_holes(&fs->m, ip, s / BLK, (e + BLK - 1) / BLK);
		if (!err && !(mode & UDAX_FALLOC_KEEP_SIZE) && e > ip->d.size)
			err = dax_set_size(&fs->m, ip, e, 1);
	}
	pl_unlock(&ip->rw);
	fd_put(fs, f);
	return err;
}
