/*
 * lock.c - locks shared between processes, with recovery from a holder
 * that died.
 *
 * Two kinds:
 *   - robust process-shared mutexes (glibc): the kernel marks the lock
 *     when its owner thread dies, and the next locker gets EOWNERDEAD;
 *     rt_mutex_lock() makes it consistent and tells the caller, who
 *     repairs what the dead owner may have left half done (journal.c
 *     recovers the journal and the allocators).
 *   - struct xlock, a reader-writer lock whose holders are member
 *     slots (bits), so a dead member is forgotten by clearing its bit
 *     (xl_forget, called by the reaper in members.c).  A waiter sleeps
 *     on the shared futex word @seq at most RT_WAIT_MS at a time; on
 *     each timeout it asks members.c to reap dead members, which
 *     bounds the time a dead holder can block anyone.
 *
 * Ordering of an xlock (all seq_cst): a reader sets its bit and then
 * reads @writer; a writer claims @writer and then reads @readers.  At
 * least one of two racing parties sees the other and backs off (the
 * reader) or waits (the writer).  Every release bumps @seq and wakes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/debug.h"

#define RT_WAIT_MS 100

void rt_futex_wait(_Atomic uint32_t *w, uint32_t val, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

void rt_futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int rt_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r = pthread_mutexattr_init(&a);
	if (!r)
		r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!r)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!r)
		r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

int rt_mutex_lock(pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(m);
		return 1;
	}
	UDAX_BUG_ON(r != 0);
	return 0;
}

void rt_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

static void xl_wait(struct rt *rt, struct xlock *x, uint32_t seq)
{
	atomic_fetch_add(&x->waiters, 1);
	/* a release between our check and this point bumped seq: no sleep */
	rt_futex_wait(&x->seq, seq, RT_WAIT_MS);
	atomic_fetch_sub(&x->waiters, 1);
	if (atomic_load(&x->seq) == seq && rt)
		rt_reap_dead(rt);   /* still nothing: a holder may be dead */
}

static void xl_wake(struct xlock *x)
{
	atomic_fetch_add(&x->seq, 1);
	/* seq_cst: a waiter counted itself before it read seq, so either we
	 * see it here or it sees the new seq and does not sleep */
	if (atomic_load(&x->waiters))
		rt_futex_wake(&x->seq);
}

void xl_lock_shared(struct rt *rt, struct xlock *x)
{
	uint64_t bit = rt_me_bit(rt);

	for (;;) {
		uint32_t seq = atomic_load(&x->seq);
		if (atomic_load(&x->writer) == 0) {
			atomic_fetch_or(&x->readers, bit);
			if (atomic_load(&x->writer) == 0)
				return;
			/* a writer came: let it have the lock first */
			atomic_fetch_and(&x->readers, ~bit);
			xl_wake(x);
			seq = atomic_load(&x->seq);
		}
		if (atomic_load(&x->writer) != 0)
			xl_wait(rt, x, seq);
	}
}

void xl_unlock_shared(struct rt *rt, struct xlock *x)
{
	uint64_t old = atomic_fetch_and(&x->readers, ~rt_me_bit(rt));
	UDAX_BUG_ON(!(old & rt_me_bit(rt)));
	if (atomic_load(&x->writer))
		xl_wake(x);
}

void xl_lock_excl(struct rt *rt, struct xlock *x)
{
	uint32_t me = (uint32_t)rt->slot + 1;

	for (;;) {
		uint32_t seq = atomic_load(&x->seq), none = 0;
		if (atomic_compare_exchange_strong(&x->writer, &none, me))
			break;
		UDAX_BUG_ON(none == me);
		xl_wait(rt, x, seq);
	}
	for (;;) {
		uint32_t seq = atomic_load(&x->seq);
		uint64_t r = atomic_load(&x->readers);
		UDAX_BUG_ON(r & rt_me_bit(rt));
		if (r == 0)
			return;
		xl_wait(rt, x, seq);
	}
}

void xl_unlock_excl(struct rt *rt, struct xlock *x)
{
	uint32_t me = (uint32_t)rt->slot + 1;
	UDAX_BUG_ON(atomic_load(&x->writer) != me);
	atomic_store(&x->writer, 0);
	xl_wake(x);
}

void xl_forget(struct xlock *x, unsigned slot)
{
	uint32_t me = slot + 1;
	int changed = 0;

	if (atomic_load(&x->readers) & (1ull << slot)) {
		atomic_fetch_and(&x->readers, ~(1ull << slot));
		changed = 1;
	}
	if (atomic_compare_exchange_strong(&x->writer, &me, 0))
		changed = 1;
	if (changed)
		xl_wake(x);
}

/* ---- checked variants and struct plock ---- */

#include "util/lockdep.h"

int rt_mutex_lock_checked(pthread_mutex_t *m, int cls, const char *file, int line)
{
#ifdef UDAX_DEBUG
	ul_acquire_check(cls, 0, m, file, line);
#else
	(void)cls; (void)file; (void)line;
#endif
	int dead = rt_mutex_lock(m);
#ifdef UDAX_DEBUG
	ul_acquired(cls, 0, m, 1, file, line);
#endif
	return dead;
}

void rt_mutex_unlock_checked(pthread_mutex_t *m, const char *file, int line)
{
#ifdef UDAX_DEBUG
	ul_released(-1, m, file, line);
#else
	(void)file; (void)line;
#endif
	rt_mutex_unlock(m);
}

void pl_init(struct plock *l, struct rt *rt, struct xlock *x,
             void (*on_acquire)(void *, void *), void *a, void *b)
{
	pthread_rwlock_init(&l->local, NULL);
	pthread_mutex_init(&l->m, NULL);
	l->nshared = 0;
	atomic_store(&l->excl, 0);
	l->rt = rt;
	l->x = rt && rt->base ? x : NULL;   /* no region: this process only */
	l->on_acquire = on_acquire;
	l->a = a;
	l->b = b;
}

void pl_destroy(struct plock *l)
{
	pthread_rwlock_destroy(&l->local);
	pthread_mutex_destroy(&l->m);
}

int pl_rdlock_(struct plock *l, int cls, int sub, const char *file, int line)
{
#ifdef UDAX_DEBUG
	ul_acquire_check(cls, sub, &l->local, file, line);
#else
	(void)cls; (void)sub; (void)file; (void)line;
#endif
	int r = pthread_rwlock_rdlock(&l->local);
	if (l->x) {
		pthread_mutex_lock(&l->m);
		if (l->nshared++ == 0)
			xl_lock_shared(l->rt, l->x);
		pthread_mutex_unlock(&l->m);
	}
#ifdef UDAX_DEBUG
	ul_acquired(cls, sub, &l->local, 0, file, line);
#endif
	if (l->on_acquire)
		l->on_acquire(l->a, l->b);
	return r;
}

int pl_wrlock_(struct plock *l, int cls, int sub, const char *file, int line)
{
#ifdef UDAX_DEBUG
	ul_acquire_check(cls, sub, &l->local, file, line);
#else
	(void)cls; (void)sub; (void)file; (void)line;
#endif
	int r = pthread_rwlock_wrlock(&l->local);
	UDAX_BUG_ON(l->nshared != 0);
	if (l->x)
		xl_lock_excl(l->rt, l->x);
	atomic_store(&l->excl, 1);
#ifdef UDAX_DEBUG
	ul_acquired(cls, sub, &l->local, 1, file, line);
#endif
	if (l->on_acquire)
		l->on_acquire(l->a, l->b);
	return r;
}

void pl_unlock_(struct plock *l, const char *file, int line)
{
#ifdef UDAX_DEBUG
	ul_released(-1, &l->local, file, line);
#else
	(void)file; (void)line;
#endif
	if (atomic_load(&l->excl)) {
		atomic_store(&l->excl, 0);
		if (l->x)
			xl_unlock_excl(l->rt, l->x);
	} else if (l->x) {
		pthread_mutex_lock(&l->m);
		if (--l->nshared == 0)
			xl_unlock_shared(l->rt, l->x);
		pthread_mutex_unlock(&l->m);
	}
	pthread_rwlock_unlock(&l->local);
}
