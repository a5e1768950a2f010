/*
 * trunc.c - unmapping ranges and evicting inodes across as many
 * journal transactions as they need.
 *
 * One transaction removes at most UNMAP_STEP extents, working from the
 * end of the range back, so it always fits in the journal; every
 * intermediate state is a consistent file (the range partly unmapped).
 * An inode is freed only after its last block, in its own transaction.
 */
#include <errno.h>
#include <sys/stat.h>

#include "meta/meta.h"

#define UNMAP_STEP 64u

int meta_unmap(struct meta *m, struct inode *ip, uint64_t s, uint64_t e)
{
	while (e > s) {
		struct tx tx;
		uint64_t done;
		tx_begin(m, &tx);
		int err = xmap_remove(&tx, ip, s, e, UNMAP_STEP, &done);
		if (err) {
			tx_abort(&tx);
			return err;
		}
		err = tx_commit(&tx);
		if (err)
			return err;
		if (done >= e)  /* nothing mapped in [s, e) */
			break;
		e = done;
	}
	return 0;
}

/* Free every block of @ip and then the inode itself.  The caller's
 * reference is consumed: the in-memory inode is destroyed. */
int meta_evict(struct meta *m, struct inode *ip)
{
	struct tx tx;

	int err = meta_unmap(m, ip, 0, UINT64_C(1) << 32);
	if (err)
		return err;
	tx_begin(m, &tx);
	ifree(&tx, ip);
	return tx_commit(&tx);
}

/* Inodes with no name left (unlinked while open at a crash). */
int meta_reap_orphans(struct meta *m)
{
	for (uint64_t ino = 1; ino <= m->sb.ninodes; ino++) {
		if (!(m->ibits[ino / 64] & (1ull << (ino % 64))))
			continue;
		const struct dinode *d = table_slot(m, ino);
		if (d->nlink != 0 || ino == ROOT_INO)
			continue;
		int err;
		struct inode *ip = iget(m, ino, &err);
		if (!ip)
			return err;
		err = meta_evict(m, ip);
		if (err)
			return err;
		m->orphans++;
	}
	return 0;
}
