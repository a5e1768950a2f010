/*
 * invalidate.c - removing entries: the write path's zero-page eviction
 * (rule b) and truncate / punch hole invalidation.
 *
 * The write path may drop an entry only when it is a zero-page entry
 * over a block it has just allocated: a dirty block entry says a store
 * went through a mapping and fsync must flush it, so the write path
 * never drops one (rule c).  Truncate and punch hole do remove dirty
 * entries, but only for pages that cease to exist, with the invalidate
 * lock held exclusively so that no fault runs meanwhile.
 */
#include <stdlib.h>

#include "dax/dax.h"
#include "util/sched.h"
#include "util/debug.h"
#include "util/lockdep.h"

/* Under the entry lock of [at, at+span): private mappings' zero pages
 * of [lo, hi) go too (rule b for private mappings). */
static void evict_private(struct dax_inode *di, uint64_t lo, uint64_t hi)
{
	if (lo < hi)
		rmap_zap_private_zero(&di->rmap, lo, hi - lo);
}

void dax_evict_zero_local(struct dax_inode *di, uint64_t b, uint64_t n)
{
	uint64_t end = b + n;

	for (uint64_t pg = b; pg < end;) {
		uint64_t e, at, step = 1;
		sched_point("evict:before-lock");
		/* A locked entry may be a fault that saw the hole before we
		 * allocated and is about to map the zero page: wait for it. */
		uint64_t peek = entry_peek(di, pg);
#ifdef UDAX_BUG_DROP_DIRTY
		if (!peek) {
#else
		if (!(peek & (E_ZERO | E_LOCKED)) && !rmap_private_zero_at(&di->rmap, pg)) {
#endif
			pg++;
			continue;
		}
		if (entry_lock(di, pg, 0, &e, &at) < 0) {
			pg++;
			continue;
		}
		uint64_t span = (e & E_PMD) ? PMD_PAGES : 1;
		if (e & E_PMD)
			step = at + PMD_PAGES - pg;
		evict_private(di, pg, pg + step < end ? pg + step : end);
		if (e & E_ZERO) {
			rmap_zap_shared(&di->rmap, at, span);
			entry_unlock(di, at, 0);
		} else {
#ifdef UDAX_BUG_DROP_DIRTY
			/* Mutant: invalidate the whole range like the 2016 code
			 * did, dropping the dirty entry a fault just made. */
			rmap_zap_shared(&di->rmap, at, span);
			entry_unlock(di, at, 0);
			pg += step;
			continue;
#endif
			entry_unlock(di, at, e);  /* rule c: keep it, dirty or not */
		}
		pg += step;
	}
}

/* An entry leaves the index: it must leave no mapping behind that has
 * no entry and may be writable.  A 2 MiB entry that straddles an end
 * of the range goes whole (its extent no longer covers 2 MiB), so its
 * whole span is zapped in the shared mappings, after its dirty pages
 * were flushed: they stay valid, only their tracking ends. */
static void remove_entry(struct dax_inode *di, uint64_t at, uint64_t e, uint64_t from,
                         uint64_t to)
{
	uint64_t span = (e & E_PMD) ? PMD_PAGES : 1;

#ifdef UDAX_BUG_PMD_STRADDLE
	/* Mutant: the old rule, only a dirty entry straddling @from */
	if (at < from && (e & E_DIRTY) && (e & E_BLOCK)) {
		pmem_flush(&di->m->pm, meta_block(di->m, e_pblk(e)), span * BLK);
		rmap_zap_shared(&di->rmap, at, span);
	}
#else
	if (at < from || at + span > to) {
		if ((e & E_DIRTY) && (e & E_BLOCK))
			pmem_flush(&di->m->pm, meta_block(di->m, e_pblk(e)), span * BLK);
		rmap_zap_shared(&di->rmap, at, span);
	}
#endif
	entry_unlock(di, at, 0);
}

void dax_invalidate_local(struct dax_inode *di, uint64_t from, uint64_t to, int even_cows)
{
	uint64_t batch[256];

	UDAX_BUG_ON(!ul_held_excl(&di->inval.local) && !ul_remote);
	/* Zap first so stores stop at once; then remove the entries,
	 * waiting for each holder; then zap again: a writeback that held an
	 * entry lock while we zapped may have mapped its page read-only
	 * again, and that mapping must not outlive the block. */
	rmap_zap(&di->rmap, from, to - from, even_cows);
	/* from the 2 MiB boundary: a PMD entry may straddle @from */
	for (uint64_t start = from & ~(uint64_t)(PMD_PAGES - 1);;) {
		size_t n = entry_range_snapshot(di, start, to, batch, 256);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			uint64_t e, at;
			if (entry_lock(di, batch[i], 0, &e, &at) < 0)
				continue;
			if (at < from && !(e & E_PMD)) {
				entry_unlock(di, at, e);   /* a PTE entry before the range */
				continue;
			}
			remove_entry(di, at, e, from, to);
		}
		if (n < 256)
			break;
		start = batch[n - 1] + 1;   /* kept entries must not be seen again */
	}
#ifndef UDAX_BUG_FREE_MAPPED
	rmap_zap(&di->rmap, from, to - from, even_cows);
#endif
}

void dax_drop_clean_local(struct dax_inode *di, uint64_t from, uint64_t to)
{
	uint64_t batch[256];
	size_t n;

	uint64_t first = from;

	UDAX_BUG_ON(!ul_held_excl(&di->inval.local) && !ul_remote);
	/* shared mappings only: private copies are the process's data */
	rmap_zap_shared(&di->rmap, from, to - from);
	rmap_zap_private_zero(&di->rmap, from, to - from);
	from &= ~(uint64_t)(PMD_PAGES - 1);   /* a PMD entry may straddle it */
	do {
		n = entry_range_snapshot(di, from, to, batch, 256);
		for (size_t i = 0; i < n; i++) {
			uint64_t e, at;
			if (entry_lock(di, batch[i], 0, &e, &at) < 0)
				continue;
			if ((at < first && !(e & E_PMD)) || (e & E_DIRTY)) {
				entry_unlock(di, at, e);   /* not ours, or dirty: rule c */
				continue;
			}
			remove_entry(di, at, e, first, to);
		}
		if (n)
			from = batch[n - 1] + 1;
	} while (n == 256);
}
