/*
 * writeback.c - fsync / msync of pages stored to through mappings.
 *
 * Works on a snapshot of the dirty entries taken at the start, so a
 * writer that keeps re-dirtying pages cannot keep fsync running; pages
 * dirtied after the snapshot belong to the next fsync.  Cost is
 * proportional to the number of dirty entries, found through the
 * index's dirty marks, not to the file size.
 *
 * Per entry, under its lock (rule d): write-protect the page in every
 * mapping, flush its cache lines, then clear dirty.  Clearing dirty
 * before the write-protect would let a store through a still-writable
 * mapping land after the flush on a page already marked clean, and the
 * next fsync would not see it.  One fence at the end orders all the
 * flushes before fsync returns.
 */
#include <errno.h>
#include <stdlib.h>

#include "dax/dax.h"
#include "util/sched.h"

#define BATCH 512

static int writeback_one(struct dax_inode *di, uint64_t index)
{
	uint64_t e, at;
	int err = entry_lock(di, index, 0, &e, &at);

	if (err)
		return err;
	if (!(e & E_DIRTY) || !(e & E_BLOCK)) {
		entry_unlock(di, at, e);
		return 0;
	}
	uint64_t n = (e & E_PMD) ? PMD_PAGES : 1, pblk = e_pblk(e);
	sched_point("writeback:locked");
#ifdef UDAX_BUG_CLEAN_BEFORE_WRPROTECT
	/* Mutant: flush and mark clean first, write-protect last. */
	pmem_flush(&di->m->pm, meta_block(di->m, pblk), n * BLK);
	entry_unlock(di, at, e & ~E_DIRTY);
	sched_point("writeback:cleaned");
	return rmap_protect(di, at, n, pblk);
#else
	err = rmap_protect(di, at, n, pblk);
	if (err) {
		entry_unlock(di, at, e);   /* still dirty: nothing is lost */
		return err;
	}
	sched_point("writeback:protected");
	pmem_flush(&di->m->pm, meta_block(di->m, pblk), n * BLK);
	entry_unlock(di, at, e & ~E_DIRTY);
	return 0;
#endif
}

int dax_writeback(struct dax_inode *di, uint64_t from, uint64_t to)
{
	uint64_t *snap = malloc(BATCH * sizeof(*snap));
	uint64_t first = from;
	int err = 0;

	if (!snap)
		return -ENOMEM;
	/* A PMD entry lives at its 2 MiB-aligned index, which may lie below
	 * @from while it covers pages of the range: start there, and skip
	 * PTE entries that are really before the range. */
	from &= ~(uint64_t)(PMD_PAGES - 1);
	/* Snapshot in batches: each batch is taken before any of it is
	 * written back, and later batches start past the earlier ones. */
	while (from < to && !err) {
		size_t n = entry_dirty_snapshot(di, from, to, snap, BATCH);
		for (size_t i = 0; i < n && !err; i++)
			if (snap[i] >= first || (entry_peek(di, snap[i]) & E_PMD))
				err = writeback_one(di, snap[i]);
		if (n < BATCH)
			break;
		from = snap[n - 1] + 1;
	}
	pmem_drain(&di->m->pm);
	free(snap);
	return err;
}
