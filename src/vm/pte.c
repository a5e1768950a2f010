/*
 * pte.c - install, zero-map, zap and write-protect ranges of a window.
 *
 * Every call is one mmap(MAP_FIXED) or mprotect, which may split or
 * create kernel VMAs; Linux caps a process at vm.max_map_count of them.
 * We keep an estimate (each install or protect of a sub-range may add
 * two) and, when it nears the budget, recount from /proc/self/maps; a
 * change that would pass the budget fails with -ENOMEM instead of
 * letting the kernel fail an unrelated mmap in the application.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#include "vm/vm.h"

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

/* Account for an operation that may add @n VMAs. */
static int charge(long n)
{
	long e = atomic_load(&est_maps);
	if (e < 0)
		e = vm_map_count();
	if (e + n > vm_map_budget()) {
		e = vm_map_count();   /* the estimate only grows: recount */
		if (e + n > vm_map_budget())
			return -ENOMEM;
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
