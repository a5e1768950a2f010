/*
 * hole.c - filling a hole with zeroed blocks, in one transaction.
 *
 * Used by fallocate and by page faults that write into a hole.  The
 * blocks are zeroed and fenced before the transaction that maps them
 * commits, so a crash never shows a block's previous contents.  The
 * hole is looked up again under tx_lock: a concurrent writer may have
 * filled it since the caller looked.
 */
#include <errno.h>

#include "meta/meta.h"
#include "util/sched.h"

/* Map zeroed blocks at file block @b, at most up to @hole_end and
 * @max blocks.  Returns blocks now mapped at @b (newly or already) with
 * their first pool block in *pblk and *fresh = 1 when newly allocated;
 * or -errno. */
int64_t meta_fill_hole(struct meta *m, struct inode *ip, uint64_t b, uint64_t hole_end,
                       uint64_t max, unsigned flags, uint64_t *pblk, int *fresh)
{
	struct tx tx;
	struct dextent x;
	uint64_t next, goal;

	*fresh = 0;
	tx_begin(m, &tx);
	if (xmap_lookup(&ip->xm, b, &x, &next)) {
		tx_abort(&tx);
		*pblk = x.pblk + (b - x.lblk);
		return (int64_t)(x.lblk + x.len - b);
	}
	if (next < hole_end)
		hole_end = next;
	uint64_t want = hole_end - b < max ? hole_end - b : max;
	goal = xmap_goal(&ip->xm, b);
	unsigned aflags = (flags & ~(unsigned)FILL_FROM_FAULT) | (want >= 512 ? ALLOC_LARGE : 0);
	int64_t got = alloc_blocks(&tx, want, goal, aflags, pblk);
	if (got < 0) {
		tx_abort(&tx);
		return got;
	}
	pmem_memset(&m->pm, meta_block(m, *pblk), 0, (size_t)got * BLK);
	pmem_drain(&m->pm);
	int err = xmap_insert(&tx, ip, b, *pblk, (uint32_t)got);
	sched_point("fill:published");
	struct dinode *d = err ? NULL : tx_inode(&tx, ip);
	if (!d) {
		tx_abort(&tx);
		return err ? err : -E2BIG;
	}
	d->blocks += (uint64_t)got;
#ifdef UDAX_BUG_SYNC_NO_COMMIT
	/* Mutant: a fault's allocation stays in memory until some later
	 * transaction; a crash before it loses the block mapping. */
	err = (flags & FILL_FROM_FAULT) ? tx_commit_volatile(&tx) : tx_commit(&tx);
#else
	err = tx_commit(&tx);
#endif
	if (err)
		return err;
	*fresh = 1;
	return got;
}
