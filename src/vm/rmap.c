/*
 * rmap.c - the reverse map: for one file, every window (udax mapping)
 * of it in this process, and the operations that change all of them at
 * once: zap (truncate, punch, eviction of zero pages), write-protect
 * (writeback), and the private-mapping variants.  Also the two install
 * helpers every fault uses, which record what they map as evictable
 * under VMA pressure (pte.c).
 *
 * Locking: r->lock (class UL_RMAP) protects the window list and is
 * held across the mmap/mprotect calls that change the windows, so a
 * window cannot go away under a zap.  Callers hold the entry locks of
 * the pages they change, or the owner's invalidate lock (r->inval)
 * exclusively (dax/dax.h gives the order); private windows' page
 * states (window.pstate) change only under those.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "media/layout.h"
#include "util/lockdep.h"
#include "util/debug.h"
#include "vm/vm.h"

int vm_map_block(struct window *w, char *addr, size_t len, int fd, uint64_t pblk, int prot)
{
	int err = vm_install(addr, len, fd, pblk * BLK, prot, 1);
	if (!err)
		vm_note_mapped(w, addr, len);
	return err;
}

int vm_map_zero(struct window *w, char *addr, size_t len)
{
	int err = vm_install_zero(addr, len);
	if (!err)
		vm_note_mapped(w, addr, len);
	return err;
}

void rmap_init(struct rmap *r, int pool_fd, pthread_rwlock_t *inval)
{
	pthread_mutex_init(&r->lock, NULL);
	r->windows = NULL;
	atomic_store(&r->nprivate, 0);
	r->pool_fd = pool_fd;
	r->inval = inval;
	r->mapped_by = NULL;
	r->me_bit = 0;
}

void rmap_destroy(struct rmap *r)
{
	pthread_mutex_destroy(&r->lock);
}

void rmap_add(struct rmap *r, struct window *w)
{
	ul_mutex_lock(&r->lock, UL_RMAP);
	if (!r->windows && r->mapped_by)
		atomic_fetch_or(r->mapped_by, r->me_bit);
	w->next = r->windows;
	r->windows = w;
	if (!w->shared)
		atomic_fetch_add(&r->nprivate, 1);
	ul_mutex_unlock(&r->lock);
}

void rmap_del(struct rmap *r, struct window *w)
{
	ul_mutex_lock(&r->lock, UL_RMAP);
	for (struct window **pp = &r->windows; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			if (!w->shared)
				atomic_fetch_sub(&r->nprivate, 1);
			break;
		}
	}
	if (!r->windows && r->mapped_by)
		atomic_fetch_and(r->mapped_by, ~r->me_bit);
	ul_mutex_unlock(&r->lock);
}

/* Return pages [index, index+n) to "not mapped" in every mapping.
 * With @even_cows (truncate) private copies go too, as Linux discards
 * the private copies of pages past a new end; without it (punch hole)
 * a private mapping keeps its own copies and loses only what shows the
 * file (as Linux's truncate_pagecache_range).  The caller holds
 * the owner's invalidate lock exclusively or the entry locks of the range. */
void rmap_zap(struct rmap *r, uint64_t index, uint64_t n, int even_cows)
{
	UDAX_BUG_ON(!ul_held_excl(r->inval) && !ul_class_held(UL_ENTRY) && !ul_remote);
	ul_mutex_lock(&r->lock, UL_RMAP);
	for (struct window *w = r->windows; w; w = w->next) {
		uint64_t lo = index, hi = index + n;
		if (!vm_clip(w, &lo, &hi))
			continue;
		if (!w->pstate || even_cows) {
			vm_zap(vm_page_addr(w, lo), (hi - lo) * BLK);
			if (w->pstate)
				memset(w->pstate + (lo - w->pgoff), WP_NONE, hi - lo);
			continue;
		}
		for (uint64_t pg = lo; pg < hi;) {
			if (w->pstate[pg - w->pgoff] == WP_COPY) {
				pg++;
				continue;
			}
			uint64_t end = pg;
			while (end < hi && w->pstate[end - w->pgoff] != WP_COPY)
				w->pstate[end++ - w->pgoff] = WP_NONE;
			vm_zap(vm_page_addr(w, pg), (end - pg) * BLK);
			pg = end;
		}
	}
	ul_mutex_unlock(&r->lock);
}

/* The same in shared mappings only: they hold no data of their own, so
 * dropping pages there never loses anything (zero-page eviction, a
 * 2 MiB entry that goes whole). */
void rmap_zap_shared(struct rmap *r, uint64_t index, uint64_t n)
{
	ul_mutex_lock(&r->lock, UL_RMAP);
	for (struct window *w = r->windows; w; w = w->next) {
		uint64_t lo = index, hi = index + n;
		if (w->shared && vm_clip(w, &lo, &hi))
			vm_zap(vm_page_addr(w, lo), (hi - lo) * BLK);
	}
	ul_mutex_unlock(&r->lock);
}

/* Private mappings that show the zero page in [index, index+n), where
 * blocks now exist: unmap those pages so the next access shows the
 * file's data (rule b for private mappings).  Pages holding the
 * process's own copy stay.  The caller holds the entry locks of the
 * range or the owner's invalidate lock exclusively, so no private fault is half-way. */
void rmap_zap_private_zero(struct rmap *r, uint64_t index, uint64_t n)
{
	UDAX_BUG_ON(!ul_held_excl(r->inval) && !ul_class_held(UL_ENTRY) && !ul_remote);
	if (!atomic_load(&r->nprivate))
		return;
	ul_mutex_lock(&r->lock, UL_RMAP);
	for (struct window *w = r->windows; w; w = w->next) {
		uint64_t lo = index, hi = index + n;
		if (w->shared || !vm_clip(w, &lo, &hi))
			continue;
		for (uint64_t pg = lo; pg < hi;) {
			if (w->pstate[pg - w->pgoff] != WP_ZERO) {
				pg++;
				continue;
			}
			uint64_t end = pg;
			while (end < hi && w->pstate[end - w->pgoff] == WP_ZERO)
				w->pstate[end++ - w->pgoff] = WP_NONE;
			vm_zap(vm_page_addr(w, pg), (end - pg) * BLK);
			pg = end;
		}
	}
	ul_mutex_unlock(&r->lock);
}

/* Does a private mapping show the zero page at @pg?  (A hint for the
 * evictor, which then takes the entry lock and looks again.) */
int rmap_private_zero_at(struct rmap *r, uint64_t pg)
{
	int found = 0;

	if (!atomic_load(&r->nprivate))
		return 0;
	ul_mutex_lock(&r->lock, UL_RMAP);
	for (struct window *w = r->windows; w && !found; w = w->next) {
		uint64_t lo = pg, hi = pg + 1;
		if (!w->shared && vm_clip(w, &lo, &hi))
			found = w->pstate[pg - w->pgoff] == WP_ZERO;
	}
	ul_mutex_unlock(&r->lock);
	return found;
}

/* Map block pages [index, index+n) read-only in every shared mapping:
 * after this no store reaches them without a fault.  Private mappings
 * are left alone: their stores never reach the file.  If a mapping of
 * the pages is pinned for the kernel (udax_pin), nothing is changed and
 * RMAP_PINNED is returned: the caller flushes and keeps them dirty. */
int rmap_protect(struct rmap *r, uint64_t index, uint64_t n, uint64_t pblk)
{
	int err = 0;

	ul_mutex_lock(&r->lock, UL_RMAP);
	vm_pin_read_lock();             /* held across the check and the change */
	for (struct window *w = r->windows; w && !err; w = w->next) {
		uint64_t lo = index, hi = index + n;
		if (w->shared && vm_clip(w, &lo, &hi) && vm_pinned(vm_page_addr(w, lo), (hi - lo) * BLK))
			err = RMAP_PINNED;
	}
	for (struct window *w = r->windows; w && !err; w = w->next) {
		uint64_t lo = index, hi = index + n;
		if (!w->shared || !vm_clip(w, &lo, &hi))
			continue;
		/* Near the VMA budget, zap instead: also no store gets
		 * through, and it never adds a mapping. */
		if (vm_pressure())
			err = vm_zap(vm_page_addr(w, lo), (hi - lo) * BLK);
		else
			err = vm_map_block(w, vm_page_addr(w, lo), (hi - lo) * BLK, r->pool_fd,
			                pblk + (lo - index), PROT_READ);
	}
	vm_pin_read_unlock();
	ul_mutex_unlock(&r->lock);
	return err;
}

