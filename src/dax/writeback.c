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
 *
 * Adjacent dirty pages whose blocks are adjacent too are written back
 * as one run: each page table change costs tens of microseconds
 * whatever it covers, so one write-protect for the run instead of one
 * per page.  The first entry is locked as usual; the others join only
 * if their locks are free (never waiting while holding one), and the
 * rule above holds for every entry of the run.
 */
#include <errno.h>
#include <stdlib.h>

#include "dax/dax.h"
#include "util/sched.h"

#define BATCH 512
#define RUN_MAX 512u

#ifndef UDAX_BUG_CLEAN_BEFORE_WRPROTECT
/* Lock the entries after @index (locked, value @e, in vals[0]) that
 * continue its run: consecutive pages, consecutive blocks, dirty, lock
 * free.  Their values go to @vals; returns the run length (>= 1). */
static uint64_t lock_run(struct dax_inode *di, uint64_t index, uint64_t e, uint64_t *vals,
                         const uint64_t *snap, size_t left)
{
	uint64_t n = 1;

	while (n < RUN_MAX && n < left && snap[n] == index + n &&
	       entry_trylock_pte(di, index + n, &vals[n]) == 0) {
		if (e_pblk(vals[n]) != e_pblk(e) + n) {
			entry_unlock(di, index + n, vals[n]);
			break;
		}
		n++;
	}
	return n;
}
#endif

/* Write back the dirty entry @snap[0] and the run that follows it;
 * returns how many snapshot slots it used (>= 1) or -errno. */
static long writeback_from(struct dax_inode *di, const uint64_t *snap, size_t left,
                           uint64_t *vals)
{
	uint64_t e, at, n = 1;
	int err = entry_lock(di, snap[0], 0, &e, &at);

	if (err)
		return err;
	if (!(e & E_DIRTY) || !(e & E_BLOCK)) {
		entry_unlock(di, at, e);
		return 1;
	}
	uint64_t pblk = e_pblk(e);
	sched_point("writeback:locked");
#ifdef UDAX_BUG_CLEAN_BEFORE_WRPROTECT
	/* Mutant: flush and mark clean first, write-protect last. */
	n = (e & E_PMD) ? PMD_PAGES : 1;
	pmem_flush(&di->m->pm, meta_block(di->m, pblk), n * BLK);
	entry_unlock(di, at, e & ~E_DIRTY);
	sched_point("writeback:cleaned");
	err = rmap_protect(&di->rmap, at, n, pblk);
	return err ? err : 1;
#else
	uint64_t pages = (e & E_PMD) ? PMD_PAGES : 1;
	vals[0] = e;
	if (!(e & E_PMD) && at == snap[0])
		n = pages = lock_run(di, at, e, vals, snap, left);
	err = rmap_protect(&di->rmap, at, pages, pblk);
	/* pinned for the kernel (udax_pin): not write-protected, so flush
	 * and keep dirty; the next fsync flushes it again */
	int pinned = err == RMAP_PINNED;
	if (pinned)
		err = 0;
	if (!err) {
		sched_point("writeback:protected");
		pmem_flush(&di->m->pm, meta_block(di->m, pblk), pages * BLK);
	}
	/* on failure all stay dirty: nothing is lost */
	for (uint64_t k = 0; k < n; k++)
		entry_unlock(di, at + k, err || pinned ? vals[k] : vals[k] & ~E_DIRTY);
	return err ? err : (long)n;
#endif
}

int dax_writeback_local(struct dax_inode *di, uint64_t from, uint64_t to)
{
	uint64_t *snap = malloc((BATCH + RUN_MAX) * sizeof(*snap));
	uint64_t *vals = snap + BATCH;
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
		for (size_t i = 0; i < n && !err;) {
			if (snap[i] < first && !(entry_peek(di, snap[i]) & E_PMD)) {
				i++;
				continue;
			}
			long used = writeback_from(di, snap + i, n - i, vals);
			if (used < 0)
				err = (int)used;
			else
				i += (size_t)used;
		}
		if (n < BATCH)
			break;
		from = snap[n - 1] + 1;
	}
	pmem_drain(&di->m->pm);
	free(snap);
	return err;
}
