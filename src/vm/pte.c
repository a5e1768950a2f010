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
 *
 * All of this runs in the fault path, in a signal handler: the budget
 * (sysctl and environment) is computed once, by vm_trap_init() before
 * any window exists, and /proc/self/maps is counted with open/read into
 * a static buffer (a 256-byte one on the stack when another count holds
 * it: two threads, or a fault in a signal handler that interrupted a
 * count), not with stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/vm.h"
#include "util/lockdep.h"

static _Atomic long est_maps = -1;
static long budget = -1;
static pthread_once_t budget_once = PTHREAD_ONCE_INIT;

static long parse_long(const char *s, size_t n, long dflt)
{
	long v = 0;
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] < '0' || s[i] > '9')
		return dflt;
	for (; i < n && s[i] >= '0' && s[i] <= '9' && v < (1L << 40); i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static void budget_init(void)
{
	long max = 65530;
	char buf[32];
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0)
			max = parse_long(buf, (size_t)n, max);
		close(fd);
	}
	/* leave room for the application's own mappings */
	long b = max - max / 16 - 256;
	const char *env = getenv("UDAX_MAP_BUDGET");
	if (env) {
		long v = parse_long(env, strlen(env), 0);
		if (v > 64 && v < b)
			b = v;
	}
	budget = b;
}

/* Computed on the first call, which vm_trap_init() makes: later calls
 * (faults) only see pthread_once's completed state. */
long vm_map_budget(void)
{
	pthread_once(&budget_once, budget_init);
	return budget;
}

static char maps_buf[16384];
static atomic_flag maps_busy = ATOMIC_FLAG_INIT;

static long count_in(int fd, char *buf, size_t size)
{
	long n = 0;
	ssize_t r;
	while ((r = read(fd, buf, size)) > 0 || (r < 0 && errno == EINTR))
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
	return n;
}

static long count_maps(void)
{
	int saved = errno;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	long n = 0;

	if (fd < 0)
		return 0;
	if (!atomic_flag_test_and_set(&maps_busy)) {
		n = count_in(fd, maps_buf, sizeof(maps_buf));
		atomic_flag_clear(&maps_busy);
	} else {
		char small[256];
		n = count_in(fd, small, sizeof(small));
	}
	close(fd);
	errno = saved;
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

/* Zap the oldest quarter of the recorded ranges; returns how many.
 * A range pinned for the kernel (pin.c) is not zapped: it goes back to
 * the end of the ring. */
static long evict_oldest(void)
{
	long n = 0;

	/* pin lock before ring_lock, as on the install paths (rmap_protect,
	 * map_around hold the pin lock across vm_install -> charge -> here,
	 * and vm_note_mapped) */
	vm_pin_read_lock();
	ul_mutex_lock(&ring_lock, UL_VM_RING);
	size_t k = ring_len / 4 + 1;
	for (; k && ring_len; k--) {
		struct mapped m = ring[ring_head];
		ring_head = (ring_head + 1) % RING;
		ring_len--;
		struct window *w = vm_find(m.addr, m.len);
		if (w && w->id == m.window && w->shared) {
			if (vm_pinned(m.addr, m.len)) {
				ring[(ring_head + ring_len) % RING] = m;
				ring_len++;
			} else {
				vm_zap(m.addr, m.len);
				n++;
			}
		}
		if (w)
			vm_put(w);
	}
	ul_mutex_unlock(&ring_lock);
	vm_pin_read_unlock();
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

int vm_install_copy(char *addr, const void *src, size_t len)
{
	if (charge(2) < 0)
		return -ENOMEM;
	if (!src) {
		void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		return p == MAP_FAILED ? -errno : 0;
	}
	/* filled aside, then moved into place in one step: the page is
	 * never writable at @addr before it holds the copy */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, src, len);
	if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED) {
		int err = -errno;
		munmap(p, len);
		return err;
	}
	return 0;
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
