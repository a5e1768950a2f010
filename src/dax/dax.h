/*
 * dax.h - the DAX engine: the mapping-entry index, page faults, the
 * write path's rules, writeback, and invalidation.
 *
 * LOCK ORDER (outermost first) and who may sleep on what:
 *
 *   ip->rw              inode lock: pread shared; pwrite, truncate,
 *                       fallocate exclusive.  Faults never take it.
 *   di->inval           invalidate lock: faults shared; truncate, punch
 *                       hole, zero range exclusive (write_lock=exclusive:
 *                       pwrite too; write_lock=flush: pwrite briefly,
 *                       after its copy).
 *   entry lock          one bit in an index entry.  Taken by a fault
 *                       *before* it looks up or allocates the block
 *                       (rule a), by the write path on blocks it just
 *                       allocated (rule b), by writeback and by
 *                       invalidation.  A sleeper waits on a hashed wait
 *                       queue keyed by the entry's 2 MiB-aligned index,
 *                       so PMD and PTE waiters meet; every unlock and
 *                       removal wakes all sleepers of that queue.
 *   meta->tx_lock       journal and allocator (a fault that allocates).
 *   xm->lock, di->tree_lock, di->rmap_lock, vm registry lock
 *                       innermost, never held across a sleep or a fault.
 *
 * A thread holding ip->rw or an entry lock never takes a page fault on
 * a udax mapping: copies to and from callers' buffers go through
 * vm_copy(), which bails out, and the caller drops its locks, faults
 * the page in and retries.
 *
 * THE RULES that keep dirty pages from being forgotten (DESIGN.md):
 *   a. faults lock the entry before looking up or allocating;
 *   b. the write path evicts zero-page entries only for blocks it has
 *      just allocated, and only after allocating them;
 *   c. invalidation never drops a dirty entry: dirty entries leave only
 *      through writeback or truncate;
 *   d. writeback, holding the entry lock, write-protects the page in
 *      every mapping, then flushes it, and only then clears dirty.  (A
 *      flush before the write-protect leaves a window in which a store
 *      through a still-writable mapping lands after the flush and is
 *      then marked clean.)
 */
#ifndef UDAX_DAX_H
#define UDAX_DAX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "meta/meta.h"
#include "util/lockdep.h"
#include "vm/vm.h"

#define PMD_PAGES 512u

/* Entry values: 0 is empty. */
#define E_LOCKED 0x1ull
#define E_DIRTY  0x2ull
#define E_PMD    0x4ull
#define E_ZERO   0x8ull
#define E_BLOCK  0x10ull
#define E_SHIFT  12
static inline uint64_t e_pblk(uint64_t e) { return e >> E_SHIFT; }
static inline uint64_t e_block(uint64_t pblk, uint64_t flags) { return pblk << E_SHIFT | flags | E_BLOCK; }

struct rnode;

struct dax_inode {
	struct inode *ip;
	struct meta *m;
	int pool_fd;
	pthread_mutex_t tree_lock;
	struct rnode *root;
	int height;
	uint64_t nentries;
	pthread_rwlock_t inval;
	pthread_mutex_t rmap_lock;
	struct window *windows;
	_Atomic int nprivate;      /* private windows among them */
	int write_lock;            /* enum write_lock_mode of the mount */
};

/* entry.c: the index and entry locks */
struct dax_inode *dax_inode_get(struct meta *m, struct inode *ip, int pool_fd, int wl);
void dax_inode_free(void *di);
/* Lock the entry covering @index.  With @pmd, lock the whole aligned
 * 2 MiB range instead; returns -EAGAIN if PTE entries live there (the
 * caller falls back to PTE).  *e receives the entry (without E_LOCKED);
 * *at the index the lock is held at (aligned for PMD entries). */
int entry_lock(struct dax_inode *di, uint64_t index, int pmd, uint64_t *e, uint64_t *at);
/* Store @val (0 removes) at @at and drop the lock; wakes all sleepers. */
void entry_unlock(struct dax_inode *di, uint64_t at, uint64_t val);
/* Lock the dirty PTE block entry at @index only if that needs no
 * waiting: 0 with the value in *e, or -EBUSY (locked, not a dirty
 * block, or covered by a PMD entry). */
int entry_trylock_pte(struct dax_inode *di, uint64_t index, uint64_t *e);
uint64_t entry_peek(struct dax_inode *di, uint64_t index);
#ifdef UDAX_DEBUG
/* the lock-order checker records the caller's file:line (entry.c
 * defines the functions as (entry_lock), unexpanded) */
#define entry_lock(...) (ul_set_site(__FILE__, __LINE__), entry_lock(__VA_ARGS__))
#define entry_trylock_pte(...) (ul_set_site(__FILE__, __LINE__), entry_trylock_pte(__VA_ARGS__))
#endif
/* Dirty entries in [from, to): their indices into @out (up to @max). */
size_t entry_dirty_snapshot(struct dax_inode *di, uint64_t from, uint64_t to,
                            uint64_t *out, size_t max);
/* All present entries in [from, to) into @out (up to @max). */
size_t entry_range_snapshot(struct dax_inode *di, uint64_t from, uint64_t to,
                            uint64_t *out, size_t max);
uint64_t dax_nr_entries(struct dax_inode *di);

/* rmap helpers (fault.c) */
/* every mapping, private copies included (truncate, punch) */
void rmap_zap(struct dax_inode *di, uint64_t index, uint64_t npages);
/* shared mappings only (they hold no data of their own) */
void rmap_zap_shared(struct dax_inode *di, uint64_t index, uint64_t npages);
/* private mappings' zero pages over blocks that now exist */
void rmap_zap_private_zero(struct dax_inode *di, uint64_t index, uint64_t npages);
int rmap_private_zero_at(struct dax_inode *di, uint64_t pg);
int rmap_protect(struct dax_inode *di, uint64_t index, uint64_t npages, uint64_t pblk);
void rmap_add(struct dax_inode *di, struct window *w);
void rmap_del(struct dax_inode *di, struct window *w);

/* fault.c */
int dax_fault(struct window *w, char *addr, int write);
/* The committed extent at @pg (waits for a transaction in flight). */
int dax_lookup(struct dax_inode *di, uint64_t pg, struct dextent *x, uint64_t *next);

/* writeback.c: flush dirty pages of [from, to) (page indices) */
int dax_writeback(struct dax_inode *di, uint64_t from, uint64_t to);

/* invalidate.c */
/* The write path allocated blocks [b, b+n): evict zero-page entries. */
void dax_evict_zero(struct dax_inode *di, uint64_t b, uint64_t n);
/* Truncate / punch: zap and remove every entry in [from, to).  The
 * caller holds di->inval exclusively. */
void dax_invalidate(struct dax_inode *di, uint64_t from, uint64_t to);
/* write_lock=flush: drop the clean entries of [from, to) and their
 * mappings (dirty ones stay: rule c).  Caller holds di->inval. */
void dax_drop_clean(struct dax_inode *di, uint64_t from, uint64_t to);

#endif
