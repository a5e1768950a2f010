/*
 * extent.c - per-inode extent maps: file block -> pool block runs.
 *
 * On media an inode's extents sit, sorted by file block and never
 * overlapping, in a singly linked chain of leaf blocks (169 extents
 * each) starting at dinode.extent_head.  In memory the chain is an
 * array of leaf copies, so a lookup is two binary searches.
 *
 * Every change is "replace leaves [i, j) by these extents": the
 * affected leaves are gathered, edited as a flat array, and repacked
 * greedily into as many leaves as needed, reusing the old leaf blocks
 * in order.  Leaves whose content did not change are not rewritten, so
 * an append touches one leaf, and no change touches more than three
 * leaves plus the predecessor whose next pointer moved.  Removal works
 * from the end of the range in bounded steps so that each step fits in
 * one journal transaction.
 *
 * Page faults insert extents (hole.c) from a signal handler, so no path
 * of xmap_insert calls malloc: leaves and the leaf-pointer array come
 * from salloc (mmap-backed), the flat arrays an edit works on are
 * meta's scratch (tx_lock), and the undo records live in the
 * transaction (tx_alloc).  Only a removal spanning more than two leaves
 * may grow the scratch with malloc; faults never remove.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/crc32c.h"
#include "meta/meta.h"
#include "util/debug.h"
#include "util/lockdep.h"
#include "util/salloc.h"

static struct xleaf *leaf_new(void)
{
	return salloc(sizeof(struct xleaf));
}

static void leaf_free(struct xleaf *x)
{
	sfree(x, sizeof(*x));
}

void xmap_free(struct xmap *xm)
{
	for (uint32_t i = 0; i < xm->n; i++)
		leaf_free(xm->leaf[i]);
	sfree(xm->leaf, xm->cap * sizeof(*xm->leaf));
	xm->leaf = NULL;
	xm->n = xm->cap = 0;
}

static int xmap_reserve(struct xmap *xm, uint32_t n)
{
	if (n <= xm->cap)
		return 0;
	uint32_t cap = xm->cap ? xm->cap : 4;
	while (cap < n)
		cap *= 2;
	struct xleaf **p = salloc(cap * sizeof(*p)), **old = xm->leaf;
	if (!p)
		return -ENOMEM;
	ul_rw_wrlock(&xm->lock, UL_XMAP);  /* lookups follow xm->leaf */
	if (xm->n)
		memcpy(p, old, xm->n * sizeof(*p));
	uint32_t oldcap = xm->cap;
	xm->leaf = p;
	xm->cap = cap;
	ul_rw_unlock(&xm->lock);
	sfree(old, oldcap * sizeof(*old));
	return 0;
}

static int leaf_valid(struct meta *m, const struct dleaf *l, uint64_t owner,
                      uint64_t *prev_end)
{
	struct dleaf t;

	memcpy(&t, l, sizeof(t));
	t.crc = 0;
	if (l->magic != LEAF_MAGIC || l->owner != owner || l->count == 0 ||
	    l->count > LEAF_CAP || crc32c(0, &t, sizeof(t)) != l->crc)
		return 0;
	for (uint32_t k = 0; k < l->count; k++) {
		const struct dextent *e = &l->ext[k];
		/* written so no sum can wrap */
		if (e->len == 0 || e->lblk < *prev_end || e->lblk >= (1ull << 32) ||
		    e->len > (1ull << 32) - e->lblk || e->pblk < m->sb.data_start ||
		    e->pblk >= m->sb.nblocks || e->len > m->sb.nblocks - e->pblk)
			return 0;
		*prev_end = e->lblk + e->len;
	}
	return 1;
}

static int load_into(struct meta *m, const struct dinode *d, uint64_t ino, struct xmap *xm)
{
	uint64_t blk = d->extent_head, prev_end = 0, total = 0;

	for (uint64_t k = 0; k < d->nleaves; k++) {
		const struct dleaf *l;
		if (blk < m->sb.data_start || blk >= m->sb.nblocks)
			goto bad;
		l = meta_block(m, blk);
		if (!leaf_valid(m, l, ino, &prev_end) || xmap_reserve(xm, xm->n + 1) < 0)
			goto bad;
		struct xleaf *x = leaf_new();
		if (!x)
			goto bad;
		x->blk = blk;
		x->next = l->next;
		x->count = l->count;
		memcpy(x->ext, l->ext, l->count * sizeof(struct dextent));
		xm->leaf[xm->n++] = x;
		total += l->count;
		blk = l->next;
	}
	if (blk != 0 || total != d->nextents)
		goto bad;
	return 0;
bad:
	meta_problem(m, "inode %llu: extent chain is corrupt", (unsigned long long)ino);
	xmap_free(xm);
	return -EUCLEAN;
}

int xmap_load(struct meta *m, struct inode *ip)
{
	int err = load_into(m, &ip->d, ip->ino, &ip->xm);
	if (!err)
		ip->xmap_loaded = 1;
	return err;
}

int xmap_reload(struct meta *m, struct inode *ip)
{
	struct xmap nx = { 0 };

	UDAX_BUG_ON(!meta_tx_held(m));
	pthread_rwlock_init(&nx.lock, NULL);
	int err = load_into(m, &ip->d, ip->ino, &nx);
	if (!err) {
		ul_rw_wrlock(&ip->xm.lock, UL_XMAP);
		struct xleaf **l = ip->xm.leaf;
		uint32_t n = ip->xm.n, cap = ip->xm.cap;
		ip->xm.leaf = nx.leaf;
		ip->xm.n = nx.n;
		ip->xm.cap = nx.cap;
		ul_rw_unlock(&ip->xm.lock);
		nx.leaf = l;
		nx.n = n;
		nx.cap = cap;
		xmap_free(&nx);
	}
	pthread_rwlock_destroy(&nx.lock);
	return err;
}

/* Index of the last leaf whose first extent starts at or before @lblk;
 * 0 when @lblk precedes every leaf. */
static uint32_t leaf_for(const struct xmap *xm, uint64_t lblk)
{
	uint32_t lo = 0, hi = xm->n;

	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (xm->leaf[mid]->ext[0].lblk <= lblk)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int lookup_locked(const struct xmap *xm, uint64_t lblk, struct dextent *ext,
                         uint64_t *next)
{
	*next = UINT64_MAX;
	if (xm->n == 0)
		return 0;
	uint32_t li = leaf_for(xm, lblk);
	for (; li < xm->n; li++) {
		const struct xleaf *l = xm->leaf[li];
		uint32_t lo = 0, hi = l->count;
		while (lo < hi) { /* first extent ending after lblk */
			uint32_t mid = (lo + hi) / 2;
			if (l->ext[mid].lblk + l->ext[mid].len <= lblk)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == l->count)
			continue;
		if (l->ext[lo].lblk <= lblk) {
			*ext = l->ext[lo];
			return 1;
		}
		*next = l->ext[lo].lblk;
		return 0;
	}
	return 0;
}

int xmap_lookup(struct xmap *xm, uint64_t lblk, struct dextent *ext, uint64_t *next)
{
	ul_rw_rdlock(&xm->lock, UL_XMAP);
	int r = lookup_locked(xm, lblk, ext, next);
	ul_rw_unlock(&xm->lock);
	return r;
}

/* Where to allocate file block @b so it continues the block before it
 * (0: no preference). */
uint64_t xmap_goal(struct xmap *xm, uint64_t b)
{
	struct dextent prev;
	uint64_t next;

	if (b && xmap_lookup(xm, b - 1, &prev, &next))
		return prev.pblk + (b - 1 - prev.lblk) + 1;
	return 0;
}

uint64_t xmap_end(struct xmap *xm)
{
	uint64_t end = 0;

	ul_rw_rdlock(&xm->lock, UL_XMAP);
	if (xm->n) {
		const struct xleaf *l = xm->leaf[xm->n - 1];
		end = l->ext[l->count - 1].lblk + l->ext[l->count - 1].len;
	}
	ul_rw_unlock(&xm->lock);
	return end;
}

/* ---- replacing a run of leaves ---- */

/* In the transaction's arena (tx_alloc), with its two arrays. */
struct xedit {
	struct inode *ip;
	uint32_t at, nold, nnew;
	struct xleaf **old;       /* leaves taken out */
	struct xleaf **new;       /* leaves put in (for abort) */
};

static void xedit_done(struct meta *m, void *arg, int committed)
{
	struct xedit *ed = arg;
	struct xmap *xm = &ed->ip->xm;

	if (committed) {
		for (uint32_t k = 0; k < ed->nold; k++) {
			int reused = 0;
			for (uint32_t q = 0; q < ed->nnew; q++)
				reused |= ed->new[q] == ed->old[k];
			if (!reused)
				leaf_free(ed->old[k]);
		}
	} else {
		/* put the old leaves back where the new ones are */
		for (uint32_t q = 0; q < ed->nnew; q++) {
			int kept = 0;
			for (uint32_t k = 0; k < ed->nold; k++)
				kept |= ed->new[q] == ed->old[k];
			if (!kept)
				leaf_free(ed->new[q]);
		}
		ul_rw_wrlock(&xm->lock, UL_XMAP);
		memmove(&xm->leaf[ed->at + ed->nold], &xm->leaf[ed->at + ed->nnew],
		        (xm->n - ed->at - ed->nnew) * sizeof(*xm->leaf));
		memcpy(&xm->leaf[ed->at], ed->old, ed->nold * sizeof(*xm->leaf));
		xm->n = xm->n - ed->nnew + ed->nold;
		ul_rw_unlock(&xm->lock);
	}
}

static void write_leaf(struct tx *tx, struct xleaf *x, uint64_t owner)
{
	struct dleaf *l = tx_get(tx, x->blk, 0);

	if (!l)
		return;
	l->magic = LEAF_MAGIC;
	l->owner = owner;
	l->next = x->next;
	l->count = x->count;
	memcpy(l->ext, x->ext, x->count * sizeof(struct dextent));
}

/* Make the link into the first new leaf point at @first. */
static int relink_prev(struct tx *tx, struct inode *ip, uint32_t at, uint64_t first)
{
	if (at == 0) {
		if (ip->d.extent_head == first)
			return 0;
		struct dinode *d = tx_inode(tx, ip);
		if (!d)
			return tx->err;
		d->extent_head = first;
		return 0;
	}
	struct xleaf *p = ip->xm.leaf[at - 1];
	if (p->next == first)
		return 0;
	struct dleaf *l = tx_get(tx, p->blk, 1);
	if (!l)
		return tx->err;
	l->next = first;
	p->next = first;  /* in-memory leaf: restored on abort below */
	return 0;
}

/* Build the new leaves for @ext[0..n) reusing @old blocks; NULL on
 * failure.  The array is in the transaction's arena. */
static struct xleaf **pack_leaves(struct tx *tx, struct xleaf **old, uint32_t nold,
                                  const struct dextent *ext, uint32_t n,
                                  uint32_t *nnew, uint64_t tail_next)
{
	uint32_t m = (n + LEAF_CAP - 1) / LEAF_CAP;
	struct xleaf **nw = tx_alloc(tx, (m ? m : 1) * sizeof(*nw));

	if (!nw)
		return NULL;
	for (uint32_t t = 0; t < m; t++) {
		uint32_t cnt = (t + 1 < m) ? LEAF_CAP : n - t * LEAF_CAP;
		uint64_t blk;
		if (t < nold) {
			blk = old[t]->blk;
		} else {
			uint64_t goal = t ? nw[t - 1]->blk + 1 : 0;
			if (alloc_blocks(tx, 1, goal, 0, &blk) < 1)
				goto fail;
		}
		nw[t] = leaf_new();
		if (!nw[t])
			goto fail;
		nw[t]->blk = blk;
		nw[t]->count = cnt;
		memcpy(nw[t]->ext, ext + (size_t)t * LEAF_CAP, cnt * sizeof(*ext));
	}
	for (uint32_t t = 0; t < m; t++)
		nw[t]->next = t + 1 < m ? nw[t + 1]->blk : tail_next;
	*nnew = m;
	return nw;
fail:
	for (uint32_t t = 0; t < m; t++)
		leaf_free(nw[t]);
	return NULL;
}

/* Unchanged leaves keep their old copy and are not rewritten. */
static void reuse_unchanged(struct xleaf **old, uint32_t nold, struct xleaf **nw, uint32_t m)
{
	for (uint32_t t = 0; t < m && t < nold; t++) {
		struct xleaf *o = old[t], *x = nw[t];
		if (o->blk == x->blk && o->next == x->next && o->count == x->count &&
		    memcmp(o->ext, x->ext, x->count * sizeof(struct dextent)) == 0) {
			leaf_free(x);
			nw[t] = o;
		}
	}
}

struct relink_undo {
	struct xleaf *p;
	uint64_t next;
};

static void undo_relink(struct meta *m, void *arg, int committed)
{
	struct relink_undo *u = arg;
	if (!committed)
		u->p->next = u->next;
}

static int xmap_replace(struct tx *tx, struct inode *ip, uint32_t i, uint32_t j,
                        const struct dextent *ext, uint32_t n)
{
	struct xmap *xm = &ip->xm;
	uint32_t nold = j - i, m = 0, oldcount = 0;
	uint64_t tail_next = j < xm->n ? xm->leaf[j]->blk : 0;
	struct xedit *ed = tx_alloc(tx, sizeof(*ed));

	if (!ed)
		return tx->err;
	if (xmap_reserve(xm, xm->n + (n + LEAF_CAP - 1) / LEAF_CAP) < 0)
		return -ENOMEM;
	ed->old = tx_alloc(tx, (nold ? nold : 1) * sizeof(*ed->old));
	if (!ed->old)
		return tx->err;
	memcpy(ed->old, &xm->leaf[i], nold * sizeof(*ed->old));
	for (uint32_t k = 0; k < nold; k++)
		oldcount += ed->old[k]->count;
	ed->new = pack_leaves(tx, ed->old, nold, ext, n, &m, tail_next);
	if (!ed->new)
		return tx->err ? tx->err : -ENOSPC;
	reuse_unchanged(ed->old, nold, ed->new, m);
	for (uint32_t k = m; k < nold; k++)
		free_blocks(tx, ed->old[k]->blk, 1);
	for (uint32_t t = 0; t < m; t++) {
		int reused = t < nold && ed->new[t] == ed->old[t];
		if (!reused)
			write_leaf(tx, ed->new[t], ip->ino);
	}
	/* swap in memory; the callback undoes it on abort.  Faults must not
	 * map what they find here before the commit (meta->xpending). */
	atomic_store(&tx->m->xpending, 1);
	ul_rw_wrlock(&xm->lock, UL_XMAP);
	memmove(&xm->leaf[i + m], &xm->leaf[j], (xm->n - j) * sizeof(*xm->leaf));
	memcpy(&xm->leaf[i], ed->new, m * sizeof(*xm->leaf));
	xm->n = xm->n - nold + m;
	ul_rw_unlock(&xm->lock);
	ed->ip = ip;
	ed->at = i;
	ed->nold = nold;
	ed->nnew = m;
	if (tx_defer(tx, xedit_done, ed) < 0)
		return tx->err;

	uint64_t first = m ? xm->leaf[i]->blk : tail_next;
	if (i > 0 && xm->leaf[i - 1]->next != first) {
		struct relink_undo *u = tx_alloc(tx, sizeof(*u));
		if (!u)
			return tx->err;
		u->p = xm->leaf[i - 1];
		u->next = u->p->next;
		if (tx_defer(tx, undo_relink, u) < 0)
			return tx->err;
	}
	int err = relink_prev(tx, ip, i, first);
	if (err)
		return err;
	struct dinode *d = tx_inode(tx, ip);
	if (!d)
		return tx->err;
	d->nextents = d->nextents - oldcount + n;
	d->nleaves = d->nleaves - nold + m;
	return tx->err;
}

/* Make meta's two scratch arrays hold @need extents each.  Only a
 * removal spanning more than two leaves ever grows them: any insert
 * fits XSCRATCH_MIN, so the fault path never gets here with more. */
static int scratch_reserve(struct meta *m, uint32_t need)
{
	if (need <= m->xscratch_cap)
		return 0;
	for (int k = 0; k < 2; k++) {
		void *p = realloc(m->xscratch[k], need * sizeof(struct dextent));
		if (!p)
			return -ENOMEM;
		m->xscratch[k] = p;
	}
	m->xscratch_cap = need;
	return 0;
}

/* Flatten leaves [i, j) into scratch array 0, with room for @extra more
 * (and cut_range's array 1 as large). */
static struct dextent *gather(struct tx *tx, const struct xmap *xm, uint32_t i, uint32_t j,
                              uint32_t extra, uint32_t *n)
{
	uint32_t cnt = 0;
	for (uint32_t k = i; k < j; k++)
		cnt += xm->leaf[k]->count;
	if (scratch_reserve(tx->m, cnt + extra + 2) < 0)
		return NULL;
	struct dextent *a = tx->m->xscratch[0];
	cnt = 0;
	for (uint32_t k = i; k < j; k++) {
		memcpy(a + cnt, xm->leaf[k]->ext, xm->leaf[k]->count * sizeof(*a));
		cnt += xm->leaf[k]->count;
	}
	*n = cnt;
	return a;
}

static int mergeable(const struct dextent *a, const struct dextent *b)
{
	return a->lblk + a->len == b->lblk && a->pblk + a->len == b->pblk &&
	       a->flags == b->flags && (uint64_t)a->len + b->len <= UINT32_MAX;
}

int xmap_insert(struct tx *tx, struct inode *ip, uint64_t lblk, uint64_t pblk,
                uint32_t len)
{
	struct xmap *xm = &ip->xm;
	uint32_t i = 0, j = 0, n = 0, pos;
	struct dextent *a;

	UDAX_BUG_ON(!meta_tx_held(tx->m));
	if (xm->n) {
		i = leaf_for(xm, lblk);
		j = i + 1 < xm->n ? i + 2 : i + 1;
	}
	assert(j - i <= 2);   /* so the scratch never grows here (fault path) */
	a = gather(tx, xm, i, j, 1, &n);
	if (!a)
		return -ENOMEM;
	for (pos = 0; pos < n && a[pos].lblk < lblk; pos++)
		;
	if ((pos > 0 && a[pos - 1].lblk + a[pos - 1].len > lblk) ||
	    (pos < n && a[pos].lblk < lblk + len))
		return -EEXIST; /* caller bug: range is not a hole */
	memmove(a + pos + 1, a + pos, (n - pos) * sizeof(*a));
	a[pos] = (struct dextent){ .lblk = lblk, .pblk = pblk, .len = len };
	n++;
	if (pos + 1 < n && mergeable(&a[pos], &a[pos + 1])) {
		a[pos].len += a[pos + 1].len;
		memmove(a + pos + 1, a + pos + 2, (n - pos - 2) * sizeof(*a));
		n--;
	}
	if (pos > 0 && mergeable(&a[pos - 1], &a[pos])) {
		a[pos - 1].len += a[pos].len;
		memmove(a + pos, a + pos + 1, (n - pos - 1) * sizeof(*a));
		n--;
	}
	return xmap_replace(tx, ip, i, j, a, n);
}

/* Cut [s, e) out of a[0..n) (room for one more), freeing the blocks;
 * works in scratch array 1 (as large as array 0, see gather). */
static int cut_range(struct tx *tx, struct dextent *a, uint32_t *n, uint64_t s,
                     uint64_t e, uint64_t *freed)
{
	uint32_t out = 0, cnt = *n;
	struct dextent *b = tx->m->xscratch[1];

	for (uint32_t k = 0; k < cnt; k++) {
		struct dextent x = a[k];
		uint64_t xe = x.lblk + x.len;
		if (xe <= s || x.lblk >= e) {
			b[out++] = x;
			continue;
		}
		uint64_t cs = x.lblk > s ? x.lblk : s, ce = xe < e ? xe : e;
		int err = free_blocks(tx, x.pblk + (cs - x.lblk), ce - cs);
		if (err)
			return err;
		*freed += ce - cs;
		if (x.lblk < cs)
			b[out++] = (struct dextent){ x.lblk, x.pblk, (uint32_t)(cs - x.lblk), x.flags };
		if (ce < xe)
			b[out++] = (struct dextent){ ce, x.pblk + (ce - x.lblk), (uint32_t)(xe - ce), x.flags };
	}
	memcpy(a, b, out * sizeof(*b));
	*n = out;
	return 0;
}

int xmap_remove(struct tx *tx, struct inode *ip, uint64_t s, uint64_t e,
                uint32_t max, uint64_t *done)
{
	struct xmap *xm = &ip->xm;
	uint32_t j, i, n, seen = 0;
	uint64_t cut = s, freed = 0;

	UDAX_BUG_ON(!meta_tx_held(tx->m));

	*done = s;
	if (xm->n == 0 || e <= s)
		return 0;
	/* walk back from the last leaf starting before e */
	j = leaf_for(xm, e - 1) + 1;
	i = j;
	while (i > 0) {
		const struct xleaf *l = xm->leaf[i - 1];
		uint32_t k = l->count;
		while (k > 0 && seen < max) {
			const struct dextent *x = &l->ext[k - 1];
			if (x->lblk >= e) { k--; continue; }
			if (x->lblk + x->len <= s) break;
			seen++;
			k--;
		}
		i--;
		if (seen >= max) {
			cut = l->ext[k].lblk > s ? l->ext[k].lblk : s;
			break;
		}
		if (k > 0)
			break;  /* reached an extent that ends before s */
	}
	if (seen == 0)
		return 0;
	struct dextent *a = gather(tx, xm, i, j, 2, &n);
	if (!a)
		return -ENOMEM;
	int err = cut_range(tx, a, &n, cut, e, &freed);
	if (!err)
		err = xmap_replace(tx, ip, i, j, a, n);
	if (err)
		return err;
	struct dinode *d = tx_inode(tx, ip);
	if (!d)
		return tx->err;
	d->blocks -= freed;
	*done = cut;
	return 0;
}
