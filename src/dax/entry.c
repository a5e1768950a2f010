/*
 * entry.c - the mapping-entry index: a radix tree of 64-way nodes keyed
 * by file page index, with a "dirty" mark propagated to the root so
 * writeback finds dirty entries in time proportional to their number,
 * and the entry locks with their hashed wait queues.
 *
 * An entry is one 64-bit word (see dax.h): empty, a zero-page entry or
 * a block entry; PTE or PMD sized (a PMD entry sits at its 2 MiB-aligned
 * index and covers 512 pages); dirty; locked.  A lock taken on an empty
 * slot leaves a locked placeholder (value E_LOCKED) so that a second
 * fault on the same hole sleeps instead of allocating too.
 *
 * The tree is changed only under di->tree_lock, a leaf lock held for a
 * few hundred instructions.  Sleepers on a locked entry read their
 * queue's sequence number under tree_lock, drop it and futex-wait on
 * that number; an unlocker changes the entry and bumps the sequence
 * under tree_lock, then wakes everyone.  So a sleeper either saw the
 * entry unlocked, or its futex_wait returns at once: no lost wake-up.
 *
 * Nodes come from salloc (mmap-backed size classes), never malloc: a
 * page fault, served in a signal handler that may have interrupted
 * malloc, creates nodes when it locks an empty slot.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dax/dax.h"
#include "util/salloc.h"
#include "util/sched.h"
#include "util/debug.h"
#include "util/lockdep.h"

#define RBITS 6
#define RSLOTS 64u

struct rnode {
	uint64_t present;   /* slots in use */
	uint64_t dirty;     /* leaf: dirty entries; internal: dirty below */
	union {
		uint64_t ent[RSLOTS];
		struct rnode *child[RSLOTS];
	} u;
};

static struct rnode *node_new(void)
{
	return salloc(sizeof(struct rnode));   /* zeroed */
}

static void node_free(struct rnode *n)
{
	sfree(n, sizeof(*n));
}

#define NWAITQ 256
static struct waitq {
	_Atomic uint32_t seq;
	_Atomic int sleepers;
} waitq[NWAITQ];

static struct waitq *waitq_of(struct dax_inode *di, uint64_t index)
{
	uint64_t h = ((uintptr_t)di >> 6) ^ ((index / PMD_PAGES) * 0x9E3779B97F4A7C15ull);
	return &waitq[(h ^ (h >> 29)) % NWAITQ];
}

struct dax_inode *dax_inode_get(struct meta *m, struct inode *ip, int pool_fd, int wl)
{
	static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
	struct dax_inode *di;

	ul_mutex_lock(&create_lock, UL_DAX_CREATE);
	di = ip->upper;
	if (!di) {
		di = calloc(1, sizeof(*di));
		if (di) {
			di->ip = ip;
			di->m = m;
			di->write_lock = wl;
			pthread_mutex_init(&di->tree_lock, NULL);
			pl_init(&di->inval, &m->rt, &meta_rt_inode(m, ip->ino)->inval, NULL, NULL, NULL);
			rmap_init(&di->rmap, pool_fd, &di->inval.local);
			di->rmap.mapped_by = &meta_rt_inode(m, ip->ino)->mapped_by;
			di->rmap.me_bit = rt_me_bit(&m->rt);
			m->upper_free = dax_inode_free;
			__atomic_store_n(&ip->upper, di, __ATOMIC_RELEASE);
		}
	}
	ul_mutex_unlock(&create_lock);
	return di;
}

static void free_node(struct rnode *n, int level)
{
	if (!n)
		return;
	if (level > 1)
		for (unsigned i = 0; i < RSLOTS; i++)
			if (n->present & (1ull << i))
				free_node(n->u.child[i], level - 1);
	node_free(n);
}

void dax_inode_free(void *p)
{
	struct dax_inode *di = p;

	free_node(di->root, di->height);
	pthread_mutex_destroy(&di->tree_lock);
	rmap_destroy(&di->rmap);
	pl_destroy(&di->inval);
	free(di);
}

/* ---- the tree (tree_lock held) ---- */

static uint64_t tree_get(struct dax_inode *di, uint64_t index)
{
	struct rnode *n = di->root;

	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	if (!n || (di->height * RBITS < 64 && index >> (di->height * RBITS)))
		return 0;
	for (int level = di->height; level > 1; level--) {
		unsigned s = (index >> ((level - 1) * RBITS)) & (RSLOTS - 1);
		if (!(n->present & (1ull << s)))
			return 0;
		n = n->u.child[s];
	}
	return n->u.ent[index & (RSLOTS - 1)];
}

static int tree_grow(struct dax_inode *di, uint64_t index)
{
	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	if (!di->root) {
		di->root = node_new();
		if (!di->root)
			return -ENOMEM;
		di->height = 1;
	}
	while (di->height * RBITS < 64 && index >> (di->height * RBITS)) {
		struct rnode *r = node_new();
		if (!r)
			return -ENOMEM;
		r->u.child[0] = di->root;
		r->present = 1;
		r->dirty = di->root->dirty ? 1 : 0;
		di->root = r;
		di->height++;
	}
	return 0;
}

/* Set the entry at @index; 0 removes it.  Marks follow E_DIRTY. */
static int tree_set(struct dax_inode *di, uint64_t index, uint64_t val)
{
	struct rnode *path[12];
	unsigned slot[12];

	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	if (!val && (!di->root || (di->height * RBITS < 64 && index >> (di->height * RBITS))))
		return 0;
	if (val && tree_grow(di, index) < 0)
		return -ENOMEM;
	struct rnode *n = di->root;
	int h = di->height;
	for (int level = h; level >= 1; level--) {
		unsigned s = (index >> ((level - 1) * RBITS)) & (RSLOTS - 1);
		path[level] = n;
		slot[level] = s;
		if (level == 1)
			break;
		if (!(n->present & (1ull << s))) {
			if (!val)
				return 0;
			struct rnode *c = node_new();
			if (!c)
				return -ENOMEM;
			n->u.child[s] = c;
			n->present |= 1ull << s;
		}
		n = n->u.child[s];
	}
	uint64_t bit = 1ull << slot[1];
	uint64_t old = n->u.ent[slot[1]];
	n->u.ent[slot[1]] = val;
	n->present = val ? n->present | bit : n->present & ~bit;
	n->dirty = (val & E_DIRTY) ? n->dirty | bit : n->dirty & ~bit;
	di->nentries += (val != 0) - (old != 0);
	/* propagate presence and marks upward, freeing empty nodes */
	for (int level = 2; level <= h; level++) {
		struct rnode *p = path[level], *c = path[level - 1];
		uint64_t b = 1ull << slot[level];
		p->dirty = c->dirty ? p->dirty | b : p->dirty & ~b;
		if (!c->present) {
			node_free(c);
			p->present &= ~b;
		}
	}
	if (!di->root->present) {
		node_free(di->root);
		di->root = NULL;
		di->height = 0;
	}
	return 0;
}

/* Visit entries in [from, to) whose node bits in @mask_dirty (dirty
 * marks) or presence are set. */
static size_t walk(struct rnode *n, int level, uint64_t base, uint64_t from, uint64_t to,
                   int dirty, uint64_t *out, size_t max, size_t k)
{
	uint64_t bits = dirty ? n->dirty : n->present;
	uint64_t span = 1ull << ((level - 1) * RBITS);

	while (bits && k < max) {
		unsigned s = (unsigned)__builtin_ctzll(bits);
		bits &= bits - 1;
		uint64_t lo = base + s * span, hi = lo + span;
		if (hi <= from || lo >= to)
			continue;
		if (level == 1)
			out[k++] = lo;
		else
			k = walk(n->u.child[s], level - 1, lo, from, to, dirty, out, max, k);
	}
	return k;
}

static size_t snapshot(struct dax_inode *di, uint64_t from, uint64_t to, int dirty,
                       uint64_t *out, size_t max)
{
	size_t k = 0;

	ul_mutex_lock(&di->tree_lock, UL_TREE);
	if (di->root)
		k = walk(di->root, di->height, 0, from, to, dirty, out, max, 0);
	ul_mutex_unlock(&di->tree_lock);
	return k;
}

size_t entry_dirty_snapshot(struct dax_inode *di, uint64_t from, uint64_t to,
                            uint64_t *out, size_t max)
{
	return snapshot(di, from, to, 1, out, max);
}

size_t entry_range_snapshot(struct dax_inode *di, uint64_t from, uint64_t to,
                            uint64_t *out, size_t max)
{
	return snapshot(di, from, to, 0, out, max);
}

uint64_t dax_nr_entries(struct dax_inode *di)
{
	ul_mutex_lock(&di->tree_lock, UL_TREE);
	uint64_t n = di->nentries;
	ul_mutex_unlock(&di->tree_lock);
	return n;
}

/* ---- entry locks ---- */

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* The entry covering @index: the PMD entry at the aligned index if one
 * is there, else the PTE entry.  *at receives where it lives. */
static uint64_t covering(struct dax_inode *di, uint64_t index, uint64_t *at)
{
	uint64_t a = index & ~(uint64_t)(PMD_PAGES - 1);
	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	uint64_t e = tree_get(di, a);

	if (e & E_PMD) {
		*at = a;
		return e;
	}
	*at = index;
	return tree_get(di, index);
}

static int pte_entries_in(struct dax_inode *di, uint64_t a)
{
	uint64_t found;
	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	if (!di->root)
		return 0;
	return walk(di->root, di->height, 0, a, a + PMD_PAGES, 0, &found, 1, 0) != 0;
}

static void sleep_on(struct dax_inode *di, uint64_t index)
{
	struct waitq *q = waitq_of(di, index);
	uint32_t seq = atomic_load(&q->seq);

	UDAX_BUG_ON(!ul_held(&di->tree_lock));
	atomic_fetch_add(&q->sleepers, 1);
	ul_mutex_unlock(&di->tree_lock);
	sched_point("entry:sleep");
	futex_wait(&q->seq, seq);
	atomic_fetch_sub(&q->sleepers, 1);
	ul_mutex_lock(&di->tree_lock, UL_TREE);
}

int (entry_lock)(struct dax_inode *di, uint64_t index, int pmd, uint64_t *e, uint64_t *at)
{
	int err = 0;
#ifdef UDAX_DEBUG
	const char *file;
	int line;
	ul_take_site(&file, &line, __FILE__, __LINE__);
	ul_acquire_check(UL_ENTRY, 0, di, file, line);
#endif

	ul_mutex_lock(&di->tree_lock, UL_TREE);
	for (;;) {
		uint64_t v = covering(di, index, at);
		if (v & E_LOCKED) {
			sleep_on(di, *at);
			continue;
		}
		if (pmd && !(v & E_PMD)) {
			uint64_t a = index & ~(uint64_t)(PMD_PAGES - 1);
			if (pte_entries_in(di, a)) {
				err = -EAGAIN;   /* PTE entries there: fall back */
				break;
			}
			*at = a;
			v = 0;
			err = tree_set(di, a, E_LOCKED | E_PMD);
		} else {
			err = tree_set(di, *at, v | E_LOCKED);
		}
		*e = v;
		break;
	}
	ul_mutex_unlock(&di->tree_lock);
#ifdef UDAX_DEBUG
	if (!err)
		ul_acquired(UL_ENTRY, 0, di, 1, file, line);
#endif
	return err;
}

int (entry_trylock_pte)(struct dax_inode *di, uint64_t index, uint64_t *e)
{
	uint64_t at;
	int err;
#ifdef UDAX_DEBUG
	const char *file;
	int line;
	ul_take_site(&file, &line, __FILE__, __LINE__);
#endif

	ul_mutex_lock(&di->tree_lock, UL_TREE);
	uint64_t v = covering(di, index, &at);
	if ((v & E_LOCKED) || at != index || (v & E_PMD) || !(v & E_BLOCK) || !(v & E_DIRTY))
		err = -EBUSY;
	else
		err = tree_set(di, index, v | E_LOCKED);
	if (!err)
		*e = v;
	ul_mutex_unlock(&di->tree_lock);
#ifdef UDAX_DEBUG
	if (!err)
		ul_acquired(UL_ENTRY, 0, di, 1, file, line);
#endif
	return err;
}

void entry_unlock(struct dax_inode *di, uint64_t at, uint64_t val)
{
	struct waitq *q = waitq_of(di, at);

	ul_mutex_lock(&di->tree_lock, UL_TREE);
	/* only the holder unlocks: the entry at @at is locked */
	UDAX_BUG_ON(!(tree_get(di, at) & E_LOCKED));
#ifdef UDAX_DEBUG
	ul_released(UL_ENTRY, di, __FILE__, __LINE__);
#endif
	/* Removing a placeholder or storing a value cannot need memory:
	 * the slot exists (it holds the lock bit). */
	tree_set(di, at, val & ~E_LOCKED);
#ifdef UDAX_BUG_MISSED_WAKEUP
	/* Mutant: wake sleepers only when the entry goes away */
	if (val & ~E_LOCKED) {
		ul_mutex_unlock(&di->tree_lock);
		return;
	}
#endif
	atomic_fetch_add(&q->seq, 1);
	ul_mutex_unlock(&di->tree_lock);
	if (atomic_load(&q->sleepers))
		futex_wake_all(&q->seq);
}

uint64_t entry_peek(struct dax_inode *di, uint64_t index)
{
	uint64_t at;

	ul_mutex_lock(&di->tree_lock, UL_TREE);
	uint64_t v = covering(di, index, &at);
	ul_mutex_unlock(&di->tree_lock);
	return v;
}
