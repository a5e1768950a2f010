/*
 * dax.h - the DAX engine: the mapping-entry index, page faults, the
 * write path's rules, writeback, and invalidation.
 *
 * LOCK ORDER (outermost first) and who may sleep on what.  In debug
 * builds (CMAKE_BUILD_TYPE=Debug) src/util/lockdep.h checks every
 * acquisition against this order (enum ul_class is the same list) and
 * aborts with both call sites on an inversion.
 *
 *   mounted_lock        api/mount.c: the process's mount registry; held
 *                       across meta_open (recovery runs under the claim).
 *   fs->ns_lock         every namespace operation and path walk.
 *   file->pos_lock      a descriptor's offset: read(), write(), lseek();
 *                       outside ip->rw, and held while the caller's
 *                       buffer is faulted in.  Never held with ns_lock.
 *   ip->rw              inode lock: pread shared; pwrite, truncate,
 *                       fallocate exclusive.  Faults never take it.
 *                       Two at once only in rename, under ns_lock, in
 *                       inode-number order (subclass 1 for the second).
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
 *                       removal wakes all sleepers of that queue.  One
 *                       thread may hold many (a writeback run, the
 *                       range of a write_lock=range pwrite); only a
 *                       holder that waits for none while holding others
 *                       takes more than one (lock_run uses trylock;
 *                       lock_range and invalidation go in index order).
 *   meta->tx_lock       journal and allocator (a fault that allocates).
 *   meta->icache_lock   inode cache and reference counts.
 *   xm->lock            an extent map: lookups shared, leaf swaps
 *                       exclusive; innermost but for the locks below.
 *   create_lock         dax/entry.c dax_inode_get: leaf.
 *   di->tree_lock       the index: leaf, a few hundred instructions.
 *   di->rmap.lock       the reverse map (vm/rmap.c).  Held across mmap/mprotect
 *                       system calls and a /proc/self/maps read (charge,
 *                       vm_pressure), and takes ring_lock and reg_lock
 *                       inside; never across a fault or a sleep on
 *                       another udax lock.
 *   vm ring_lock        vm/pte.c eviction ring (takes reg_lock).
 *   vm reg_lock         vm/window.c window registry (a mutex): leaf.
 *   fs->fd_lock         descriptor table, ufile->refs, fs->maps: leaf.
 *   shadow->lock        pmem/shadow.c (shadow mounts): leaf; the fence
 *                       hook runs under it.
 *   inject / sched      util/inject.c and util/sched.c (tests): leaves.
 *
 * Every edge, with a call path that creates it:
 *   mounted_lock -> tx_lock        udax_mount -> meta_open -> meta_reap_orphans
 *                                  -> meta_evict -> tx_begin
 *   mounted_lock -> icache_lock    udax_mount -> meta_open -> meta_reap_orphans -> iget
 *   ns_lock -> ip->rw              udax_unlink -> remove_common -> unlink_entry;
 *                                  udax_link; udax_rename -> lock_files
 *   ns_lock -> tx_lock             udax_mkdir, udax_open -> create_file, udax_rename
 *                                  -> rename_tx, udax_chmod -> change_inode
 *                                  -> tx_begin; udax_fstat, udax_stat,
 *                                  udax_readlink (dinode read under tx_lock);
 *                                  udax_open -> release_inode -> meta_evict
 *   ns_lock -> icache_lock         path_parent / path_lookup -> iget; iput
 *   ip->rw -> ip->rw/1             udax_rename -> lock_files (two regular files)
 *   pos_lock -> ip->rw             udax_write -> do_write; udax_read -> pread_file;
 *                                  udax_lseek
 *   pos_lock -> di->inval          udax_read/udax_write -> vm_prefault -> dax_fault
 *                                  (and on: everything a fault takes)
 *   ip->rw -> di->inval            udax_ftruncate -> set_size (shrink); udax_fallocate
 *                                  -> punch; write_locked (write_lock=exclusive);
 *                                  write_locked -> flush_and_invalidate (flush)
 *   ip->rw -> entry lock           write_locked -> lock_range (write_lock=range);
 *                                  write_hole -> dax_evict_zero; udax_fallocate
 *                                  -> fill_holes -> dax_evict_zero
 *   ip->rw -> tx_lock              udax_pwrite -> write_hole -> tx_begin; set_size;
 *                                  write_locked (times); sync_common / ufile_free
 *                                  -> inode_sync_times
 *   ip->rw -> xm->lock             pread_file -> read_locked -> xmap_lookup;
 *                                  write_range -> xmap_lookup
 *   di->inval -> entry lock        dax_fault -> pte_fault / pmd_fault / private_fault
 *                                  -> entry_lock; set_size, punch -> dax_invalidate;
 *                                  flush_and_invalidate -> dax_writeback,
 *                                  dax_drop_clean; write_lock=exclusive: write_hole
 *                                  -> dax_evict_zero
 *   di->inval -> tx_lock           set_size -> tx_begin and -> meta_unmap (shrink);
 *                                  punch -> meta_unmap; write_lock=exclusive:
 *                                  write_hole -> tx_begin
 *   di->inval -> xm->lock          udax_flush -> xmap_lookup
 *   entry lock -> entry lock       writeback_from -> lock_run -> entry_trylock_pte;
 *                                  write_locked -> lock_range (index order)
 *   entry lock -> tx_lock          pte_fault -> meta_fill_hole; dax_lookup (a fault
 *                                  waits for a transaction in flight);
 *                                  write_lock=range: write_range -> write_hole
 *                                  -> tx_begin
 *   entry lock -> xm->lock         pte_fault -> dax_lookup / blocks_in
 *                                  -> xmap_lookup; unlock_range -> xmap_lookup
 *   entry lock -> tree_lock        entry_lock / entry_unlock with other entry
 *                                  locks held (lock_run, lock_range, invalidation)
 *   entry lock -> rmap_lock        writeback_from -> rmap_protect; drop_zero,
 *                                  dax_evict_zero, remove_entry -> rmap_zap_shared;
 *                                  pte_fault, evict_private, unlock_range
 *                                  -> rmap_zap_private_zero
 *   entry lock -> ring_lock        pte_fault -> map_block -> vm_note_mapped;
 *                                  -> vm_install -> charge -> evict_oldest
 *   entry lock -> shadow->lock     writeback_from, remove_entry -> pmem_flush
 *   entry lock -> inject, sched    lock_range -> fail_point("range:lock");
 *                                  private_fault -> sched_point("private:locked")
 *   tx_lock -> icache_lock         ialloc -> icache_insert; tx_commit/tx_abort
 *                                  -> finish_ifree / undo_ialloc
 *   tx_lock -> xm->lock            xmap_insert / xmap_remove -> xmap_replace;
 *                                  tx_abort -> xedit_done; write_hole,
 *                                  meta_fill_hole -> xmap_lookup (recheck);
 *                                  dax_lookup -> xmap_lookup
 *   tx_lock -> shadow->lock        tx_commit -> write_journal -> pmem_drain
 *   tx_lock -> inject, sched       tx_commit -> fail_point("tx_commit");
 *                                  write_hole -> sched_point("write:hole-locked")
 *   icache_lock -> xm->lock        iget -> xmap_load -> xmap_reserve
 *   rmap_lock -> ring_lock         rmap_protect -> map_block -> vm_note_mapped;
 *                                  rmap_protect -> vm_install -> charge
 *                                  -> evict_oldest
 *   rmap_lock -> reg_lock          rmap_protect -> vm_install -> charge
 *                                  -> evict_oldest -> vm_find
 *   ring_lock -> reg_lock          evict_oldest -> vm_find
 *   any -> reg_lock                on_segv -> vm_find, when a vm_copy probe faults
 *                                  (the interrupted thread may hold ip->rw, entry
 *                                  locks, tx_lock: write_hole -> copy_in)
 *
 * ACROSS PROCESSES (docs/dax.md "Processes").  fs->ns_lock and
 * meta->tx_lock are robust mutexes in the runtime region, shared by
 * every process of the pool; ip->rw and di->inval are struct plock (a
 * local rwlock plus the shared struct xlock, held by this process as a
 * whole); entry locks and everything after tx_lock stay per process.
 * The order above holds in every process, and a shootdown adds no edge:
 * a requester waits for other processes' agents holding neither an
 * entry lock nor tx_lock (remote.c asserts it), and an agent takes only
 * its own process's entry locks (and what they lead to), never ip->rw,
 * di->inval or ns_lock: the requester holds those on its behalf.
 *
 * A thread holding ip->rw, di->inval, an entry lock, tx_lock or any lock
 * after it never takes a page fault on a udax mapping (dax_fault asserts
 * it; only ns_lock and pos_lock may be held there): copies to and from
 * callers' buffers go through vm_copy(), which bails out, and the
 * caller drops its locks, faults the page in and retries.  Results that
 * are read under tx_lock (stat, statfs, readlink) are copied to the
 * caller's buffer after it is dropped.
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
#include <sys/types.h>

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
	pthread_mutex_t tree_lock;
	struct rnode *root;
	int height;
	uint64_t nentries;
	struct plock inval;        /* invalidate lock, across processes */
	struct rmap rmap;          /* this process's windows of the file (vm/rmap.c) */
	int write_lock;            /* enum write_lock_mode of the mount */
};

/* How pwrite excludes page faults (the mount's write_lock=). */
enum write_lock_mode { WL_ENTRY, WL_EXCLUSIVE, WL_FLUSH, WL_RANGE };

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

/* the reverse map of an inode is di->rmap (vm/rmap.c) */

/* fault.c */
int dax_fault(struct window *w, char *addr, int write);
/* The committed extent at @pg (waits for a transaction in flight). */
int dax_lookup(struct dax_inode *di, uint64_t pg, struct dextent *x, uint64_t *next);

/* write.c: the write path.  The caller holds ip->rw exclusively. */
struct dax_write {
	struct meta *m;
	struct inode *ip;
	struct dax_inode *di;    /* ip->upper */
	const char *src;         /* the caller's buffer, for [start, end) */
	uint64_t start, end;
	void *fault_addr;        /* the source faulted here: fault it in, retry */
	int efault;              /* ... and it is not udax memory: EFAULT */
	int filled;              /* a hole was filled (rule b is owed) */
};
/* Write [pos, end) of the source at file offset pos: fills holes with
 * blocks holding the data (committed with the new size), overwrites
 * blocks in place, and follows the mount's write_lock= policy; commits
 * a larger size.  Returns bytes written (short if the source faulted:
 * fault_addr set) or -errno. */
ssize_t dax_write(struct dax_write *w, uint64_t pos);
/* fallocate: map every hole of blocks [s, e) with zeroed blocks and
 * evict zero pages over them (rule b). */
int dax_fill_holes(struct meta *m, struct inode *ip, uint64_t s, uint64_t e);

/* truncate.c.  The caller holds ip->rw exclusively. */
/* Commit a new size; shrinking invalidates and frees what lies past it,
 * growing zeroes what it exposes (@zero_gap). */
int dax_set_size(struct meta *m, struct inode *ip, uint64_t size, int zero_gap);
/* Zero the mapped bytes of [s, e) in place (persistent). */
void dax_zero_mapped(struct meta *m, struct inode *ip, uint64_t s, uint64_t e);
void dax_zero_tail_gap(struct meta *m, struct inode *ip, uint64_t old_size, uint64_t new_size);

/* punch.c: punch [s, e) (bytes).  The caller holds ip->rw exclusively. */
int dax_punch(struct meta *m, struct inode *ip, uint64_t s, uint64_t e);

/* writeback.c: flush dirty pages of [from, to) (page indices) */
int dax_writeback(struct dax_inode *di, uint64_t from, uint64_t to);

/* remote.c: each of these applies the rule here, then asks every other
 * process that maps the file to apply it there (and waits); the
 * _local variants (invalidate.c, writeback.c) do this process only. */
/* Rule b in the other processes only: this one's zero pages over the
 * blocks are gone already (a fault held the entry; write_lock=range
 * dropped them at unlock_range). */
void dax_evict_zero_remote(struct dax_inode *di, uint64_t pg, uint64_t n);
int dax_serve(void *m, const struct rt_request *rq);   /* the agent's work */
void dax_evict_zero_local(struct dax_inode *di, uint64_t b, uint64_t n);
void dax_invalidate_local(struct dax_inode *di, uint64_t from, uint64_t to, int even_cows);
void dax_drop_clean_local(struct dax_inode *di, uint64_t from, uint64_t to);
int dax_writeback_local(struct dax_inode *di, uint64_t from, uint64_t to);

/* invalidate.c */
/* The write path allocated blocks [b, b+n): evict zero-page entries. */
void dax_evict_zero(struct dax_inode *di, uint64_t b, uint64_t n);
/* Truncate / punch: zap and remove every entry in [from, to).  The
 * caller holds di->inval exclusively. */
void dax_invalidate(struct dax_inode *di, uint64_t from, uint64_t to, int even_cows);
/* write_lock=flush: drop the clean entries of [from, to) and their
 * mappings (dirty ones stay: rule c).  Caller holds di->inval. */
void dax_drop_clean(struct dax_inode *di, uint64_t from, uint64_t to);

#endif
