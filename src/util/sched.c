/*
 * sched.c - the schedule-point registry (see sched.h).  A handful of
 * armed points at a time, under one mutex and condition variable; the
 * cost when nothing is armed is one relaxed atomic load.
 */
#include "util/sched.h"
#include "util/lockdep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Cross-process mode (sched_share): the points live in a shared page
 * given by the test, so one process can stop another's thread. */
struct xpoint {
	char name[48];
	_Atomic int armed, waiting, released;
};
struct xtable {
	_Atomic uint32_t seq;
	struct xpoint p[16];
};
static struct xtable *xt;

static void xwake(void)
{
	atomic_fetch_add(&xt->seq, 1);
	syscall(SYS_futex, (uint32_t *)&xt->seq, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

static void xwait(uint32_t seq, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_futex, (uint32_t *)&xt->seq, FUTEX_WAIT, seq, &ts, NULL, 0);
}

static struct xpoint *xfind(const char *name, int create)
{
	for (int i = 0; i < 16; i++)
		if (xt->p[i].name[0] && !strcmp(xt->p[i].name, name))
			return &xt->p[i];
	if (create)
		for (int i = 0; i < 16; i++)
			if (!xt->p[i].name[0]) {
				strncpy(xt->p[i].name, name, sizeof(xt->p[i].name) - 1);
				return &xt->p[i];
			}
	return NULL;
}

void sched_share(void *page)
{
	xt = page;
}


#define MAXPTS 16

static struct point {
	const char *name;
	int armed;      /* next arrival stops */
	int waiting;    /* a thread is stopped here */
	int released;
} pts[MAXPTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static _Atomic int narmed;

static struct point *find(const char *name, int create)
{
	for (int i = 0; i < MAXPTS; i++)
		if (pts[i].name && !strcmp(pts[i].name, name))
			return &pts[i];
	if (!create)
		return NULL;
	for (int i = 0; i < MAXPTS; i++)
		if (!pts[i].name) {
			pts[i].name = name;
			return &pts[i];
		}
	return NULL;
}

#ifdef UDAX_SCHED_POINTS
void sched_point(const char *name)
{
	if (xt) {
		struct xpoint *p = xfind(name, 0);
		int one = 1;
		if (p && atomic_compare_exchange_strong(&p->armed, &one, 0)) {
			atomic_store(&p->released, 0);
			atomic_store(&p->waiting, 1);
			xwake();
			for (;;) {
				uint32_t seq = atomic_load(&xt->seq);
				if (atomic_load(&p->released))
					break;
				xwait(seq, 100);
			}
			atomic_store(&p->waiting, 0);
		}
		return;
	}
	if (!atomic_load_explicit(&narmed, memory_order_relaxed))
		return;
	ul_mutex_lock(&lock, UL_SCHED);
	struct point *p = find(name, 0);
	if (p && p->armed) {
		p->armed = 0;
		p->waiting = 1;
		p->released = 0;
		pthread_cond_broadcast(&cond);
		while (!p->released)
			pthread_cond_wait(&cond, &lock);
		p->waiting = 0;
		atomic_fetch_sub(&narmed, 1);
	}
	ul_mutex_unlock(&lock);
}
#endif

void sched_arm(const char *name)
{
	if (xt) {
		struct xpoint *p = xfind(name, 1);
		if (p)
			atomic_store(&p->armed, 1);
		return;
	}
	ul_mutex_lock(&lock, UL_SCHED);
	struct point *p = find(name, 1);
	if (p && !p->armed) {
		p->armed = 1;
		atomic_fetch_add(&narmed, 1);
	}
	ul_mutex_unlock(&lock);
}

int sched_wait(const char *name, int timeout_ms)
{
	struct timespec ts;
	int r = 0;

	if (xt) {
		struct xpoint *p = xfind(name, 1);
		for (int waited = 0; p && waited < timeout_ms; waited += 10) {
			uint32_t seq = atomic_load(&xt->seq);
			if (atomic_load(&p->waiting))
				return 0;
			xwait(seq, 10);
		}
		return p && atomic_load(&p->waiting) ? 0 : -1;
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	ul_mutex_lock(&lock, UL_SCHED);
	struct point *p = find(name, 1);
	while (p && !p->waiting && r == 0)
		r = pthread_cond_timedwait(&cond, &lock, &ts);
	int ok = p && p->waiting;
	ul_mutex_unlock(&lock);
	return ok ? 0 : -1;
}

void sched_release(const char *name)
{
	if (xt) {
		struct xpoint *p = xfind(name, 0);
		if (p) {
			atomic_store(&p->released, 1);
			xwake();
		}
		return;
	}
	ul_mutex_lock(&lock, UL_SCHED);
	struct point *p = find(name, 0);
	if (p) {
		p->released = 1;
		pthread_cond_broadcast(&cond);
	}
	ul_mutex_unlock(&lock);
}

void sched_reset(void)
{
	ul_mutex_lock(&lock, UL_SCHED);
	for (int i = 0; i < MAXPTS; i++) {
		if (pts[i].armed)
			atomic_fetch_sub(&narmed, 1);
		pts[i].armed = 0;
		pts[i].released = 1;
	}
	pthread_cond_broadcast(&cond);
	ul_mutex_unlock(&lock);
}
