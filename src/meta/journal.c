/*
 * journal.c - metadata transactions: a physical redo journal.
 *
 * One transaction is in flight at a time (meta->tx_lock).  Commit:
 *   1. seal every buffered block (recompute its structures' CRCs),
 *      copy the images into journal slots, flush;          fence
 *   2. write the header: sequence number, count, each slot's home
 *      block and image CRC, header CRC; flush;              fence
 *      -- the transaction is durable from here on --
 *   3. copy each image to its home block, flush;            fence
 * There is no step that clears the header.  At mount a header with a
 * valid CRC is replayed when every slot still matches its CRC; slots
 * are overwritten only by the next transaction, which starts after
 * step 3 finished, so a mismatching slot proves the logged transaction
 * was already checkpointed.  Replay is idempotent: a crash during
 * replay just replays again.
 *
 * The transaction's state (slots, saved inodes, callbacks, an arena for
 * undo records) is struct txstate in struct meta, not the caller's
 * struct tx: page faults run transactions in signal handlers on small
 * stacks and must not malloc (src/vm/trap.c).  Callbacks and arena are
 * fixed-size, with bounds derived in meta.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/crc32c.h"
#include "meta/meta.h"
#include "util/inject.h"
#include "util/lockdep.h"
#include "util/debug.h"

void tx_begin(struct meta *m, struct tx *tx)
{
	meta_lock(m);
	struct txstate *s = m->txs;
	tx->m = m;
	tx->s = s;
	tx->err = 0;
	s->n = 0;
	s->ninodes = 0;
	s->ncb = 0;
	s->arena_used = 0;
	s->ntouched = 0;
	s->touch_all = 0;
}

void *tx_get(struct tx *tx, uint64_t blk, int copy)
{
	struct meta *m = tx->m;
	struct txstate *s = tx->s;

	UDAX_BUG_ON(!meta_tx_held(m));
	for (uint32_t i = 0; i < s->n; i++)
		if (s->home[i] == blk)
			return s->buf[i];
	if (s->n == JSLOTS) {
		if (!tx->err)
			tx->err = -E2BIG;
		return NULL;
	}
	char *b = m->txmem + (size_t)s->n * BLK;
	if (copy)
		memcpy(b, meta_block(m, blk), BLK);
	else
		memset(b, 0, BLK);
	s->home[s->n] = blk;
	s->buf[s->n] = b;
	s->n++;
	return b;
}

int tx_defer(struct tx *tx, tx_cb fn, void *arg)
{
	struct txstate *s = tx->s;

	UDAX_BUG_ON(!meta_tx_held(tx->m));
	if (s->ncb == TX_MAXCB) {
		/* Past the bound meta.h derives: a bug, but one the
		 * transaction survives.  Run it now as an abort: the
		 * caller's change is undone and the transaction fails. */
		assert(!"tx_defer: more than TX_MAXCB callbacks");
		fn(tx->m, arg, 0);
		if (!tx->err)
			tx->err = -E2BIG;
		return -E2BIG;
	}
	s->cb[s->ncb].fn = fn;
	s->cb[s->ncb].arg = arg;
	s->ncb++;
	return 0;
}

void *tx_alloc(struct tx *tx, size_t size)
{
	struct txstate *s = tx->s;
	size_t need = (size + 15) & ~(size_t)15;

	if (need > TX_ARENA - s->arena_used) {
		assert(!"tx_alloc: TX_ARENA exhausted");
		if (!tx->err)
			tx->err = -E2BIG;
		return NULL;
	}
	void *p = s->arena + s->arena_used;
	s->arena_used += (uint32_t)need;
	memset(p, 0, size);
	return p;
}

static uint64_t inode_block(struct meta *m, uint64_t ino)
{
	return m->sb.itable_start + (ino - 1) / INODES_PER_BLOCK;
}

struct dinode *tx_inode(struct tx *tx, struct inode *ip)
{
	struct txstate *s = tx->s;

	UDAX_BUG_ON(!meta_tx_held(tx->m));
	for (uint32_t i = 0; i < s->ninodes; i++)
		if (s->ino[i] == ip)
			return &ip->d;
	if (s->ninodes == 64 || !tx_get(tx, inode_block(tx->m, ip->ino), 1)) {
		if (!tx->err)
			tx->err = -E2BIG;
		return NULL;
	}
	s->ino[s->ninodes] = ip;
	s->saved[s->ninodes] = ip->d;
	s->ninodes++;
	tx_touch(tx, ip);
	return &ip->d;
}

static void run_callbacks(struct tx *tx, int committed)
{
	struct txstate *s = tx->s;

	for (uint32_t i = s->ncb; i-- > 0;)
		s->cb[i].fn(tx->m, s->cb[i].arg, committed);
	s->ncb = 0;
	s->arena_used = 0;
}

/* Put back the words of @d that the transaction changed, and only those:
 * a field it left alone may be read meanwhile without tx_lock by a
 * thread that owns it otherwise (pwrite reads the size under ip->rw
 * while a page fault's transaction on the same inode aborts). */
static void restore_dinode(struct dinode *d, const struct dinode *saved)
{
	_Static_assert(sizeof(*d) % sizeof(uint64_t) == 0, "dinode is whole words");
	uint64_t *w = (uint64_t *)d;
	const uint64_t *o = (const uint64_t *)saved;
	for (size_t k = 0; k < sizeof(*d) / sizeof(uint64_t); k++)
		if (w[k] != o[k])
			w[k] = o[k];
}

void tx_abort(struct tx *tx)
{
	struct txstate *s = tx->s;

	UDAX_BUG_ON(!meta_tx_held(tx->m));
	for (uint32_t i = s->ninodes; i-- > 0;)
		restore_dinode(&s->ino[i]->d, &s->saved[i]);
	run_callbacks(tx, 0);
	atomic_store(&tx->m->xpending, 0);   /* extent maps are as before */
	meta_unlock(tx->m);
}

static void copy_inodes_into_buffers(struct tx *tx)
{
	for (uint32_t i = 0; i < tx->s->ninodes; i++) {
		struct inode *ip = tx->s->ino[i];
		char *b = tx_get(tx, inode_block(tx->m, ip->ino), 1);
		struct dinode *slot = (struct dinode *)(b + ((ip->ino - 1) % INODES_PER_BLOCK) * INODE_SIZE);
		*slot = ip->d;
		ip->times_dirty = 0;
		atomic_store(&ip->vsize, ip->d.size);
	}
}

static void write_journal(struct meta *m, struct tx *tx)
{
	struct pmem *pm = &m->pm;
	struct djhdr *h = (struct djhdr *)(m->txmem + (size_t)JSLOTS * BLK);

	struct txstate *s = tx->s;

	memset(h, 0, sizeof(*h));
	for (uint32_t i = 0; i < s->n; i++) {
		seal_block(m, s->home[i], s->buf[i]);
		pmem_memcpy(pm, meta_block(m, JOURNAL_START + 1 + i), s->buf[i], BLK);
		h->ent[i].home = s->home[i];
		h->ent[i].crc = crc32c(0, s->buf[i], BLK);
	}
	pmem_drain(pm);
	h->magic = JHDR_MAGIC;
	h->seq = ++m->vs->jseq;
	h->count = s->n;
	h->crc = crc32c(0, h, BLK);
	pmem_memcpy(pm, meta_block(m, JOURNAL_START), h, BLK);
	pmem_drain(pm);
}

int tx_commit(struct tx *tx)
{
	struct meta *m = tx->m;
	int err = tx->err;

	UDAX_BUG_ON(!meta_tx_held(m));
	if (!err && fail_point("tx_commit"))
		err = -EIO;                  /* tests: a commit that fails */
#ifndef UDAX_BUG_FORK_FAULT
	if (!err && m->forked)
		err = -EIO;                  /* a child of fork: not our volume */
#endif
	if (err) {
		tx_abort(tx);
		return err;
	}
	copy_inodes_into_buffers(tx);
	if (tx->err) {
		err = tx->err;
		tx_abort(tx);
		return err;
	}
	if (tx->s->n) {
		write_journal(m, tx);
		/* readers outside tx_lock (iget in other processes) read again */
		atomic_fetch_add(&m->vs->ckpt_seq, 1);
		for (uint32_t i = 0; i < tx->s->n; i++)
			pmem_memcpy(&m->pm, meta_block(m, tx->s->home[i]), tx->s->buf[i], BLK);
		pmem_drain(&m->pm);
		atomic_fetch_add(&m->vs->ckpt_seq, 1);
	}
	tx_publish(m, tx->s);
	run_callbacks(tx, 1);
	atomic_store(&m->xpending, 0);       /* extent changes are durable */
	meta_unlock(m);
	return 0;
}

#ifdef UDAX_BUG_SYNC_NO_COMMIT
/* Mutant builds: apply a transaction in memory only. */
int tx_commit_volatile(struct tx *tx)
{
	struct meta *m = tx->m;
	run_callbacks(tx, 1);
	atomic_store(&m->xpending, 0);
	meta_unlock(m);
	return 0;
}
#endif

/* Home blocks a journal may name: metadata regions and data blocks,
 * never the superblock or the journal itself. */
static int valid_home(struct meta *m, uint64_t blk)
{
	return blk >= m->sb.bitmap_start && blk < m->sb.nblocks;
}

int journal_replay(struct meta *m)
{
	struct djhdr h;
	const char *jb = meta_block(m, JOURNAL_START);

	memcpy(&h, jb, sizeof(h));
	uint32_t crc = h.crc;
	h.crc = 0;
	if (h.magic != JHDR_MAGIC || crc32c(0, &h, sizeof(h)) != crc) {
		m->vs->jseq = 0;
		return 0; /* empty journal, or a torn header never committed */
	}
	m->vs->jseq = h.seq;
	if (h.count > JSLOTS) {
		meta_problem(m, "journal header counts %u blocks (max %u)", h.count, JSLOTS);
		return -EUCLEAN;
	}
	for (uint32_t i = 0; i < h.count; i++) {
		if (!valid_home(m, h.ent[i].home)) {
			meta_problem(m, "journal slot %u names invalid block %llu", i,
			             (unsigned long long)h.ent[i].home);
			return -EUCLEAN;
		}
		if (crc32c(0, meta_block(m, JOURNAL_START + 1 + i), BLK) != h.ent[i].crc)
			return 0; /* already checkpointed; slots reused */
	}
	if (h.count && m->rdonly) {
		/* The header is never cleared: a read-only mount can go on
		 * when every image is already home (checkpointed). */
		for (uint32_t i = 0; i < h.count; i++)
			if (memcmp(meta_block(m, h.ent[i].home),
			           meta_block(m, JOURNAL_START + 1 + i), BLK) != 0)
				return -EROFS;
		return 0;
	}
	for (uint32_t i = 0; i < h.count; i++)
		if (memcmp(meta_block(m, h.ent[i].home),
		           meta_block(m, JOURNAL_START + 1 + i), BLK) != 0)
			m->journal_pending = 1;
	for (uint32_t i = 0; i < h.count; i++)
		pmem_memcpy(&m->pm, meta_block(m, h.ent[i].home),
		            meta_block(m, JOURNAL_START + 1 + i), BLK);
	pmem_drain(&m->pm);
	return 0;
}
