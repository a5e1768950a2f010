/*
 * dir.c - directories.
 *
 * A directory's data blocks hold fixed slots of 288 bytes (14 a block),
 * unordered; an empty slot has inode number 0.  "." and ".." are not
 * stored: the inode's parent field gives "..".  Directories never
 * shrink while they exist; a removed entry leaves a free slot that the
 * next insertion reuses.
 *
 * In memory a loaded directory is a hash table from name to entry with,
 * per directory block, its pool block and its count of used slots.
 * Changes are made in the journal transaction and in the hash table at
 * once; an abort puts the hash table back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media/crc32c.h"
#include "meta/meta.h"

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

void dir_free(struct dircache *dc)
{
	if (!dc)
		return;
	for (uint32_t b = 0; b < dc->nbuckets; b++) {
		struct dcent *e = dc->tab[b];
		while (e) {
			struct dcent *n = e->next;
			free(e);
			e = n;
		}
	}
	free(dc->tab);
	free(dc->pblk);
	free(dc->used);
	free(dc);
}

static void hash_insert(struct dircache *dc, struct dcent *e)
{
	uint32_t b = name_hash(e->name, e->len) % dc->nbuckets;
	e->next = dc->tab[b];
	dc->tab[b] = e;
	dc->count++;
}

static void hash_unlink(struct dircache *dc, struct dcent *e)
{
	struct dcent **pp = &dc->tab[name_hash(e->name, e->len) % dc->nbuckets];
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		dc->count--;
	}
}

static int grow_hash(struct dircache *dc)
{
	if (dc->count < dc->nbuckets * 2)
		return 0;
	uint32_t nb = dc->nbuckets * 4;
	struct dcent **tab = calloc(nb, sizeof(*tab));
	if (!tab)
		return 0; /* keep the old table: slower, still right */
	for (uint32_t b = 0; b < dc->nbuckets; b++) {
		struct dcent *e = dc->tab[b];
		while (e) {
			struct dcent *n = e->next;
			uint32_t h = name_hash(e->name, e->len) % nb;
			e->next = tab[h];
			tab[h] = e;
			e = n;
		}
	}
	free(dc->tab);
	dc->tab = tab;
	dc->nbuckets = nb;
	return 0;
}

static int dc_reserve_blocks(struct dircache *dc, uint32_t n)
{
	if (n <= dc->cap)
		return 0;
	uint32_t cap = dc->cap ? dc->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	uint64_t *p = realloc(dc->pblk, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	dc->pblk = p;
	uint8_t *u = realloc(dc->used, cap);
	if (!u)
		return -ENOMEM;
	dc->used = u;
	dc->cap = cap;
	return 0;
}

static struct dcent *dcent_new(const char *name, size_t len, uint64_t ino,
                               uint8_t type, uint32_t blkidx, uint16_t slot)
{
	struct dcent *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->ino = ino;
	e->type = type;
	e->blkidx = blkidx;
	e->slot = slot;
	e->len = (uint16_t)len;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	return e;
}

static int dirblock_valid(const struct ddirblock *db, uint64_t owner, uint32_t idx)
{
	struct ddirblock t;
	uint32_t used = 0;

	memcpy(&t, db, sizeof(t));
	t.crc = 0;
	if (db->magic != DIRB_MAGIC || db->owner != owner || db->index != idx ||
	    crc32c(0, &t, sizeof(t)) != db->crc)
		return 0;
	for (uint32_t s = 0; s < DIR_SLOTS; s++) {
		const struct ddirent *de = &db->slot[s];
		if (!de->ino)
			continue;
		used++;
		if (de->name_len == 0 || de->name_len > 255 ||
		    (de->type != DT_REG_ && de->type != DT_DIR_ && de->type != DT_LNK_) ||
		    memchr(de->name, '/', de->name_len) || memchr(de->name, 0, de->name_len))
			return 0;
	}
	return used == db->used;
}

static int load_block(struct meta *m, struct inode *dp, struct dircache *dc, uint32_t idx)
{
	struct dextent x;
	uint64_t next;

	if (!xmap_lookup(&dp->xm, idx, &x, &next))
		return -EUCLEAN;
	uint64_t pblk = x.pblk + (idx - x.lblk);
	const struct ddirblock *db = meta_block(m, pblk);
	if (!dirblock_valid(db, dp->ino, idx))
		return -EUCLEAN;
	dc->pblk[idx] = pblk;
	dc->used[idx] = (uint8_t)db->used;
	for (uint16_t s = 0; s < DIR_SLOTS; s++) {
		const struct ddirent *de = &db->slot[s];
		if (!de->ino)
			continue;
		if (de->ino > m->sb.ninodes || dir_lookup(dp, de->name, de->name_len))
			return -EUCLEAN;
		struct dcent *e = dcent_new(de->name, de->name_len, de->ino, de->type, idx, s);
		if (!e)
			return -ENOMEM;
		hash_insert(dc, e);
		grow_hash(dc);
	}
	return 0;
}

int dir_load(struct meta *m, struct inode *dp)
{
	struct dircache *dc;
	int err = 0;

	if (dp->dc)
		return 0;
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return -ENOMEM;
	dc->nbuckets = 16;
	dc->tab = calloc(dc->nbuckets, sizeof(*dc->tab));
	uint32_t nb = (uint32_t)dp->d.blocks;
	if (!dc->tab || dc_reserve_blocks(dc, nb) < 0) {
		dir_free(dc);
		return -ENOMEM;
	}
	dp->dc = dc; /* dir_lookup in load_block needs it for duplicates */
	for (uint32_t idx = 0; idx < nb && !err; idx++) {
		err = load_block(m, dp, dc, idx);
		dc->nblocks = idx + 1;
	}
	if (err) {
		if (err == -EUCLEAN)
			meta_problem(m, "directory inode %llu: corrupt directory block",
			             (unsigned long long)dp->ino);
		dp->dc = NULL;
		dir_free(dc);
		return err;
	}
	return 0;
}

struct dcent *dir_lookup(struct inode *dp, const char *name, size_t len)
{
	struct dircache *dc = dp->dc;

	for (struct dcent *e = dc->tab[name_hash(name, len) % dc->nbuckets]; e; e = e->next)
		if (e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

/* ---- changes ---- */

static struct ddirblock *block_for_change(struct tx *tx, struct inode *dp, uint32_t idx)
{
	return tx_get(tx, dp->dc->pblk[idx], 1);
}

struct dir_undo {
	struct inode *dp;
	struct dcent *e;
	int added;      /* 1: undo an add; 0: undo a removal */
};

static void undo_dir(struct meta *m, void *arg, int committed)
{
	struct dir_undo *u = arg;
	struct dircache *dc = u->dp->dc;

	if (u->added) {
		if (!committed) {
			hash_unlink(dc, u->e);
			dc->used[u->e->blkidx]--;
			free(u->e);
		}
	} else {
		if (committed) {
			free(u->e);
		} else {
			hash_insert(dc, u->e);
			dc->used[u->e->blkidx]++;
		}
	}
	free(u);
}

static int defer_dir_undo(struct tx *tx, struct inode *dp, struct dcent *e, int added)
{
	struct dir_undo *u = malloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->dp = dp;
	u->e = e;
	u->added = added;
	return tx_defer(tx, undo_dir, u);
}

struct grow_undo {
	struct inode *dp;
};

static void undo_grow(struct meta *m, void *arg, int committed)
{
	struct inode *dp = arg;
	if (!committed)
		dp->dc->nblocks--;
}

/* Add a directory block; returns its index or -errno. */
static int dir_grow(struct tx *tx, struct inode *dp)
{
	struct dircache *dc = dp->dc;
	uint32_t idx = dc->nblocks;
	uint64_t pblk, goal = idx ? dc->pblk[idx - 1] + 1 : 0;

	if (dc_reserve_blocks(dc, idx + 1) < 0)
		return -ENOMEM;
	int64_t got = alloc_blocks(tx, 1, goal, 0, &pblk);
	if (got < 0)
		return (int)got;
	int err = xmap_insert(tx, dp, idx, pblk, 1);
	if (err)
		return err;
	struct ddirblock *db = tx_get(tx, pblk, 0);
	struct dinode *d = tx_inode(tx, dp);
	if (!db || !d)
		return tx->err;
	db->magic = DIRB_MAGIC;
	db->owner = dp->ino;
	db->index = idx;
	d->blocks++;
	d->size += BLK;
	dc->pblk[idx] = pblk;
	dc->used[idx] = 0;
	dc->nblocks++;
	if (tx_defer(tx, undo_grow, dp) < 0)
		return -ENOMEM;
	return (int)idx;
}

static int find_free_slot(struct inode *dp, const struct ddirblock *db)
{
	for (int s = 0; s < (int)DIR_SLOTS; s++)
		if (!db->slot[s].ino)
			return s;
	return -1;
}

int dir_add(struct tx *tx, struct inode *dp, const char *name, size_t len,
            uint64_t ino, uint8_t type)
{
	tx_touch(tx, dp);
	struct dircache *dc = dp->dc;
	int idx = -1;

	for (uint32_t b = 0; b < dc->nblocks; b++)
		if (dc->used[b] < DIR_SLOTS) {
			idx = (int)b;
			break;
		}
	if (idx < 0)
		idx = dir_grow(tx, dp);
	if (idx < 0)
		return idx;
	struct ddirblock *db = block_for_change(tx, dp, (uint32_t)idx);
	if (!db)
		return tx->err;
	int s = find_free_slot(dp, db);
	if (s < 0)
		return -EUCLEAN;
	struct ddirent *de = &db->slot[s];
	memset(de, 0, sizeof(*de));
	de->ino = ino;
	de->name_len = (uint16_t)len;
	de->type = type;
	memcpy(de->name, name, len);
	db->used++;
	struct dcent *e = dcent_new(name, len, ino, type, (uint32_t)idx, (uint16_t)s);
	if (!e)
		return -ENOMEM;
	hash_insert(dc, e);
	dc->used[idx]++;
	grow_hash(dc);
	return defer_dir_undo(tx, dp, e, 1);
}

int dir_remove(struct tx *tx, struct inode *dp, struct dcent *e)
{
	tx_touch(tx, dp);
	struct ddirblock *db = block_for_change(tx, dp, e->blkidx);

	if (!db)
		return tx->err;
	memset(&db->slot[e->slot], 0, sizeof(db->slot[0]));
	db->used--;
	hash_unlink(dp->dc, e);
	dp->dc->used[e->blkidx]--;
	return defer_dir_undo(tx, dp, e, 0);
}

struct set_undo {
	struct dcent *e;
	uint64_t ino;
	uint8_t type;
};

static void undo_set(struct meta *m, void *arg, int committed)
{
	struct set_undo *u = arg;
	if (!committed) {
		u->e->ino = u->ino;
		u->e->type = u->type;
	}
	free(u);
}

/* Point an existing entry at another inode (rename over, exchange). */
int dir_set_ino(struct tx *tx, struct inode *dp, struct dcent *e, uint64_t ino, uint8_t type)
{
	tx_touch(tx, dp);
	struct ddirblock *db = block_for_change(tx, dp, e->blkidx);
	struct set_undo *u = malloc(sizeof(*u));

	if (!db || !u) {
		free(u);
		return db ? -ENOMEM : tx->err;
	}
	db->slot[e->slot].ino = ino;
	db->slot[e->slot].type = type;
	u->e = e;
	u->ino = e->ino;
	u->type = e->type;
	e->ino = ino;
	e->type = type;
	return tx_defer(tx, undo_set, u);
}
