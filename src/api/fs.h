/*
 * fs.h - the api layer's view of a mounted file system.
 *
 * Descriptors: a struct ufile is reference counted (ufile->refs, under
 * fs->fd_lock).  The descriptor table holds one reference; fd_get()
 * takes another for its caller, who drops it with fd_put() on every
 * return path.  udax_close() takes the ufile out of the table and drops
 * the table's reference, so a call that found the descriptor before the
 * close finishes on that file, and a call after it gets -EBADF (or the
 * file a reused number now names).  The last fd_put() commits pending
 * timestamps and releases the ufile and its inode reference; it must be
 * called without any of the locks below held.
 *
 * Locking (outermost first; the whole order, with the call path of
 * every edge, is at the top of dax/dax.h):
 *   fs->ns_lock     every namespace operation and path walk; it also
 *                   protects directory inodes' dinode fields.
 *   file->pos_lock  a descriptor's offset, held across read()/write()/
 *                   lseek() so concurrent calls on one descriptor do not
 *                   share an offset.  Taken *outside* ip->rw, and held
 *                   while the caller's buffer is faulted in; never
 *                   together with ns_lock.
 *   ip->rw          a regular file's size and data: shared for reads,
 *                   exclusive for writes, truncate, fallocate and
 *                   link-count changes.  The dinode itself is written
 *                   only under meta->tx_lock (page faults allocate
 *                   without ip->rw), so stat reads it under tx_lock.
 *   fs->fd_lock     the descriptor table, ufile->refs and fs->maps
 *                   (innermost: nothing is taken under it).
 */
#ifndef UDAX_FS_H
#define UDAX_FS_H

#include <pthread.h>
#include <sys/types.h>

#include "dax/dax.h"
#include "meta/meta.h"
#include "udax.h"


struct ufile {
	struct inode *ip;
	int flags;
	off_t pos;
	pthread_mutex_t pos_lock;
	int refs;               /* fs->fd_lock; the table's is one */
};

struct udax_fs {
	struct meta m;
	int shadow;
	enum write_lock_mode write_lock;
	pthread_mutex_t *ns;      /* the namespace lock, shared by every process (region) */
	pthread_mutex_t fd_lock;
	struct ufile **fds;
	int nfds;
	struct udax_fs *next_mounted;
	dev_t dev;              /* the pool file, for the one-mount rule */
	ino_t ino;
	udax_fence_hook hook;
	void *hook_arg;
	struct umap *maps;      /* udax_mmap mappings (fd_lock) */
};

struct udax_dir {
	udax_fs *fs;
	struct udax_dirent *ents;
	size_t n, pos;
};

/* The namespace lock (every process of the pool); taking it brings the
 * cached inodes up to date (meta_sync). */
void ns_lock_(udax_fs *fs, const char *file, int line);
void ns_unlock_(udax_fs *fs, const char *file, int line);
#define ns_lock(fs) ns_lock_((fs), __FILE__, __LINE__)
#define ns_unlock(fs) ns_unlock_((fs), __FILE__, __LINE__)

/* descriptors (file.c) */
struct ufile *fd_get(udax_fs *fs, int fd);   /* referenced: fd_put() it */
void fd_put(udax_fs *fs, struct ufile *f);
int fd_writable(const struct ufile *f);
void release_inode(udax_fs *fs, struct inode *ip);
struct stat;
void fill_stat(const struct inode *ip, struct stat *st);
int inode_sync_times(udax_fs *fs, struct inode *ip, int datasync);

/* paths (namei.c) */
struct walk {
	struct inode *dir;      /* parent directory, referenced */
	char name[UDAX_NAME_MAX + 1];
	size_t len;             /* 0: the path is "/" itself */
	int trailing_slash;
};
int path_parent(udax_fs *fs, const char *path, struct walk *w);
void walk_done(udax_fs *fs, struct walk *w);
struct dcent *walk_entry_of(struct walk *w);
int path_lookup(udax_fs *fs, const char *path, struct inode **out);

/* mappings (mmap.c) */
struct umap;
void unmap_all(udax_fs *fs);
/* Write back the dirty pages of every mapped file (fd_lock taken). */
int writeback_maps(udax_fs *fs);


#endif
