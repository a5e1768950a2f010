/*
 * window.c - address windows and the registry the fault handler
 * searches.
 *
 * The registry is a sorted array under a mutex (reg_lock, a leaf: see
 * the lock order in dax/dax.h; the fault handler takes it, also when it
 * interrupts a thread holding udax locks).  The fault
 * handler takes a reference on the window it finds (under the lock),
 * so munmap can unregister a window and then wait for the faults still
 * running in it before it tears the window down.
 */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/vm.h"
#include "util/lockdep.h"

#define PMD_SIZE (2u << 20)

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t next_id;   /* window ids: 1, 2, ... in registration order */
static struct window **reg;
static size_t nreg, capreg;

int vm_reserve(struct window *w, size_t len, uint64_t file_off)
{
	size_t extra = PMD_SIZE;
	char *p = mmap(NULL, len + extra, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	uintptr_t want = (uintptr_t)(file_off % PMD_SIZE);
	uintptr_t a = ((uintptr_t)p + PMD_SIZE - 1) & ~(uintptr_t)(PMD_SIZE - 1);
	a += want;
	if (a >= (uintptr_t)p + PMD_SIZE)
		a -= PMD_SIZE;
	/* [p, p+len+extra) contains [a, a+len) */
	w->reserved = p;
	w->reserved_len = len + extra;
	w->addr = (char *)a;
	w->len = len;
	return 0;
}

void vm_release(struct window *w)
{
	if (w->reserved)
		munmap(w->reserved, w->reserved_len);
	w->reserved = NULL;
}

static size_t find_pos(const char *addr)
{
	size_t lo = 0, hi = nreg;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (reg[mid]->addr + reg[mid]->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vm_register(struct window *w)
{
	ul_mutex_lock(&reg_lock, UL_VM_REG);
	if (nreg == capreg) {
		size_t cap = capreg ? capreg * 2 : 16;
		struct window **n = realloc(reg, cap * sizeof(*n));
		if (!n) {
			ul_mutex_unlock(&reg_lock);
			return -ENOMEM;
		}
		reg = n;
		capreg = cap;
	}
	size_t i = find_pos(w->addr);
	memmove(&reg[i + 1], &reg[i], (nreg - i) * sizeof(*reg));
	reg[i] = w;
	nreg++;
	w->refs = 0;
	w->dead = 0;
	w->id = atomic_fetch_add(&next_id, 1) + 1;
	ul_mutex_unlock(&reg_lock);
	return 0;
}

uint64_t vm_last_window_id(void)
{
	return atomic_load(&next_id);
}

void vm_unregister(struct window *w)
{
	ul_mutex_lock(&reg_lock, UL_VM_REG);
	size_t i = find_pos(w->addr);
	if (i < nreg && reg[i] == w) {
		memmove(&reg[i], &reg[i + 1], (nreg - i - 1) * sizeof(*reg));
		nreg--;
	}
	w->dead = 1;
	while (w->refs) {
		ul_mutex_unlock(&reg_lock);
		sched_yield();
		ul_mutex_lock(&reg_lock, UL_VM_REG);
	}
	ul_mutex_unlock(&reg_lock);
}

struct window *vm_find(const void *addr, size_t len)
{
	const char *a = addr;
	struct window *w = NULL;

	/* compare lengths, not end addresses: a huge @len must not wrap */
	if (len == 0)
		len = 1;
	ul_mutex_lock(&reg_lock, UL_VM_REG);
	size_t i = find_pos(a);
	if (i < nreg && reg[i]->addr <= a && len <= reg[i]->len &&
	    (size_t)(a - reg[i]->addr) <= reg[i]->len - len && !reg[i]->dead) {
		w = reg[i];
		w->refs++;
	}
	ul_mutex_unlock(&reg_lock);
	return w;
}

void vm_put(struct window *w)
{
	ul_mutex_lock(&reg_lock, UL_VM_REG);
	w->refs--;
	ul_mutex_unlock(&reg_lock);
}
