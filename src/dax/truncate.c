/*
 * truncate.c - changing a file's size, and zeroing in place: the
 * truncate half of the DAX engine (the write path is write.c, hole
 * punching punch.c).
 *
 * Shrinking commits the new size first and frees blocks after, so a
 * crash leaves either the old size or the new one with, at worst, some
 * blocks past EOF still allocated (as fallocate KEEP_SIZE would).  Before
 * the blocks go, with the invalidate lock held exclusively, every
 * mapping of the pages past the new end is removed (dax_invalidate,
 * private copies included, as Linux's truncate_pagecache), and the tail
 * of the new last block is zeroed so that it reads zero through a
 * mapping.  Growing zeroes every mapped byte it exposes first.
 */
#include <errno.h>

#include "dax/dax.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

/* Zero the mapped bytes of [s, e) in place. */
void dax_zero_mapped(struct meta *m, struct inode *ip, uint64_t s, uint64_t e)
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
		pmem_memset(&m->pm, (char *)meta_block(m, x.pblk + (b - x.lblk)) + s % BLK, 0, n);
		s += n;
	}
	pmem_drain(&m->pm);
}

/* Growing the size from @old_size to @new_size: bytes in between may
 * hold stale data — the tail of the old last block after a shrink, and
 * whole blocks a shrink had not freed yet when the power went.  Zero
 * every mapped byte of the range before the size covers it. */
void dax_zero_tail_gap(struct meta *m, struct inode *ip, uint64_t old_size, uint64_t new_size)
{
	if (new_size > old_size)
		dax_zero_mapped(m, ip, old_size, new_size);
}

/* Commit a new size (and times) in a transaction of its own.  Shrinking
 * removes every mapping of the pages past the new end first. */
int dax_set_size(struct meta *m, struct inode *ip, uint64_t size, int zero_gap)
{
	struct tx tx;
	struct dax_inode *di = ip->upper;
	uint64_t old = ip->d.size;

	UDAX_BUG_ON(!ul_held_excl(&ip->rw.local));
	if (size > old && zero_gap)
		dax_zero_tail_gap(m, ip, old, size);
	if (size < old && di)
		pl_wrlock(&di->inval, UL_INVAL);
	tx_begin(m, &tx);
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
			dax_zero_mapped(m, ip, size, first * BLK);
#endif
		sched_point("truncate:before-free");
		/* Shrunk: the size is durable; free what lies past it. */
		err = meta_unmap(m, ip, first, UINT64_C(1) << 32);
	}
	if (size < old && di)
		pl_unlock(&di->inval);
	return err;
}
