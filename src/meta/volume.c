/*
 * volume.c - make, open and close a udax volume.
 *
 * Opening runs recovery in this order: validate the superblock, replay
 * the journal, load and check the block bitmap, scan the inode table,
 * then (read-write) free orphaned inodes.  Each step trusts only what
 * the previous one validated.  In fsck mode (META_FSCK) problems are
 * reported through meta->report and counted instead of only refusing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "media/crc32c.h"
#include "meta/meta.h"
#include "udax.h"
#include "util/err.h"

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void meta_problem(struct meta *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->problems++;
	if (m->report)
		m->report(m->report_arg, buf);
	set_error(-EUCLEAN, "%s", buf);
}

/* Recompute the checksums of whatever structures block @blk holds. */
void seal_block(struct meta *m, uint64_t blk, void *buf)
{
	const struct dsuper *sb = &m->sb;

	if (blk >= sb->bitmap_start && blk < sb->bitmap_start + sb->bitmap_blocks) {
		struct dbitmap *bm = buf;
		bm->magic = BITMAP_MAGIC;
		bm->index = blk - sb->bitmap_start;
		bm->crc = 0;
		bm->crc = crc32c(0, bm, BLK);
	} else if (blk >= sb->itable_start && blk < sb->data_start) {
		struct dinode *d = buf;
		for (unsigned i = 0; i < INODES_PER_BLOCK; i++)
			if (d[i].mode)
				inode_seal(&d[i]);
	} else {
		uint32_t magic;
		memcpy(&magic, buf, 4);
		if (magic == LEAF_MAGIC || magic == DIRB_MAGIC) {
			uint32_t *crc = (uint32_t *)buf + 1;
			*crc = 0;
			*crc = crc32c(0, buf, BLK);
		}
	}
}

/* ---- mkfs ---- */

/* Does the superblock at the start of @fd say udax? */
static int holds_udax(int fd)
{
	struct dsuper sb;

	return pread(fd, &sb, sizeof(sb), 0) == (ssize_t)sizeof(sb) &&
	       memcmp(sb.magic, SB_MAGIC, 8) == 0;
}

/*
 * Make regular file @fd (now @old bytes, @blocks512 allocated) hold
 * @size bytes, backed: refuse when its file system has not the room,
 * then reserve the blocks where fallocate is supported, so that no
 * store into the pool can later fail with SIGBUS.
 */
static int pool_file_size(int fd, const char *path, const struct stat *st, uint64_t size)
{
	struct statfs sf;
	uint64_t have = (uint64_t)st->st_blocks * 512, need, avail;

	if (size == 0)
		size = (uint64_t)st->st_size;
	need = size > have ? size - have : 0;
	if (need && fstatfs(fd, &sf) == 0) {
		avail = (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
		if (need > avail)
			return set_error(-ENOSPC, "%s: %llu bytes do not fit: its file system has "
			                 "%llu bytes free", path, (unsigned long long)size,
			                 (unsigned long long)avail);
	}
	if (size > (uint64_t)INT64_MAX)
		return set_error(-EFBIG, "%s: %llu bytes is too large", path,
		                 (unsigned long long)size);
	if ((uint64_t)st->st_size != size && ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		return set_error(-e, "%s: cannot size to %llu bytes: %s", path,
		                 (unsigned long long)size, strerror(e));
	}
	if (need) {
		int e = posix_fallocate(fd, 0, (off_t)size);
		if (e && e != EOPNOTSUPP && e != ENOSYS && e != EINVAL)
			return set_error(-e, "%s: cannot reserve %llu bytes: %s", path,
			                 (unsigned long long)size, strerror(e));
	}
	return 0;
}

static void write_bitmap(struct meta *m)
{
	const struct dsuper *sb = &m->sb;

	for (uint64_t k = 0; k < sb->bitmap_blocks; k++) {
		struct dbitmap *bm = meta_block(m, sb->bitmap_start + k);
		memset(bm, 0, BLK);
		for (uint64_t i = 0; i < BITS_PER_BITMAP; i++) {
			uint64_t blk = k * BITS_PER_BITMAP + i;
			/* metadata blocks, and bits past the pool's end, are "used" */
			if (blk < sb->data_start || blk >= sb->nblocks)
				bm->bits[i / 8] |= (uint8_t)(1u << (i % 8));
		}
		seal_block(m, sb->bitmap_start + k, bm);
	}
}

static void write_root(struct meta *m)
{
	struct dinode *d = meta_block(m, m->sb.itable_start);
	uint64_t t = now_ns();

	memset(d, 0, sizeof(*d));
	d->mode = S_IFDIR | 0755;
	d->nlink = 2;
	d->ino = ROOT_INO;
	d->parent = ROOT_INO;
	d->uid = (uint32_t)getuid();
	d->gid = (uint32_t)getgid();
	d->atime_ns = d->mtime_ns = d->ctime_ns = t;
	inode_seal(d);
}

static void make_uuid(uint8_t uuid[16])
{
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, uuid, 16) != 16) {
		uint64_t t = now_ns() ^ (uint64_t)getpid();
		memcpy(uuid, &t, 8);
		memcpy(uuid + 8, &t, 8);
	}
	if (fd >= 0)
		close(fd);
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

int meta_mkfs(const char *path, uint64_t size, unsigned force, unsigned mode)
{
	struct meta m;
	struct stat st;
	int created = 0, fd, err;

	clear_error();
	size &= ~(uint64_t)(BLK - 1);
	if (size && size < UDAX_MIN_POOL)
		return set_error(-EINVAL, "pool size %llu is below the minimum of %llu bytes",
		                 (unsigned long long)size, (unsigned long long)UDAX_MIN_POOL);
	if (mode & ~07777u)
		return set_error(-EINVAL, "invalid mode 0%o", mode);
	fd = pool_open_fd(path, O_RDWR);
	if (fd == -ENOENT) {
		if (size == 0)
			return set_error(-EINVAL, "%s: does not exist; give a size", path);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode ? mode : 0600);
		if (fd < 0)
			return set_error(-errno, "%s: cannot create: %s", path, strerror(errno));
		created = 1;
	}
	if (fd < 0)
		return fd;
	/* The lock first: a pool mounted elsewhere is left byte for byte
	 * as it is, whatever else is wrong with this mkfs. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK
		      ? set_error(-EBUSY, "%s: pool is in use by another process", path)
		      : set_error(-errno, "%s: flock: %s", path, strerror(errno));
		goto fail_fd;
	}
	if (!force && !created && holds_udax(fd)) {
		err = set_error(-EEXIST, "%s already holds a udax pool (use --force to overwrite)",
		                path);
		goto fail_fd;
	}
	if (fstat(fd, &st) < 0) {
		err = set_error(-errno, "%s: cannot stat: %s", path, strerror(errno));
		goto fail_fd;
	}
	/* An explicit mode applies to a new or re-formatted pool alike;
	 * without one, a re-formatted pool keeps the mode it has. */
	if (mode && S_ISREG(st.st_mode) && fchmod(fd, mode) < 0) {
		err = set_error(-errno, "%s: chmod: %s", path, strerror(errno));
		goto fail_fd;
	}
	if (S_ISREG(st.st_mode)) {
		err = pool_file_size(fd, path, &st, size);
		if (err)
			goto fail_size;
	}
	memset(&m, 0, sizeof(m));
	err = pool_attach(&m.pool, fd, path, POOL_RW);
	if (err)
		goto fail_size;
	if (m.pool.size < UDAX_MIN_POOL) {
		pool_close(&m.pool);
		err = set_error(-EINVAL, "%s: %llu bytes is below the minimum pool size", path,
		                (unsigned long long)m.pool.size);
		if (created)
			unlink(path);
		return err;
	}
	pmem_init_hw(&m.pm, m.pool.base, m.pool.size);
	super_geometry(&m.sb, m.pool.size / BLK);
	make_uuid(m.sb.uuid);
	m.sb.mkfs_time = (uint64_t)time(NULL);
	/* Invalidate the old superblock first: a crash mid-mkfs leaves a
	 * pool that is refused, never half old and half new. */
	pmem_memset(&m.pm, m.pool.base, 0, BLK);
	pmem_drain(&m.pm);
	pmem_memset(&m.pm, meta_block(&m, JOURNAL_START), 0, (size_t)JOURNAL_BLOCKS * BLK);
	write_bitmap(&m);
	pmem_memset(&m.pm, meta_block(&m, m.sb.itable_start), 0, m.sb.itable_blocks * BLK);
	write_root(&m);
	pmem_flush(&m.pm, meta_block(&m, m.sb.bitmap_start),
	           (m.sb.data_start - m.sb.bitmap_start) * BLK);
	pmem_drain(&m.pm);
	struct dmount *mr = (struct dmount *)(m.pool.base + MOUNT_OFFSET);
	memset(mr, 0, sizeof(*mr));
	mr->state = STATE_CLEAN;
	mount_rec_seal(mr);
	super_seal(&m.sb);
	memcpy(m.pool.base, &m.sb, sizeof(m.sb));
	pmem_persist(&m.pm, m.pool.base, BLK);
	pool_close(&m.pool);
	return 0;
fail_size:
	/* Nothing was written yet: give back what this mkfs added. */
	if (!created && S_ISREG(st.st_mode) && (uint64_t)st.st_size != size)
		(void)!ftruncate(fd, st.st_size);
fail_fd:
	close(fd);
	if (created)
		unlink(path);
	return err;
}

/* ---- open / close ---- */

static void write_mount_rec(struct meta *m, uint32_t state, int mounting)
{
	struct dmount *mr = (struct dmount *)(m->pool.base + MOUNT_OFFSET);
	struct dmount n;

	if (mount_rec_valid(mr))
		n = *mr;
	else
		memset(&n, 0, sizeof(n));
	n.state = state;
	if (mounting) {
		n.mount_count++;
		n.last_mount = (uint64_t)time(NULL);
	} else {
		n.last_unmount = (uint64_t)time(NULL);
	}
	mount_rec_seal(&n);
	memcpy(mr, &n, sizeof(n));
	pmem_persist(&m->pm, mr, sizeof(*mr));
}

static int recover(struct meta *m)
{
	int err = journal_replay(m);
	if (err)
		return err == -EROFS ? set_error(err, "journal needs replay: mount read-write first")
		                     : err;
	err = alloc_init(m);
	if (err)
		return err;
	return inode_table_scan(m);
}

/* The shared shadow image lives beside the runtime region. */
static void shadow_path(const struct meta *m, char *out, size_t n)
{
	snprintf(out, n, "%s.shadow", m->rt.path);
}

static uint64_t read_mount_count(void *arg)
{
	struct meta *m = arg;
	const struct dmount *mr = (const void *)(m->pool.base + MOUNT_OFFSET);
	return mount_rec_valid(mr) ? mr->mount_count : 0;
}

/* Join the runtime region of the pool (building it if nobody has). */
static int attach_runtime(struct meta *m, unsigned flags)
{
	struct stat st;
	struct rt_geometry g = { 0 };

	if (fstat(m->pool.fd, &st) < 0)
		return set_error(-errno, "fstat: %s", strerror(errno));
	g.uuid = m->sb.uuid;
	g.pool_dev = S_ISCHR(st.st_mode) ? (uint64_t)st.st_rdev : (uint64_t)st.st_dev;
	g.pool_ino = S_ISCHR(st.st_mode) ? 0 : (uint64_t)st.st_ino;
	g.generation = read_mount_count(m);
	g.read_generation = read_mount_count;
	g.arg = m;
	g.nblocks = m->sb.nblocks;
	g.ninodes = m->sb.ninodes;
	g.ngroups = (m->sb.nblocks + 511) / 512;
	g.mode = st.st_mode & 0777;
	g.uid = st.st_uid;
	g.gid = st.st_gid;
	g.shadow = !!(flags & META_SHADOW);
	/* a checking copy, or an exclusive (repair) mount: nobody to share with */
	int private_only = !!(flags & (META_PRIVATE | META_EXCL));
	int err = rt_attach(&m->rt, &g, private_only, !m->rdonly);
	if (err)
		return err;
	m->vs = &m->rt.h->vol;
	m->txl = &m->vs->tx_lock;
	m->bits = m->rt.bits;
	m->group_free = m->rt.group_free;
	m->ngroups = g.ngroups;
	m->ibits = m->rt.ibits;
	return 0;
}

int meta_open(struct meta *m, const char *path, unsigned flags)
{
	int rdonly = !!(flags & META_RDONLY), err;
	int pmode = flags & META_PRIVATE ? POOL_PRIVATE : rdonly ? POOL_RDONLY
	          : flags & META_EXCL ? POOL_EXCL : POOL_RW;

	void (*report)(void *, const char *) = m->report;
	void *report_arg = m->report_arg;

	clear_error();
	memset(m, 0, sizeof(*m));
	m->report = report;
	m->report_arg = report_arg;
	m->rdonly = rdonly;
	if (flags & META_PRIVATE)
		rdonly = 0; /* replay and reap, into the private copy */
	m->rdonly = rdonly;
	m->rt.fd = -1;
	err = pool_open(path, pmode, &m->pool);
	if (err)
		return err;
	memcpy(&m->sb, m->pool.base, sizeof(m->sb));
	err = super_check(&m->sb, m->pool.size, rdonly);
	if (err) {
		if (m->report)
			m->report(m->report_arg, udax_last_error());
		goto fail;
	}
	pthread_mutex_init(&m->icache_lock, NULL);
	m->ihash_n = 1024;
	m->ihash = calloc(m->ihash_n, sizeof(*m->ihash));
	m->txmem = aligned_alloc(64, (size_t)(JSLOTS + 1) * BLK);
	m->txs = calloc(1, sizeof(*m->txs));
	m->xscratch_cap = XSCRATCH_MIN;
	m->xscratch[0] = malloc(XSCRATCH_MIN * sizeof(struct dextent));
	m->xscratch[1] = malloc(XSCRATCH_MIN * sizeof(struct dextent));
	if (!m->ihash || !m->txmem || !m->txs || !m->xscratch[0] || !m->xscratch[1]) {
		err = -ENOMEM;
		goto fail;
	}
	err = attach_runtime(m, flags);
	if (err)
		goto fail;
	if (flags & META_SHADOW) {
		char sp[160];
		shadow_path(m, sp, sizeof(sp));
		if ((m->rt.fd >= 0 ? pmem_init_shadow_shared(&m->pm, m->pool.base, m->pool.size, sp,
		                                             m->rt.builder)
		                   : pmem_init_shadow(&m->pm, m->pool.base, m->pool.size)) < 0) {
			err = set_error(-ENOMEM, "%s: cannot set up the shadow image", path);
			goto fail;
		}
	} else {
		pmem_init_hw(&m->pm, m->pool.base, m->pool.size);
	}
	const struct dmount *mr = (const void *)(m->pool.base + MOUNT_OFFSET);
	m->was_clean = mount_rec_valid(mr) && mr->state == STATE_CLEAN;
	if (m->rt.builder) {
		/* first in: recover the pool into the region */
		err = recover(m);
		if (err) {
			if (err == -EUCLEAN)
			{
				char why[400];
				snprintf(why, sizeof(why), "%s", udax_last_error());
				set_error(err, "%s: %s (run udax fsck)", path, why);
			}
			goto fail;
		}
		if (!rdonly) {
			write_mount_rec(m, STATE_DIRTY, 1);
			rt_set_generation(&m->rt, read_mount_count(m));
			err = meta_reap_orphans(m);
			if (err)
				goto fail;
		}
		rt_ready(&m->rt);
	} else if (!rdonly) {
		/* joining: the pool is recovered; a read-only first member left
		 * it marked clean */
		meta_lock(m);
		if (mr->state != STATE_DIRTY)
			write_mount_rec(m, STATE_DIRTY, 0);
		meta_unlock(m);
	}
	atomic_store(&m->seen_commits, atomic_load(&m->vs->commits));
	atomic_store(&m->seen_epoch, atomic_load(&m->vs->epoch));
	m->opened = 1;
	return 0;
fail:
	meta_close(m);
	return err;
}

void meta_seal_for_exit(struct meta *m)
{
	/* never released: no transaction of this process may start after
	 * this point, and the process is ending.  Taken raw, outside the
	 * lock-order checker: the exiting thread goes on to run destructors
	 * that take outer locks, and every transaction they try just waits.
	 * Other processes sharing the pool get the lock when this one is
	 * gone (robust mutex: the journal is recovered, share.c C4); the
	 * pool is marked clean only by the last process. */
	if (!m->txl || m->forked)
		return;   /* a child of fork(): the lock and the pool are its parent's */
	if (rt_mutex_lock(m->txl))
		meta_recover_dead(m);   /* a dead holder's half-done work first */
	rt_reap_dead(&m->rt);
	if (m->opened && !m->rdonly && rt_members_attached(&m->rt) <= 1)
		write_mount_rec(m, STATE_CLEAN, 0);
	/* no transaction is half done: the next locker, finding us dead,
	 * has nothing to recover */
	atomic_store(&m->vs->exit_sealed, 1);
}

static void mark_clean(void *arg)
{
	struct meta *m = arg;
	write_mount_rec(m, STATE_CLEAN, 0);
}

void meta_close(struct meta *m)
{
	/* Only a volume that opened completely can be marked clean: a
	 * refused mount must leave the record as it found it.  Only the last
	 * process attached marks it (rt_detach runs mark_clean then). */
	int clean = m->opened && !m->rdonly && !m->forked;
	m->opened = 0;
	icache_destroy(m);
	if (m->rt.base) {
		if (m->forked)
			munmap(m->rt.base, m->rt.size);   /* the parent's slot, not ours */
		else if (rt_detach(&m->rt, clean ? mark_clean : NULL, m) && m->pm.sh) {
			char sp[160];
			shadow_path(m, sp, sizeof(sp));
			unlink(sp);   /* the last shadow member: the image goes */
		}
		m->rt.base = NULL;
	}
	alloc_fini(m);
	free(m->txmem);
	m->txmem = NULL;
	free(m->txs);
	m->txs = NULL;
	free(m->xscratch[0]);
	free(m->xscratch[1]);
	m->xscratch[0] = m->xscratch[1] = NULL;
	m->xscratch_cap = 0;
	pmem_fini(&m->pm);
	pool_close(&m->pool);
}
