/*
 * fdtab.c - which kernel descriptors are udax files.
 *
 * ptab[fd] is read without a lock on every interposed call (a kernel
 * descriptor that is not udax's costs one load); a udax descriptor is
 * then used under tab_lock held shared, and changed (open, close, dup)
 * under it held exclusively, so a close never frees a pfile another
 * thread is using.  A slot is cleared before its kernel descriptor is
 * closed, so a number the kernel hands out again is never mistaken for
 * the old udax file.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/preload.h"

static struct pfile *_Atomic ptab[PTAB_MAX];
/* Writers first: under steady I/O from many threads, open/close/dup
 * must not wait forever.  The read side is never taken recursively. */
static pthread_rwlock_t tab_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void pf_forget_all(void)
{
	pthread_rwlockattr_t a;

	for (int fd = 0; fd < PTAB_MAX; fd++)
		atomic_store(&ptab[fd], NULL); /* the pfiles leak: the parent's */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&tab_lock, &a);
	pthread_rwlockattr_destroy(&a);
}

int pf_is_udax(int fd)
{
	return fd >= 0 && fd < PTAB_MAX && atomic_load_explicit(&ptab[fd], memory_order_acquire);
}

struct pfile *pf_get(int fd)
{
	if (!pf_is_udax(fd) || in_udax)
		return NULL;
	pthread_rwlock_rdlock(&tab_lock);
	struct pfile *pf = atomic_load(&ptab[fd]);
	if (!pf)
		pthread_rwlock_unlock(&tab_lock);
	return pf;
}

void pf_put(struct pfile *pf)
{
	(void)pf;
	pthread_rwlock_unlock(&tab_lock);
}

void tab_wrlock(void)
{
	pthread_rwlock_wrlock(&tab_lock);
}

void tab_unlock(void)
{
	pthread_rwlock_unlock(&tab_lock);
}

struct pfile *pf_slot(int fd)
{
	return fd >= 0 && fd < PTAB_MAX ? atomic_load(&ptab[fd]) : NULL;
}

void pf_set_slot(int fd, struct pfile *pf)
{
	atomic_store_explicit(&ptab[fd], pf, memory_order_release);
}

struct pfile *pf_new(int ufd, int flags, const char *upath)
{
	struct pfile *pf = calloc(1, sizeof(*pf));

	if (!pf || !(pf->path = strdup(upath))) {
		free(pf);
		return NULL;
	}
	pf->ufd = ufd;
	pf->flags = flags;
	pthread_mutex_init(&pf->pos, NULL);
	return pf;
}

void pf_ref(struct pfile *pf)
{
	__atomic_add_fetch(&pf->refs, 1, __ATOMIC_RELAXED);
}

/* Drop one reference; the last closes the udax descriptor.  Returns
 * udax_close()'s result, or 0. */
int pf_unref_locked(struct pfile *pf)
{
	if (__atomic_sub_fetch(&pf->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return 0;
	udax_fs *fs = pl_fs();
	int err = 0;
	pl_flock_release(pf);
	if (fs) {
		in_udax++;
		err = udax_close(fs, pf->ufd);
		in_udax--;
	}
	pthread_mutex_destroy(&pf->pos);
	free(pf->path);
	free(pf);
	return err;
}

/* Reserve a kernel descriptor for @pf (O_PATH: every call that slips
 * past the interposer fails with EBADF).  Returns it, or -1/errno. */
int pf_install(struct pfile *pf, int flags)
{
	in_udax++;
	int fd = open("/dev/null", O_PATH | (flags & O_CLOEXEC));
	in_udax--;
	if (fd < 0)
		return -1;
	if (fd >= PTAB_MAX) {
		in_udax++;
		close(fd);
		in_udax--;
		errno = EMFILE;
		return -1;
	}
	tab_wrlock();
	pf->refs++;
	pf_set_slot(fd, pf);
	tab_unlock();
	return fd;
}
