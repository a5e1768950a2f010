/*
 * rw.c - the data path without mappings: pread, pwrite, read, write.
 *
 * Reads copy from pool blocks and produce zeros for holes, under the
 * inode's rw lock shared.  Writes hold it exclusively.  Overwrites of
 * mapped blocks copy with flushing stores and need no transaction.
 * Filling a hole allocates a run of blocks inside a journal transaction,
 * writes the data (and zeroes the rest of any partial block), fences,
 * and only then commits the allocation together with the new size, so
 * a crash can never expose a block's old contents.  Every write fences
 * before it returns: its data is persistent when the call returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "api/fs.h"

/* Largest run allocated (and copied) inside one transaction, in blocks:
 * bounds how long tx_lock is held by one big write. */
#define MAX_ALLOC_RUN 4096u

static char *block_addr(udax_fs *fs, uint64_t pblk)
{
	return meta_block(&fs->m, pblk);
}

/* Bytes [old_size, end of its block) may hold stale data left by a
 * shrinking truncate; zero them before the size grows over them. */
void zero_tail_gap(udax_fs *fs, struct inode *ip, uint64_t old_size)
{
	struct dextent x;
	uint64_t next, in = old_size % BLK;

	if (in == 0 || !xmap_lookup(&ip->xm, old_size / BLK, &x, &next))
		return;
	char *p = block_addr(fs, x.pblk + (old_size / BLK - x.lblk));
	pmem_memset(&fs->m.pm, p + in, 0, BLK - in);
	pmem_drain(&fs->m.pm);
}

ssize_t udax_pread(udax_fs *fs, int fd, void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);
	char *out = buf;

	if (!f)
		return -EBADF;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (S_ISDIR(f->ip->d.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	struct inode *ip = f->ip;
	pthread_rwlock_rdlock(&ip->rw);
	uint64_t pos = (uint64_t)off, size = ip->d.size;
	uint64_t end = pos + len < size ? pos + len : size;
	while (pos < end) {
		struct dextent x;
		uint64_t next, b = pos / BLK, in = pos % BLK, n;
		if (xmap_lookup(&ip->xm, b, &x, &next)) {
			n = (x.lblk + x.len) * BLK - pos;
			n = n < end - pos ? n : end - pos;
			memcpy(out, block_addr(fs, x.pblk + (b - x.lblk)) + in, n);
		} else {
			n = next == UINT64_MAX ? end - pos : next * BLK - pos;
			n = n < end - pos ? n : end - pos;
			memset(out, 0, n);
		}
		out += n;
		pos += n;
	}
	pthread_rwlock_unlock(&ip->rw);
	return (ssize_t)(pos > (uint64_t)off ? pos - (uint64_t)off : 0);
}

/* Commit a new size (and times) in a transaction of its own. */
int set_size(udax_fs *fs, struct inode *ip, uint64_t size, int zero_gap)
{
	struct tx tx;
	uint64_t old = ip->d.size;

	if (size > old && zero_gap)
		zero_tail_gap(fs, ip, old);
	tx_begin(&fs->m, &tx);
	struct dinode *d = tx_inode(&tx, ip);
	if (!d) {
		tx_abort(&tx);
		return -E2BIG;
	}
	d->size = size;
	d->mtime_ns = d->ctime_ns = now_ns();
	int err = tx_commit(&tx);
	if (err || size >= old)
		return err;
	/* Shrunk: the size is durable; free what lies past it. */
	return meta_unmap(&fs->m, ip, (size + BLK - 1) / BLK, UINT64_C(1) << 32);
}

/* Fill the hole at @pos with newly allocated blocks holding @src. */
static ssize_t write_hole(udax_fs *fs, struct inode *ip, const char *src,
                          uint64_t pos, uint64_t end, uint64_t hole_end)
{
	struct tx tx;
	struct dextent prev;
	uint64_t b = pos / BLK, nx, pblk, goal = 0;
	uint64_t want = (end + BLK - 1) / BLK - b;

	if (want > hole_end - b)
		want = hole_end - b;
	if (want > MAX_ALLOC_RUN)
		want = MAX_ALLOC_RUN;
	if (b && xmap_lookup(&ip->xm, b - 1, &prev, &nx))
		goal = prev.pblk + (b - 1 - prev.lblk) + 1;
	tx_begin(&fs->m, &tx);
	int64_t got = alloc_blocks(&tx, want, goal, want >= 512 ? ALLOC_LARGE : 0, &pblk);
	if (got < 0) {
		tx_abort(&tx);
		return got;
	}
	uint64_t run_end = (b + (uint64_t)got) * BLK, stop = end < run_end ? end : run_end;
	char *base = block_addr(fs, pblk);
	/* zero what this write does not cover, then copy */
	pmem_memset(&fs->m.pm, base, 0, pos % BLK);
	pmem_memcpy(&fs->m.pm, base + pos % BLK, src, stop - pos);
	pmem_memset(&fs->m.pm, base + (stop - b * BLK), 0, run_end - stop);
	pmem_drain(&fs->m.pm);
	int err = xmap_insert(&tx, ip, b, pblk, (uint32_t)got);
	struct dinode *d = err ? NULL : tx_inode(&tx, ip);
	if (!d) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	d->blocks += (uint64_t)got;
	if (stop > d->size)
		d->size = stop;
	d->mtime_ns = d->ctime_ns = now_ns();
	err = tx_commit(&tx);
	return err ? err : (ssize_t)(stop - pos);
}

static ssize_t write_locked(udax_fs *fs, struct ufile *f, const char *src,
                            uint64_t pos, uint64_t len)
{
	struct inode *ip = f->ip;
	uint64_t start = pos, end = pos + len, old_size = ip->d.size;
	ssize_t err = 0;

	if (pos > old_size || (end > old_size && old_size % BLK))
		zero_tail_gap(fs, ip, old_size);
	while (pos < end) {
		struct dextent x;
		uint64_t next, b = pos / BLK;
		if (xmap_lookup(&ip->xm, b, &x, &next)) {
			uint64_t n = (x.lblk + x.len) * BLK - pos;
			n = n < end - pos ? n : end - pos;
			pmem_memcpy(&fs->m.pm, block_addr(fs, x.pblk + (b - x.lblk)) + pos % BLK,
			            src + (pos - start), n);
			pos += n;
			continue;
		}
		err = write_hole(fs, ip, src + (pos - start), pos, end, next == UINT64_MAX ? (UINT64_C(1) << 32) : next);
		if (err < 0)
			break;
		pos += (uint64_t)err;
	}
	pmem_drain(&fs->m.pm);
	if (pos > ip->d.size) {
		int e = set_size(fs, ip, pos, 0);
		if (e && pos == start)
			return e;
	}
	if (pos == start)
		return err;
	ip->d.mtime_ns = ip->d.ctime_ns = now_ns();
	ip->times_dirty = 1;
	if (f->flags & (O_SYNC | O_DSYNC))
		inode_sync_times(fs, ip, 0);
	return (ssize_t)(pos - start);
}

static ssize_t do_write(udax_fs *fs, struct ufile *f, const void *buf, size_t len,
                        off_t off, int use_pos)
{
	struct inode *ip = f->ip;
	ssize_t r;

	if (!fd_writable(f))
		return -EBADF;
	if (S_ISDIR(ip->d.mode))
		return -EISDIR;
	if (!use_pos && off < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (!buf)
		return -EFAULT;
	pthread_rwlock_wrlock(&ip->rw);
	uint64_t pos = (f->flags & O_APPEND) ? ip->d.size : (uint64_t)(use_pos ? f->pos : off);
	if (pos >= UDAX_MAX_FILE_SIZE) {
		r = -EFBIG;
	} else {
		if (len > UDAX_MAX_FILE_SIZE - pos)
			len = UDAX_MAX_FILE_SIZE - pos;
		r = write_locked(fs, f, buf, pos, len);
		if (r > 0 && use_pos)
			f->pos = (off_t)(pos + (uint64_t)r);
	}
	pthread_rwlock_unlock(&ip->rw);
	return r;
}

ssize_t udax_pwrite(udax_fs *fs, int fd, const void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	return do_write(fs, f, buf, len, off, 0);
}

ssize_t udax_write(udax_fs *fs, int fd, const void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->pos_lock);
	ssize_t r = do_write(fs, f, buf, len, 0, 1);
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

ssize_t udax_read(udax_fs *fs, int fd, void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->pos_lock);
	ssize_t r = udax_pread(fs, fd, buf, len, f->pos);
	if (r > 0)
		f->pos += r;
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}
