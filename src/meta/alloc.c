/*
 * alloc.c - the block allocator.
 *
 * The on-media bitmap is the truth at mount; in memory we keep a copy
 * of its bits plus a free count per 2 MiB group (512 blocks).  Policy,
 * after WineFS: large requests (ALLOC_LARGE) take whole free groups so
 * they start 2 MiB-aligned and can be mapped with PMD entries; small
 * requests fill partly used groups first, so aging does not eat the
 * aligned free runs.  A goal block (just after the file's previous
 * extent) is tried first to keep files contiguous.
 *
 * Allocation marks blocks used in memory at once and undoes that if the
 * transaction aborts.  Frees change the on-media bitmap inside the
 * transaction but release the in-memory bits only once it commits, so
 * a block freed by a transaction cannot be reused before the free is
 * durable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/crc32c.h"
#include "meta/meta.h"
#include "util/debug.h"
#include "util/lockdep.h"

#define GROUP 512u

static int test_bit(const uint64_t *b, uint64_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static void set_range(struct meta *m, uint64_t s, uint64_t len, int used)
{
	for (uint64_t i = s; i < s + len; i++) {
		uint64_t bit = 1ull << (i % 64);
		if (used)
			m->bits[i / 64] |= bit;
		else
			m->bits[i / 64] &= ~bit;
		m->group_free[i / GROUP] += used ? (uint32_t)-1 : 1;
	}
	if (used)
		m->vs->free_blocks -= len;
	else
		m->vs->free_blocks += len;
}

int block_in_use(struct meta *m, uint64_t blk)
{
	return test_bit(m->bits, blk);
}

int alloc_init(struct meta *m)
{
	uint64_t n = m->sb.nblocks;

	/* the runtime region's arrays, shared by every process (share.c) */
	m->ngroups = (n + GROUP - 1) / GROUP;
	m->bits = m->rt.bits;
	m->group_free = m->rt.group_free;
	memset(m->bits, 0, (n + 63) / 64 * 8);
	memset(m->group_free, 0, m->ngroups * sizeof(uint32_t));
	m->vs->free_blocks = 0;
	for (uint64_t k = 0; k < m->sb.bitmap_blocks; k++) {
		const struct dbitmap *bm = meta_block(m, m->sb.bitmap_start + k);
		struct dbitmap t;
		memcpy(&t, bm, sizeof(t));
		t.crc = 0;
		if (bm->magic != BITMAP_MAGIC || bm->index != k ||
		    crc32c(0, &t, sizeof(t)) != bm->crc) {
			meta_problem(m, "bitmap block %llu is corrupt (bad magic, index or checksum)",
			             (unsigned long long)k);
			return -EUCLEAN;
		}
		for (uint64_t i = 0; i < BITS_PER_BITMAP; i++) {
			uint64_t blk = k * BITS_PER_BITMAP + i;
			if (blk >= n)
				break;
			if ((bm->bits[i / 8] >> (i % 8)) & 1)
				m->bits[blk / 64] |= 1ull << (blk % 64);
		}
	}
	for (uint64_t b = 0; b < n; b++) {
		if (!test_bit(m->bits, b)) {
			m->vs->free_blocks++;
			m->group_free[b / GROUP]++;
		}
	}
	for (uint64_t b = 0; b < m->sb.data_start; b++) {
		if (!test_bit(m->bits, b)) {
			meta_problem(m, "metadata block %llu is marked free in the bitmap",
			             (unsigned long long)b);
			return -EUCLEAN;
		}
	}
	return 0;
}

void alloc_fini(struct meta *m)
{
	m->bits = NULL;
	m->group_free = NULL;
}

/* Change bits [s, s+len) of the on-media bitmap inside @tx. */
static int tx_mark(struct tx *tx, uint64_t s, uint64_t len, int used)
{
	struct meta *m = tx->m;

	while (len) {
		uint64_t k = s / BITS_PER_BITMAP, i = s % BITS_PER_BITMAP;
		struct dbitmap *bm = tx_get(tx, m->sb.bitmap_start + k, 1);
		if (!bm)
			return tx->err;
		for (; len && i < BITS_PER_BITMAP; i++, s++, len--) {
			if (used)
				bm->bits[i / 8] |= (uint8_t)(1u << (i % 8));
			else
				bm->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
		}
	}
	return 0;
}

/* Length of the free run at @s, at most @max. */
static uint64_t free_run(struct meta *m, uint64_t s, uint64_t max)
{
	uint64_t n = 0;

	while (n < max && s + n < m->sb.nblocks && !test_bit(m->bits, s + n))
		n++;
	return n;
}

/* In group @g, the first free run of at least @want blocks, else the
 * start of the longest run; UINT64_MAX if the group is full. */
static uint64_t best_run_in_group(struct meta *m, uint64_t g, uint64_t want, uint64_t *len)
{
	uint64_t s = g * GROUP, e = s + GROUP, best = UINT64_MAX, best_len = 0;

	if (s < m->sb.data_start)
		s = m->sb.data_start;
	if (e > m->sb.nblocks)
		e = m->sb.nblocks;
	for (uint64_t b = s; b < e;) {
		if (test_bit(m->bits, b)) {
			b++;
			continue;
		}
		uint64_t n = free_run(m, b, e - b);
		if (n >= want) {
			*len = n;
			return b;
		}
		if (n > best_len) {
			best = b;
			best_len = n;
		}
		b += n;
	}
	*len = best_len;
	return best;
}

/* Choose where to allocate; returns the first block or UINT64_MAX. */
static uint64_t pick_start(struct meta *m, uint64_t want, uint64_t goal, unsigned flags)
{
	if (goal >= m->sb.data_start && goal < m->sb.nblocks && !test_bit(m->bits, goal))
		return goal;
	if ((flags & ALLOC_LARGE) || want >= GROUP) {
		for (uint64_t g = 0; g < m->ngroups; g++)
			if (m->group_free[g] == GROUP && (g + 1) * GROUP <= m->sb.nblocks)
				return g * GROUP;
	}
	/* Partly used groups that can hold the whole request, then whole
	 * free groups, then the best run anywhere. */
	for (int pass = 0; pass < 3; pass++) {
		for (uint64_t g = 0; g < m->ngroups; g++) {
			uint32_t f = m->group_free[g];
			uint64_t len;
			if (f == 0 || (pass == 0 && (f == GROUP || f < want)) ||
			    (pass == 1 && f != GROUP))
				continue;
			uint64_t b = best_run_in_group(m, g, want, &len);
			if (b != UINT64_MAX && (pass == 2 || len >= want || len == f))
				return b;
		}
	}
	return UINT64_MAX;
}

struct alloc_undo {
	uint64_t s, len;
};

static void undo_alloc(struct meta *m, void *arg, int committed)
{
	struct alloc_undo *u = arg;

	if (!committed)
		set_range(m, u->s, u->len, 0);
}

int64_t alloc_blocks(struct tx *tx, uint64_t want, uint64_t goal,
                     unsigned flags, uint64_t *pblk)
{
	struct meta *m = tx->m;
	struct alloc_undo *u;

	UDAX_BUG_ON(!meta_tx_held(m));
	if (want == 0)
		return -EINVAL;
	uint64_t s = pick_start(m, want, goal, flags);
	if (s == UINT64_MAX)
		return -ENOSPC;
	uint64_t len = free_run(m, s, want);
	u = tx_alloc(tx, sizeof(*u));   /* no malloc: page faults allocate */
	if (!u)
		return tx->err;
	int err = tx_mark(tx, s, len, 1);
	if (err)
		return err;
	set_range(m, s, len, 1);
	u->s = s;
	u->len = len;
	if (tx_defer(tx, undo_alloc, u) < 0)
		return tx->err;
	*pblk = s;
	return (int64_t)len;
}

static void release_freed(struct meta *m, void *arg, int committed)
{
	struct alloc_undo *u = arg;

	if (committed)
		set_range(m, u->s, u->len, 0);
}

int free_blocks(struct tx *tx, uint64_t pblk, uint64_t len)
{
	struct meta *m = tx->m;
	struct alloc_undo *u;

	UDAX_BUG_ON(!meta_tx_held(m));
	if (pblk < m->sb.data_start || pblk + len > m->sb.nblocks || pblk + len < pblk)
		return -EUCLEAN;
	u = tx_alloc(tx, sizeof(*u));
	if (!u)
		return tx->err;
	int err = tx_mark(tx, pblk, len, 0);
	if (err)
		return err;
	u->s = pblk;
	u->len = len;
	return tx_defer(tx, release_freed, u);
}
