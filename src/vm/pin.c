/*
 * pin.c - ranges of udax mappings pinned for the kernel.
 *
 * The kernel cannot take udax's faults: when a system call reads or
 * writes a buffer that is a udax mapping, a page that is not present
 * (PROT_NONE reservation) or read-only gives EFAULT, not SIGSEGV.
 * udax_pin() therefore makes the range present with the access the
 * kernel needs and records it here until udax_unpin(); while a range is
 * recorded, nothing udax does on its own takes those pages away:
 *   - VMA-budget eviction (pte.c, evict_oldest) skips ranges that meet
 *     a pin and keeps them for later;
 *   - writeback (dax/fault.c, rmap_protect) leaves a pinned page mapped
 *     as it is: the page is flushed but stays dirty, so nothing is lost
 *     and the next fsync flushes it again.
 * Truncate and hole punch still remove pinned pages (the kernel then
 * gets EFAULT or a short count; include/udax.h documents this).
 *
 * Locking.  A reader-writer lock: eviction and writeback hold it shared
 * across "is it pinned?" *and* the page-table change that follows, and
 * a pin holds it exclusively only to add itself, before it makes the
 * pages present.  So either the change happens first and the pin then
 * finds the page missing (and faults it back in), or the change sees
 * the pin.  The shared side is taken recursively (writeback's
 * re-mapping may evict); glibc's default rwlock prefers readers, so a
 * waiting pin never blocks a nested reader.  It is a leaf for the
 * exclusive side: nothing else is taken while it is held that way, and
 * no udax fault can happen there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vm/vm.h"

struct pin {
	const char *addr;
	size_t len;
};

static pthread_rwlock_t pin_lock = PTHREAD_RWLOCK_INITIALIZER; /* prefers readers */
static struct pin *pins;
static size_t npins, cappins;

int vm_pin_add(const void *addr, size_t len)
{
	pthread_rwlock_wrlock(&pin_lock);
	if (npins == cappins) {
		size_t cap = cappins ? cappins * 2 : 16;
		struct pin *n = realloc(pins, cap * sizeof(*n));
		if (!n) {
			pthread_rwlock_unlock(&pin_lock);
			return -ENOMEM;
		}
		pins = n;
		cappins = cap;
	}
	pins[npins++] = (struct pin){ addr, len };
	pthread_rwlock_unlock(&pin_lock);
	return 0;
}

int vm_pin_del(const void *addr, size_t len)
{
	int err = -EINVAL;

	pthread_rwlock_wrlock(&pin_lock);
	for (size_t i = 0; i < npins; i++) {
		if (pins[i].addr == addr && pins[i].len == len) {
			pins[i] = pins[--npins];
			err = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&pin_lock);
	return err;
}

void vm_pin_read_lock(void)
{
	pthread_rwlock_rdlock(&pin_lock);
}

void vm_pin_read_unlock(void)
{
	pthread_rwlock_unlock(&pin_lock);
}

int vm_pinned(const void *addr, size_t len)
{
	const char *s = addr, *e = s + len;

	for (size_t i = 0; i < npins; i++)
		if (pins[i].addr < e && s < pins[i].addr + pins[i].len)
			return 1;
	return 0;
}
