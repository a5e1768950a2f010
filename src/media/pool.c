/*
 * pool.c - open and map a pool; build and validate its superblock.
 *
 * A pool is trusted only after super_check(): every geometry field is
 * recomputed from nblocks and ninodes and compared, so a superblock
 * whose CRC was recomputed after corruption is still refused unless
 * it describes exactly the layout mkfs would have written.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/crc32c.h"
#include "media/pool.h"
#include "util/err.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static int pool_size_of(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return set_error(-errno, "%s: cannot stat: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end < 0)
			return set_error(-errno, "%s: cannot size device", path);
		*size = (uint64_t)end;
	} else {
		return set_error(-EINVAL, "%s: not a file or device", path);
	}
	return 0;
}

#define POOL_FD_FLOOR 512

/* Keep the descriptor out of the low numbers programs manage themselves
 * (a shell's `exec 3<file` would close it, and with it the pool's
 * lock); where the limit allows, move it high. */
static int fd_high(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, POOL_FD_FLOOR);

	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/*
 * Open @path without blocking: a FIFO (or anything that is neither a
 * regular file nor a device) is refused before anything waits on it.
 */
int pool_open_fd(const char *path, int oflags)
{
	struct stat st;
	int fd = open(path, oflags | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return set_error(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return set_error(-e, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return set_error(-EINVAL, "%s: not a file or device", path);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd_high(fd);
}

int pool_attach(struct pool *p, int fd, const char *path, int mode)
{
	int rdonly = mode == POOL_RDONLY;
	int prot = PROT_READ | (rdonly ? 0 : PROT_WRITE);
	uint64_t size = 0;
	int ret;

	p->fd = fd;
	ret = pool_size_of(p->fd, path, &size);
	if (ret < 0)
		return ret;
	if (size < BLK)
		return set_error(-EINVAL, "%s: too small to be a udax pool (%llu bytes)",
		                 path, (unsigned long long)size);
	size &= ~(uint64_t)(BLK - 1);
	if (mode == POOL_PRIVATE) {
		/* copy-on-write: what a check "repairs" stays in memory */
		p->base = mmap(NULL, size, prot, MAP_PRIVATE | MAP_NORESERVE, p->fd, 0);
		if (p->base == MAP_FAILED)
			return set_error(-errno, "%s: mmap: %s", path, strerror(errno));
	} else {
		p->base = mmap(NULL, size, prot, MAP_SHARED_VALIDATE | MAP_SYNC, p->fd, 0);
		if (p->base == MAP_FAILED) {
			p->base = mmap(NULL, size, prot, MAP_SHARED, p->fd, 0);
			if (p->base == MAP_FAILED)
				return set_error(-errno, "%s: mmap: %s", path, strerror(errno));
		} else {
			p->map_sync = 1;
		}
	}
	p->size = size;
	p->rdonly = rdonly;
	return 0;
}

int pool_open(const char *path, int mode, struct pool *p)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->fd = pool_open_fd(path, mode == POOL_RW || mode == POOL_EXCL ? O_RDWR : O_RDONLY);
	if (p->fd < 0) {
		ret = p->fd;
		p->fd = -1;
		return ret;
	}
	/* Mounts share the pool (the runtime region coordinates them) and
	 * hold it shared; what must be alone (a repair, mkfs) holds it
	 * exclusively, so it refuses while anyone is mounted.  The lock
	 * belongs to this open file, so it goes with the fd.  A private
	 * (checking) open changes nothing in the file, so it may look at a
	 * pool mounted elsewhere: it says so. */
	if (mode == POOL_PRIVATE && flock(p->fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		p->live = 1;   /* mounted elsewhere: a check of a live file system */
	if (flock(p->fd, (mode == POOL_EXCL ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK && mode == POOL_PRIVATE) {
			p->live = 1;
		} else {
			ret = errno == EWOULDBLOCK
			      ? set_error(-EBUSY, "%s: pool is in use by another process%s", path,
			                  mode == POOL_EXCL ? " (mounted)" : "")
			      : set_error(-errno, "%s: flock: %s", path, strerror(errno));
			goto fail;
		}
	}
	ret = pool_attach(p, p->fd, path, mode);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	close(p->fd);
	p->fd = -1;
	p->base = NULL;
	return ret;
}

void pool_close(struct pool *p)
{
	if (p->base && p->base != MAP_FAILED && p->size)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd);
	p->base = NULL;
	p->fd = -1;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Inodes: one per 16 KiB of pool, at least 1024, a whole number of blocks. */
static uint64_t inodes_for(uint64_t nblocks)
{
	uint64_t n = nblocks / 4;

	if (n < 1024)
		n = 1024;
	return div_up(n, INODES_PER_BLOCK) * INODES_PER_BLOCK;
}

static void layout_for(struct dsuper *sb, uint64_t nblocks, uint64_t ninodes)
{
	sb->nblocks = nblocks;
	sb->journal_start = JOURNAL_START;
	sb->journal_blocks = JOURNAL_BLOCKS;
	sb->bitmap_start = JOURNAL_START + JOURNAL_BLOCKS;
	sb->bitmap_blocks = div_up(nblocks, BITS_PER_BITMAP);
	sb->itable_start = sb->bitmap_start + sb->bitmap_blocks;
	sb->ninodes = ninodes;
	sb->itable_blocks = ninodes / INODES_PER_BLOCK;
	sb->data_start = sb->itable_start + sb->itable_blocks;
}

void super_geometry(struct dsuper *sb, uint64_t nblocks)
{
	memcpy(sb->magic, SB_MAGIC, 8);
	sb->version = FORMAT_VERSION;
	sb->block_size = BLK;
	sb->inode_size = INODE_SIZE;
	sb->root_ino = ROOT_INO;
	layout_for(sb, nblocks, inodes_for(nblocks));
}

void super_seal(struct dsuper *sb)
{
	sb->crc = 0;
	sb->crc = crc32c(0, sb, sizeof(*sb));
}

int super_check(const struct dsuper *sb, uint64_t pool_bytes, int rdonly)
{
	struct dsuper want, tmp = *sb;

	if (memcmp(sb->magic, SB_MAGIC, 8) != 0)
		return set_error(-EINVAL, "not a udax pool (bad magic)");
	tmp.crc = 0;
	if (crc32c(0, &tmp, sizeof(tmp)) != sb->crc)
		return set_error(-EUCLEAN, "superblock checksum mismatch");
	if (sb->version > FORMAT_VERSION)
		return set_error(-EPROTONOSUPPORT,
		                 "pool format version %u is newer than this udax (%u)",
		                 sb->version, FORMAT_VERSION);
	if (sb->version < 1)
		return set_error(-EUCLEAN, "invalid format version %u", sb->version);
	if (sb->feat_incompat & ~FEAT_INCOMPAT_SUPPORTED)
		return set_error(-EPROTONOSUPPORT, "unknown incompatible features 0x%x",
		                 sb->feat_incompat & ~FEAT_INCOMPAT_SUPPORTED);
	if (!rdonly && (sb->feat_ro_compat & ~FEAT_RO_COMPAT_SUPPORTED))
		return set_error(-EPROTONOSUPPORT,
		                 "unknown ro-compatible features 0x%x: mount read-only",
		                 sb->feat_ro_compat);
	if (sb->block_size != BLK || sb->inode_size != INODE_SIZE)
		return set_error(-EUCLEAN, "unsupported block size %u / inode size %u",
		                 sb->block_size, sb->inode_size);
	if (sb->nblocks > pool_bytes / BLK)
		return set_error(-EFBIG, "pool is truncated: superblock says %llu blocks, "
		                 "file holds %llu", (unsigned long long)sb->nblocks,
		                 (unsigned long long)(pool_bytes / BLK));
	if (sb->ninodes == 0 || sb->ninodes % INODES_PER_BLOCK || sb->ninodes > (1ull << 32))
		return set_error(-EUCLEAN, "invalid inode count %llu",
		                 (unsigned long long)sb->ninodes);
	memset(&want, 0, sizeof(want));
	layout_for(&want, sb->nblocks, sb->ninodes);
	if (want.journal_start != sb->journal_start ||
	    want.journal_blocks != sb->journal_blocks ||
	    want.bitmap_start != sb->bitmap_start ||
	    want.bitmap_blocks != sb->bitmap_blocks ||
	    want.itable_start != sb->itable_start ||
	    want.itable_blocks != sb->itable_blocks ||
	    want.data_start != sb->data_start || sb->root_ino != ROOT_INO)
		return set_error(-EUCLEAN, "superblock geometry is inconsistent");
	if (sb->data_start + 16 > sb->nblocks)
		return set_error(-EUCLEAN, "pool has no room for data");
	return 0;
}

void mount_rec_seal(struct dmount *m)
{
	m->magic = MOUNT_MAGIC;
	m->crc = 0;
	m->crc = crc32c(0, m, sizeof(*m));
}

int mount_rec_valid(const struct dmount *m)
{
	struct dmount t = *m;

	t.crc = 0;
	return m->magic == MOUNT_MAGIC && crc32c(0, &t, sizeof(t)) == m->crc &&
	       (m->state == STATE_CLEAN || m->state == STATE_DIRTY);
}
