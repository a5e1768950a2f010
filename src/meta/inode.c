/*
 * inode.c - the inode table, the in-memory inode cache, inode
 * allocation.
 *
 * Inode N lives in slot (N-1) of the table (inode 0 does not exist).
 * A free slot is 256 zero bytes; an in-use slot has a non-zero mode and
 * a valid CRC.  At mount the whole table is scanned once to build the
 * free-inode bitmap and to find orphans (nlink 0: unlinked while open
 * when the pool went down), which the mount then frees.
 *
 * Cached inodes are reference counted under icache_lock; an inode
 * leaves the cache only when it is freed or at unmount.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/crc32c.h"
#include "meta/meta.h"
#include "util/lockdep.h"

static const uint8_t zero_inode[INODE_SIZE];

void inode_seal(struct dinode *d)
{
	d->crc = 0;
	d->crc = crc32c(0, d, sizeof(*d));
}

const struct dinode *table_slot(struct meta *m, uint64_t ino)
{
	const char *b = meta_block(m, m->sb.itable_start + (ino - 1) / INODES_PER_BLOCK);
	return (const struct dinode *)(b + ((ino - 1) % INODES_PER_BLOCK) * INODE_SIZE);
}

uint8_t dtype_of(uint32_t mode)
{
	return S_ISDIR(mode) ? DT_DIR_ : S_ISLNK(mode) ? DT_LNK_ : DT_REG_;
}

/* Bounds and meaning of an in-use inode; 0 or -EUCLEAN (problem reported). */
int inode_check(struct meta *m, const struct dinode *d, uint64_t ino)
{
	struct dinode t = *d;
	const char *why = NULL;

	t.crc = 0;
	if (crc32c(0, &t, sizeof(t)) != d->crc)
		why = "checksum mismatch";
	else if (d->ino != ino)
		why = "inode number does not match its slot";
	else if (!S_ISREG(d->mode) && !S_ISDIR(d->mode) && !S_ISLNK(d->mode))
		why = "unknown file type";
	else if (S_ISLNK(d->mode) && (d->size == 0 || d->size > SYMLINK_MAX))
		why = "symbolic link with a bad target length";
	else if (S_ISLNK(d->mode) && d->size <= SYMLINK_INLINE &&
	         (d->extent_head || d->blocks || memchr(d->reserved, 0, d->size)))
		why = "symbolic link with a bad inline target";
	else if (S_ISLNK(d->mode) && d->size > SYMLINK_INLINE && d->blocks != 1)
		why = "symbolic link without its target block";
	else if (d->size > UINT64_C(1) << 44)
		why = "size beyond the 16 TiB limit";
	else if (d->blocks > m->sb.nblocks || d->nleaves > m->sb.nblocks)
		why = "block counts beyond the pool";
	else if (d->extent_head && (d->extent_head < m->sb.data_start ||
	                            d->extent_head >= m->sb.nblocks))
		why = "extent head outside the data area";
	else if (!d->extent_head != !d->nleaves)
		why = "extent head and leaf count disagree";
	else if (S_ISDIR(d->mode) && (d->parent == 0 || d->parent > m->sb.ninodes))
		why = "directory with an invalid parent";
	else if (S_ISDIR(d->mode) && d->nlink && d->size != d->blocks * BLK)
		/* an orphaned directory being freed shrinks block by block */
		why = "directory size does not match its blocks";
	if (why) {
		meta_problem(m, "inode %llu: %s", (unsigned long long)ino, why);
		return -EUCLEAN;
	}
	return 0;
}

int inode_table_scan(struct meta *m)
{
	uint64_t n = m->sb.ninodes;
	int bad = 0;

	m->ibits = m->rt.ibits;
	memset(m->ibits, 0, ((n + 64) / 64 + 1) * 8);
	m->vs->free_inodes = 0;
	for (uint64_t ino = 1; ino <= n; ino++) {
		const struct dinode *d = table_slot(m, ino);
		if (d->mode == 0 && memcmp(d, zero_inode, INODE_SIZE) == 0) {
			m->vs->free_inodes++;
			continue;
		}
		m->ibits[ino / 64] |= 1ull << (ino % 64);
		if (d->mode == 0) {
			meta_problem(m, "inode %llu: free slot holds data",
			             (unsigned long long)ino);
			bad = 1;
		} else if (inode_check(m, d, ino) < 0) {
			bad = 1;
		}
	}
	if (!(m->ibits[ROOT_INO / 64] & (1ull << ROOT_INO)) ||
	    !S_ISDIR(table_slot(m, ROOT_INO)->mode)) {
		meta_problem(m, "root inode is missing or not a directory");
		bad = 1;
	}
	m->vs->icursor = 1;
	return bad ? -EUCLEAN : 0;
}

static uint64_t hash_ino(struct meta *m, uint64_t ino)
{
	return (ino * 0x9E3779B97F4A7C15ull >> 20) % m->ihash_n;
}

static struct inode *icache_find(struct meta *m, uint64_t ino)
{
	for (struct inode *ip = m->ihash[hash_ino(m, ino)]; ip; ip = ip->hnext)
		if (ip->ino == ino)
			return ip;
	return NULL;
}

/* rt_inode.open_by: this process holds references to @ip (icache_lock) */
static void held_by_me(struct meta *m, struct inode *ip, int held)
{
	_Atomic uint64_t *w = &meta_rt_inode(m, ip->ino)->open_by;
	if (held)
		atomic_fetch_or(w, rt_me_bit(&m->rt));
	else
		atomic_fetch_and(w, ~rt_me_bit(&m->rt));
}

static void validate_cb(void *m, void *ip)
{
	meta_validate(m, ip);
}

static struct inode *inode_new(struct meta *m, uint64_t ino)
{
	struct inode *ip = calloc(1, sizeof(*ip));

	if (!ip)
		return NULL;
	ip->ino = ino;
	pl_init(&ip->rw, &m->rt, &meta_rt_inode(m, ino)->rw, validate_cb, m, ip);
	pthread_rwlock_init(&ip->xm.lock, NULL);
	return ip;
}

static void inode_destroy(struct meta *m, struct inode *ip)
{
	if (ip->upper && m->upper_free)
		m->upper_free(ip->upper);
	xmap_free(&ip->xm);
	pthread_rwlock_destroy(&ip->xm.lock);
	dir_free(ip->dc);
	pl_destroy(&ip->rw);
	free(ip);
}

static void icache_insert(struct meta *m, struct inode *ip)
{
	uint64_t h = hash_ino(m, ip->ino);
	ip->hnext = m->ihash[h];
	m->ihash[h] = ip;
}

static void icache_remove(struct meta *m, struct inode *ip)
{
	struct inode **pp = &m->ihash[hash_ino(m, ip->ino)];
	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = ip->hnext;
}

/* Returns the inode with a reference, or NULL with *err set. */
struct inode *iget(struct meta *m, uint64_t ino, int *err)
{
	struct inode *ip;

	if (ino == 0 || ino > m->sb.ninodes) {
		*err = -EUCLEAN;
		return NULL;
	}
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	ip = icache_find(m, ino);
	if (ip) {
		if (ip->refs++ == 0)
			held_by_me(m, ip, 1);
		ul_mutex_unlock(&m->icache_lock);
		return ip;
	}
	ip = inode_new(m, ino);
	if (!ip) {
		ul_mutex_unlock(&m->icache_lock);
		*err = -ENOMEM;
		return NULL;
	}
	/* Another process may be checkpointing this inode's blocks (a
	 * commit holds tx_lock, not our icache_lock): read under the
	 * checkpoint sequence and read again if one ran meanwhile. */
	const struct dinode *d = table_slot(m, ino);
	struct rt_inode *ri = meta_rt_inode(m, ino);
	int e;
	for (unsigned spins = 0;; ) {
		uint64_t seq = atomic_load(&m->vs->ckpt_seq);
		if (seq & 1) {
			/* a commit is copying blocks home, or its process died
			 * doing it: then nobody else may come to recover */
			if (++spins % 4096 == 0)
				meta_try_recover(m);
			sched_yield();
			continue;
		}
		ip->rt_gen = atomic_load(&ri->gen);
		ip->rt_epoch = atomic_load(&m->vs->epoch);
		ip->d = *d;
		e = ip->d.mode == 0 ? -ENOENT : inode_check(m, &ip->d, ino) < 0 ? -EUCLEAN : 0;
		if (!e)
			e = xmap_load(m, ip);
		if (atomic_load(&m->vs->ckpt_seq) == seq)
			break;
		xmap_free(&ip->xm);
		ip->xmap_loaded = 0;
	}
	atomic_store(&ip->vsize, ip->d.size);
	if (e < 0) {
		inode_destroy(m, ip);
		ul_mutex_unlock(&m->icache_lock);
		*err = e;
		return NULL;
	}
	ip->refs = 1;
	held_by_me(m, ip, 1);
	icache_insert(m, ip);
	ul_mutex_unlock(&m->icache_lock);
	return ip;
}

void igrab(struct meta *m, struct inode *ip)
{
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	if (ip->refs++ == 0)
		held_by_me(m, ip, 1);
	ul_mutex_unlock(&m->icache_lock);
}

struct inode *icache_peek(struct meta *m, uint64_t ino)
{
	if (ino == 0 || ino > m->sb.ninodes)
		return NULL;
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	struct inode *ip = icache_find(m, ino);
	if (ip && ip->refs > 0)
		ip->refs++;
	else
		ip = NULL;
	ul_mutex_unlock(&m->icache_lock);
	return ip;
}

void icache_unpeek(struct meta *m, struct inode *ip)
{
	/* the peeker's reference is never the last one an eviction needs:
	 * if it is last, the inode keeps it until its next user's iput */
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	if (ip->refs > 1 || ip->d.nlink != 0)
		ip->refs--;
	if (ip->refs == 0)
		held_by_me(m, ip, 0);
	ul_mutex_unlock(&m->icache_lock);
}

/* Drop a reference.  Returns 1 when it was the last one and the inode
 * has no name left: the caller then owns it alone and must evict it. */
int iput(struct meta *m, struct inode *ip)
{
	int last;

	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	if (--ip->refs == 0)
		held_by_me(m, ip, 0);
	/* an unnamed inode another process still holds is its to free */
	last = ip->refs == 0 && ip->d.nlink == 0 && ip->d.mode != 0 &&
	       !(atomic_load(&meta_rt_inode(m, ip->ino)->open_by) & ~rt_me_bit(&m->rt));
	if (last)
		ip->refs = 1; /* the caller's, for meta_evict */
	ul_mutex_unlock(&m->icache_lock);
	return last;
}

struct ialloc_undo {
	struct inode *ip;
};

static void clear_ibit(struct meta *m, uint64_t ino)
{
	m->ibits[ino / 64] &= ~(1ull << (ino % 64));
	m->vs->free_inodes++;
}

static void undo_ialloc(struct meta *m, void *arg, int committed)
{
	struct inode *ip = arg;

	if (committed)
		return;
	clear_ibit(m, ip->ino);
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	icache_remove(m, ip);
	ul_mutex_unlock(&m->icache_lock);
	inode_destroy(m, ip);
}

static uint64_t find_free_ino(struct meta *m)
{
	uint64_t n = m->sb.ninodes;

	for (uint64_t k = 0; k < n; k++) {
		uint64_t ino = (m->vs->icursor + k - 1) % n + 1;
		if (!(m->ibits[ino / 64] & (1ull << (ino % 64))))
			return ino;
	}
	return 0;
}

/* Owner of the inodes this thread creates; -1: its effective ids. */
static __thread uid_t creator_uid = (uid_t)-1;
static __thread gid_t creator_gid = (gid_t)-1;

void meta_set_creator(uid_t uid, gid_t gid)
{
	creator_uid = uid;
	creator_gid = gid;
}

/* A new inode (reference held by the caller) inside @tx. */
struct inode *ialloc(struct tx *tx, uint32_t mode, uint64_t parent, int *err)
{
	struct meta *m = tx->m;
	uint64_t ino = find_free_ino(m);
	struct inode *ip;

	if (!ino) {
		*err = -ENOSPC;
		return NULL;
	}
	ip = inode_new(m, ino);
	if (!ip) {
		*err = -ENOMEM;
		return NULL;
	}
	m->ibits[ino / 64] |= 1ull << (ino % 64);
	m->vs->free_inodes--;
	m->vs->icursor = ino + 1;
	ip->refs = 1;
	held_by_me(m, ip, 1);
	ip->xmap_loaded = 1;
	ip->rt_gen = atomic_load(&meta_rt_inode(m, ino)->gen);
	ip->rt_epoch = atomic_load(&m->vs->epoch);
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	icache_insert(m, ip);
	ul_mutex_unlock(&m->icache_lock);
	if (tx_defer(tx, undo_ialloc, ip) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	struct dinode *d = tx_inode(tx, ip);
	if (!d) {
		*err = tx->err;
		return NULL;
	}
	uint64_t t = now_ns();
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->nlink = S_ISDIR(mode) ? 2 : 1;
	d->uid = creator_uid != (uid_t)-1 ? creator_uid : geteuid();
	d->gid = creator_gid != (gid_t)-1 ? creator_gid : getegid();
	d->ino = ino;
	d->atime_ns = d->mtime_ns = d->ctime_ns = t;
	d->parent = S_ISDIR(mode) ? parent : 0;
	d->generation = ++m->vs->generation;
	return ip;
}

static void finish_ifree(struct meta *m, void *arg, int committed)
{
	struct inode *ip = arg;

	if (!committed)
		return;
	clear_ibit(m, ip->ino);
	ul_mutex_lock(&m->icache_lock, UL_ICACHE);
	icache_remove(m, ip);
	ul_mutex_unlock(&m->icache_lock);
	inode_destroy(m, ip);
}

/* Free an inode whose blocks are already gone; the slot becomes zero.
 * The in-memory inode is destroyed when the transaction commits. */
void ifree(struct tx *tx, struct inode *ip)
{
	struct dinode *d = tx_inode(tx, ip);

	if (!d)
		return;
	memset(d, 0, sizeof(*d));
	tx_defer(tx, finish_ifree, ip);
}

void icache_destroy(struct meta *m)
{
	if (!m->ihash)
		return;
	for (uint64_t h = 0; h < m->ihash_n; h++) {
		struct inode *ip = m->ihash[h];
		while (ip) {
			struct inode *next = ip->hnext;
			inode_destroy(m, ip);
			ip = next;
		}
	}
	free(m->ihash);
	m->ihash = NULL;
	m->ibits = NULL;
	m->ibits = NULL;
}
