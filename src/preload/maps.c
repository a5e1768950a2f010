/*
 * maps.c - mmap of udax files: true DAX mappings from udax_mmap(), so a
 * program's loads and stores reach pool memory with no page cache, and
 * udax sees every write fault (fsync/msync flush exactly those pages).
 *
 * What udax cannot do is refused, said once on stderr, never faked:
 *   - MAP_FIXED / MAP_FIXED_NOREPLACE (udax places its own 2 MiB
 *     aligned window): EINVAL;
 *   - munmap of part of a mapping, or of a range that mixes a udax
 *     mapping with other memory: EINVAL;
 *   - mremap without MREMAP_MAYMOVE to another size (it cannot grow or
 *     shrink in place): ENOMEM, as Linux says when it cannot; with
 *     MAYMOVE the file is mapped anew at the new size (the contents are
 *     the file's, so nothing is copied); MREMAP_FIXED: EINVAL;
 *   - mprotect to other permissions: ENOTSUP (it would bypass the
 *     write-fault tracking); madvise that frees or punches memory
 *     (MADV_REMOVE, MADV_FREE, ...): EINVAL.
 * A mapping keeps its open file description alive, so mremap works
 * after the program closed the descriptor, as mmap(2) allows.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/preload.h"

struct pmap {
	struct pmap *next;
	char *addr;
	size_t len;
	int prot, flags;
	off_t off;
	struct pfile *pf;
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmap *maps;
static _Atomic int nmaps;

void pl_maps_forget(void)
{
	pthread_mutex_init(&map_lock, NULL);
	maps = NULL; /* the records leak: the parent's */
	atomic_store(&nmaps, 0);
}

static size_t page_round(size_t len)
{
	return (len + 4095) & ~(size_t)4095;
}

/* Does [a, a + len) lie inside @m? */
static int within(const struct pmap *m, const void *a, size_t len)
{
	const char *s = a;
	return s >= m->addr && s + len <= m->addr + m->len;
}

/* First mapping overlapping [a, a + len) (map_lock held). */
static struct pmap **map_overlap(const void *a, size_t len)
{
	const char *s = a, *e = s + len;

	for (struct pmap **pp = &maps; *pp; pp = &(*pp)->next)
		if ((*pp)->addr < e && s < (*pp)->addr + (*pp)->len)
			return pp;
	return NULL;
}

int pl_maps_clip(const void *a, size_t len, struct kseg *out, int max)
{
	const char *s = a, *e = s + len;
	int n = 0;

	if (!atomic_load(&nmaps) || len == 0 || e < s)
		return 0;
	pthread_mutex_lock(&map_lock);
	for (struct pmap *m = maps; m && n < max; m = m->next) {
		if (m->addr < e && s < m->addr + m->len) {
			char *lo = s > m->addr ? (char *)s : m->addr;
			char *hi = e < m->addr + m->len ? (char *)e : m->addr + m->len;
			out[n++] = (struct kseg){ lo, (size_t)(hi - lo) };
		}
	}
	pthread_mutex_unlock(&map_lock);
	return n;
}

static int map_flags_ok(int flags)
{
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		pl_warn_once("map-fixed", "MAP_FIXED mappings of udax files are not "
		             "supported (EINVAL)");
		return 0;
	}
	return 1;
}

static void *map_file(struct pfile *pf, size_t len, int prot, int flags, off_t off)
{
	udax_fs *fs = pl_fs();
	void *addr = NULL;
	struct pmap *m = calloc(1, sizeof(*m));

	if (!m) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	/* hints udax has no use for: it maps on demand, never reserves swap */
	int uflags = flags & ~(MAP_POPULATE | MAP_NORESERVE | MAP_LOCKED | MAP_NONBLOCK |
	                       MAP_HUGETLB | MAP_STACK | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_32BIT);
	in_udax++;
	int err = udax_mmap(fs, pf->ufd, len, prot, uflags, off, &addr);
	in_udax--;
	if (err) {
		free(m);
		errno = -err;
		return MAP_FAILED;
	}
	*m = (struct pmap){ NULL, addr, page_round(len), prot, uflags, off, pf };
	pf_ref(pf);
	pthread_mutex_lock(&map_lock);
	m->next = maps;
	maps = m;
	nmaps++;
	pthread_mutex_unlock(&map_lock);
	return addr;
}

static void *mmap_common(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                         int *ours)
{
	struct pfile *pf = pf_get(fd);

	*ours = pf != NULL;
	if (!pf)
		return NULL;
	void *r = MAP_FAILED;
	if (pf->flags & O_PATH)
		errno = EBADF;
	else if (map_flags_ok(flags))
		r = map_file(pf, len, prot, flags, off);
	else
		errno = EINVAL;
	pf_put(pf);
	(void)addr;
	return r;
}

PRELOAD_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int ours = 0;
	void *r = (flags & MAP_ANONYMOUS) ? NULL : mmap_common(addr, len, prot, flags, fd, off, &ours);
	return ours ? r : REAL(mmap)(addr, len, prot, flags, fd, off);
}

PRELOAD_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int ours = 0;
	void *r = (flags & MAP_ANONYMOUS) ? NULL : mmap_common(addr, len, prot, flags, fd, off, &ours);
	return ours ? r : REAL(mmap64)(addr, len, prot, flags, fd, off);
}

/* Remove @m's record (map_lock held); returns its file, whose
 * reference the caller drops after map_lock (tab_lock comes first). */
static struct pfile *map_forget(struct pmap **pp)
{
	struct pmap *m = *pp;
	struct pfile *pf = m->pf;

	*pp = m->next;
	nmaps--;
	free(m);
	return pf;
}

static void pf_drop(struct pfile *pf)
{
	if (!pf)
		return;
	tab_wrlock();
	pf_unref_locked(pf);
	tab_unlock();
}

PRELOAD_EXPORT int munmap(void *addr, size_t len)
{
	if (!atomic_load(&nmaps) || in_udax)
		return REAL(munmap)(addr, len);
	pthread_mutex_lock(&map_lock);
	struct pmap **pp = map_overlap(addr, len);
	if (!pp) {
		pthread_mutex_unlock(&map_lock);
		return REAL(munmap)(addr, len);
	}
	struct pmap *m = *pp;
	if (m->addr != addr || m->len != page_round(len)) {
		pthread_mutex_unlock(&map_lock);
		pl_warn_once("munmap-part", "munmap of part of a udax mapping is not "
		             "supported (EINVAL); unmap whole mappings");
		return pl_fail(-EINVAL);
	}
	in_udax++;
	int err = udax_munmap(pl_fs(), addr, len);
	in_udax--;
	struct pfile *pf = err ? NULL : map_forget(pp);
	pthread_mutex_unlock(&map_lock);
	pf_drop(pf);
	return err ? pl_fail(err) : 0;
}

PRELOAD_EXPORT int msync(void *addr, size_t len, int flags)
{
	if (!atomic_load(&nmaps) || in_udax)
		return REAL(msync)(addr, len, flags);
	pthread_mutex_lock(&map_lock);
	struct pmap **pp = map_overlap(addr, len);
	pthread_mutex_unlock(&map_lock);
	if (!pp)
		return REAL(msync)(addr, len, flags);
	in_udax++;
	int err = udax_msync(pl_fs(), addr, len, flags);
	in_udax--;
	return err ? pl_fail(err) : 0;
}

/* @m is a copy of the mapping's record; the caller holds a reference
 * on m->pf for the duration. */
static void *remap(const struct pmap *m, size_t newlen, int flags)
{
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		pl_warn_once("mremap-fixed", "MREMAP_FIXED and MREMAP_DONTUNMAP are not "
		             "supported on udax mappings (EINVAL)");
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (page_round(newlen) == m->len)
		return m->addr;
	if (!(flags & MREMAP_MAYMOVE)) {
		errno = ENOMEM; /* cannot resize in place */
		return MAP_FAILED;
	}
	if ((m->flags & MAP_PRIVATE) && (m->prot & PROT_WRITE)) {
		/* mapping the file anew would drop the private changes */
		pl_warn_once("mremap-private", "mremap of a writable private udax mapping to "
		             "another size is not supported (EINVAL)");
		errno = EINVAL;
		return MAP_FAILED;
	}
	return map_file(m->pf, newlen, m->prot, m->flags, m->off);
}

PRELOAD_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	void *fixed = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		fixed = va_arg(ap, void *);
		va_end(ap);
	}
	if (!atomic_load(&nmaps) || in_udax)
		return REAL(mremap)(old, oldlen, newlen, flags, fixed);
	pthread_mutex_lock(&map_lock);
	struct pmap **pp = map_overlap(old, oldlen ? oldlen : 1);
	if (!pp) {
		pthread_mutex_unlock(&map_lock);
		return REAL(mremap)(old, oldlen, newlen, flags, fixed);
	}
	void *r;
	struct pfile *gone = NULL;
	if ((*pp)->addr != old || (*pp)->len != page_round(oldlen)) {
		pl_warn_once("mremap-part", "mremap of part of a udax mapping is not supported");
		errno = EINVAL;
		r = MAP_FAILED;
	} else {
		struct pmap m = **pp;            /* map_file takes map_lock */
		pf_ref(m.pf);                    /* held across the unlock */
		pthread_mutex_unlock(&map_lock);
		r = remap(&m, newlen, flags);
		pf_drop(m.pf);
		pthread_mutex_lock(&map_lock);
		if (r != MAP_FAILED && r != old) {
			/* the old mapping goes; find its record again */
			in_udax++;
			udax_munmap(pl_fs(), old, oldlen);
			in_udax--;
			for (pp = &maps; *pp && (*pp)->addr != (char *)old; pp = &(*pp)->next)
				;
			if (*pp)
				gone = map_forget(pp);
		}
	}
	pthread_mutex_unlock(&map_lock);
	pf_drop(gone);
	return r;
}

PRELOAD_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (!atomic_load(&nmaps) || in_udax)
		return REAL(mprotect)(addr, len, prot);
	pthread_mutex_lock(&map_lock);
	struct pmap **pp = map_overlap(addr, len);
	int same = pp && (*pp)->prot == prot;
	int inside = pp && within(*pp, addr, len);
	pthread_mutex_unlock(&map_lock);
	if (!pp)
		return REAL(mprotect)(addr, len, prot);
	if (same && inside)
		return 0;
	pl_warn_once("mprotect", "mprotect of a udax mapping to other permissions is not "
	             "supported (ENOTSUP)");
	return pl_fail(-ENOTSUP);
}

PRELOAD_EXPORT int madvise(void *addr, size_t len, int advice)
{
	if (!atomic_load(&nmaps) || in_udax)
		return REAL(madvise)(addr, len, advice);
	pthread_mutex_lock(&map_lock);
	struct pmap **pp = map_overlap(addr, len);
	int private = pp && ((*pp)->flags & MAP_PRIVATE);
	int inside = pp && within(*pp, addr, len);
	pthread_mutex_unlock(&map_lock);
	if (!pp)
		return REAL(madvise)(addr, len, advice);
	if (!inside) {
		pl_warn_once("madvise-mixed", "madvise over a udax mapping and other memory "
		             "is not supported (EINVAL)");
		return pl_fail(-EINVAL);
	}
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
		return 0; /* hints */
	case MADV_DONTNEED:
		if (!private)
			return 0; /* a shared file mapping keeps its contents */
		/* dropping private copies is not supported */
		__attribute__((fallthrough));
	default:
		pl_warn_once("madvise", "madvise(%d) on a udax mapping is not supported (EINVAL)",
		             advice);
		return pl_fail(-EINVAL);
	}
}

PRELOAD_EXPORT int posix_madvise(void *addr, size_t len, int advice)
{
	/* glibc ignores POSIX_MADV_DONTNEED (it must not discard data) */
	if (!atomic_load(&nmaps) || in_udax || advice == POSIX_MADV_DONTNEED)
		return REAL(posix_madvise)(addr, len, advice);
	pthread_mutex_lock(&map_lock);
	int ours = map_overlap(addr, len) != NULL;
	pthread_mutex_unlock(&map_lock);
	if (!ours)
		return REAL(posix_madvise)(addr, len, advice);
	int saved = errno;
	int r = madvise(addr, len, advice) ? errno : 0;
	errno = saved;
	return r;
}
