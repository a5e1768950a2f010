/*
 * write.c - the write path of the DAX engine: pwrite's copy into the
 * pool, hole filling, the write_lock= policies, and fallocate's
 * allocation.  The caller (api/rw.c) holds the inode's rw lock
 * exclusively.  Overwrites of mapped blocks copy with flushing stores
 * and need no transaction.
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
#include <stdlib.h>

#include "dax/dax.h"
#include "util/inject.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

/* Largest run allocated (and copied) inside one transaction, in blocks:
 * bounds how long tx_lock is held by one big write. */
#define MAX_ALLOC_RUN 4096u
#define FALLOC_RUN 4096u

static void pm_copy(void *arg, void *dst, const void *src, size_t n)
{
	pmem_memcpy(arg, dst, src, n);
}

/* Copy from the caller's buffer into the pool; returns bytes copied,
 * short when the source faulted (ws->fault_addr set). */
static size_t copy_in(struct dax_write *ws, char *dst, const char *src, size_t n)
{
	void *fa;
	int efault;
	size_t done = vm_copy(dst, src, n, VM_USER_SRC, pm_copy, &ws->m->pm, &fa, &efault);
	if (done < n) {
		ws->fault_addr = fa;
		ws->efault = efault;
	}
	return done;
}

/* Fill the hole at @pos with newly allocated blocks holding the data. */
static ssize_t write_hole(struct dax_write *ws, uint64_t pos, uint64_t hole_end)
{
	struct meta *m = ws->m;
	struct inode *ip = ws->ip;
	struct tx tx;
	uint64_t b = pos / BLK, pblk, goal, end = ws->end;
	uint64_t want = (end + BLK - 1) / BLK - b;

	if (want > hole_end - b)
		want = hole_end - b;
	if (want > MAX_ALLOC_RUN)
		want = MAX_ALLOC_RUN;
	sched_point("write:hole");
	tx_begin(m, &tx);
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
	char *base = meta_block(m, pblk);
	/* zero what this write does not cover, then copy */
	pmem_memset(&m->pm, base, 0, pos % BLK);
	if (copy_in(ws, base + pos % BLK, ws->src + (pos - ws->start), stop - pos) < stop - pos) {
		tx_abort(&tx);   /* the blocks go back; retry after the fault */
		return 0;
	}
	pmem_memset(&m->pm, base + (stop - b * BLK), 0, run_end - stop);
	pmem_drain(&m->pm);
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
	ws->filled = 1;
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
static int committed_lookup(struct dax_write *ws, uint64_t b, struct dextent *x, uint64_t *next)
{
	int r = xmap_lookup(&ws->ip->xm, b, x, next);

#ifndef UDAX_BUG_WRITE_UNCOMMITTED
	struct meta *m = ws->m;
	if (r && atomic_load(&m->xpending)) {
		meta_lock(m);
		r = xmap_lookup(&ws->ip->xm, b, x, next);
		meta_unlock(m);
	}
#endif
	return r;
}

/* Write [pos, end); returns bytes written or -errno. */
static ssize_t write_range(struct dax_write *ws, uint64_t pos)
{
	uint64_t start = pos;
	ssize_t err = 0;

	while (pos < ws->end) {
		struct dextent x;
		uint64_t next, b = pos / BLK;
		if (committed_lookup(ws, b, &x, &next)) {
			uint64_t n = (x.lblk + x.len) * BLK - pos;
			n = n < ws->end - pos ? n : ws->end - pos;
			size_t done = copy_in(ws, meta_block(ws->m, x.pblk + (b - x.lblk)) + pos % BLK,
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
	pmem_drain(&ws->m->pm);
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
	pl_wrlock(&di->inval, UL_INVAL);
	dax_writeback(di, b, e);
	dax_drop_clean(di, b, e);
	pl_unlock(&di->inval);
}

ssize_t dax_write(struct dax_write *ws, uint64_t pos)
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
		dax_zero_tail_gap(ws->m, ip, old_size, pos);
	if (di && di->write_lock == WL_EXCLUSIVE)
		pl_wrlock(&di->inval, UL_INVAL);
	if (di && di->write_lock == WL_RANGE) {
		h = lock_range(di, pos / BLK, (ws->end + BLK - 1) / BLK, &nheld);
		if (!h)
			return -ENOMEM;
	}
	r = write_range(ws, pos);
	if (h) {
		unlock_range(di, h, nheld);
		/* rule b in the other processes, now that no entry is held */
		if (ws->filled)
			dax_evict_zero_remote(di, pos / BLK, (ws->end + BLK - 1) / BLK - pos / BLK);
	}
	if (di && di->write_lock == WL_EXCLUSIVE)
		pl_unlock(&di->inval);
	if (r > 0 && di && di->write_lock == WL_FLUSH)
		flush_and_invalidate(di, pos / BLK, (pos + (uint64_t)r + BLK - 1) / BLK);
	if (r <= 0)
		return r;
	uint64_t stop = pos + (uint64_t)r;
	if (stop > ip->d.size) {
		uint64_t size = ip->d.size;
		int err = dax_set_size(ws->m, ip, stop, 0);
		if (err) {
			/* the bytes past the old end are not part of the file:
			 * report what lies within it, or the failure */
			if (pos >= size)
				return err;
			r = (ssize_t)(size - pos);
		}
	}
	return r;
}

/* Map every hole of blocks [s, e) with zeroed blocks, evicting any
 * zero-page entries over them once they exist (rule b). */
int dax_fill_holes(struct meta *m, struct inode *ip, uint64_t s, uint64_t e)
{
	while (s < e) {
		uint64_t pblk;
		int fresh;
		int64_t got = meta_fill_hole(m, ip, s, e, FALLOC_RUN, 0, &pblk, &fresh);
		if (got < 0)
			return (int)got;
		if (fresh && ip->upper)
			dax_evict_zero(ip->upper, s, (uint64_t)got);
		s += (uint64_t)got;
	}
	return 0;
}
