/*
 * inject.c - the failure-point registry (see inject.h).  A few armed
 * points at a time under one mutex; the cost at an unarmed point is one
 * relaxed atomic load.
 */
#include "util/inject.h"
#include "util/lockdep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAXPTS 8

static struct fpoint {
	char name[48];
	int armed;      /* fail once, after @skip more arrivals */
	int skip;
	int hits;
} pts[MAXPTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int narmed;

static struct fpoint *find(const char *name, int create)
{
	for (int i = 0; i < MAXPTS; i++)
		if (pts[i].name[0] && !strcmp(pts[i].name, name))
			return &pts[i];
	if (!create)
		return NULL;
	for (int i = 0; i < MAXPTS; i++)
		if (!pts[i].name[0]) {
			strncpy(pts[i].name, name, sizeof(pts[i].name) - 1);
			return &pts[i];
		}
	return NULL;
}

#ifdef UDAX_SCHED_POINTS
int fail_point(const char *name)
{
	int fail = 0;

	if (!atomic_load_explicit(&narmed, memory_order_relaxed))
		return 0;
	ul_mutex_lock(&lock, UL_INJECT);
	struct fpoint *p = find(name, 0);
	if (p && p->armed) {
		if (p->skip > 0) {
			p->skip--;
		} else {
			p->armed = 0;
			p->hits++;
			fail = 1;
			atomic_fetch_sub(&narmed, 1);
		}
	}
	ul_mutex_unlock(&lock);
	return fail;
}
#endif

void fail_arm(const char *name, int skip)
{
	ul_mutex_lock(&lock, UL_INJECT);
	struct fpoint *p = find(name, 1);
	if (p) {
		if (!p->armed)
			atomic_fetch_add(&narmed, 1);
		p->armed = 1;
		p->skip = skip;
	}
	ul_mutex_unlock(&lock);
}

int fail_hits(const char *name)
{
	ul_mutex_lock(&lock, UL_INJECT);
	struct fpoint *p = find(name, 0);
	int n = p ? p->hits : 0;
	ul_mutex_unlock(&lock);
	return n;
}

void fail_reset(void)
{
	ul_mutex_lock(&lock, UL_INJECT);
	memset(pts, 0, sizeof(pts));
	atomic_store(&narmed, 0);
	ul_mutex_unlock(&lock);
}
