/*
 * lockdep.c - the per-thread held-lock stack and the lock-order check
 * (see lockdep.h).  No malloc, no stdio: reports are formatted into a
 * fixed buffer and written with write(2), since the check also runs in
 * the SIGSEGV fault handler, possibly interrupting malloc or stdio.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/debug.h"
#include "util/lockdep.h"

__thread int ul_remote;

const struct ulock_class ul_classes[UL_NCLASSES] = {
	[UL_MOUNTED] = { "mounted_lock", 0 },
	[UL_NS] = { "fs->ns_lock", 0 },
	[UL_POS] = { "file->pos_lock", 0 },
	[UL_INODE_RW] = { "ip->rw", 0 },
	[UL_INVAL] = { "di->inval", 0 },
	[UL_ENTRY] = { "entry lock", 1 },
	[UL_TX] = { "meta->tx_lock", 0 },
	[UL_ICACHE] = { "meta->icache_lock", 0 },
	[UL_XMAP] = { "xm->lock", 0 },
	[UL_DAX_CREATE] = { "dax create_lock", 0 },
	[UL_TREE] = { "di->tree_lock", 0 },
	[UL_RMAP] = { "di->rmap_lock", 0 },
	[UL_VM_RING] = { "vm ring_lock", 0 },
	[UL_VM_REG] = { "vm reg_lock", 0 },
	[UL_FD] = { "fs->fd_lock", 0 },
	[UL_SHADOW] = { "shadow->lock", 0 },
	[UL_INJECT] = { "inject lock", 0 },
	[UL_SCHED] = { "sched lock", 0 },
};

#ifdef UDAX_DEBUG

#define UL_MAX_HELD 48
#define UL_FREE 0xffff   /* a slot being filled: ignored by the check */

struct ul_held {
	const void *lock;
	const char *file;
	int line;
	unsigned short cls, sub;
	unsigned count;      /* multi classes: locks of the class held */
	int excl;
};

static __thread struct {
	int depth;
	struct ul_held h[UL_MAX_HELD];
	const char *site_file;
	int site_line;
} ul;

/* ---- a tiny formatter into a fixed buffer ---- */

struct ubuf {
	char b[2048];
	size_t n;
};

static void put(struct ubuf *u, const char *s)
{
	while (*s && u->n < sizeof(u->b) - 1)
		u->b[u->n++] = *s++;
}

static void put_int(struct ubuf *u, long v)
{
	char t[24];
	int k = 0;
	unsigned long x = v < 0 ? (unsigned long)-v : (unsigned long)v;

	do
		t[k++] = (char)('0' + x % 10);
	while ((x /= 10) && k < 22);
	if (v < 0)
		t[k++] = '-';
	while (k && u->n < sizeof(u->b) - 1)
		u->b[u->n++] = t[--k];
}

static void put_site(struct ubuf *u, const char *file, int line)
{
	put(u, file ? file : "?");
	put(u, ":");
	put_int(u, line);
}

static void put_class(struct ubuf *u, int cls, int sub)
{
	put(u, cls >= 0 && cls < UL_NCLASSES ? ul_classes[cls].name : "?");
	if (sub) {
		put(u, "/");
		put_int(u, sub);
	}
}

static void put_held(struct ubuf *u)
{
	put(u, "locks held by this thread, outermost first:\n");
	if (ul.depth == 0)
		put(u, "  (none)\n");
	for (int i = 0; i < ul.depth; i++) {
		const struct ul_held *h = &ul.h[i];
		if (h->cls == UL_FREE)
			continue;
		put(u, "  #");
		put_int(u, i);
		put(u, " ");
		put_class(u, h->cls, h->sub);
		put(u, h->excl ? " (exclusive)" : " (shared)");
		if (h->count > 1) {
			put(u, " x");
			put_int(u, h->count);
		}
		put(u, " taken at ");
		put_site(u, h->file, h->line);
		put(u, "\n");
	}
}

static void __attribute__((noreturn)) die(struct ubuf *u)
{
	put_held(u);
	u->b[u->n] = 0;
	for (size_t off = 0; off < u->n;) {
		ssize_t w = write(2, u->b + off, u->n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	abort();
}

void udax_bug(const char *file, int line, const char *cond)
{
	struct ubuf u = { .n = 0 };

	put(&u, "udax BUG at ");
	put_site(&u, file, line);
	put(&u, ": ");
	put(&u, cond);
	put(&u, "\n");
	die(&u);
}

void ul_print_held(void)
{
	struct ubuf u = { .n = 0 };

	put_held(&u);
	if (write(2, u.b, u.n) < 0) {
		/* nothing more to say */
	}
}

/* ---- the check ---- */

void ul_acquire_check(int cls, int sub, const void *lock, const char *file, int line)
{
	for (int i = 0; i < ul.depth; i++) {
		const struct ul_held *h = &ul.h[i];
		if (h->cls == UL_FREE)
			continue;
		int bad;
		const char *why;
		if (h->cls > cls) {
			bad = 1;
			why = "lock order violation: ";
		} else if (h->cls == cls && !ul_classes[cls].multi && h->sub >= sub) {
			bad = 1;
			why = h->lock == lock ? "recursive locking: " : "two locks of one class without nesting: ";
		} else {
			bad = 0;
			why = NULL;
		}
		if (!bad)
			continue;
		struct ubuf u = { .n = 0 };
		put(&u, "udax lockdep: ");
		put(&u, why);
		put(&u, "taking ");
		put_class(&u, cls, sub);
		put(&u, " at ");
		put_site(&u, file, line);
		put(&u, "\n  while holding ");
		put_class(&u, h->cls, h->sub);
		put(&u, " taken at ");
		put_site(&u, h->file, h->line);
		put(&u, "\n  the lock order (dax/dax.h, util/lockdep.h) puts ");
		put_class(&u, cls, 0);
		put(&u, h->cls == cls ? " once per thread" : " before ");
		if (h->cls != cls)
			put_class(&u, h->cls, 0);
		put(&u, "\n");
		die(&u);
	}
}

void ul_acquired(int cls, int sub, const void *lock, int excl, const char *file, int line)
{
	if (ul_classes[cls].multi) {
		for (int i = ul.depth; i-- > 0;) {
			if (ul.h[i].cls == cls) {
				ul.h[i].count++;
				return;
			}
		}
	}
	int d = ul.depth;
	if (d == UL_MAX_HELD) {
		struct ubuf u = { .n = 0 };
		put(&u, "udax lockdep: more than 48 locks held, taking ");
		put_class(&u, cls, sub);
		put(&u, " at ");
		put_site(&u, file, line);
		put(&u, "\n");
		die(&u);
	}
	/* A fault handler interrupting us sees a free slot, or a whole one. */
	ul.h[d].cls = UL_FREE;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ul.depth = d + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ul.h[d].lock = lock;
	ul.h[d].file = file;
	ul.h[d].line = line;
	ul.h[d].sub = (unsigned short)sub;
	ul.h[d].count = 1;
	ul.h[d].excl = excl;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ul.h[d].cls = (unsigned short)cls;
}

void ul_released(int cls, const void *lock, const char *file, int line)
{
	for (int i = ul.depth; i-- > 0;) {
		struct ul_held *h = &ul.h[i];
		if (h->cls == UL_FREE)
			continue;
		if (cls >= 0 ? h->cls != cls : h->lock != lock)
			continue;
		if (--h->count)
			return;
		for (int k = i; k + 1 < ul.depth; k++)
			ul.h[k] = ul.h[k + 1];
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		ul.depth--;
		return;
	}
	struct ubuf u = { .n = 0 };
	put(&u, "udax lockdep: releasing ");
	if (cls >= 0)
		put_class(&u, cls, 0);
	else
		put(&u, "a lock");
	put(&u, " this thread does not hold, at ");
	put_site(&u, file, line);
	put(&u, "\n");
	die(&u);
}

int ul_held_(const void *lock, int excl)
{
	for (int i = 0; i < ul.depth; i++)
		if (ul.h[i].cls != UL_FREE && ul.h[i].lock == lock)
			return !excl || ul.h[i].excl;
	return 0;
}

int ul_class_held(int cls)
{
	for (int i = 0; i < ul.depth; i++)
		if (ul.h[i].cls == cls)
			return 1;
	return 0;
}

int ul_held_from(int cls)
{
	for (int i = 0; i < ul.depth; i++)
		if (ul.h[i].cls != UL_FREE && ul.h[i].cls >= cls)
			return 1;
	return 0;
}

int ul_depth(void)
{
	return ul.depth;
}

void ul_set_site(const char *file, int line)
{
	ul.site_file = file;
	ul.site_line = line;
}

void ul_take_site(const char **file, int *line, const char *dfile, int dline)
{
	if (ul.site_file) {
		*file = ul.site_file;
		*line = ul.site_line;
		ul.site_file = NULL;
	} else {
		*file = dfile;
		*line = dline;
	}
}

#endif
