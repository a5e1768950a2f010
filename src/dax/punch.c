/*
 * punch.c - punching holes: partial blocks at the ends are zeroed in
 * place; whole blocks are unmapped from every mapping (private copies
 * stay, as Linux's truncate_pagecache_range keeps them) under the
 * invalidate lock held exclusively, and only then freed, so no mapping
 * can reach a freed block (race catalog 8).
 */
#include "dax/dax.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

int dax_punch(struct meta *m, struct inode *ip, uint64_t s, uint64_t e)
{
	uint64_t fb = (s + BLK - 1) / BLK, lb = e / BLK;

	if (fb >= lb) {               /* within one block */
		dax_zero_mapped(m, ip, s, e);
		return 0;
	}
	dax_zero_mapped(m, ip, s, fb * BLK);
	dax_zero_mapped(m, ip, lb * BLK, e);
	struct dax_inode *di = ip->upper;
	if (di) {
		pl_wrlock(&di->inval, UL_INVAL);
		dax_invalidate(di, fb, lb, 0);   /* no mapping may reach a freed block;
		                                    private copies stay (as Linux) */
	}
	sched_point("punch:before-free");
	int err = meta_unmap(m, ip, fb, lb);
	if (di)
		pl_unlock(&di->inval);
	return err;
}
