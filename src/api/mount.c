/*
 * mount.c - mkfs, mount, unmount, statfs, info, fsck, and the shadow
 * persistence controls of the public API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "api/fs.h"
#include "util/err.h"
#include "util/lockdep.h"

/* Pools mounted by this process, to refuse a second mount of one pool. */
static pthread_mutex_t mounted_lock = PTHREAD_MUTEX_INITIALIZER;
static udax_fs *mounted;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child of fork() owns none of its parent's mounts: they share the
 * pool's lock with the parent and must not be used there.  Forgetting
 * them lets the child mount a pool itself, and the pool's flock (held
 * by the parent's open file) still refuses what would conflict. */
static void forget_mounts_in_child(void)
{
	/* The inherited handles are copies: they must never write the
	 * parent's volume (descriptor calls fail with EBADF, commits with
	 * EIO, unmount only releases memory). */
	for (udax_fs *o = mounted; o; o = o->next_mounted)
		o->m.forked = 1;
	pthread_mutex_init(&mounted_lock, NULL);
	mounted = NULL;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_mounts_in_child);
}

int udax_mkfs_mode(const char *path, uint64_t size, unsigned flags, unsigned mode)
{
	if (!path || !*path)
		return set_error(-EINVAL, "no pool path given");
	if (flags & ~UDAX_MKFS_FORCE)
		return set_error(-EINVAL, "unknown mkfs flags 0x%x", flags);
	return meta_mkfs(path, size, flags & UDAX_MKFS_FORCE, mode);
}

int udax_mkfs(const char *path, uint64_t size, unsigned flags)
{
	return udax_mkfs_mode(path, size, flags, 0);
}

static int parse_options(const char *opts, unsigned *mflags, enum write_lock_mode *wl)
{
	char buf[256], *save = NULL;

	*mflags = 0;
	*wl = WL_ENTRY;
	if (!opts || !*opts)
		return 0;
	if (strlen(opts) >= sizeof(buf))
		return set_error(-EINVAL, "mount options too long");
	strcpy(buf, opts);
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro"))
			*mflags |= META_RDONLY;
		else if (!strcmp(o, "rw"))
			*mflags &= ~(unsigned)META_RDONLY;
		else if (!strcmp(o, "shadow"))
			*mflags |= META_SHADOW;
		else if (!strcmp(o, "write_lock=entry"))
			*wl = WL_ENTRY;
		else if (!strcmp(o, "write_lock=exclusive"))
			*wl = WL_EXCLUSIVE;
		else if (!strcmp(o, "write_lock=flush"))
			*wl = WL_FLUSH;
		else if (!strcmp(o, "write_lock=range"))
			*wl = WL_RANGE;
		else
			return set_error(-EINVAL, "unknown mount option '%s'", o);
	}
	return 0;
}

/* Claim @path's file for this process before anything reads or writes
 * it, so a refused second mount touches nothing. */
static int claim_pool(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return set_error(-errno, "%s: %s", path, strerror(errno));
	*dev = st.st_dev;
	*ino = st.st_ino;
	ul_mutex_lock(&mounted_lock, UL_MOUNTED);
	for (udax_fs *o = mounted; o; o = o->next_mounted) {
		if (o->dev == st.st_dev && o->ino == st.st_ino) {
			ul_mutex_unlock(&mounted_lock);
			return set_error(-EBUSY, "%s: pool is already mounted by this process", path);
		}
	}
	return 0; /* mounted_lock stays held until register_mount/unclaim */
}

static void register_mount(udax_fs *fs)
{
	fs->next_mounted = mounted;
	mounted = fs;
	ul_mutex_unlock(&mounted_lock);
}

static void unclaim_pool(void)
{
	ul_mutex_unlock(&mounted_lock);
}

static void unregister_mount(udax_fs *fs)
{
	ul_mutex_lock(&mounted_lock, UL_MOUNTED);
	for (udax_fs **pp = &mounted; *pp; pp = &(*pp)->next_mounted) {
		if (*pp == fs) {
			*pp = fs->next_mounted;
			break;
		}
	}
	ul_mutex_unlock(&mounted_lock);
}

/*
 * What a mount should tell its user about the pool file itself: others
 * can open it (and so read or change every file in it, whatever the
 * files' own permissions say), or it is sparse and its file system
 * cannot back the rest (a store into the hole would die of SIGBUS).
 */
static void check_pool_file(int fd, const char *path)
{
	static atomic_int warned_mode, warned_sparse;
	struct statfs sf;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return;
	if (st.st_mode & 0066)
		warn_once(&warned_mode, "%s: pool file is %s by other users (mode %04o): "
		          "whoever can open it has every file in it; chmod 600 it",
		          path, (st.st_mode & 0022) ? "writable" : "readable",
		          (unsigned)(st.st_mode & 07777));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size)
		return;
	uint64_t hole = (uint64_t)st.st_size - (uint64_t)st.st_blocks * 512;
	if (fstatfs(fd, &sf) == 0 && hole > (uint64_t)sf.f_bavail * sf.f_bsize)
		warn_once(&warned_sparse, "%s: pool file is sparse: %llu bytes are not backed "
		          "and its file system has %llu free; writes into the pool may fail "
		          "(SIGBUS); re-create it with udax mkfs, which reserves the space",
		          path, (unsigned long long)hole,
		          (unsigned long long)sf.f_bavail * sf.f_bsize);
}

void ns_lock_(udax_fs *fs, const char *file, int line)
{
	/* a dead holder left nothing half done: names change in transactions */
	rt_mutex_lock_checked(fs->ns, UL_NS, file, line);
	meta_sync(&fs->m);
	meta_drop_stale_dirs(&fs->m);
}

void ns_unlock_(udax_fs *fs, const char *file, int line)
{
	rt_mutex_unlock_checked(fs->ns, file, line);
}

int udax_mount(const char *path, const char *options, udax_fs **out)
{
	unsigned mflags;
	enum write_lock_mode wl;
	udax_fs *fs;
	int err;

	clear_error();
	if (!path || !out)
		return set_error(-EINVAL, "no pool path given");
	err = parse_options(options, &mflags, &wl);
	if (err)
		return err;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	pthread_once(&atfork_once, register_atfork);
	err = claim_pool(path, &fs->dev, &fs->ino);
	if (err) {
		free(fs);
		return err;
	}
	/* Recovery runs under the claim: two threads mounting one pool at
	 * once must not both replay it. */
	err = meta_open(&fs->m, path, mflags);
	if (err) {
		unclaim_pool();
		free(fs);
		return err;
	}
	register_mount(fs);
	check_pool_file(fs->m.pool.fd, path);
	fs->shadow = !!(mflags & META_SHADOW);
	fs->write_lock = wl;
	fs->ns = &fs->m.vs->ns_lock;
	/* the shootdown agent: other processes' requests run on it */
	fs->m.rt.serve = dax_serve;
	fs->m.rt.serve_arg = &fs->m;
	err = rt_agent_start(&fs->m.rt);
	if (err) {
		set_error(err, "%s: cannot start the shootdown agent thread", path);
		unregister_mount(fs);
		meta_close(&fs->m);
		unclaim_pool();
		free(fs);
		return err;
	}
	pthread_mutex_init(&fs->fd_lock, NULL);
	*out = fs;
	return 0;
}

int udax_unmount(udax_fs *fs)
{
	if (!fs)
		return -EINVAL;
	unmap_all(fs);
	for (int fd = 0; fd < fs->nfds; fd++)
		if (fs->fds[fd])
			udax_close(fs, fd);
	free(fs->fds);
	unregister_mount(fs);
	if (!fs->m.forked)
		rt_agent_stop(&fs->m.rt);   /* a child of fork() has no agent thread */
	meta_close(&fs->m);
	free(fs);
	return 0;
}

int udax_statfs(udax_fs *fs, struct udax_statfs *out)
{
	struct meta *m = &fs->m;
	struct udax_statfs s, *st = &s;

	/* filled here and copied out unlocked: @out may be a udax mapping,
	 * and a fault allocating there under tx_lock would deadlock */
	meta_lock(m);
	st->block_size = BLK;
	st->total_blocks = m->sb.nblocks - m->sb.data_start;
	st->free_blocks = m->vs->free_blocks;
	st->total_inodes = m->sb.ninodes;
	st->free_inodes = m->vs->free_inodes;
	st->name_max = UDAX_NAME_MAX;
	meta_unlock(m);
	*out = s;
	return 0;
}

int udax_info(udax_fs *fs, struct udax_info *info)
{
	struct meta *m = &fs->m;
	const struct dmount *mr = (const void *)(m->pool.base + MOUNT_OFFSET);

	memset(info, 0, sizeof(*info));
	memcpy(info->uuid, m->sb.uuid, 16);
	info->version = m->sb.version;
	info->clean = (uint32_t)m->was_clean;
	info->mount_count = mount_rec_valid(mr) ? mr->mount_count : 0;
	info->pool_size = m->pool.size;
	info->total_blocks = m->sb.nblocks;
	info->data_start = m->sb.data_start;
	info->journal_blocks = m->sb.journal_blocks;
	/* not into @info under tx_lock: it may be a udax mapping */
	meta_lock(m);
	uint64_t free_blocks = m->vs->free_blocks, total_inodes = m->sb.ninodes;
	uint64_t free_inodes = m->vs->free_inodes;
	meta_unlock(m);
	info->free_blocks = free_blocks;
	info->total_inodes = total_inodes;
	info->free_inodes = free_inodes;
	strcpy(info->flush_insn, fs->shadow ? "shadow" : pmem_hw_flush_name());
	info->map_sync = m->pool.map_sync;
	return 0;
}

int udax_fsck_ex(const char *path, unsigned flags,
                 void (*report)(void *, const char *), void *arg,
                 struct udax_fsck_result *res)
{
	struct udax_fsck_result r;
	struct meta m;
	int err, n;

	memset(&r, 0, sizeof(r));
	if (res)
		*res = r;
	if (!path)
		return set_error(-EINVAL, "no pool path given");
	if (flags & ~UDAX_FSCK_REPAIR)
		return set_error(-EINVAL, "unknown fsck flags 0x%x", flags);
	memset(&m, 0, sizeof(m));
	m.report = report;
	m.report_arg = arg;
	/* Without REPAIR, replay and the orphan scan run on a private
	 * copy-on-write mapping: the check sees what a mount would, and
	 * the pool is not changed by a single byte. */
	err = meta_open(&m, path, flags & UDAX_FSCK_REPAIR ? META_EXCL : META_PRIVATE);
	r.live = m.pool.live;
	r.journal = m.journal_pending;
	r.orphans = m.orphans;
	if (err) {
		/* Problems found while opening were reported and counted;
		 * a pool we could not even read is an error. */
		r.problems = m.problems;
		if (res)
			*res = r;
		return m.problems ? m.problems : err;
	}
	r.live = m.pool.live;
	n = meta_fsck(&m);
	meta_close(&m);
	r.problems = n;
	if (res)
		*res = r;
	return n;
}

int udax_fsck(const char *path, void (*report)(void *, const char *), void *arg)
{
	return udax_fsck_ex(path, 0, report, arg, NULL);
}

uint64_t udax_shadow_fences(udax_fs *fs)
{
	return fs->m.pm.sh ? shadow_fences(fs->m.pm.sh) : 0;
}

static void fence_tramp(uint64_t fence, void *arg)
{
	udax_fs *fs = arg;
	fs->hook(fs, fence, fs->hook_arg);
}

int udax_shadow_set_hook(udax_fs *fs, udax_fence_hook hook, void *arg)
{
	if (!fs->m.pm.sh)
		return -EINVAL;
	shadow_set_hook(fs->m.pm.sh, NULL, NULL);
	fs->hook = hook;
	fs->hook_arg = arg;
	if (hook)
		shadow_set_hook(fs->m.pm.sh, fence_tramp, fs);
	return 0;
}

int udax_shadow_save(udax_fs *fs, const char *path)
{
	if (!fs->m.pm.sh)
		return -EINVAL;
	return shadow_save(fs->m.pm.sh, path);
}

int udax_shadow_save_subset(udax_fs *fs, const char *path, uint64_t seed)
{
	if (!fs->m.pm.sh)
		return -EINVAL;
	return shadow_save_subset(fs->m.pm.sh, path, seed);
}

size_t udax_shadow_pending(udax_fs *fs)
{
	return fs->m.pm.sh ? shadow_pending(fs->m.pm.sh) : 0;
}
