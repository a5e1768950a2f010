/*
 * shadow.c - the shadow persistence backend.
 *
 * The pool mapping is the "working" image: every store is visible there
 * at once, as on real hardware.  A second, private "persisted" image
 * receives a cache line only when the line was flushed and a fence
 * followed: pmem_flush() captures the line's content as pending,
 * pmem_drain() writes every pending capture into the persisted image.
 * Capturing at flush time is the strict reading of the hardware rule:
 * a store made after a line's flush is not known to persist until the
 * line is flushed again, even if a fence comes first.
 * Non-temporal stores are modelled as store + flush, which has the same
 * rule (they persist at the next fence).  What a power cut leaves is
 * exactly the persisted image; udax_shadow_save() writes it out.
 *
 * A fence hook lets a crash test snapshot the persisted image after
 * every fence and later mount each snapshot.
 */
#include "pmem/pmem.h"
#include "util/salloc.h"
#include "util/lockdep.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

struct pending {
	size_t line;
	unsigned char data[PMEM_LINE];
};

struct shadow {
	pthread_mutex_t lock;
	size_t len;
	char *persisted;
	uint32_t *slot_of;        /* per cache line: pending slot + 1, or 0 */
	struct pending *pending;  /* captures since the last fence */
	size_t npending, cap;
	uint64_t fences;
	void (*hook)(uint64_t fence, void *arg);
	void *hook_arg;
	const char *base;         /* working image, for subset saves */
	int shared;               /* @persisted is a MAP_SHARED file (many processes) */
};

/* Set while this thread runs the fence hook (sh->lock held). */
static __thread int in_hook;

static size_t line_bytes(struct shadow *sh, size_t l)
{
	size_t off = l * PMEM_LINE;
	return sh->len - off < PMEM_LINE ? sh->len - off : PMEM_LINE;
}

static void apply(struct shadow *sh, const struct pending *p, char *img)
{
	memcpy(img + p->line * PMEM_LINE, p->data, line_bytes(sh, p->line));
}

struct shadow *shadow_create(const void *base, size_t len)
{
	struct shadow *sh = calloc(1, sizeof(*sh));
	size_t lines = (len + PMEM_LINE - 1) / PMEM_LINE;

	if (!sh)
		return NULL;
	sh->len = len;
	sh->persisted = malloc(len);
	sh->slot_of = calloc(lines, sizeof(uint32_t));
	sh->cap = 1024;
	/* flushes happen in page faults (signal handlers): no realloc */
	sh->pending = salloc(sh->cap * sizeof(*sh->pending));
	if (!sh->persisted || !sh->slot_of || !sh->pending) {
		shadow_destroy(sh);
		return NULL;
	}
	memcpy(sh->persisted, base, len);
	pthread_mutex_init(&sh->lock, NULL);
	return sh;
}

/* The persisted image in file @path, shared by every process of a pool
 * (each keeps its own pending captures: a line reaches the image at
 * the fence of the process that flushed it).  @create: this process is
 * first, the image starts as the pool is now. */
struct shadow *shadow_create_shared(const void *base, size_t len, const char *path, int create)
{
	struct shadow *sh = calloc(1, sizeof(*sh));
	size_t lines = (len + PMEM_LINE - 1) / PMEM_LINE;
	int fd = -1;

	if (!sh)
		return NULL;
	sh->len = len;
	sh->shared = 1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (create && ftruncate(fd, (off_t)len) < 0))
		goto fail;
	sh->persisted = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	fd = -1;
	if (sh->persisted == MAP_FAILED) {
		sh->persisted = NULL;
		goto fail;
	}
	sh->slot_of = calloc(lines, sizeof(uint32_t));
	sh->cap = 1024;
	sh->pending = salloc(sh->cap * sizeof(*sh->pending));
	if (!sh->slot_of || !sh->pending)
		goto fail;
	if (create)
		memcpy(sh->persisted, base, len);
	pthread_mutex_init(&sh->lock, NULL);
	return sh;
fail:
	if (fd >= 0)
		close(fd);
	shadow_destroy(sh);
	return NULL;
}

void shadow_destroy(struct shadow *sh)
{
	if (!sh)
		return;
	if (sh->shared) {
		if (sh->persisted)
			munmap(sh->persisted, sh->len);
	} else {
		free(sh->persisted);
	}
	free(sh->slot_of);
	sfree(sh->pending, sh->cap * sizeof(*sh->pending));
	free(sh);
}

void shadow_flush(struct shadow *sh, const char *base, const void *addr, size_t len)
{
	size_t first = (size_t)((const char *)addr - base) / PMEM_LINE;
	size_t last = (size_t)((const char *)addr + len - 1 - base) / PMEM_LINE;

	if ((const char *)addr < base || (size_t)((const char *)addr - base) + len > sh->len)
		return; /* not pool memory (a caller's buffer): nothing persists */
	ul_mutex_lock(&sh->lock, UL_SHADOW);
	for (size_t l = first; l <= last; l++) {
		uint32_t k = sh->slot_of[l];
		if (!k) {
			if (sh->npending == sh->cap) {
				size_t sz = sh->cap * sizeof(*sh->pending);
				void *n = salloc(2 * sz);
				if (!n)
					abort(); /* test backend: out of memory is fatal */
				memcpy(n, sh->pending, sz);
				sfree(sh->pending, sz);
				sh->pending = n;
				sh->cap *= 2;
			}
			k = (uint32_t)++sh->npending;
			sh->slot_of[l] = k;
			sh->pending[k - 1].line = l;
		}
		/* a later flush of the same line before the fence wins */
		memcpy(sh->pending[k - 1].data, base + l * PMEM_LINE, line_bytes(sh, l));
	}
	ul_mutex_unlock(&sh->lock);
}

void shadow_drain(struct shadow *sh, const char *base)
{
	ul_mutex_lock(&sh->lock, UL_SHADOW);
	sh->fences++;
	sh->base = base;
	if (sh->hook) {
		in_hook = 1;   /* before: pending lines still pending */
		sh->hook(sh->fences, sh->hook_arg);
		in_hook = 0;
	}
	for (size_t i = 0; i < sh->npending; i++) {
		apply(sh, &sh->pending[i], sh->persisted);
		sh->slot_of[sh->pending[i].line] = 0;
	}
	sh->npending = 0;
	ul_mutex_unlock(&sh->lock);
}

uint64_t shadow_fences(struct shadow *sh)
{
	ul_mutex_lock(&sh->lock, UL_SHADOW);
	uint64_t f = sh->fences;
	ul_mutex_unlock(&sh->lock);
	return f;
}

void shadow_set_hook(struct shadow *sh, void (*hook)(uint64_t, void *), void *arg)
{
	ul_mutex_lock(&sh->lock, UL_SHADOW);
	sh->hook = hook;
	sh->hook_arg = arg;
	ul_mutex_unlock(&sh->lock);
}

/* Caller holds sh->lock (from a hook or shadow_save). */
static int write_image(const char *img, size_t len, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, img + off, len - off);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

int shadow_save(struct shadow *sh, const char *path)
{
	/* Called from a fence hook too, where the lock is already held:
	 * the persisted image only changes under the lock in drain, and a
	 * hook runs inside drain, so reading it unlocked there is safe. */
	if (in_hook)
		return write_image(sh->persisted, sh->len, path);
	/* outside: drains of other threads (the shootdown agent's too)
	 * change the image under the lock */
	ul_mutex_lock(&sh->lock, UL_SHADOW);
	int err = write_image(sh->persisted, sh->len, path);
	ul_mutex_unlock(&sh->lock);
	return err;
}

/* The persisted image plus a subset of the lines flushed since the last
 * fence: each pending line is included when its bit in a xorshift
 * sequence seeded by @seed is set.  seed 0 includes none, UINT64_MAX
 * all.  Models a power cut just before a fence, when any subset of the
 * written-back lines may have reached media.  Only valid in a hook. */
int shadow_save_subset(struct shadow *sh, const char *path, uint64_t seed)
{
	char *img = malloc(sh->len);
	uint64_t x = seed;

	if (!img)
		return -ENOMEM;
	memcpy(img, sh->persisted, sh->len);
	for (size_t i = 0; i < sh->npending && seed; i++) {
		int take = 1;
		if (seed != UINT64_MAX) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			take = (int)(x & 1);
		}
		if (take)
			apply(sh, &sh->pending[i], img);
	}
	int err = write_image(img, sh->len, path);
	free(img);
	return err;
}

size_t shadow_pending(struct shadow *sh)
{
	return sh->npending; /* in a hook: the lock is held by drain */
}
