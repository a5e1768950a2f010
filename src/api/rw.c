/*
 * rw.c - the data path: pread, pwrite, read, write.
 *
 * Reads copy from pool blocks and produce zeros for holes, under the
 * inode's rw lock shared.  Writes hold it exclusively.  Overwrites of
 * mapped blocks copy with flushing stores and need no transaction.
 * Filling a hole allocates a run of blocks inside a journal transaction,
 * writes the data (and zeroes the rest of any partial block), fences,
 * and only then commits the allocation together with the new size, so a
 * crash never exposes a block's old contents.  Every write fences
 * before it returns: its data is persistent when the call returns.
 *
 * Against page faults (the mount's write_lock=):
 *   entry      (default) after allocating, evict zero-page entries of
 *              the new blocks only (rules a-c in dax/dax.h);
 *   exclusive  hold the invalidate lock exclusively for the whole
 *              write: no fault runs meanwhile (the 2016 mail's cure 1);
 *   flush      write, then under a short exclusive hold flush the range's
 *              dirty pages and drop its (now clean) entries (cure 2);
 *   range      lock every entry of the written range for the whole copy
 *              (cure 3 taken literally).
 * Copies from and to the caller's buffer may fault (the buffer can be a
 * udax mapping, even of the same range): they bail out, the locks are
 * dropped, the page is faulted in and the call goes on where it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/inject.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

/* Largest run allocated (and copied) inside one transaction, in blocks:
 * bounds how long tx_lock is held by one big write. */
#define MAX_ALLOC_RUN 4096u

struct wstate {
	udax_fs *fs;
	struct ufile *f;
	struct inode *ip;
	struct dax_inode *di;
	const char *src;
	uint64_t start, end;
	void *fault_addr;        /* the source faulted here: fault it in, retry */
	int efault;
};

static char *block_addr(udax_fs *fs, uint64_t pblk)
{
	return meta_block(&fs->m, pblk);
}

static void pm_copy(void *arg, void *dst, const void *src, size_t n)
{
	pmem_memcpy(arg, dst, src, n);
}

/* Copy from the caller's buffer into the pool; returns bytes copied,
 * short when the source faulted (ws->fault_addr set). */
static size_t copy_in(struct wstate *ws, char *dst, const char *src, size_t n)
{
	void *fa;
	int efault;
	size_t done = vm_copy(dst, src, n, VM_USER_SRC, pm_copy, &ws->fs->m.pm, &fa, &efault);
	if (done < n) {
		ws->fault_addr = fa;
		ws->efault = efault;
	}
	return done;
}

/* Zero the mapped bytes of [s, e) in place. */
void zero_mapped(udax_fs *fs, struct inode *ip, uint64_t s, uint64_t e)
{
	while (s < e) {
		struct dextent x;
		uint64_t next, b = s / BLK;
		if (!xmap_lookup(&ip->xm, b, &x, &next)) {
			if (next == UINT64_MAX || next * BLK >= e)
				break;
			s = next * BLK;
			continue;
		}
		uint64_t n = (x.lblk + x.len) * BLK - s;
		n = n < e - s ? n : e - s;
		pmem_memset(&fs->m.pm, (char *)meta_block(&fs->m, x.pblk + (b - x.lblk)) + s % BLK, 0, n);
		s += n;
	}
	pmem_drain(&fs->m.pm);
}

/* Growing the size from @old_size to @new_size: bytes in between may
 * hold stale data — the tail of the old last block after a shrink, and
 * whole blocks a shrink had not freed yet when the power went.  Zero
 * every mapped byte of the range before the size covers it. */
void zero_tail_gap(udax_fs *fs, struct inode *ip, uint64_t old_size, uint64_t new_size)
{
	if (new_size > old_size)
		zero_mapped(fs, ip, old_size, new_size);
}

/* ---- reads ---- */

static ssize_t read_locked(udax_fs *fs, struct inode *ip, char *out, uint64_t pos,
                           uint64_t len, void **fault_addr, int *efault)
{
	uint64_t start = pos, size = ip->d.size;
	uint64_t end = pos + len < size ? pos + len : size;

	while (pos < end) {
		struct dextent x;
		uint64_t next, b = pos / BLK, in = pos % BLK, n, done;
		if (xmap_lookup(&ip->xm, b, &x, &next)) {
			n = (x.lblk + x.len) * BLK - pos;
			n = n < end - pos ? n : end - pos;
			done = vm_copy(out, block_addr(fs, x.pblk + (b - x.lblk)) + in, n, VM_USER_DST, NULL, NULL,
			               fault_addr, efault);
		} else {
			n = next == UINT64_MAX ? end - pos : next * BLK - pos;
			n = n < end - pos ? n : end - pos;
			static const char zeros[BLK];
			done = 0;
			while (done < n) {
				size_t c = n - done < BLK ? n - done : BLK;
				size_t k = vm_copy(out + done, zeros, c, VM_USER_DST, NULL, NULL, fault_addr, efault);
				done += k;
				if (k < c)
					break;
			}
		}
		out += done;
		pos += done;
		if (done < n)
			break;
	}
	return (ssize_t)(pos - start);
}

static ssize_t pread_file(udax_fs *fs, struct ufile *f, void *buf, size_t len, off_t off)
{
	uint64_t total = 0;

	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (S_ISDIR(f->ip->d.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (;;) {
		void *fa = NULL;
		int efault = 0;
		ul_rw_rdlock(&f->ip->rw, UL_INODE_RW);
		ssize_t r = read_locked(fs, f->ip, (char *)buf + total, (uint64_t)off + total,
		                        len - total, &fa, &efault);
		uint64_t size = f->ip->d.size;
		ul_rw_unlock(&f->ip->rw);
		total += (uint64_t)r;
		if (!fa || (uint64_t)off + total >= size || total == len)
			break;
		if (efault || vm_prefault(fa, 1) < 0)
			return total ? (ssize_t)total : -EFAULT;
	}
	return (ssize_t)total;
}

ssize_t udax_pread(udax_fs *fs, int fd, void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ssize_t r = pread_file(fs, f, buf, len, off);
	fd_put(fs, f);
	return r;
}

/* ---- size ---- */

/* Commit a new size (and times) in a transaction of its own.  Shrinking
 * removes every mapping of the pages past the new end first. */
int set_size(udax_fs *fs, struct inode *ip, uint64_t size, int zero_gap)
{
	struct tx tx;
	struct dax_inode *di = ip->upper;
	uint64_t old = ip->d.size;

	UDAX_BUG_ON(!ul_held_excl(&ip->rw));
	if (size > old && zero_gap)
		zero_tail_gap(fs, ip, old, size);
	if (size < old && di)
		ul_rw_wrlock(&di->inval, UL_INVAL);
	tx_begin(&fs->m, &tx);
	struct dinode *d = tx_inode(&tx, ip);
	int err = -E2BIG;
	if (d) {
		d->size = size;
		d->mtime_ns = d->ctime_ns = now_ns();
		err = tx_commit(&tx);
	} else {
		tx_abort(&tx);
	}
	if (!err && size < old) {
		uint64_t first = (size + BLK - 1) / BLK;
		if (di)
			dax_invalidate(di, first, UINT64_C(1) << 32, 1);
#ifndef UDAX_BUG_STALE_TAIL
		/* Bytes past the new end in its last block read zero, also
		 * through a mapping (as on Linux).  After the size commit: a
		 * crash in between leaves them past EOF, where growing the
		 * file again zeroes them (zero_tail_gap). */
		if (size % BLK)
			zero_mapped(fs, ip, size, first * BLK);
#endif
		sched_point("truncate:before-free");
		/* Shrunk: the size is durable; free what lies past it. */
		err = meta_unmap(&fs->m, ip, first, UINT64_C(1) << 32);
	}
	if (size < old && di)
		ul_rw_unlock(&di->inval);
	return err;
}

/* ---- writes ---- */

/* Fill the hole at @pos with newly allocated blocks holding the data. */
static ssize_t write_hole(struct wstate *ws, uint64_t pos, uint64_t hole_end)
{
	udax_fs *fs = ws->fs;
	struct inode *ip = ws->ip;
	struct tx tx;
	uint64_t b = pos / BLK, pblk, goal, end = ws->end;
	uint64_t want = (end + BLK - 1) / BLK - b;

	if (want > hole_end - b)
		want = hole_end - b;
	if (want > MAX_ALLOC_RUN)
		want = MAX_ALLOC_RUN;
	sched_point("write:hole");
	tx_begin(&fs->m, &tx);
#ifndef UDAX_BUG_HOLE_NO_RECHECK
	/* Look again under tx_lock: a write fault (which takes no inode
	 * lock) may have filled the hole, or part of it, since we looked. */
	{
		struct dextent x;
		uint64_t next;
		if (xmap_lookup(&ip->xm, b, &x, &next)) {
			tx_abort(&tx);
			return -EAGAIN;   /* now a block: the caller overwrites it */
		}
		if (want > next - b)
			want = next - b;
	}
#endif
	sched_point("write:hole-locked");
	goal = xmap_goal(&ip->xm, b);
	int64_t got = alloc_blocks(&tx, want, goal, want >= 512 ? ALLOC_LARGE : 0, &pblk);
	if (got < 0) {
		tx_abort(&tx);
		return got;
	}
	uint64_t run_end = (b + (uint64_t)got) * BLK, stop = end < run_end ? end : run_end;
	char *base = block_addr(fs, pblk);
	/* zero what this write does not cover, then copy */
	pmem_memset(&fs->m.pm, base, 0, pos % BLK);
	if (copy_in(ws, base + pos % BLK, ws->src + (pos - ws->start), stop - pos) < stop - pos) {
		tx_abort(&tx);   /* the blocks go back; retry after the fault */
		return 0;
	}
	pmem_memset(&fs->m.pm, base + (stop - b * BLK), 0, run_end - stop);
	pmem_drain(&fs->m.pm);
	int err = xmap_insert(&tx, ip, b, pblk, (uint32_t)got);
	sched_point("write:published");
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
	if (err)
		return err;
	sched_point("write:allocated");
	/* rule b; under write_lock=exclusive no fault runs meanwhile, but
	 * zero pages mapped before the write must still go */
	if (ws->di && (ws->di->write_lock == WL_ENTRY || ws->di->write_lock == WL_EXCLUSIVE))
		dax_evict_zero(ws->di, b, (uint64_t)got);
	return (ssize_t)(stop - pos);
}

/* The extent at @b, committed: a write fault may have published one
 * whose transaction is still in flight and may yet abort (its block
 * freed): data copied there would be lost.  Look again under tx_lock
 * then (lock order: ip->rw, entry locks -> tx_lock). */
static int committed_lookup(struct wstate *ws, uint64_t b, struct dextent *x, uint64_t *next)
{
	int r = xmap_lookup(&ws->ip->xm, b, x, next);

#ifndef UDAX_BUG_WRITE_UNCOMMITTED
	struct meta *m = &ws->fs->m;
	if (r && atomic_load(&m->xpending)) {
		ul_mutex_lock(&m->tx_lock, UL_TX);
		r = xmap_lookup(&ws->ip->xm, b, x, next);
		ul_mutex_unlock(&m->tx_lock);
	}
#endif
	return r;
}

/* Write [pos, end); returns bytes written or -errno. */
static ssize_t write_range(struct wstate *ws, uint64_t pos)
{
	uint64_t start = pos;
	ssize_t err = 0;

	while (pos < ws->end) {
		struct dextent x;
		uint64_t next, b = pos / BLK;
		if (committed_lookup(ws, b, &x, &next)) {
			uint64_t n = (x.lblk + x.len) * BLK - pos;
			n = n < ws->end - pos ? n : ws->end - pos;
			size_t done = copy_in(ws, block_addr(ws->fs, x.pblk + (b - x.lblk)) + pos % BLK,
			                      ws->src + (pos - ws->start), n);
			pos += done;
			if (done < n)
				break;
			continue;
		}
		err = write_hole(ws, pos, next == UINT64_MAX ? (UINT64_C(1) << 32) : next);
		if (err == -EAGAIN) {
			err = 0;
			continue;      /* filled meanwhile: look it up again */
		}
		if (err <= 0)
			break;
		pos += (uint64_t)err;
	}
	pmem_drain(&ws->fs->m.pm);
	return pos > start ? (ssize_t)(pos - start) : (err < 0 ? err : 0);
}

/* write_lock=range: hold every entry of [b, e) across the copy. */
struct held {
	uint64_t at, e;
};

static void unlock_range(struct dax_inode *di, struct held *h, size_t n);

/* NULL (-ENOMEM) when a lock cannot be taken: the copy must not run
 * unlocked in this mode. */
static struct held *lock_range(struct dax_inode *di, uint64_t b, uint64_t e, size_t *n)
{
	struct held *h = fail_point("range:alloc") ? NULL : malloc((e - b + 1) * sizeof(*h));
	*n = 0;
	for (uint64_t pg = b; h && pg < e;) {
		uint64_t v, at;
		if (fail_point("range:lock") || entry_lock(di, pg, 0, &v, &at) < 0) {
			unlock_range(di, h, *n);
			return NULL;
		}
		h[(*n)++] = (struct held){ at, v };
		pg = (v & E_PMD) ? at + PMD_PAGES : pg + 1;
	}
	return h;
}

static void unlock_range(struct dax_inode *di, struct held *h, size_t n)
{
	/* every page of the range is locked: private faults there wait */
	if (n)
		rmap_zap_private_zero(&di->rmap, h[0].at, h[n - 1].at + ((h[n - 1].e & E_PMD) ? PMD_PAGES : 1) - h[0].at);
	for (size_t i = 0; i < n; i++) {
		struct dextent x;
		uint64_t next, v = h[i].e, span = (v & E_PMD) ? PMD_PAGES : 1;
		/* a zero page over a run that now holds a block is stale */
		if ((v & E_ZERO) && (xmap_lookup(&di->ip->xm, h[i].at, &x, &next) ||
		                     next < h[i].at + span)) {
			rmap_zap_shared(&di->rmap, h[i].at, span);
			v = 0;
		}
		entry_unlock(di, h[i].at, v);
	}
	free(h);
}

/* Cure 2: after the copy, flush and drop the range's entries. */
static void flush_and_invalidate(struct dax_inode *di, uint64_t b, uint64_t e)
{
	ul_rw_wrlock(&di->inval, UL_INVAL);
	dax_writeback(di, b, e);
	dax_drop_clean(di, b, e);
	ul_rw_unlock(&di->inval);
}

static ssize_t write_locked(struct wstate *ws, uint64_t pos)
{
	struct inode *ip = ws->ip;
	struct dax_inode *di = ws->di;
	uint64_t old_size = ip->d.size;
	struct held *h = NULL;
	size_t nheld = 0;
	ssize_t r;

	/* bytes past the write's end are past the new EOF: zeroed when the
	 * size grows over them */
	if (pos > old_size)
		zero_tail_gap(ws->fs, ip, old_size, pos);
	if (di && di->write_lock == WL_EXCLUSIVE)
		ul_rw_wrlock(&di->inval, UL_INVAL);
	if (di && di->write_lock == WL_RANGE) {
		h = lock_range(di, pos / BLK, (ws->end + BLK - 1) / BLK, &nheld);
		if (!h)
			return -ENOMEM;
	}
	r = write_range(ws, pos);
	if (h)
		unlock_range(di, h, nheld);
	if (di && di->write_lock == WL_EXCLUSIVE)
		ul_rw_unlock(&di->inval);
	if (r > 0 && di && di->write_lock == WL_FLUSH)
		flush_and_invalidate(di, pos / BLK, (pos + (uint64_t)r + BLK - 1) / BLK);
	if (r <= 0)
		return r;
	uint64_t stop = pos + (uint64_t)r;
	if (stop > ip->d.size) {
		uint64_t size = ip->d.size;
		int err = set_size(ws->fs, ip, stop, 0);
		if (err) {
			/* the bytes past the old end are not part of the file:
			 * report what lies within it, or the failure */
			if (pos >= size)
				return err;
			r = (ssize_t)(size - pos);
		}
	}
	/* the dinode is written only under tx_lock: a page fault may be
	 * committing an allocation for this inode right now */
	ul_mutex_lock(&ws->fs->m.tx_lock, UL_TX);
	ip->d.mtime_ns = ip->d.ctime_ns = now_ns();
	ip->times_dirty = 1;
	ul_mutex_unlock(&ws->fs->m.tx_lock);
	if (ws->f->flags & (O_SYNC | O_DSYNC))
		inode_sync_times(ws->fs, ip, 0);
	return r;
}

static ssize_t do_write(udax_fs *fs, struct ufile *f, const void *buf, size_t len,
                        off_t off, int use_pos)
{
	struct inode *ip = f->ip;
	struct wstate ws = { .fs = fs, .f = f, .ip = ip, .src = buf };
	uint64_t total = 0;

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
	ws.di = ip->upper;
	for (;;) {
		ul_rw_wrlock(&ip->rw, UL_INODE_RW);
		uint64_t pos = (f->flags & O_APPEND) ? ip->d.size : (uint64_t)(use_pos ? f->pos : off) + total;
		if (total == 0) {
			if (pos >= UDAX_MAX_FILE_SIZE) {
				ul_rw_unlock(&ip->rw);
				return -EFBIG;
			}
			if (len > UDAX_MAX_FILE_SIZE - pos)
				len = UDAX_MAX_FILE_SIZE - pos;
			ws.start = pos;
			ws.end = pos + len;
		}
		pos = ws.start + total;
		ws.fault_addr = NULL;
		ssize_t r = write_locked(&ws, pos);
		if (r > 0) {
			total += (uint64_t)r;
			if (use_pos)
				f->pos = (off_t)(ws.start + total);
		}
		ul_rw_unlock(&ip->rw);
		if (r < 0)
			return total ? (ssize_t)total : r;
		if (!ws.fault_addr || total == len)
			break;
		/* the source is (or was) a udax mapping: fault it in, go on */
		if (ws.efault || vm_prefault(ws.fault_addr, 0) < 0)
			return total ? (ssize_t)total : -EFAULT;
		sched_point("write:refault");
	}
	return (ssize_t)total;
}

ssize_t udax_pwrite(udax_fs *fs, int fd, const void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ssize_t r = do_write(fs, f, buf, len, off, 0);
	fd_put(fs, f);
	return r;
}

ssize_t udax_write(udax_fs *fs, int fd, const void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ul_mutex_lock(&f->pos_lock, UL_POS);
	ssize_t r = do_write(fs, f, buf, len, 0, 1);
	ul_mutex_unlock(&f->pos_lock);
	fd_put(fs, f);
	return r;
}

ssize_t udax_read(udax_fs *fs, int fd, void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ul_mutex_lock(&f->pos_lock, UL_POS);
	ssize_t r = pread_file(fs, f, buf, len, f->pos);   /* not the fd: it may be reused */
	if (r > 0)
		f->pos += r;
	ul_mutex_unlock(&f->pos_lock);
	fd_put(fs, f);
	return r;
}
