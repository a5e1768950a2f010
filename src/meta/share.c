/*
 * share.c - keeping this process's metadata caches coherent with what
 * other processes commit, and the journal lock shared between them.
 *
 * Every process keeps DRAM copies of inodes (dinode, extent map,
 * directory cache).  The allocators' state (bitmaps, counters) and the
 * journal sequence live in the runtime region (runtime/), so they are
 * always current.  For the copies:
 *
 *   C1. A commit bumps the shared gen (rt_inode.gen) of every inode it
 *       touched (tx_touch: its dinode, extent leaves or directory
 *       blocks), after the blocks are home, under tx_lock, and then
 *       vs->commits.
 *   C2. A copy is current while its rt_gen equals the shared gen and
 *       its rt_epoch the volume's epoch.  It is reloaded from the pool
 *       under tx_lock (no checkpoint can run then), the extent map
 *       built aside and swapped in under xm->lock, so lock-free lookups
 *       see the old map or the new one, never a half-built one.
 *   C3. Reload points: every meta_lock() (so a transaction starts from
 *       current copies; cheap unless vs->commits moved), every
 *       acquisition of ip->rw (struct plock's on_acquire), every page
 *       fault's lookup (dax_lookup), and the namespace lock (meta_sync
 *       at ns_lock).  Changes other processes make are all under locks
 *       this process then holds or a transaction it then runs, so the
 *       copy a decision is based on is current.
 *   C4. A holder of tx_lock that died (EOWNERDEAD) may have left the
 *       journal half written and the shared allocator state half
 *       changed (undo records died with it): the next locker replays
 *       the journal (the redo journal discards an uncommitted
 *       transaction and completes a committed one), rebuilds the
 *       allocators from the on-media bitmap and inode table, and bumps
 *       the epoch so every process drops every cached copy.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "meta/meta.h"
#include "util/debug.h"
#include "util/lockdep.h"

struct rt_inode *meta_rt_inode(struct meta *m, uint64_t ino)
{
	/* a volume without a region: unit tests that build their own
	 * struct meta (one process, nothing to share) */
	static struct rt_inode alone;
	if (!m->rt.inodes)
		return &alone;
	UDAX_BUG_ON(ino > m->rt.ninodes);
	return &m->rt.inodes[ino];
}

/* the volume whose tx_lock this thread holds (one at a time) */
static __thread struct meta *tx_mine;

int meta_tx_held(struct meta *m)
{
	return tx_mine == m;
}

static int stale(struct meta *m, struct inode *ip)
{
	return atomic_load(&meta_rt_inode(m, ip->ino)->gen) != atomic_load(&ip->rt_gen) ||
	       atomic_load(&m->vs->epoch) != atomic_load(&ip->rt_epoch);
}

/* C2: under tx_lock and icache_lock. */
static void reload(struct meta *m, struct inode *ip)
{
	const struct dinode *d = table_slot(m, ip->ino);
	uint32_t gen = atomic_load(&meta_rt_inode(m, ip->ino)->gen);
	uint64_t epoch = atomic_load(&m->vs->epoch);

	/* word by word, writing only what changed: lock-free readers of
	 * fields that do not change (the mode, say) see no write at all */
	_Static_assert(sizeof(*d) % sizeof(uint64_t) == 0, "dinode is whole words");
	uint64_t *w = (uint64_t *)&ip->d;
	const uint64_t *o = (const uint64_t *)d;
	for (size_t k = 0; k < sizeof(*d) / sizeof(uint64_t); k++)
		if (w[k] != o[k])
			w[k] = o[k];
	atomic_store(&ip->vsize, ip->d.size);
	ip->times_dirty = 0;
	if (ip->xmap_loaded && ip->d.mode && xmap_reload(m, ip) < 0) {
		fprintf(stderr, "udax: inode %llu: cannot reload its extent map\n",
		        (unsigned long long)ip->ino);
		return;   /* not current: the next use tries again */
	}
	/* a directory cache may be in use (a dcent pointer, under ns_lock,
	 * across tx_begin): never freed here, reloaded by dir_load */
	if (ip->dc && !ip->dc_stale) {
		ip->dc_stale = 1;
		atomic_fetch_add(&m->dc_stale, 1);
	}
	/* last: a thread that sees the new gen (meta_validate's lock-free
	 * check) must find the new copies, not the old ones */
	atomic_store(&ip->rt_epoch, epoch);
	atomic_store(&ip->rt_gen, gen);
}

static void sweep(struct meta *m)
{
	uint64_t c = atomic_load(&m->vs->commits), e = atomic_load(&m->vs->epoch);

	if (c == atomic_load(&m->seen_commits) && e == atomic_load(&m->seen_epoch))
		return;
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	for (uint64_t h = 0; h < m->ihash_n; h++)
		for (struct inode *ip = m->ihash[h]; ip; ip = ip->hnext)
			if (stale(m, ip))
				reload(m, ip);
	ul_mutex_unlock(&m->icache_lock);
	atomic_store(&m->seen_commits, c);
	atomic_store(&m->seen_epoch, e);
}

/* C4 */
void meta_recover_dead(struct meta *m)
{
	/* a process that kept the lock at exit sealed (meta_seal_for_exit)
	 * left nothing half done */
	if (atomic_exchange(&m->vs->exit_sealed, 0))
		return;
	static const char msg[] = "udax: a process died holding the journal lock: "
	                          "recovering the journal and the allocators\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	if (atomic_load(&m->vs->ckpt_seq) & 1)
		atomic_fetch_add(&m->vs->ckpt_seq, 1);
	int err = journal_replay(m);
	if (!err)
		err = alloc_init(m);
	if (!err)
		err = inode_table_scan(m);
	if (err)
		fprintf(stderr, "udax: recovery after a dead process failed: %s\n", strerror(-err));
	atomic_fetch_add(&m->vs->epoch, 1);
}

void meta_lock_(struct meta *m, const char *file, int line)
{
	int dead = rt_mutex_lock_checked(m->txl, UL_TX, file, line);
	UDAX_BUG_ON(tx_mine);
	tx_mine = m;
	if (dead)
		meta_recover_dead(m);
	sweep(m);
}

void meta_unlock_(struct meta *m, const char *file, int line)
{
	UDAX_BUG_ON(tx_mine != m);
	tx_mine = NULL;
	rt_mutex_unlock_checked(m->txl, file, line);
}

void meta_sync(struct meta *m)
{
	if (atomic_load(&m->vs->commits) == atomic_load(&m->seen_commits) &&
	    atomic_load(&m->vs->epoch) == atomic_load(&m->seen_epoch))
		return;
	meta_lock(m);
	meta_unlock(m);
}

void meta_try_recover(struct meta *m)
{
	/* raw: called with icache_lock held (iget), and it never waits */
	int r = pthread_mutex_trylock(m->txl);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(m->txl);
		tx_mine = m;
		meta_recover_dead(m);
		tx_mine = NULL;
		pthread_mutex_unlock(m->txl);
	} else if (r == 0) {
		pthread_mutex_unlock(m->txl);
	}
}

void meta_drop_stale_dirs(struct meta *m)
{
	if (!atomic_load(&m->dc_stale))
		return;
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	for (uint64_t h = 0; h < m->ihash_n; h++)
		for (struct inode *ip = m->ihash[h]; ip; ip = ip->hnext)
			if (ip->dc_stale) {
				dir_free(ip->dc);
				ip->dc = NULL;
				ip->dc_stale = 0;
			}
	atomic_store(&m->dc_stale, 0);
	ul_mutex_unlock(&m->icache_lock);
}

void meta_validate(struct meta *m, struct inode *ip)
{
#ifdef UDAX_BUG_STALE_CACHE
	return;   /* mutant: act on copies another process made stale */
#endif
	if (!stale(m, ip) || meta_tx_held(m))
		return;   /* held: this transaction's sweep made it current */
	meta_lock(m);
	meta_unlock(m);
}

void tx_touch(struct tx *tx, struct inode *ip)
{
	struct txstate *s = tx->s;

	for (uint32_t i = 0; i < s->ntouched; i++)
		if (s->touched[i] == ip)
			return;
	if (s->ntouched == sizeof(s->touched) / sizeof(s->touched[0])) {
		s->touch_all = 1;
		return;
	}
	s->touched[s->ntouched++] = ip;
}

/* C1: tx_commit, after the blocks are home. */
void tx_publish(struct meta *m, struct txstate *s)
{
	/* our own copies are what we just committed */
	for (uint32_t i = 0; i < s->ntouched; i++)
		atomic_store(&s->touched[i]->rt_gen,
		             atomic_fetch_add(&meta_rt_inode(m, s->touched[i]->ino)->gen, 1) + 1);
	if (s->touch_all)
		atomic_fetch_add(&m->vs->epoch, 1);
	uint64_t c = atomic_fetch_add(&m->vs->commits, 1);
	if (c == atomic_load(&m->seen_commits) && !s->touch_all)
		atomic_store(&m->seen_commits, c + 1);
}

void meta_flush_file(struct meta *m, struct inode *ip)
{
	ul_rw_rdlock(&ip->xm.lock, UL_XMAP);
	for (uint32_t i = 0; i < ip->xm.n; i++) {
		const struct xleaf *l = ip->xm.leaf[i];
		for (uint32_t k = 0; k < l->count; k++)
			pmem_flush(&m->pm, meta_block(m, l->ext[k].pblk), (size_t)l->ext[k].len * BLK);
	}
	ul_rw_unlock(&ip->xm.lock);
	pmem_drain(&m->pm);
}
