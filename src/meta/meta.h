/*
 * meta.h - the metadata layer: the mounted volume, its journal,
 * block allocator, inodes, extent maps and directories.
 *
 * Transactions.  Every change to on-media metadata is made inside one
 * journal transaction (struct tx) under meta->tx_lock: blocks are
 * copied into transaction buffers with tx_get(), changed there, and at
 * tx_commit() sealed (checksums), written to the journal, committed and
 * checkpointed home.  In-memory state (allocator bits, extent leaves,
 * directory caches, inode copies) is changed eagerly and each change
 * registers an undo callback, so tx_abort() restores memory exactly and
 * a failed operation (ENOSPC, a transaction too large) leaves nothing
 * behind.  Blocks freed by a transaction become allocatable only after
 * it commits.
 *
 * Locks, outermost first:  fs namespace lock -> inode rw lock ->
 * (dax: invalidate lock -> entry locks) -> meta->tx_lock ->
 * meta->icache_lock -> xm->lock (the whole order with every edge is at
 * the top of dax/dax.h).  tx_lock covers the journal, the allocator,
 * inode allocation and every extent-map or directory change.  Extent
 * map lookups take xm->lock shared (xmap_lookup); every change is made
 * under tx_lock, taking xm->lock exclusively only while it swaps leaves.
 * The inode's rw lock does not keep the map still: page faults fill
 * holes (meta_fill_hole) holding only di->inval shared and an entry
 * lock, so a writer under ip->rw looks again under tx_lock before it
 * allocates (write_hole).
 */
#ifndef UDAX_META_H
#define UDAX_META_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "media/layout.h"
#include "media/pool.h"
#include "pmem/pmem.h"
#include "runtime/runtime.h"

struct meta;
struct inode;

/* ---- extent maps ---- */
struct xleaf {
	uint64_t blk;        /* pool block holding this leaf */
	uint64_t next;       /* as on media */
	uint32_t count;
	struct dextent ext[LEAF_CAP];
};

/* Lookups take @lock shared; changes (always inside a transaction, so
 * already serialised by tx_lock) take it exclusively only while they
 * swap leaves, so page faults can look up blocks while a write runs. */
struct xmap {
	struct xleaf **leaf;
	uint32_t n, cap;
	pthread_rwlock_t lock;
};

/* ---- directories ---- */
struct dcent {
	struct dcent *next;  /* hash chain */
	uint64_t ino;
	uint32_t blkidx;     /* directory block index */
	uint16_t slot;
	uint8_t type;
	uint16_t len;
	char name[];
};

struct dircache {
	struct dcent **tab;
	uint32_t nbuckets;
	uint64_t count;      /* entries */
	uint32_t nblocks;
	uint32_t cap;
	uint64_t *pblk;      /* per directory block */
	uint8_t *used;       /* per directory block: slots in use */
};

struct inode {
	uint64_t ino;
	struct dinode d;          /* current state (committed or in a tx) */
	struct plock rw;          /* inode lock, across processes (runtime/lock.c) */
	int refs;                 /* protected by icache_lock */
	int xmap_loaded;
	int times_dirty;          /* atime/mtime changed since last commit */
	struct xmap xm;
	struct dircache *dc;      /* directories, once loaded */
	int dc_stale;             /* another process changed it: dir_load reloads */
	struct inode *hnext;
	_Atomic uint64_t vsize;   /* size as committed, for lock-free readers (faults) */
	/* the rt_inode gen this copy (dinode, extent map, directory) was
	 * read at; another process's commit bumps the shared gen and the
	 * next use reloads (share.c) */
	_Atomic uint32_t rt_gen;
	_Atomic uint64_t rt_epoch;
	void *upper;              /* the dax layer's per-inode state, or NULL */
};

/* ---- transactions ---- */
typedef void (*tx_cb)(struct meta *m, void *arg, int committed);

/* Callbacks one transaction may register, at most.  The largest is an
 * unmap step (trunc.c, UNMAP_STEP = 64 extents): one free per extent
 * cut, one per leaf dropped (at most 65: every leaf gathered holds an
 * extent cut, plus the one it started in), one allocation for a leaf
 * added by a split, the leaf edit and a relink: 132.  Namespace changes
 * register under 40.  Twice the largest, checked in tx_defer(). */
#define TX_MAXCB 256u
/* Bytes of per-transaction records (undo state) tx_alloc() hands out:
 * an unmap step needs about 3.3 KiB (131 block ranges of 16 bytes, one
 * leaf edit with two arrays of up to 66 leaf pointers). */
#define TX_ARENA 8192u

/* The state of the one transaction in flight.  It lives in struct meta
 * (tx_lock serialises transactions), not on the caller's stack: page
 * faults run transactions on small signal stacks. */
struct txstate {
	uint32_t n;
	uint32_t ninodes;
	uint32_t ncb;
	uint32_t arena_used;
	uint64_t home[JSLOTS];
	char *buf[JSLOTS];
	struct inode *ino[64];
	/* inodes whose shared gen the commit bumps (tx_touch); past the
	 * array, every process drops every cached inode (vs->epoch) */
	struct inode *touched[64];
	uint32_t ntouched;
	int touch_all;
	struct dinode saved[64];
	struct { tx_cb fn; void *arg; } cb[TX_MAXCB];
	_Alignas(16) char arena[TX_ARENA];
};

/* A handle on it: small, so callers keep it on their stack. */
struct tx {
	struct meta *m;
	struct txstate *s;        /* m->txs while the transaction runs */
	int err;                  /* sticky: first failure */
};

struct meta {
	struct pool pool;
	struct pmem pm;
	struct dsuper sb;
	int rdonly;
	int was_clean;            /* mount record said clean at open */
	int opened;               /* meta_open completed */
	/* A copy in a child of fork(): the parent owns the volume; this copy
	 * must never write metadata (tx_commit refuses, unmount writes
	 * nothing).  Set by the api layer's fork handler. */
	volatile int forked;

	/* state shared with every process that mounts the pool (share.c,
	 * runtime/): the journal lock, allocator counters and bitmaps live
	 * in the runtime region */
	struct rt rt;
	struct rt_volume *vs;     /* &rt.h->vol */
	pthread_mutex_t *txl;     /* &vs->tx_lock: the journal and allocators */
	_Atomic uint64_t seen_commits;  /* vs->commits at the last sweep */
	_Atomic uint64_t seen_epoch;
	_Atomic int dc_stale;     /* directory caches marked stale by reloads */
	/* Set while the transaction in flight has changed an extent map in
	 * memory (xmap_replace publishes at once, so that the transaction
	 * sees its own changes); cleared when it commits or aborts.  A page
	 * fault that finds an extent while this is set must not map it yet:
	 * the block may not be durable, or may go back on abort.  See
	 * dax_lookup() in dax/fault.c. */
	_Atomic int xpending;
	char *txmem;              /* JSLOTS transaction buffers */
	struct txstate *txs;      /* the transaction in flight (tx_lock) */
	/* extent-edit scratch (tx_lock): two flat arrays of xscratch_cap
	 * extents, sized at open for any xmap_insert (the fault path) and
	 * grown only by removals that span more leaves (extent.c) */
	struct dextent *xscratch[2];
	uint32_t xscratch_cap;

	/* allocator (tx_lock) */
	uint64_t *bits;           /* one bit per block, set = used (region) */
	uint32_t *group_free;     /* free blocks per 2 MiB group */
	uint64_t ngroups;

	/* inode allocation (tx_lock) */
	uint64_t *ibits;          /* set = inode in use (region) */

	/* inode cache */
	pthread_mutex_t icache_lock;
	struct inode **ihash;
	uint64_t ihash_n;

	/* frees an inode's ->upper when the inode is destroyed */
	void (*upper_free)(void *upper);

	/* problems found while opening in fsck mode */
	void (*report)(void *arg, const char *msg);
	void *report_arg;
	int problems;
	int journal_pending;      /* replay found images not yet home */
	uint64_t orphans;         /* orphaned inodes freed at open */
};

/* volume (volume.c) */
#define META_RDONLY 0x1
#define META_SHADOW 0x2
#define META_FSCK 0x4
#define META_PRIVATE 0x8  /* copy-on-write mapping: nothing reaches the pool */
#define META_EXCL 0x10    /* read-write, and no other process may mount (repair) */
int meta_open(struct meta *m, const char *path, unsigned flags);
void meta_close(struct meta *m);
/* At process exit, instead of meta_close: mark the pool clean and keep
 * tx_lock held for good, so no transaction commits after the mark;
 * nothing is released (other threads may still be running). */
void meta_seal_for_exit(struct meta *m);
int meta_mkfs(const char *path, uint64_t size, unsigned force, unsigned mode);
#define UDAX_MIN_POOL (4ull << 20)
void meta_problem(struct meta *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t now_ns(void);

static inline void *meta_block(struct meta *m, uint64_t blk)
{
	return pool_block(&m->pool, blk);
}

/* sharing with other processes (share.c) */
/* The journal/allocator lock (robust, shared by every process of the
 * pool).  meta_lock() also brings this process's cached inodes up to
 * date with what other processes committed, and recovers the journal
 * and allocators when the previous holder died holding it. */
void meta_lock_(struct meta *m, const char *file, int line);
void meta_unlock_(struct meta *m, const char *file, int line);
#define meta_lock(m) meta_lock_((m), __FILE__, __LINE__)
#define meta_unlock(m) meta_unlock_((m), __FILE__, __LINE__)
int meta_tx_held(struct meta *m);
/* Cheap when nothing changed: make every cached inode current (takes
 * and drops tx_lock when another process committed). */
void meta_sync(struct meta *m);
/* At ns_lock, where no directory entry pointer is live: free the
 * directory caches reloads marked stale (dir_load rebuilds them). */
void meta_drop_stale_dirs(struct meta *m);
/* If tx_lock's holder is dead, take it, recover and release it (never
 * waits: iget's checkpoint-sequence wait calls it). */
void meta_try_recover(struct meta *m);
/* tx_lock is held and its previous holder died: recover (C4), unless
 * it kept the lock at exit with nothing half done (exit_sealed). */
void meta_recover_dead(struct meta *m);
/* Make @ip current (its dinode, extent map, directory cache). */
void meta_validate(struct meta *m, struct inode *ip);
/* This transaction changed @ip's dinode, extents or directory blocks:
 * bump its shared gen at commit. */
void tx_touch(struct tx *tx, struct inode *ip);
struct rt_inode *meta_rt_inode(struct meta *m, uint64_t ino);
void tx_publish(struct meta *m, struct txstate *s);   /* tx_commit */

/* journal (journal.c) */
void tx_begin(struct meta *m, struct tx *tx);   /* takes tx_lock */
void *tx_get(struct tx *tx, uint64_t blk, int copy);
int tx_defer(struct tx *tx, tx_cb fn, void *arg);
/* @size bytes (16-aligned, zeroed) that live until the transaction's
 * callbacks have run: undo records without malloc.  NULL and tx->err =
 * -E2BIG when TX_ARENA is exhausted. */
void *tx_alloc(struct tx *tx, size_t size);
struct dinode *tx_inode(struct tx *tx, struct inode *ip);
int tx_commit(struct tx *tx);                   /* drops tx_lock */
void tx_abort(struct tx *tx);                   /* drops tx_lock */
#ifdef UDAX_BUG_SYNC_NO_COMMIT
int tx_commit_volatile(struct tx *tx);          /* mutant builds only */
#endif
int journal_replay(struct meta *m);
void seal_block(struct meta *m, uint64_t blk, void *buf);

/* allocator (alloc.c) */
int alloc_init(struct meta *m);
void alloc_fini(struct meta *m);
#define ALLOC_LARGE 0x1   /* prefer 2 MiB-aligned free groups */
int64_t alloc_blocks(struct tx *tx, uint64_t want, uint64_t goal,
                     unsigned flags, uint64_t *pblk);
int free_blocks(struct tx *tx, uint64_t pblk, uint64_t len);
int block_in_use(struct meta *m, uint64_t blk);

/* inodes (inode.c) */
int inode_table_scan(struct meta *m);
const struct dinode *table_slot(struct meta *m, uint64_t ino);
struct inode *iget(struct meta *m, uint64_t ino, int *err);
int iput(struct meta *m, struct inode *ip);
/* The cached inode @ino with a reference, or NULL if not cached or
 * unused (no reference): never loads.  icache_unpeek drops it. */
struct inode *icache_peek(struct meta *m, uint64_t ino);
void icache_unpeek(struct meta *m, struct inode *ip);
/* Flush every block of @ip's extents to the persistence domain. */
void meta_flush_file(struct meta *m, struct inode *ip);
void igrab(struct meta *m, struct inode *ip);
struct inode *ialloc(struct tx *tx, uint32_t mode, uint64_t parent, int *err);
void meta_set_creator(uid_t uid, gid_t gid);      /* per thread; -1: euid/egid */
void ifree(struct tx *tx, struct inode *ip);
int inode_check(struct meta *m, const struct dinode *d, uint64_t ino);
uint8_t dtype_of(uint32_t mode);                 /* directory-entry type of a mode */
void icache_destroy(struct meta *m);
void inode_seal(struct dinode *d);

/* extent maps (extent.c) */
/* Scratch extents any xmap_insert needs: it edits at most two leaves
 * (2 * LEAF_CAP extents) plus the new one; gather() asks for one more. */
#define XSCRATCH_MIN (2u * LEAF_CAP + 8u)
int xmap_load(struct meta *m, struct inode *ip);
/* Read @ip's extent map from the pool again and swap it in (tx_lock). */
int xmap_reload(struct meta *m, struct inode *ip);
void xmap_free(struct xmap *xm);
/* Mapping at @lblk: returns 1 and the covering extent, or 0 and the
 * first mapped block after @lblk in *next (UINT64_MAX if none). */
int xmap_lookup(struct xmap *xm, uint64_t lblk, struct dextent *ext,
                uint64_t *next);
int xmap_insert(struct tx *tx, struct inode *ip, uint64_t lblk, uint64_t pblk,
                uint32_t len);
/* Unmap [s, e), at most @max extents per call, from the end; *done is
 * set to where the unmapped part begins (== s when finished). */
int xmap_remove(struct tx *tx, struct inode *ip, uint64_t s, uint64_t e,
                uint32_t max, uint64_t *done);
uint64_t xmap_end(struct xmap *xm);
uint64_t xmap_goal(struct xmap *xm, uint64_t b);  /* first block past the last extent */

/* directories (dir.c) */
int dir_load(struct meta *m, struct inode *dp);
struct dcent *dir_lookup(struct inode *dp, const char *name, size_t len);
int dir_add(struct tx *tx, struct inode *dp, const char *name, size_t len,
            uint64_t ino, uint8_t type);
int dir_remove(struct tx *tx, struct inode *dp, struct dcent *e);
int dir_set_ino(struct tx *tx, struct inode *dp, struct dcent *e, uint64_t ino, uint8_t type);
int dir_init_root(struct meta *m);
void dir_free(struct dircache *dc);

/* whole-inode operations, each in as many transactions as needed (trunc.c) */
int meta_unmap(struct meta *m, struct inode *ip, uint64_t s, uint64_t e);
int meta_evict(struct meta *m, struct inode *ip);
int meta_reap_orphans(struct meta *m);
/* hole.c; FILL_FROM_FAULT marks a page fault's allocation */
#define FILL_FROM_FAULT 0x100
int64_t meta_fill_hole(struct meta *m, struct inode *ip, uint64_t b, uint64_t hole_end,
                       uint64_t max, unsigned flags, uint64_t *pblk, int *fresh);

/* fsck (fsck.c) */
int meta_fsck(struct meta *m);

#endif
