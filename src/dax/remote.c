/*
 * remote.c - the DAX rules across processes: what a change here must do
 * to the mappings of the other processes that share the pool, and what
 * this process does when another one asks (the shootdown agent runs
 * dax_serve; runtime/shoot.c carries the requests).
 *
 * Each process keeps its own index of mapping entries: an entry says
 * what *this* address space maps (a zero page here is not mapped
 * there), and only this process can change its page tables.  What the
 * processes share is the truth behind the entries: the extent maps
 * (share.c keeps every copy current), the inode and invalidate locks
 * (struct plock), and who maps what (rt_inode.mapped_by).  So each rule
 * is applied here, then in every other process that maps the file:
 *
 *   rule b  dax_evict_zero: after the write path (or a fault, or
 *           fallocate) allocated blocks and committed them, every
 *           process evicts its zero pages over them.  Its faults took
 *           the entry lock before looking up (rule a), and look up the
 *           current extent map, so a fault that saw the hole finishes
 *           installing its zero page before the eviction looks.
 *   trunc   dax_invalidate: with the invalidate lock held exclusively
 *           (no process can fault the file), every process zaps and
 *           drops its entries of the range before any block is freed.
 *   rule d  dax_writeback: fsync/msync write back this process's
 *           dirty entries, then every other process's (each
 *           write-protects its own mappings, flushes, clears dirty).
 *   rule c  holds in each process's own index: no request drops a
 *           dirty entry but truncate's.
 *
 * A requester holds no entry lock and not tx_lock while it waits
 * (shoot.c's deadlock argument); the fault path shoots after it
 * unlocked its entry.
 */
#include <stdlib.h>

#include "dax/dax.h"
#include "util/debug.h"
#include "util/lockdep.h"
#include "util/sched.h"

static uint64_t others(struct dax_inode *di)
{
	struct rt *rt = &di->m->rt;
	return atomic_load(&meta_rt_inode(di->m, di->ip->ino)->mapped_by) & ~rt_me_bit(rt);
}

static int shoot(struct dax_inode *di, uint32_t op, uint64_t from, uint64_t to, uint32_t flags)
{
	uint64_t mask = others(di);
	if (!mask)
		return 0;
	struct rt_request rq = { .op = op, .flags = flags, .ino = di->ip->ino,
	                         .from = from, .to = to };
	UDAX_BUG_ON(meta_tx_held(di->m));   /* shoot.c: never wait holding it */
	return rt_shoot(&di->m->rt, mask, &rq);
}

void dax_evict_zero(struct dax_inode *di, uint64_t b, uint64_t n)
{
	dax_evict_zero_local(di, b, n);
	sched_point("remote:before-evict");
#ifndef UDAX_BUG_NO_SHOOTDOWN
	shoot(di, RT_OP_EVICT_ZERO, b, b + n, 0);
#endif
}

void dax_invalidate(struct dax_inode *di, uint64_t from, uint64_t to, int even_cows)
{
	dax_invalidate_local(di, from, to, even_cows);
	shoot(di, RT_OP_INVALIDATE, from, to, (uint32_t)even_cows);
}

void dax_drop_clean(struct dax_inode *di, uint64_t from, uint64_t to)
{
	dax_drop_clean_local(di, from, to);
	shoot(di, RT_OP_DROP_CLEAN, from, to, 0);
}

int dax_writeback(struct dax_inode *di, uint64_t from, uint64_t to)
{
	int err = dax_writeback_local(di, from, to);
	int r = shoot(di, RT_OP_WRITEBACK, from, to, 0);
	struct rt_inode *ri = meta_rt_inode(di->m, di->ip->ino);
	if (atomic_load(&ri->flags) & RT_FLUSH_ALL) {
		/* a process that mapped the file died: its stores may not be
		 * persistent yet, and nobody knows which pages it dirtied */
		atomic_fetch_and(&ri->flags, ~RT_FLUSH_ALL);
		meta_flush_file(di->m, di->ip);
	}
	return err ? err : r;
}

void dax_evict_zero_remote(struct dax_inode *di, uint64_t pg, uint64_t n)
{
#ifndef UDAX_BUG_NO_SHOOTDOWN
	shoot(di, RT_OP_EVICT_ZERO, pg, pg + n, 0);
#endif
}

int dax_serve(void *arg, const struct rt_request *rq)
{
	struct meta *m = arg;
	struct inode *ip = icache_peek(m, rq->ino);
	int err = 0;

	if (!ip)
		return 0;       /* not cached here: nothing mapped */
	struct dax_inode *di = ip->upper;
	if (di) {
		ul_remote = 1;
		switch (rq->op) {
		case RT_OP_EVICT_ZERO:
			dax_evict_zero_local(di, rq->from, rq->to - rq->from);
			break;
		case RT_OP_INVALIDATE:
			dax_invalidate_local(di, rq->from, rq->to, (int)rq->flags);
			break;
		case RT_OP_DROP_CLEAN:
			dax_drop_clean_local(di, rq->from, rq->to);
			break;
		case RT_OP_WRITEBACK:
			err = dax_writeback_local(di, rq->from, rq->to);
			break;
		}
		ul_remote = 0;
	}
	icache_unpeek(m, ip);
	return err;
}
