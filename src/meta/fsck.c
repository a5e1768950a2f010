/*
 * fsck.c - check every invariant of an opened volume.
 *
 * Runs after meta_open() has validated the superblock, replayed the
 * journal, checked the bitmap and inode checksums and reaped orphans.
 * Here we check what ties structures together:
 *   - every in-use inode's extent chain loads (leaf checksums, owner,
 *     order, bounds) and its extents add up to its block count;
 *   - no block is owned twice; the bitmap marks exactly the blocks
 *     that metadata or some inode owns;
 *   - every directory block loads; every entry names an in-use inode
 *     of the type it claims; names are unique per directory;
 *   - link counts equal the references found; every directory's parent
 *     field names the directory holding it; everything is reachable
 *     from the root; directory sizes match their blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "meta/meta.h"

struct fsck {
	struct meta *m;
	uint64_t *owner;      /* per block: owning inode, 0 = none */
	uint32_t *refs;       /* per inode: directory entries naming it */
	uint32_t *subdirs;    /* per inode: directory entries of type dir */
	uint64_t *parent_of;  /* per inode: directory holding it */
	uint8_t *reached;
};

static int in_use(struct meta *m, uint64_t ino)
{
	return (m->ibits[ino / 64] >> (ino % 64)) & 1;
}

static void claim(struct fsck *f, uint64_t blk, uint64_t ino)
{
	struct meta *m = f->m;

	if (blk < m->sb.data_start || blk >= m->sb.nblocks) {
		meta_problem(m, "inode %llu owns block %llu outside the data area",
		             (unsigned long long)ino, (unsigned long long)blk);
		return;
	}
	if (f->owner[blk] && f->owner[blk] != ino)
		meta_problem(m, "block %llu is owned by inode %llu and inode %llu",
		             (unsigned long long)blk, (unsigned long long)f->owner[blk],
		             (unsigned long long)ino);
	else if (f->owner[blk] == ino)
		meta_problem(m, "inode %llu maps block %llu twice",
		             (unsigned long long)ino, (unsigned long long)blk);
	f->owner[blk] = ino;
}

static void check_extents(struct fsck *f, struct inode *ip)
{
	struct meta *m = f->m;
	uint64_t total = 0;

	for (uint32_t i = 0; i < ip->xm.n; i++) {
		const struct xleaf *l = ip->xm.leaf[i];
		claim(f, l->blk, ip->ino);
		for (uint32_t k = 0; k < l->count; k++) {
			for (uint64_t b = 0; b < l->ext[k].len; b++)
				claim(f, l->ext[k].pblk + b, ip->ino);
			total += l->ext[k].len;
		}
	}
	if (total != ip->d.blocks)
		meta_problem(m, "inode %llu: extents hold %llu blocks, inode says %llu",
		             (unsigned long long)ip->ino, (unsigned long long)total,
		             (unsigned long long)ip->d.blocks);
	if (S_ISDIR(ip->d.mode) && xmap_end(&ip->xm) != ip->d.blocks)
		meta_problem(m, "directory inode %llu: blocks are not contiguous from 0",
		             (unsigned long long)ip->ino);
}

static void check_dir(struct fsck *f, struct inode *dp)
{
	struct meta *m = f->m;

	if (dir_load(m, dp) < 0)
		return; /* reported by dir_load */
	struct dircache *dc = dp->dc;
	for (uint32_t b = 0; b < dc->nbuckets; b++) {
		for (struct dcent *e = dc->tab[b]; e; e = e->next) {
			if (!in_use(m, e->ino)) {
				meta_problem(m, "directory %llu: entry '%s' names free inode %llu",
				             (unsigned long long)dp->ino, e->name,
				             (unsigned long long)e->ino);
				continue;
			}
			f->refs[e->ino]++;
			if (e->type == DT_DIR_) {
				f->subdirs[dp->ino]++;
				f->parent_of[e->ino] = dp->ino;
			}
		}
	}
}

static void check_entry_types(struct fsck *f, struct inode *dp)
{
	struct meta *m = f->m;
	struct dircache *dc = dp->dc;

	if (!dc)
		return;
	for (uint32_t b = 0; b < dc->nbuckets; b++) {
		for (struct dcent *e = dc->tab[b]; e; e = e->next) {
			int err;
			if (!in_use(m, e->ino))
				continue;
			struct inode *ip = iget(m, e->ino, &err);
			if (!ip)
				continue;
			if (dtype_of(ip->d.mode) != e->type)
				meta_problem(m, "directory %llu: entry '%s' has the wrong type",
				             (unsigned long long)dp->ino, e->name);
			iput(m, ip);
		}
	}
}

static void walk_tree(struct fsck *f, uint64_t root)
{
	struct meta *m = f->m;
	uint64_t *stack = malloc((m->sb.ninodes + 1) * sizeof(*stack));
	uint64_t sp = 0;

	if (!stack)
		return;
	stack[sp++] = root;
	f->reached[root] = 1;
	while (sp) {
		int err;
		uint64_t ino = stack[--sp];
		struct inode *dp = iget(m, ino, &err);
		if (!dp)
			continue;
		if (S_ISDIR(dp->d.mode) && dp->dc) {
			struct dircache *dc = dp->dc;
			for (uint32_t b = 0; b < dc->nbuckets; b++)
				for (struct dcent *e = dc->tab[b]; e; e = e->next)
					if (e->ino <= m->sb.ninodes && !f->reached[e->ino]) {
						f->reached[e->ino] = 1;
						stack[sp++] = e->ino;
					}
		}
		iput(m, dp);
	}
	free(stack);
}

static void check_links(struct fsck *f, struct inode *ip)
{
	struct meta *m = f->m;
	uint64_t ino = ip->ino;
	uint64_t want = S_ISDIR(ip->d.mode) ? 2 + f->subdirs[ino] : f->refs[ino];

	if (ip->d.nlink != want)
		meta_problem(m, "inode %llu: link count %u, found %llu",
		             (unsigned long long)ino, ip->d.nlink, (unsigned long long)want);
	if (!f->reached[ino])
		meta_problem(m, "inode %llu is in use but not reachable from /",
		             (unsigned long long)ino);
	if (S_ISDIR(ip->d.mode) && ino != ROOT_INO) {
		if (f->refs[ino] > 1)
			meta_problem(m, "directory %llu has %u names",
			             (unsigned long long)ino, f->refs[ino]);
		if (f->parent_of[ino] && ip->d.parent != f->parent_of[ino])
			meta_problem(m, "directory %llu: parent field %llu, but it lives in %llu",
			             (unsigned long long)ino, (unsigned long long)ip->d.parent,
			             (unsigned long long)f->parent_of[ino]);
	}
	if (ino == ROOT_INO && (f->refs[ino] || ip->d.parent != ROOT_INO))
		meta_problem(m, "the root directory is named by another directory");
}

static void check_bitmap(struct fsck *f)
{
	struct meta *m = f->m;

	for (uint64_t b = m->sb.data_start; b < m->sb.nblocks; b++) {
		int used = block_in_use(m, b);
		if (used && !f->owner[b])
			meta_problem(m, "block %llu is marked used but no inode owns it",
			             (unsigned long long)b);
		else if (!used && f->owner[b])
			meta_problem(m, "block %llu is owned by inode %llu but marked free",
			             (unsigned long long)b, (unsigned long long)f->owner[b]);
	}
}

static int fsck_alloc(struct fsck *f, struct meta *m)
{
	uint64_t ni = m->sb.ninodes + 1;

	f->m = m;
	f->owner = calloc(m->sb.nblocks, sizeof(*f->owner));
	f->refs = calloc(ni, sizeof(*f->refs));
	f->subdirs = calloc(ni, sizeof(*f->subdirs));
	f->parent_of = calloc(ni, sizeof(*f->parent_of));
	f->reached = calloc(ni, 1);
	return f->owner && f->refs && f->subdirs && f->parent_of && f->reached ? 0 : -ENOMEM;
}

static void fsck_free(struct fsck *f)
{
	free(f->owner);
	free(f->refs);
	free(f->subdirs);
	free(f->parent_of);
	free(f->reached);
}

/* Returns the number of problems found (also added to m->problems). */
int meta_fsck(struct meta *m)
{
	struct fsck f;
	int before = m->problems;

	if (fsck_alloc(&f, m) < 0) {
		fsck_free(&f);
		return -ENOMEM;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t ino = 1; ino <= m->sb.ninodes; ino++) {
			int err;
			if (!in_use(m, ino))
				continue;
			struct inode *ip = iget(m, ino, &err);
			if (!ip)
				continue; /* reported by iget */
			if (pass == 0) {
				check_extents(&f, ip);
				if (S_ISDIR(ip->d.mode))
					check_dir(&f, ip);
			} else {
				check_entry_types(&f, ip);
			}
			iput(m, ip);
		}
		if (pass == 0)
			walk_tree(&f, ROOT_INO);
	}
	for (uint64_t ino = 1; ino <= m->sb.ninodes; ino++) {
		int err;
		if (!in_use(m, ino))
			continue;
		struct inode *ip = iget(m, ino, &err);
		if (ip) {
			check_links(&f, ip);
			iput(m, ip);
		}
	}
	check_bitmap(&f);
	fsck_free(&f);
	return m->problems - before;
}
