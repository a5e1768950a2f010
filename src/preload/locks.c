/*
 * locks.c - flock(2) and fcntl(2) record locks on udax descriptors.
 *
 * Only one process at a time mounts a pool read-write (udax_mount
 * flocks the pool), and read-only mounts cannot take write locks (a
 * write lock needs a descriptor open for writing).  So every lock that
 * could conflict lives in this process:
 *   - POSIX record locks (F_SETLK, F_SETLKW, F_GETLK) are per process
 *     and never conflict with the process's own: they are checked for
 *     validity and always granted; F_GETLK always answers F_UNLCK.
 *   - flock() locks belong to the open file description and do
 *     conflict between two opens in one process: they are kept here,
 *     per udax inode, with waiting for the blocking forms.
 *   - Open-file-description record locks (F_OFD_*) are refused
 *     (EINVAL), said once on stderr.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "preload/preload.h"

struct flk {
	struct flk *next;
	uint64_t ino;
	struct pfile *owner;
	int excl;
};

static pthread_mutex_t flk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flk_cond = PTHREAD_COND_INITIALIZER;
static struct flk *flocks;

void pl_locks_forget(void)
{
	pthread_mutex_init(&flk_lock, NULL);
	pthread_cond_init(&flk_cond, NULL);
	flocks = NULL; /* the parent's */
}

static struct flk **flk_find(struct pfile *pf)
{
	struct flk **pp = &flocks;

	while (*pp && (*pp)->owner != pf)
		pp = &(*pp)->next;
	return pp;
}

static int flk_conflicts(struct pfile *pf, int excl)
{
	for (struct flk *l = flocks; l; l = l->next)
		if (l->ino == pf->ino && l->owner != pf && (excl || l->excl))
			return 1;
	return 0;
}

static void flk_drop(struct pfile *pf)
{
	struct flk **pp = flk_find(pf);

	if (*pp) {
		struct flk *l = *pp;
		*pp = l->next;
		free(l);
		pthread_cond_broadcast(&flk_cond);
	}
}

/* flock() on description @pf: 0 or -errno. */
int pl_flock(struct pfile *pf, int op)
{
	int nb = op & LOCK_NB, excl;

	op &= ~LOCK_NB;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return -EINVAL;
	excl = op == LOCK_EX;
	pthread_mutex_lock(&flk_lock);
	/* like Linux, a conversion releases the old lock first */
	flk_drop(pf);
	if (op == LOCK_UN) {
		pthread_mutex_unlock(&flk_lock);
		return 0;
	}
	while (flk_conflicts(pf, excl)) {
		if (nb) {
			pthread_mutex_unlock(&flk_lock);
			return -EWOULDBLOCK;
		}
		pthread_cond_wait(&flk_cond, &flk_lock);
	}
	struct flk *l = malloc(sizeof(*l));
	if (!l) {
		pthread_mutex_unlock(&flk_lock);
		return -ENOLCK;
	}
	*l = (struct flk){ flocks, pf->ino, pf, excl };
	flocks = l;
	pthread_mutex_unlock(&flk_lock);
	return 0;
}

/* The description is going away: its flock goes with it. */
void pl_flock_release(struct pfile *pf)
{
	pthread_mutex_lock(&flk_lock);
	flk_drop(pf);
	pthread_mutex_unlock(&flk_lock);
}

/* fcntl() lock commands on @pf: 0 or -errno. */
int pl_fcntl_lock(struct pfile *pf, int cmd, struct flock *fl)
{
	int acc = pf->flags & O_ACCMODE;

	if (cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW) {
		pl_warn_once("ofd-locks", "open-file-description locks (F_OFD_*) on udax "
		             "files are not supported (EINVAL)");
		return -EINVAL;
	}
	if (!fl)
		return -EFAULT;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	if (fl->l_whence != SEEK_SET && fl->l_whence != SEEK_CUR && fl->l_whence != SEEK_END)
		return -EINVAL;
	if (cmd == F_GETLK) {
		fl->l_type = F_UNLCK;
		return 0;
	}
	if ((fl->l_type == F_RDLCK && acc == O_WRONLY) || (fl->l_type == F_WRLCK && acc == O_RDONLY))
		return -EBADF;
	return 0;
}

/* lockf() is fcntl() record locking inside glibc: the same answer. */
PRELOAD_EXPORT int lockf(int fd, int cmd, off_t len)
{
	struct pfile *pf = pf_get(fd);

	if (!pf)
		return REAL(lockf)(fd, cmd, len);
	int acc = pf->flags & O_ACCMODE, r = 0;
	switch (cmd) {
	case F_LOCK:
	case F_TLOCK:
	case F_ULOCK:
		r = acc == O_RDONLY ? -EBADF : 0;
		break;
	case F_TEST:
		break;
	default:
		r = -EINVAL;
	}
	pf_put(pf);
	return r ? pl_fail(r) : 0;
}

PRELOAD_EXPORT int lockf64(int fd, int cmd, off_t len)
{
	return lockf(fd, cmd, len);
}
