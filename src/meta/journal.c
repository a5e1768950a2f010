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
 */
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
	ul_mutex_lock(&m->tx_lock, UL_TX);
	tx->m = m;
	tx->n = 0;
	tx->ninodes = 0;
	tx->cb = NULL;
	tx->ncb = tx->capcb = 0;
	tx->err = 0;
}

void *tx_get(struct tx *tx, uint64_t blk, int copy)
{
	struct meta *m = tx->m;

	UDAX_BUG_ON(!ul_held(&m->tx_lock));
	for (uint32_t i = 0; i < tx->n; i++)
		if (tx->home[i] == blk)
			return tx->buf[i];
	if (tx->n == JSLOTS) {
		if (!tx->err)
			tx->err = -E2BIG;
		return NULL;
	}
	char *b = m->txmem + (size_t)tx->n * BLK;
	if (copy)
		memcpy(b, meta_block(m, blk), BLK);
	else
		memset(b, 0, BLK);
	tx->home[tx->n] = blk;
	tx->buf[tx->n] = b;
	tx->n++;
	return b;
}

int tx_defer(struct tx *tx, tx_cb fn, void *arg)
{
	UDAX_BUG_ON(!ul_held(&tx->m->tx_lock));
	if (tx->ncb == tx->capcb) {
		uint32_t cap = tx->capcb ? tx->capcb * 2 : 16;
		void *n = realloc(tx->cb, cap * sizeof(*tx->cb));
		if (!n) {
			/* Run it now as an abort: the caller's change is
			 * undone and the transaction fails. */
			fn(tx->m, arg, 0);
			if (!tx->err)
				tx->err = -ENOMEM;
			return -ENOMEM;
		}
		tx->cb = n;
		tx->capcb = cap;
	}
	tx->cb[tx->ncb].fn = fn;
	tx->cb[tx->ncb].arg = arg;
	tx->ncb++;
	return 0;
}

static uint64_t inode_block(struct meta *m, uint64_t ino)
{
	return m->sb.itable_start + (ino - 1) / INODES_PER_BLOCK;
}

struct dinode *tx_inode(struct tx *tx, struct inode *ip)
{
	UDAX_BUG_ON(!ul_held(&tx->m->tx_lock));
	for (uint32_t i = 0; i < tx->ninodes; i++)
		if (tx->ino[i] == ip)
			return &ip->d;
	if (tx->ninodes == 64 || !tx_get(tx, inode_block(tx->m, ip->ino), 1)) {
		if (!tx->err)
			tx->err = -E2BIG;
		return NULL;
	}
	tx->ino[tx->ninodes] = ip;
	tx->saved[tx->ninodes] = ip->d;
	tx->ninodes++;
	return &ip->d;
}

static void run_callbacks(struct tx *tx, int committed)
{
	for (uint32_t i = tx->ncb; i-- > 0;)
		tx->cb[i].fn(tx->m, tx->cb[i].arg, committed);
	free(tx->cb);
	tx->cb = NULL;
	tx->ncb = 0;
}

void tx_abort(struct tx *tx)
{
	UDAX_BUG_ON(!ul_held(&tx->m->tx_lock));
	for (uint32_t i = tx->ninodes; i-- > 0;)
		tx->ino[i]->d = tx->saved[i];
	run_callbacks(tx, 0);
	atomic_store(&tx->m->xpending, 0);   /* extent maps are as before */
	ul_mutex_unlock(&tx->m->tx_lock);
}

static void copy_inodes_into_buffers(struct tx *tx)
{
	for (uint32_t i = 0; i < tx->ninodes; i++) {
		struct inode *ip = tx->ino[i];
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

	memset(h, 0, sizeof(*h));
	for (uint32_t i = 0; i < tx->n; i++) {
		seal_block(m, tx->home[i], tx->buf[i]);
		pmem_memcpy(pm, meta_block(m, JOURNAL_START + 1 + i), tx->buf[i], BLK);
		h->ent[i].home = tx->home[i];
		h->ent[i].crc = crc32c(0, tx->buf[i], BLK);
	}
	pmem_drain(pm);
	h->magic = JHDR_MAGIC;
	h->seq = ++m->jseq;
	h->count = tx->n;
	h->crc = crc32c(0, h, BLK);
	pmem_memcpy(pm, meta_block(m, JOURNAL_START), h, BLK);
	pmem_drain(pm);
}

int tx_commit(struct tx *tx)
{
	struct meta *m = tx->m;
	int err = tx->err;

	UDAX_BUG_ON(!ul_held(&m->tx_lock));
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
	if (tx->n) {
		write_journal(m, tx);
		for (uint32_t i = 0; i < tx->n; i++)
			pmem_memcpy(&m->pm, meta_block(m, tx->home[i]), tx->buf[i], BLK);
		pmem_drain(&m->pm);
	}
	run_callbacks(tx, 1);
	atomic_store(&m->xpending, 0);       /* extent changes are durable */
	ul_mutex_unlock(&m->tx_lock);
	return 0;
}

#ifdef UDAX_BUG_SYNC_NO_COMMIT
/* Mutant builds: apply a transaction in memory only. */
int tx_commit_volatile(struct tx *tx)
{
	struct meta *m = tx->m;
	run_callbacks(tx, 1);
	atomic_store(&m->xpending, 0);
	ul_mutex_unlock(&m->tx_lock);
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
		m->jseq = 0;
		return 0; /* empty journal, or a torn header never committed */
	}
	m->jseq = h.seq;
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
		pmem_memcpy(&m->pm, meta_block(m, h.ent[i].home),
		            meta_block(m, JOURNAL_START + 1 + i), BLK);
	pmem_drain(&m->pm);
	return 0;
}
