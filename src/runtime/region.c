/*
 * region.c - create, validate, attach to and detach from the runtime
 * region of a pool (layout and invariants: runtime.h).
 *
 * Attach (one process at a time: write lock on byte RT_LOCK_ATTACH):
 *   1. open /dev/shm/udax-UUID-DEV-INO.rt (created with the pool's
 *      mode and owner) and lock the attach byte; if the name now names
 *      another file (the last member unlinked it meanwhile), start over;
 *   2. alone (a write lock on RT_LOCK_ALIVE succeeds): rebuild the
 *      region from nothing; the caller recovers the pool into it and
 *      calls rt_ready(), which releases the attach byte.  Otherwise
 *      validate the header (R1) and join;
 *   3. hold a read lock on RT_LOCK_ALIVE and claim a member slot.
 * Detach: under the attach byte, release the slot; the last member
 * (its RT_LOCK_ALIVE read lock converts to a write lock) runs the
 * caller's last step (the clean mark) and unlinks the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/crc32c.h"
#include "runtime/runtime.h"
#include "util/err.h"

#define PAGE 4096ull
#define RT_DIR "/dev/shm"

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE - 1) & ~(PAGE - 1);
}

void rt_region_path(char *out, size_t n, const uint8_t *uuid, uint64_t dev, uint64_t ino)
{
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
	snprintf(out, n, "%s/udax-%s-%llx-%llx.rt", RT_DIR, hex, (unsigned long long)dev,
	         (unsigned long long)ino);
}

/* The layout for @g, in @h (offsets and size). */
static void layout(struct rt_header *h, const struct rt_geometry *g)
{
	uint64_t off = page_up(sizeof(struct rt_header));

	memset(h, 0, sizeof(*h));
	h->magic = RT_MAGIC;
	h->version = RT_VERSION;
	h->members = RT_MEMBERS;
	memcpy(h->uuid, g->uuid, 16);
	h->pool_dev = g->pool_dev;
	h->pool_ino = g->pool_ino;
	h->nblocks = g->nblocks;
	h->ninodes = g->ninodes;
	h->ngroups = g->ngroups;
	h->off_members = off;
	off = page_up(off + RT_MEMBERS * sizeof(struct rt_member));
	h->off_inodes = off;
	off = page_up(off + (g->ninodes + 1) * sizeof(struct rt_inode));
	h->off_bits = off;
	off = page_up(off + (g->nblocks + 63) / 64 * 8);
	h->off_gfree = off;
	off = page_up(off + g->ngroups * sizeof(uint32_t));
	h->off_ibits = off;
	off = page_up(off + ((g->ninodes + 64) / 64 + 1) * 8);
	h->off_sched = off;
	h->sched_len = PAGE;
	off += PAGE;
	h->size = off;
	h->crc_len = (uint32_t)offsetof(struct rt_header, ready);
}

static uint32_t header_crc(const struct rt_header *h)
{
	struct rt_header t;
	memcpy(&t, h, h->crc_len);
	t.header_crc = 0;
	return crc32c(0, &t, h->crc_len);
}

static void seal_header(struct rt_header *h)
{
	h->header_crc = 0;
	h->header_crc = header_crc(h);
}

static void bind(struct rt *rt)
{
	struct rt_header *h = (struct rt_header *)rt->base;
	rt->h = h;
	rt->members = (struct rt_member *)(rt->base + h->off_members);
	rt->inodes = (struct rt_inode *)(rt->base + h->off_inodes);
	rt->ninodes = h->ninodes;
	rt->bits = (uint64_t *)(rt->base + h->off_bits);
	rt->group_free = (uint32_t *)(rt->base + h->off_gfree);
	rt->ibits = (uint64_t *)(rt->base + h->off_ibits);
	rt->sched = rt->base + h->off_sched;
}

/* Fill a zeroed region: header, shared locks.  The meta layer fills the
 * allocator state during recovery. */
static int build(struct rt *rt, const struct rt_header *want, const struct rt_geometry *g)
{
	struct rt_header *h = (struct rt_header *)rt->base;
	int err;

	memcpy(h, want, offsetof(struct rt_header, ready));
	h->generation = g->generation;
	seal_header(h);
	bind(rt);
	if ((err = rt_mutex_init(&h->vol.tx_lock)) || (err = rt_mutex_init(&h->vol.ns_lock)) ||
	    (err = rt_mutex_init(&h->vol.reap_lock)))
		return err;
	for (unsigned s = 0; s < RT_MEMBERS; s++)
		if ((err = rt_mutex_init(&rt->members[s].mbox_lock)))
			return err;
	h->vol.shadow = (uint32_t)g->shadow;
	rt->builder = 1;
	return 0;
}

/* Why the region at rt->base cannot be trusted for @want, or NULL. */
static const char *mismatch(const struct rt *rt, const struct rt_header *want,
                            const struct rt_geometry *g)
{
	const struct rt_header *h = (const struct rt_header *)rt->base;

	if (h->magic != RT_MAGIC)
		return "it is not a udax runtime region";
	if (h->version != RT_VERSION)
		return "it has another version";
	if (h->crc_len != want->crc_len || header_crc(h) != h->header_crc)
		return "its header is corrupt (checksum)";
	if (memcmp(h->uuid, want->uuid, 16) || h->pool_dev != want->pool_dev ||
	    h->pool_ino != want->pool_ino)
		return "it belongs to another pool";
	/* every offset and size, not only some: a header with a valid CRC
	 * (anyone who can write the file can compute one) must not send a
	 * process outside the mapping */
	struct rt_header a, b;
	memcpy(&a, h, want->crc_len);
	memcpy(&b, want, want->crc_len);
	a.header_crc = b.header_crc = 0;
	a.generation = b.generation = 0;
	if (memcmp(&a, &b, want->crc_len))
		return "its geometry does not match the pool";
	if (h->generation != g->generation)
		return "it is stale (the pool was mounted without it since it was built)";
	if (!atomic_load(&h->ready))
		return "it was never completely built";
	if (h->vol.shadow != (uint32_t)g->shadow)
		return g->shadow ? "the pool is mounted without the shadow backend elsewhere"
		                 : "the pool is mounted with the shadow backend elsewhere";
	return NULL;
}

static int byte_lock(int fd, int cmd, short type, off_t at)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1 };
	int r;
	do
		r = fcntl(fd, cmd, &fl);
	while (r < 0 && errno == EINTR);
	return r;
}

static int map_region(struct rt *rt, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, rt->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	rt->base = p;
	rt->size = size;
	return 0;
}

static int attach_private(struct rt *rt, const struct rt_header *want,
                          const struct rt_geometry *g, int rw)
{
	void *p = mmap(NULL, want->size, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return set_error(-errno, "runtime state: mmap %llu bytes: %s",
		                 (unsigned long long)want->size, strerror(errno));
	rt->base = p;
	rt->size = want->size;
	int err = build(rt, want, g);
	if (err)
		return err;
	return rt_member_claim(rt, rw);
}

static int open_region(struct rt *rt, const struct rt_geometry *g)
{
	int fd = open(rt->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, g->mode & 0666);
	if (fd < 0)
		return set_error(-errno, "%s: cannot open the runtime region: %s", rt->path,
		                 strerror(errno));
	/* far from the numbers programs manage (as the pool's descriptor) */
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 600);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	rt->fd = fd;
	return 0;
}

int rt_attach(struct rt *rt, const struct rt_geometry *g, int private_only, int rw)
{
	struct rt_header want;
	int err;

	memset(rt, 0, sizeof(*rt));
	rt->fd = -1;
	rt->slot = -1;
	layout(&want, g);
	if (private_only)
		return attach_private(rt, &want, g, rw);
	rt_region_path(rt->path, sizeof(rt->path), g->uuid, g->pool_dev, g->pool_ino);
	int retried = 0;
again:
	for (int tries = 0;; tries++) {
		struct stat a, b;
		if ((err = open_region(rt, g)))
			return err;
		if (byte_lock(rt->fd, F_SETLKW, F_WRLCK, RT_LOCK_ATTACH) < 0) {
			err = set_error(-errno, "%s: lock: %s", rt->path, strerror(errno));
			goto fail;
		}
		if (fstat(rt->fd, &a) == 0 && stat(rt->path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev && a.st_nlink > 0)
			break;
		/* unlinked by the last member while we waited: open it anew */
		close(rt->fd);
		rt->fd = -1;
		if (tries > 100)
			return set_error(-EAGAIN, "%s: keeps being replaced", rt->path);
	}
	struct stat st;
	fstat(rt->fd, &st);
	if (st.st_size == 0 && geteuid() == 0)
		(void)!fchown(rt->fd, g->uid, g->gid);
	if (st.st_size == 0)
		(void)!fchmod(rt->fd, g->mode & 0666);
	fstat(rt->fd, &st);
	/* Whoever can write the region can make every process of the pool
	 * corrupt it: it must belong to the pool's owner (or to us) and be
	 * no more open than the pool file itself. */
	if ((st.st_uid != g->uid && st.st_uid != geteuid()) || (st.st_mode & 0666 & ~g->mode)) {
		if (byte_lock(rt->fd, F_SETLK, F_WRLCK, RT_LOCK_ALIVE) == 0 && retried < 3) {
			/* nobody attached: a fresh file, never this one (another
			 * user may hold a mapping of it) */
			unlink(rt->path);
			close(rt->fd);
			rt->fd = -1;
			retried++;
			goto again;
		}
		err = set_error(-EPERM, "%s: the runtime region belongs to uid %u with mode %04o; "
		                "the pool (uid %u, mode %04o) cannot trust it: remove it",
		                rt->path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		                (unsigned)g->uid, (unsigned)(g->mode & 07777));
		goto fail;
	}
	if (byte_lock(rt->fd, F_SETLK, F_WRLCK, RT_LOCK_ALIVE) == 0) {
		/* nobody attached: whatever the file holds is history */
		if (ftruncate(rt->fd, 0) < 0 || ftruncate(rt->fd, (off_t)want.size) < 0) {
			err = set_error(-errno, "%s: cannot size the runtime region to %llu bytes: %s",
			                rt->path, (unsigned long long)want.size, strerror(errno));
			goto fail;
		}
		if ((err = map_region(rt, want.size))) {
			set_error(err, "%s: mmap: %s", rt->path, strerror(-err));
			goto fail;
		}
		if ((err = build(rt, &want, g)))
			goto fail;
	} else {
		struct rt_geometry now = *g;
		if (g->read_generation)
			now.generation = g->read_generation(g->arg);
		if ((uint64_t)st.st_size != want.size) {
			err = set_error(-EBUSY, "%s: the runtime region has the wrong size (%llu bytes, "
			                "want %llu) and processes are attached to it: refusing",
			                rt->path, (unsigned long long)st.st_size,
			                (unsigned long long)want.size);
			goto fail;
		}
		if ((err = map_region(rt, want.size))) {
			set_error(err, "%s: mmap: %s", rt->path, strerror(-err));
			goto fail;
		}
		const char *why = mismatch(rt, &want, &now);
		if (why) {
			err = set_error(-EBUSY, "%s: runtime region refused: %s, and processes are "
			                "attached to it (stop them, or remove the file if none is "
			                "running)", rt->path, why);
			goto fail;
		}
		bind(rt);
	}
	if (byte_lock(rt->fd, F_SETLK, F_RDLCK, RT_LOCK_ALIVE) < 0) {
		err = set_error(-errno, "%s: lock: %s", rt->path, strerror(errno));
		goto fail;
	}
	err = rt_member_claim(rt, rw);
	if (err) {
		set_error(err, "%s: %u processes have the pool mounted: no slot is free",
		          rt->path, RT_MEMBERS);
		goto fail;
	}
	if (!rt->builder)
		byte_lock(rt->fd, F_SETLK, F_UNLCK, RT_LOCK_ATTACH);
	return 0;
fail:
	if (rt->base)
		munmap(rt->base, rt->size);
	rt->base = NULL;
	if (rt->fd >= 0)
		close(rt->fd);   /* drops every lock this process held on it */
	rt->fd = -1;
	return err;
}

void rt_set_generation(struct rt *rt, uint64_t gen)
{
	rt->h->generation = gen;
	seal_header(rt->h);
}

void rt_ready(struct rt *rt)
{
	atomic_store(&rt->h->ready, 1);
	if (rt->fd >= 0 && rt->builder)
		byte_lock(rt->fd, F_SETLK, F_UNLCK, RT_LOCK_ATTACH);
}

int rt_detach(struct rt *rt, void (*last_cb)(void *), void *arg)
{
	int last = 1;

	if (!rt->base)
		return 0;
	if (rt->fd >= 0) {
		byte_lock(rt->fd, F_SETLKW, F_WRLCK, RT_LOCK_ATTACH);
		rt_reap_dead(rt);
	}
	rt_member_release(rt);
	if (rt->fd >= 0)
		last = byte_lock(rt->fd, F_SETLK, F_WRLCK, RT_LOCK_ALIVE) == 0;
	if (last && last_cb)
		last_cb(arg);
	if (last && rt->fd >= 0)
		unlink(rt->path);
	munmap(rt->base, rt->size);
	rt->base = NULL;
	if (rt->fd >= 0)
		close(rt->fd);
	rt->fd = -1;
	return last;
}
