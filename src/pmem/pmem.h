/*
 * pmem.h - persistence primitives: flush, drain, flushing copies.
 *
 * Every store udax makes to the pool goes through this layer so that
 * one switch decides where it persists:
 *   - the hardware backend writes cache lines back with the best
 *     instruction the CPU has (clwb > clflushopt > clflush, detected at
 *     run time) and orders them with sfence;
 *   - the shadow backend (shadow.c) keeps a second "persisted" image
 *     that only flush-then-fence updates, so a test can cut the power
 *     at any fence and see exactly what would have survived.
 *
 * Contract: a store is persistent only after pmem_flush() over its
 * bytes *and* a later pmem_drain().  The copy and set helpers flush
 * what they write but do not drain: callers batch several of them and
 * fence once.
 */
#ifndef UDAX_PMEM_H
#define UDAX_PMEM_H

#include <stddef.h>
#include <stdint.h>

#define PMEM_LINE 64u

struct shadow;

struct pmem {
	char *base;          /* the pool as mapped (working image) */
	size_t len;
	struct shadow *sh;   /* non-NULL: shadow backend */
};

/* Name of the flush instruction in use: "clwb", "clflushopt", "clflush". */
const char *pmem_hw_flush_name(void);

void pmem_init_hw(struct pmem *pm, void *base, size_t len);
/* Shadow backend: the persisted image starts as a copy of @base. */
int pmem_init_shadow(struct pmem *pm, void *base, size_t len);
/* The same, with the persisted image in file @path, shared by the
 * processes of a pool; @create: the first one (image = pool now). */
int pmem_init_shadow_shared(struct pmem *pm, void *base, size_t len, const char *path,
                            int create);
void pmem_fini(struct pmem *pm);

void pmem_flush(struct pmem *pm, const void *addr, size_t len);
void pmem_drain(struct pmem *pm);

static inline void pmem_persist(struct pmem *pm, const void *addr, size_t len)
{
	pmem_flush(pm, addr, len);
	pmem_drain(pm);
}

/* Copy/set into the pool and flush the destination (no drain).  Large
 * ranges use non-temporal stores, small ones cached stores + flush. */
void pmem_memcpy(struct pmem *pm, void *dst, const void *src, size_t len);
void pmem_memset(struct pmem *pm, void *dst, int c, size_t len);

/* Shadow backend internals used by the pmem entry points. */
void shadow_flush(struct shadow *sh, const char *base, const void *addr, size_t len);
void shadow_drain(struct shadow *sh, const char *base);
uint64_t shadow_fences(struct shadow *sh);
void shadow_set_hook(struct shadow *sh, void (*hook)(uint64_t fence, void *arg), void *arg);
int shadow_save(struct shadow *sh, const char *path);
int shadow_save_subset(struct shadow *sh, const char *path, uint64_t seed);
size_t shadow_pending(struct shadow *sh);
struct shadow *shadow_create(const void *base, size_t len);
struct shadow *shadow_create_shared(const void *base, size_t len, const char *path, int create);
void shadow_destroy(struct shadow *sh);

#endif
