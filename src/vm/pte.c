/*
 * pte.c - install, zero-map, zap and write-protect ranges of a window.
 *
 * Every call is one mmap(MAP_FIXED) or mprotect, which may split or
 * create kernel VMAs; Linux caps a process at vm.max_map_count of them.
 * We keep an estimate (each install or protect of a sub-range may add
 * two) and, when it nears the budget, recount from /proc/self/maps; a
 * change that would pass the budget first evicts the oldest mappings
 * of shared windows (they are a cache: a later access faults them back
 * in, and dirty state lives in the entry index, not in the mapping),
 * and fails with -ENOMEM only when that frees nothing, instead of
 * letting the kernel fail an unrelated mmap in the application.
 *
 * UDAX_MAP_BUDGET in the environment lowers the budget (tests use it to
 * reach the limit quickly).
 */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "vm/vm.h"
#include "util/lockdep.h"

static _Atomic long est_maps = -1;
static _Atomic long budget = -1;

long vm_map_budget(void)
{
	long b = atomic_load(&budget);
	if (b < 0) {
		long max = 65530;
		FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
		if (f) {
			if (fscanf(f, "%ld", &max) != 1)
				max = 65530;
			fclose(f);
		}
		/* leave room for the application's own mappings */
		b = max - max / 16 - 256;
		const char *env = getenv("UDAX_MAP_BUDGET");
		if (env && atol(env) > 64 && atol(env) < b)
			b = atol(env);
		atomic_store(&budget, b);
	}
	return b;
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = getc_unlocked(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

long vm_map_count(void)
{
	long n = count_maps();
	atomic_store(&est_maps, n);
	return n;
}

/* ---- eviction: a ring of installed ranges of shared windows ---- */

#define RING 65536
static struct mapped {
	char *addr;
	size_t len;
	uint64_t window;
} ring[RING];
static size_t ring_head, ring_len;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

void vm_note_mapped(struct window *w, char *addr, size_t len)
{
	ul_mutex_lock(&ring_lock, UL_VM_RING);
	if (ring_len == RING) {           /* forget the oldest */
		ring_head = (ring_head + 1) % RING;
		ring_len--;
	}
	ring[(ring_head + ring_len) % RING] = (struct mapped){ addr, len, w->id };
	ring_len++;
	ul_mutex_unlock(&ring_lock);
}

/* Zap the oldest quarter of the recorded ranges; returns how many. */
static long evict_oldest(void)
{
	long n = 0;

	ul_mutex_lock(&ring_lock, UL_VM_RING);
	size_t k = ring_len / 4 + 1;
	for (; k && ring_len; k--) {
		struct mapped m = ring[ring_head];
		ring_head = (ring_head + 1) % RING;
		ring_len--;
		struct window *w = vm_find(m.addr, m.len);
		if (w && w->id == m.window && w->shared) {
			vm_zap(m.addr, m.len);
			n++;
		}
		if (w)
			vm_put(w);
	}
	ul_mutex_unlock(&ring_lock);
	return n;
}

int vm_pressure(void)
{
	long half = vm_map_budget() / 2;
	/* the estimate only grows between recounts: confirm before acting */
	return atomic_load(&est_maps) > half && vm_map_count() > half;
}

/* Account for an operation that may add @n VMAs. */
static int charge(long n)
{
	long e = atomic_load(&est_maps);
	if (e < 0)
		e = vm_map_count();
	while (e + n > vm_map_budget()) {
		e = vm_map_count();   /* the estimate only grows: recount */
		if (e + n <= vm_map_budget())
			break;
		if (evict_oldest() == 0)
			return -ENOMEM;
		e = vm_map_count();
	}
	atomic_fetch_add(&est_maps, n);
	return 0;
}

int vm_install(char *addr, size_t len, int pool_fd, uint64_t pool_off, int prot, int shared)
{
	if (charge(2) < 0)
		return -ENOMEM;
	void *p = mmap(addr, len, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
	               MAP_POPULATE, pool_fd, (off_t)pool_off);
	return p == MAP_FAILED ? -errno : 0;
}

int vm_install_zero(char *addr, size_t len)
{
	if (charge(2) < 0)
		return -ENOMEM;
	void *p = mmap(addr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

int vm_zap(char *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
	               MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

int vm_protect(char *addr, size_t len, int prot)
{
	if (charge(2) < 0)
		return -ENOMEM;
	return mprotect(addr, len, prot) < 0 ? -errno : 0;
}
