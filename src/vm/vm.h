/*
 * vm.h - the user-space MMU.
 *
 * A *window* is an address range reserved for one udax mapping
 * (PROT_NONE anonymous memory until pages are installed).  Installing a
 * page maps the pool file at that address with MAP_FIXED; the zero
 * page is private anonymous memory mapped read-only; zapping returns a
 * range to the reserved state.  Faults in windows arrive as SIGSEGV,
 * are matched to their window and passed to the window's fault
 * function; faults anywhere else go to the handler that was installed
 * before udax, or take the default action, as if udax were absent.
 *
 * Copies that udax makes between the pool and a caller's buffer while
 * it holds locks go through vm_copy(): a fault inside it (the buffer
 * may itself be a udax mapping) does not run the fault handler, which
 * could need those very locks; the copy stops and reports how far it
 * got, so the caller can drop its locks, fault the page in with
 * vm_prefault() and retry.
 */
#ifndef UDAX_VM_H
#define UDAX_VM_H

#include <stddef.h>
#include <stdint.h>

struct window;

/* Called in the faulting thread with no udax lock held.  Returns 0 when
 * the access can be retried, VM_SIGBUS to deliver SIGBUS, VM_SEGV to
 * treat it as the application's own SIGSEGV, or another
 * negative errno (the fault becomes SIGBUS with a message). */
#define VM_SIGBUS 1
#define VM_SEGV 2       /* not ours to serve: chain to the application */
typedef int (*vm_fault_fn)(struct window *w, char *addr, int write);

/* What a private window maps at a page (window.pstate). */
#define WP_NONE 0       /* reserved: the next access faults */
#define WP_ZERO 1       /* the zero page, read-only: a hole */
#define WP_FILE 2       /* the file's block MAP_PRIVATE read-only: live data */
#define WP_COPY 3       /* writable: the process's own copy */

struct window {
	char *addr;             /* page aligned */
	size_t len;             /* page multiple */
	uint64_t pgoff;         /* file page at addr */
	int prot;               /* PROT_READ / PROT_WRITE */
	int shared;             /* MAP_SHARED (else MAP_PRIVATE) */
	int sync;               /* UDAX_MAP_SYNC */
	/* MAP_PRIVATE only: one byte per page, what is mapped there
	 * (WP_*).  Changed under the page's entry lock, or with the owner's
	 * invalidate lock held exclusively (truncate, punch). */
	unsigned char *pstate;
	void *owner;            /* the dax inode */
	vm_fault_fn fault;
	struct window *next;    /* owner's reverse map */
	int refs;               /* faults in progress (vm lock) */
	int dead;
	uint64_t id;            /* unique per registration */
	char *reserved;         /* whole reservation (for release) */
	size_t reserved_len;
};

/* Reserve a window of @len bytes whose address is congruent to
 * @file_off modulo 2 MiB, so that PMD-sized runs line up. */
int vm_reserve(struct window *w, size_t len, uint64_t file_off);
/* Register for fault dispatch / unregister and wait for faults in it
 * to finish; then release the address range. */
int vm_register(struct window *w);
/* The id of the last window registered (0: none yet). */
uint64_t vm_last_window_id(void);
void vm_unregister(struct window *w);
void vm_release(struct window *w);
/* The window containing [addr, addr+len), referenced; NULL if none. */
struct window *vm_find(const void *addr, size_t len);
void vm_put(struct window *w);

/* Page-table primitives on window addresses; 0 or -errno. */
int vm_install(char *addr, size_t len, int pool_fd, uint64_t pool_off, int prot, int shared);
int vm_install_zero(char *addr, size_t len);
/* Private anonymous memory, writable, holding a copy of @src (zeros if
 * NULL); the range is never writable before it holds the copy. */
int vm_install_copy(char *addr, const void *src, size_t len);
int vm_zap(char *addr, size_t len);
int vm_protect(char *addr, size_t len, int prot);
/* Kernel VMAs of the process (recounted), and udax's budget for them. */
long vm_map_count(void);
long vm_map_budget(void);
/* Record an installed range of a shared window as evictable. */
void vm_note_mapped(struct window *w, char *addr, size_t len);
/* Past half the budget: prefer zapping to re-mapping read-only. */
int vm_pressure(void);

/* Copy that bails out on a fault: returns bytes copied (== n when
 * done); @copy (NULL: memcpy) does the copying.  *fault_addr is set to the faulting address on a short copy;
 * *efault to 1 when that address is not udax memory (a bad pointer). */
typedef void (*vm_copy_fn)(void *arg, void *dst, const void *src, size_t n);
#define VM_USER_SRC 0   /* the caller's buffer is the source (pool is dst) */
#define VM_USER_DST 1   /* the caller's buffer is the destination */
size_t vm_copy(void *dst, const void *src, size_t n, int user, vm_copy_fn copy, void *arg,
               void **fault_addr, int *efault);
/* Bring in the page at @addr for reading or writing; 0 or -EFAULT. */
int vm_prefault(const void *addr, int write);

/* Touch the page at @addr for reading or writing (a write leaves its
 * contents as they are) without serving a fault: 0 if the access went
 * through, 1 if the page is not present with that access. */
int vm_probe(const void *addr, int write);

/* pin.c: ranges pinned for the kernel (udax_pin).  Eviction and
 * writeback hold the read lock across vm_pinned() and the page-table
 * change that follows; see pin.c. */
int vm_pin_add(const void *addr, size_t len);
int vm_pin_del(const void *addr, size_t len);    /* -EINVAL: no such pin */
void vm_pin_read_lock(void);
void vm_pin_read_unlock(void);
int vm_pinned(const void *addr, size_t len);     /* does any pin meet the range? */

/* Process exit without teardown (the interposer's exit-time unmount):
 * after vm_freeze() a fault in any other thread waits until the process
 * is gone, and one in the calling thread raises SIGBUS with a message;
 * faults already running are waited for.  Whoever serves a fault
 * outside the SIGSEGV handler brackets it with vm_fault_enter (0, or -1
 * in the frozen calling thread: give up) and vm_fault_exit. */
void vm_freeze(void);
int vm_fault_enter(void);
void vm_fault_exit(void);

/* Install the SIGSEGV handler (once per process). */
int vm_trap_init(void);

/* ---- the reverse map (rmap.c): every window of one file ---- */
#include <pthread.h>
#include <stdatomic.h>

struct rmap {
	pthread_mutex_t lock;       /* class UL_RMAP; held across the mmap calls */
	struct window *windows;
	_Atomic int nprivate;       /* private windows among them */
	int pool_fd;
	pthread_rwlock_t *inval;    /* the owner's invalidate lock (assertions) */
	/* the inode's shared "mapped by" mask (runtime region) and this
	 * process's bit in it: set while the list is not empty, so other
	 * processes send their shootdowns here */
	_Atomic uint64_t *mapped_by;
	uint64_t me_bit;
};

static inline char *vm_page_addr(struct window *w, uint64_t pg)
{
	return w->addr + (pg - w->pgoff) * 4096u;
}

/* [*lo, *hi) clipped to @w's pages; 0 if they do not meet. */
static inline int vm_clip(struct window *w, uint64_t *lo, uint64_t *hi)
{
	uint64_t s = w->pgoff, e = w->pgoff + w->len / 4096u;
	if (*lo < s)
		*lo = s;
	if (*hi > e)
		*hi = e;
	return *lo < *hi;
}

/* Map pool blocks / the zero page into a shared window, recording the
 * range as evictable under VMA pressure (pte.c). */
int vm_map_block(struct window *w, char *addr, size_t len, int fd, uint64_t pblk, int prot);
int vm_map_zero(struct window *w, char *addr, size_t len);

void rmap_init(struct rmap *r, int pool_fd, pthread_rwlock_t *inval);
void rmap_destroy(struct rmap *r);
void rmap_add(struct rmap *r, struct window *w);
void rmap_del(struct rmap *r, struct window *w);
/* every mapping; private copies too with @even_cows (truncate), not
 * without (punch hole) */
void rmap_zap(struct rmap *r, uint64_t index, uint64_t npages, int even_cows);
/* shared mappings only (they hold no data of their own) */
void rmap_zap_shared(struct rmap *r, uint64_t index, uint64_t npages);
/* private mappings' zero pages over blocks that now exist */
void rmap_zap_private_zero(struct rmap *r, uint64_t index, uint64_t npages);
int rmap_private_zero_at(struct rmap *r, uint64_t pg);
/* 0, -errno, or RMAP_PINNED: a mapping of the pages is pinned for the
 * kernel (udax_pin), nothing was changed; flush and keep them dirty. */
#define RMAP_PINNED 1
int rmap_protect(struct rmap *r, uint64_t index, uint64_t npages, uint64_t pblk);

#endif
