/*
 * pool.h - the media layer: a pool file or device mapped into memory,
 * and its superblock.
 */
#ifndef UDAX_POOL_H
#define UDAX_POOL_H

#include <stdint.h>
#include <sys/types.h>

#include "media/layout.h"

struct pool {
	int fd;
	char *base;
	uint64_t size;     /* bytes mapped */
	int map_sync;      /* mapped with MAP_SYNC */
	int rdonly;
	int live;          /* POOL_PRIVATE without the lock: mounted rw elsewhere */
};

#define POOL_RW 0
#define POOL_RDONLY 1
#define POOL_PRIVATE 2     /* read-only file, copy-on-write mapping (fsck) */
#define POOL_EXCL 3        /* read-write, no other process (mkfs-like tools, repair) */

/* Open and map @path.  MAP_SHARED_VALIDATE|MAP_SYNC where the file
 * system supports it, plain MAP_SHARED otherwise. */
int pool_open(const char *path, int mode, struct pool *p);
/* Open @path (O_RDONLY or O_RDWR in @oflags) without blocking, and
 * refuse what is neither a regular file nor a device.  Returns the fd
 * or -errno with the detail set. */
int pool_open_fd(const char *path, int oflags);
/* Size and map the already opened (and locked) @fd into @p. */
int pool_attach(struct pool *p, int fd, const char *path, int mode);
void pool_close(struct pool *p);

static inline void *pool_block(const struct pool *p, uint64_t blk)
{
	return p->base + (blk << BLK_SHIFT);
}

/* Geometry of a new pool of @nblocks blocks. */
void super_geometry(struct dsuper *sb, uint64_t nblocks);
void super_seal(struct dsuper *sb);
/* Check magic, version, features, CRC and every geometry field against
 * the pool's real size.  Returns 0 or -errno with the detail set. */
int super_check(const struct dsuper *sb, uint64_t pool_bytes, int rdonly);

void mount_rec_seal(struct dmount *m);
int mount_rec_valid(const struct dmount *m);

#endif
