/*
 * fault.c - serving page faults on udax mappings (the reverse map they
 * use is vm/rmap.c).
 *
 * Shared mappings:
 *   read, hole      map the zero page read-only; entry ZERO
 *   read, block     map the extent around the page read-only (fault
 *                   around: a user-space fault costs several
 *                   microseconds); clean pages need no entry
 *   write, hole     allocate a zeroed block (committed before we map
 *                   it, which is also what UDAX_MAP_SYNC promises),
 *                   map it writable; entry BLOCK|DIRTY
 *   write, block    mark the entry dirty, map the page writable
 * A PMD fault serves a whole 2 MiB run when address, file offset and
 * pool block are aligned and one extent covers the run (or the run is
 * all hole, for a read); when PTE entries already live in the run it
 * falls back to PTEs.  A PTE write fault inside a PMD zero entry first
 * removes the zero entry from every mapping.
 *
 * Private mappings keep no entries: reads map the block (or zero page)
 * MAP_PRIVATE read-only; a write maps it MAP_PRIVATE writable and the
 * kernel makes the private copy.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "dax/dax.h"
#include "udax.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

#define FAULT_AROUND 256u   /* pages mapped by one read fault, at most */

/* The extent at @pg as committed: an extent that the transaction in
 * flight has published but not yet committed may still be undone, and
 * its blocks are not yet durable (UDAX_MAP_SYNC promises they are), so
 * while one is in flight look again under tx_lock, after it finished.
 * Lock order: entry lock -> tx_lock, as for a fault that allocates. */
int dax_lookup(struct dax_inode *di, uint64_t pg, struct dextent *x, uint64_t *next)
{
	/* Rule a across processes: the caller holds the entry lock, so a
	 * block another process allocated before now is either in the copy
	 * made current here, or that process's eviction of our zero pages
	 * waits for this entry and comes after (remote.c).  Current as of
	 * dax_fault's start is not enough: the other process may have
	 * committed and found no entry to evict in between. */
#if !defined(UDAX_BUG_STALE_CACHE) && !defined(UDAX_BUG_VALIDATE_EARLY)
	meta_validate(di->m, di->ip);
#endif
	int r = xmap_lookup(&di->ip->xm, pg, x, next);

#ifndef UDAX_BUG_MAP_UNCOMMITTED
	if (atomic_load(&di->m->xpending)) {
		meta_lock(di->m);
		r = xmap_lookup(&di->ip->xm, pg, x, next);
		meta_unlock(di->m);
	}
#endif
	return r;
}

static uint64_t eof_pages(struct dax_inode *di)
{
	return (atomic_load(&di->ip->vsize) + BLK - 1) / BLK;
}

/* ---- private mappings ----
 *
 * A private mapping keeps no index entries of its own, but its faults
 * take the page's entry lock like shared faults do (rule a): so two
 * faults on one page do not both map it (the second would throw away
 * the first one's copy), and the write path's zero-page eviction
 * waits for a fault that saw the hole before the block existed.
 * window.pstate records what each page shows. */

static int private_fault(struct dax_inode *di, struct window *w, uint64_t pg, int write)
{
	struct dextent x;
	uint64_t e, at, next;
	char *a = vm_page_addr(w, pg);
	unsigned char *st = &w->pstate[pg - w->pgoff];
	int err = entry_lock(di, pg, 0, &e, &at);

	if (err)
		return err;
	sched_point("private:locked");
	if (*st == WP_COPY) {
		entry_unlock(di, at, e);   /* another thread made the copy */
		return 0;
	}
	if (!dax_lookup(di, pg, &x, &next)) {
		if (!write) {
			err = vm_install_zero(a, BLK);
			*st = err ? WP_NONE : WP_ZERO;
		} else {
			err = vm_install_copy(a, NULL, BLK);
			*st = err ? WP_NONE : WP_COPY;
		}
	} else if (!write) {
		err = vm_install(a, BLK, di->rmap.pool_fd, (x.pblk + (pg - x.lblk)) * BLK, PROT_READ, 0);
		*st = err ? WP_NONE : WP_FILE;
	} else {
		/* Copy now, under the entry and invalidate locks, instead of
		 * letting the kernel copy at the retried store: by then a punch
		 * may have freed the block and the copy would take whatever
		 * the block holds next.  (vm_install_copy never makes the
		 * page writable before it holds the copy: another thread's
		 * store would land and then be overwritten.) */
		err = vm_install_copy(a, meta_block(di->m, x.pblk + (pg - x.lblk)), BLK);
		*st = err ? WP_NONE : WP_COPY;
	}
	if (err)
		vm_zap(a, BLK);
	entry_unlock(di, at, e);
	return err;
}

/* ---- PMD ---- */

static int pmd_fault(struct dax_inode *di, struct window *w, uint64_t pg, int write)
{
	uint64_t a = pg & ~(uint64_t)(PMD_PAGES - 1), e, at, next;
	struct dextent x;
	int err;

	uint64_t lo = a, hi = a + PMD_PAGES;
	if (!vm_clip(w, &lo, &hi) || lo != a || hi != a + PMD_PAGES || hi > eof_pages(di))
		return -EAGAIN;
	err = entry_lock(di, pg, 1, &e, &at);
	if (err)
		return err;
	char *addr = vm_page_addr(w, a);
	int mapped = dax_lookup(di, a, &x, &next);
	if (mapped && x.lblk + x.len >= a + PMD_PAGES && (x.pblk + (a - x.lblk)) % PMD_PAGES == 0) {
		uint64_t pblk = x.pblk + (a - x.lblk);
#ifndef UDAX_BUG_PMD_ZERO_KEPT
		/* A 2 MiB zero page over what is now a block run (the write
		 * path has not evicted it yet): it goes from every mapping
		 * before this entry replaces it, or the others keep zeros
		 * with no entry left to evict. */
		if (e & E_ZERO)
			rmap_zap_shared(&di->rmap, a, PMD_PAGES);
#endif
		err = vm_map_block(w, addr, PMD_PAGES * BLK, di->rmap.pool_fd, pblk,
		                PROT_READ | (write ? PROT_WRITE : 0));
		uint64_t v = write ? e_block(pblk, E_PMD | E_DIRTY) : (e & E_DIRTY ? e : 0);
		entry_unlock(di, at, err ? e : v);
		return err;
	}
	if (!mapped && !write && next >= a + PMD_PAGES) {
		err = vm_map_zero(w, addr, PMD_PAGES * BLK);
		entry_unlock(di, at, err ? e : (E_ZERO | E_PMD));
		return err;
	}
	entry_unlock(di, at, e);
	return -EAGAIN;
}

/* ---- PTE ---- */

/* Read fault on an allocated block: map the extent around @pg. */
static int map_around(struct dax_inode *di, struct window *w, uint64_t pg,
                      const struct dextent *x)
{
	uint64_t lo = pg, hi = pg + FAULT_AROUND;
	if (hi > x->lblk + x->len)
		hi = x->lblk + x->len;
	if (hi > eof_pages(di))
		hi = eof_pages(di);
	if (!vm_clip(w, &lo, &hi))
		return 0;
	/* Fault-around must not take write access away from a page pinned
	 * for the kernel (udax_pin): near a pin, map this page alone.  The
	 * pin lock is held across the check and the change. */
	vm_pin_read_lock();
#ifndef UDAX_BUG_AROUND_PINNED
	if (vm_pinned(vm_page_addr(w, lo), (hi - lo) * BLK)) {
		lo = pg;
		hi = pg + 1;
	}
#endif
	int err = vm_map_block(w, vm_page_addr(w, lo), (hi - lo) * BLK, di->rmap.pool_fd,
	                    x->pblk + (lo - x->lblk), PROT_READ);
	vm_pin_read_unlock();
	return err;
}

/* Does any block lie in the 2 MiB run at @a? */
static int blocks_in(struct dax_inode *di, uint64_t a)
{
	struct dextent x;
	uint64_t next;
#ifndef UDAX_BUG_VALIDATE_EARLY
	meta_validate(di->m, di->ip);   /* under the entry lock: see dax_lookup */
#endif
	return xmap_lookup(&di->ip->xm, a, &x, &next) || next < a + PMD_PAGES;
}

/* Drop a zero-page entry covering @at (n pages) from every mapping. */
static void drop_zero(struct dax_inode *di, uint64_t at, uint64_t n)
{
	rmap_zap_shared(&di->rmap, at, n);
	entry_unlock(di, at, 0);
}

/* A page this thread's fault just filled, + 1 (0: none). */
static __thread uint64_t fault_filled;

static int pte_fault(struct dax_inode *di, struct window *w, uint64_t pg, int write)
{
	struct dextent x;
	uint64_t e, at, next;
	char *a = vm_page_addr(w, pg);
	int err;

	for (;;) {
		err = entry_lock(di, pg, 0, &e, &at);
		if (err)
			return err;
		if (!(e & E_PMD) || !(e & E_ZERO) || (!write && !blocks_in(di, at)))
			break;
#ifdef UDAX_BUG_PMD_PTE_COLLISION
		/* Mutant: map the new 4 KiB block under the PMD zero entry and
		 * keep that entry: the page's dirty state has nowhere to live. */
		{
			uint64_t pb;
			int fresh;
			int64_t got = meta_fill_hole(di->m, di->ip, pg, pg + 1, 1, 0, &pb, &fresh);
			if (got > 0)
				err = vm_map_block(w, a, BLK, di->rmap.pool_fd, pb, PROT_READ | PROT_WRITE);
			entry_unlock(di, at, e);
			return got < 0 ? (int)got : err;
		}
#endif
		/* a 2 MiB zero page, and a 4 KiB write or blocks now inside it:
		 * drop it everywhere and serve this page alone */
		drop_zero(di, at, PMD_PAGES);
	}
	if (e & E_PMD) {                        /* a PMD block entry covers pg */
		/* Only the part of the run inside this window: a window that
		 * covers part of it (a smaller mapping, another offset) must
		 * not map over memory that is not its own. */
		uint64_t lo = at, hi = at + PMD_PAGES;
#ifndef UDAX_BUG_PMD_UNCLIPPED
		vm_clip(w, &lo, &hi);
#endif
		/* A dirty entry may be mapped writable (fsync write-protects it
		 * under its lock); so a read fault never takes write access
		 * from its other pages, pinned ones included. */
		int prot = PROT_READ | (write || (e & E_DIRTY) ? PROT_WRITE : 0);
		if (e & E_ZERO)
			err = vm_map_zero(w, vm_page_addr(w, lo), (hi - lo) * BLK);
		else
			err = vm_map_block(w, vm_page_addr(w, lo), (hi - lo) * BLK, di->rmap.pool_fd,
			                e_pblk(e) + (lo - at), prot);
		entry_unlock(di, at, err || !write ? e : e | E_DIRTY);
		return err;
	}
	if (!dax_lookup(di, pg, &x, &next)) {
		if (!write) {
			err = vm_map_zero(w, a, BLK);
			entry_unlock(di, at, err ? e : E_ZERO);
			return err;
		}
		uint64_t pblk;
		int fresh;
		int64_t got = meta_fill_hole(di->m, di->ip, pg, pg + 1, 1, FILL_FROM_FAULT, &pblk, &fresh);
		if (got < 0) {
			entry_unlock(di, at, e);
			return (int)got;
		}
		sched_point("fault:allocated");
		if (fresh)
			fault_filled = pg + 1;  /* dax_fault shoots for it, unlocked */
		if (fresh)   /* rule b for private mappings of this page */
			rmap_zap_private_zero(&di->rmap, pg, 1);
		x = (struct dextent){ .lblk = pg, .pblk = pblk, .len = 1 };
	}
	uint64_t pblk = x.pblk + (pg - x.lblk);
	if (e & E_ZERO)
		rmap_zap_shared(&di->rmap, pg, 1);     /* stale zero page over a block */
	if (!write) {
		err = map_around(di, w, pg, &x);
		entry_unlock(di, at, (e & E_DIRTY) ? e : 0);
		return err;
	}
	err = vm_map_block(w, a, BLK, di->rmap.pool_fd, pblk, PROT_READ | PROT_WRITE);
	entry_unlock(di, at, err ? ((e & E_DIRTY) ? e : 0) : e_block(pblk, E_DIRTY));
	return err;
}

int dax_fault(struct window *w, char *addr, int write)
{
	struct dax_inode *di = w->owner;
	uint64_t pg = w->pgoff + (uint64_t)(addr - w->addr) / BLK;
	int err;

	if (write && !(w->prot & PROT_WRITE))
		return VM_SEGV;          /* the application's own protection fault */
	/* no lock a fault may need, nor any inside them (vm.h): only a
	 * descriptor's pos_lock or ns_lock may be held (udax_read and
	 * udax_write fault their buffer in holding pos_lock) */
	UDAX_BUG_ON(ul_held_from(UL_INODE_RW));
	pl_rdlock(&di->inval, UL_INVAL);
	/* another process may have changed the file (its size: SIGBUS or
	 * not; its blocks): our copies must be current (share.c C3) */
	meta_validate(di->m, di->ip);
	sched_point("fault:validated");
	fault_filled = 0;
	if (pg >= eof_pages(di)) {
		err = VM_SIGBUS;
	} else if (!w->shared) {
		err = private_fault(di, w, pg, write);
	} else {
		err = pmd_fault(di, w, pg, write);
		if (err == -EAGAIN)
			err = pte_fault(di, w, pg, write);
	}
	if (fault_filled) {
		/* rule b in the other processes: their zero pages over it go
		 * (our entry is unlocked: shoot.c's deadlock rule) */
		dax_evict_zero_remote(di, fault_filled - 1, 1);
		fault_filled = 0;
	}
	pl_unlock(&di->inval);
	return err;
}
