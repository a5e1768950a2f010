/*
 * lockdep.h - lock wrappers that know who holds what, and a lock-order
 * checker ("lockdep-lite") for debug builds.
 *
 * Every lock in src/ has a class (enum ul_class); the order of the enum
 * is the lock order of dax/dax.h ("LOCK ORDER"), outermost first.  In a
 * debug build (UDAX_DEBUG) each thread keeps a small stack of the locks
 * it holds, with the call site (file:line) of each acquisition.  Taking
 * a lock whose class must come before a class already held, or a
 * second lock of a class already held (unless the class allows several,
 * as entry locks do, or the caller names a higher subclass with a
 * _nested variant), aborts with both call sites printed.  The check is
 * made before blocking, so an inversion is reported the first time it
 * is taken, not only when it deadlocks.  Trylocks are recorded but not
 * checked (they cannot wait).  Releasing a lock this thread does not
 * hold aborts too.  The checker uses no malloc and writes its report
 * with write(2) from a fixed buffer: it runs inside the SIGSEGV fault
 * handler too.
 *
 * ul_held(&lock) / ul_held_excl(&lock) / ul_class_held(cls) /
 * ul_held_from(cls) answer "does this thread hold it" for UDAX_BUG_ON()
 * assertions.
 *
 * In release builds the wrappers are the plain pthread calls and the
 * queries are not compiled (use them only inside UDAX_BUG_ON()).
 *
 * Bit locks (entry locks in the radix tree) report to the checker with
 * ul_acquire_check() before they may sleep, ul_acquired() once taken and
 * ul_released() when dropped.
 */
#ifndef UDAX_LOCKDEP_H
#define UDAX_LOCKDEP_H

#include <pthread.h>

/* Lock classes, outermost first: a thread may take a lock only if its
 * class comes after every class it already holds. */
enum ul_class {
	UL_MOUNTED,     /* api/mount.c mounted_lock: held across meta_open */
	UL_NS,          /* fs->ns_lock */
	UL_POS,         /* ufile->pos_lock */
	UL_INODE_RW,    /* inode->rw */
	UL_INVAL,       /* dax_inode->inval */
	UL_ENTRY,       /* entry lock: a bit in the index; several at once */
	UL_TX,          /* meta->tx_lock */
	UL_ICACHE,      /* meta->icache_lock */
	UL_XMAP,        /* xmap->lock */
	UL_DAX_CREATE,  /* dax/entry.c create_lock (dax_inode_get) */
	UL_TREE,        /* dax_inode->tree_lock */
	UL_RMAP,        /* dax_inode->rmap_lock */
	UL_VM_RING,     /* vm/pte.c ring_lock (eviction ring) */
	UL_VM_REG,      /* vm/window.c reg_lock (window registry) */
	UL_FD,          /* fs->fd_lock */
	UL_SHADOW,      /* pmem/shadow.c shadow->lock */
	UL_INJECT,      /* util/inject.c lock (fail points, tests) */
	UL_SCHED,       /* util/sched.c lock (schedule points, tests) */
	UL_NCLASSES
};

/* Set while this thread executes another process's request (the
 * shootdown agent, dax/remote.c): the requester holds the locks the
 * assertions look for, in its own process. */
extern __thread int ul_remote;

struct ulock_class {
	const char *name;
	int multi;      /* several locks of the class may be held at once */
};
extern const struct ulock_class ul_classes[UL_NCLASSES];

#ifdef UDAX_DEBUG

void ul_acquire_check(int cls, int sub, const void *lock, const char *file, int line);
void ul_acquired(int cls, int sub, const void *lock, int excl, const char *file, int line);
void ul_released(int cls, const void *lock, const char *file, int line);
int ul_held_(const void *lock, int excl);
int ul_class_held(int cls);
int ul_held_from(int cls);   /* any lock of class @cls or a later one */
int ul_depth(void);
void ul_print_held(void);
/* Call site for the next bit-lock acquisition of this thread (macros
 * around functions such as entry_lock() set it). */
void ul_set_site(const char *file, int line);
void ul_take_site(const char **file, int *line, const char *dfile, int dline);

static inline int ul_mutex_lock_(pthread_mutex_t *m, int cls, int sub, const char *file, int line)
{
	ul_acquire_check(cls, sub, m, file, line);
	int r = pthread_mutex_lock(m);
	ul_acquired(cls, sub, m, 1, file, line);
	return r;
}

static inline int ul_mutex_trylock_(pthread_mutex_t *m, int cls, const char *file, int line)
{
	int r = pthread_mutex_trylock(m);
	if (r == 0)
		ul_acquired(cls, 0, m, 1, file, line);
	return r;
}

static inline int ul_mutex_unlock_(pthread_mutex_t *m, const char *file, int line)
{
	ul_released(-1, m, file, line);
	return pthread_mutex_unlock(m);
}

static inline int ul_rw_rdlock_(pthread_rwlock_t *l, int cls, int sub, const char *file, int line)
{
	ul_acquire_check(cls, sub, l, file, line);
	int r = pthread_rwlock_rdlock(l);
	ul_acquired(cls, sub, l, 0, file, line);
	return r;
}

static inline int ul_rw_wrlock_(pthread_rwlock_t *l, int cls, int sub, const char *file, int line)
{
	ul_acquire_check(cls, sub, l, file, line);
	int r = pthread_rwlock_wrlock(l);
	ul_acquired(cls, sub, l, 1, file, line);
	return r;
}

static inline int ul_rw_unlock_(pthread_rwlock_t *l, const char *file, int line)
{
	ul_released(-1, l, file, line);
	return pthread_rwlock_unlock(l);
}

#define ul_mutex_lock(m, cls) ul_mutex_lock_((m), (cls), 0, __FILE__, __LINE__)
#define ul_mutex_lock_nested(m, cls, sub) ul_mutex_lock_((m), (cls), (sub), __FILE__, __LINE__)
#define ul_mutex_trylock(m, cls) ul_mutex_trylock_((m), (cls), __FILE__, __LINE__)
#define ul_mutex_unlock(m) ul_mutex_unlock_((m), __FILE__, __LINE__)
#define ul_rw_rdlock(l, cls) ul_rw_rdlock_((l), (cls), 0, __FILE__, __LINE__)
#define ul_rw_wrlock(l, cls) ul_rw_wrlock_((l), (cls), 0, __FILE__, __LINE__)
#define ul_rw_wrlock_nested(l, cls, sub) ul_rw_wrlock_((l), (cls), (sub), __FILE__, __LINE__)
#define ul_rw_unlock(l) ul_rw_unlock_((l), __FILE__, __LINE__)
#define ul_held(l) ul_held_((l), 0)
#define ul_held_excl(l) ul_held_((l), 1)

#else /* !UDAX_DEBUG */

#define ul_mutex_lock(m, cls) pthread_mutex_lock(m)
#define ul_mutex_lock_nested(m, cls, sub) pthread_mutex_lock(m)
#define ul_mutex_trylock(m, cls) pthread_mutex_trylock(m)
#define ul_mutex_unlock(m) pthread_mutex_unlock(m)
#define ul_rw_rdlock(l, cls) pthread_rwlock_rdlock(l)
#define ul_rw_wrlock(l, cls) pthread_rwlock_wrlock(l)
#define ul_rw_wrlock_nested(l, cls, sub) pthread_rwlock_wrlock(l)
#define ul_rw_unlock(l) pthread_rwlock_unlock(l)
/* Only inside UDAX_BUG_ON(), which does not evaluate them here. */
#define ul_held(l) 1
#define ul_held_excl(l) 1
#define ul_class_held(cls) 1
#define ul_held_from(cls) 0
#define ul_depth() 0

#endif

#endif
