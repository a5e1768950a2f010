/*
 * mmap.c - udax_mmap, udax_munmap, udax_msync: mappings of pool blocks
 * served by udax's own page faults (dax/, vm/).
 *
 * A mapping holds a reference on its inode, so unlink and close leave
 * it usable until munmap, as with the kernel.  Dirty entries outlive
 * their mapping: a store made through a mapping is flushed by the next
 * fsync even after munmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/lockdep.h"

#define MAP_FLAGS_OK (MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | UDAX_MAP_SYNC | \
                      MAP_POPULATE | MAP_NORESERVE)

struct umap {
	struct window w;
	struct inode *ip;
	struct umap *next;
};

static void free_pstate(struct window *w)
{
	if (w->pstate)
		munmap(w->pstate, w->len / BLK);
	w->pstate = NULL;
}

static int check_mmap(struct ufile *f, size_t len, int prot, int flags, off_t off)
{
	int type = flags & (MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE);

	if (len == 0 || off < 0 || off % BLK)
		return -EINVAL;
	if ((uint64_t)off + len < (uint64_t)off || (uint64_t)off + len > UDAX_MAX_FILE_SIZE)
		return -EOVERFLOW;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (flags & ~MAP_FLAGS_OK)
		return -EINVAL;   /* MAP_FIXED, MAP_ANONYMOUS, ... are not udax's */
	if ((flags & UDAX_MAP_SYNC) && type == MAP_PRIVATE)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE))
		return -EINVAL;   /* no PROT_EXEC on a memory pool */
	if (!S_ISREG(f->ip->d.mode))
		return -ENODEV;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	if ((prot & PROT_WRITE) && type != MAP_PRIVATE && !fd_writable(f))
		return -EACCES;
	return 0;
}

static int mmap_file(udax_fs *fs, struct ufile *f, size_t len, int prot, int flags,
                     off_t off, void **out)
{
	int err;

	if (!out)
		return -EFAULT;
	err = check_mmap(f, len, prot, flags, off);
	if (err)
		return err;
	if (fs->m.rdonly && (prot & PROT_WRITE) && !(flags & MAP_PRIVATE))
		return -EROFS;
	err = vm_trap_init();
	if (err)
		return err;
	struct dax_inode *di = dax_inode_get(&fs->m, f->ip, fs->m.pool.fd, fs->write_lock);
	struct umap *um = calloc(1, sizeof(*um));
	if (!di || !um) {
		free(um);
		return -ENOMEM;
	}
	size_t plen = (len + BLK - 1) & ~(size_t)(BLK - 1);
	err = vm_reserve(&um->w, plen, (uint64_t)off);
	if (err) {
		free(um);
		return err;
	}
	if (flags & MAP_PRIVATE) {
		/* one byte per page, touched only where faults happen */
		void *st = mmap(NULL, plen / BLK, PROT_READ | PROT_WRITE,
		                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (st == MAP_FAILED) {
			vm_release(&um->w);
			free(um);
			return -ENOMEM;
		}
		um->w.pstate = st;
	}
	um->w.pgoff = (uint64_t)off / BLK;
	um->w.prot = prot;
	um->w.shared = !(flags & MAP_PRIVATE);
	um->w.sync = !!(flags & UDAX_MAP_SYNC);
	um->w.owner = di;
	um->w.fault = dax_fault;
	um->ip = f->ip;
	igrab(&fs->m, f->ip);
	rmap_add(&di->rmap, &um->w);
	err = vm_register(&um->w);
	if (err) {
		rmap_del(&di->rmap, &um->w);
		vm_release(&um->w);
		free_pstate(&um->w);
		release_inode(fs, f->ip);
		free(um);
		return err;
	}
	ul_mutex_lock(&fs->fd_lock, UL_FD);
	um->next = fs->maps;
	fs->maps = um;
	ul_mutex_unlock(&fs->fd_lock);
	*out = um->w.addr;
	return 0;
}

int udax_mmap(udax_fs *fs, int fd, size_t len, int prot, int flags, off_t off, void **out)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	int err = mmap_file(fs, f, len, prot, flags, off, out);
	fd_put(fs, f);
	return err;
}

static struct umap *take_map(udax_fs *fs, void *addr, size_t len)
{
	struct umap *um = NULL;
	size_t plen = (len + BLK - 1) & ~(size_t)(BLK - 1);

	ul_mutex_lock(&fs->fd_lock, UL_FD);
	for (struct umap **pp = &fs->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->w.addr == addr && (*pp)->w.len == plen) {
			um = *pp;
			*pp = um->next;
			break;
		}
	}
	ul_mutex_unlock(&fs->fd_lock);
	return um;
}

static void destroy_map(udax_fs *fs, struct umap *um)
{
	vm_unregister(&um->w);              /* waits for faults in progress */
	rmap_del(&((struct dax_inode *)um->w.owner)->rmap, &um->w);
	vm_release(&um->w);
	free_pstate(&um->w);
	release_inode(fs, um->ip);
	free(um);
}

int udax_munmap(udax_fs *fs, void *addr, size_t len)
{
	if (!fs || (uintptr_t)addr % BLK || len == 0)
		return -EINVAL;
	struct umap *um = take_map(fs, addr, len);
	if (!um)
		return -EINVAL;   /* not a whole udax mapping */
	destroy_map(fs, um);
	return 0;
}

void unmap_all(udax_fs *fs)
{
	struct umap *um;

	while ((um = fs->maps) != NULL) {
		fs->maps = um->next;
		destroy_map(fs, um);
	}
}

int writeback_maps(udax_fs *fs)
{
	int err = 0;

	/* Exit only (udax_unmount_for_exit, faults frozen): fd_lock is
	 * held raw across writeback, outside the checker's order (fd_lock is
	 * innermost elsewhere); no other thread can be changing mappings. */
	pthread_mutex_lock(&fs->fd_lock);
	for (struct umap *um = fs->maps; um; um = um->next) {
		int e = um->w.shared ? dax_writeback_local(um->w.owner, 0, UINT64_C(1) << 32) : 0;
		if (e && !err)
			err = e;
	}
	pthread_mutex_unlock(&fs->fd_lock);
	return err;
}

int udax_msync(udax_fs *fs, void *addr, size_t len, int flags)
{
	if (!fs || (uintptr_t)addr % BLK)
		return -EINVAL;
	if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE))
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	if (len == 0)
		return 0;
	if ((uintptr_t)addr + len < (uintptr_t)addr)
		return -ENOMEM;   /* as msync(2): the range wraps */
	struct window *w = vm_find(addr, len);
	if (!w)
		return -ENOMEM;   /* as msync(2): not (all) mapped */
	int err = 0;
	if (w->shared) {
		uint64_t from = w->pgoff + (uint64_t)((char *)addr - w->addr) / BLK;
		uint64_t to = w->pgoff + ((uint64_t)((char *)addr - w->addr) + len + BLK - 1) / BLK;
		/* MS_ASYNC flushes too: on a memory pool there is no queue to
		 * hand the work to, and it is cheap. */
		err = dax_writeback(w->owner, from, to);
	}
	vm_put(w);
	return err;
}

int udax_flush(udax_fs *fs, const void *addr, size_t len)
{
	if (!fs)
		return -EINVAL;
	if (len == 0)
		return 0;
	if ((uintptr_t)addr + len < (uintptr_t)addr)
		return -ENOMEM;
	struct window *w = vm_find(addr, len);
	if (!w)
		return -ENOMEM;
	struct dax_inode *di = w->owner;
	uint64_t off = (uint64_t)((const char *)addr - w->addr);
	pl_rdlock(&di->inval, UL_INVAL);
	for (uint64_t pos = off; pos < off + len;) {
		struct dextent x;
		uint64_t next, pg = w->pgoff + pos / BLK, in = pos % BLK;
		uint64_t n = BLK - in < off + len - pos ? BLK - in : off + len - pos;
		/* through the pool's own mapping: the same memory, and the
		 * shadow backend sees the flush */
		if (w->shared && xmap_lookup(&di->ip->xm, pg, &x, &next))
			pmem_flush(&fs->m.pm, (char *)meta_block(&fs->m, x.pblk + (pg - x.lblk)) + in, n);
		pos += n;
	}
	pl_unlock(&di->inval);
	pmem_drain(&fs->m.pm);
	vm_put(w);
	return 0;
}
