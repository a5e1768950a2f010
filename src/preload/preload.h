/*
 * preload.h - shared state of libudax-preload.so, the LD_PRELOAD
 * interposer that gives unmodified programs udax files, with true DAX
 * mappings, under a path prefix.
 *
 * Environment:
 *   UDAX_POOL     the pool (made by `udax mkfs`); unset = interposer off
 *   UDAX_PREFIX   host paths at or below it are udax paths (default /udax)
 *   UDAX_OPTIONS  udax_mount() options (ro, shadow, write_lock=...)
 *
 * Descriptors.  Each udax open reserves a real kernel descriptor (an
 * O_PATH descriptor on /dev/null), so udax descriptors never collide
 * with kernel ones and a call this library does not intercept fails
 * with EBADF instead of touching the wrong file.  ptab[kernel fd] points
 * to the open file description (struct pfile) that dup()ed descriptors
 * share.
 *
 * Locking: tab_lock (read: any call using a pfile; write: installing or
 * removing descriptors) -> pf->lock (offset-dependent vectored I/O) ->
 * udax's own locks.  map_lock and dir_lock are leaves.  Calls made while
 * udax itself runs (the thread-local `in_udax`) go straight to libc, so
 * udax's own open/mmap/close of the pool are never redirected.
 */
#ifndef UDAX_PRELOAD_H
#define UDAX_PRELOAD_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "udax.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))

/* The next definition of @name (libc's), looked up once. */
#define REAL(name)                                                             \
	({                                                                     \
		static __typeof__(&name) _real;                                \
		__typeof__(&name) _f = __atomic_load_n(&_real, __ATOMIC_RELAXED); \
		if (!_f) {                                                     \
			_f = (__typeof__(&name))dlsym(RTLD_NEXT, #name);       \
			__atomic_store_n(&_real, _f, __ATOMIC_RELAXED);        \
		}                                                              \
		_f;                                                            \
	})

extern __thread int in_udax;

/* One open file description of a udax file or directory. */
struct pfile {
	int ufd;                 /* udax descriptor */
	int refs;                /* kernel fds + mappings using it (tab_lock) */
	int flags;               /* open flags, for F_GETFL */
	uint64_t ino;
	char *path;              /* path inside the pool, for *at() calls */
	pthread_mutex_t pos;     /* vectored I/O at the shared offset */
};

#define PTAB_MAX 65536

/* Wrap a udax call returning 0/-errno (or a count) into libc's shape. */
#define UCALL(expr)                                                            \
	({                                                                     \
		udax_fs *fs = pl_fs();                                         \
		long _u;                                                       \
		if (!fs) {                                                     \
			_u = -1;                                               \
		} else {                                                       \
			in_udax++;                                             \
			_u = (expr);                                           \
			in_udax--;                                             \
			if (_u < 0)                                            \
				_u = pl_fail((int)_u);                         \
		}                                                              \
		_u;                                                            \
	})

/* @expr on @fd's udax descriptor (`pf` in scope), or @real when @fd is
 * the kernel's. */
#define ON_UDAX_FD(fd, real, expr)                                             \
	({                                                                     \
		struct pfile *pf = pf_get(fd);                                 \
		long _fdr;                                                     \
		if (!pf) {                                                     \
			_fdr = (real);                                         \
		} else {                                                       \
			_fdr = UCALL(expr);                                    \
			pf_put(pf);                                            \
		}                                                              \
		_fdr;                                                          \
	})

/* ---- state.c ---- */
udax_fs *pl_fs(void);                 /* mounted fs, or NULL with errno set */
void pl_warn_once(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pl_fail(int neg_errno);           /* sets errno, returns -1 */
int pl_active(void);                  /* UDAX_POOL set and not inside udax */
int pl_readonly(void);                /* UDAX_OPTIONS has "ro" */
mode_t pl_umask(void);                /* the program's umask */
/* In a child of fork(): forget the parent's udax state. */
void pf_forget_all(void);
void pl_maps_forget(void);
void pl_dirs_forget(void);
void pl_locks_forget(void);

/* ---- fdtab.c ---- */
struct pfile *pf_get(int fd);         /* takes tab_lock shared if a udax fd */
void pf_put(struct pfile *pf);        /* drops it */
int pf_install(struct pfile *pf, int flags); /* reserve a kernel fd */
int pf_is_udax(int fd);
struct pfile *pf_new(int ufd, int flags, const char *upath);
void pf_ref(struct pfile *pf);        /* caller holds tab_lock */
int pf_unref_locked(struct pfile *pf); /* caller holds tab_lock for writing */
void tab_wrlock(void);
void tab_unlock(void);
struct pfile *pf_slot(int fd);        /* caller holds tab_lock */
void pf_set_slot(int fd, struct pfile *pf);

/* ---- path.c ---- */
enum { PATH_HOST = 0, PATH_UDAX = 1 };
/* Classify @path (relative to @dirfd); a udax path goes to @upath.
 * Returns PATH_HOST, PATH_UDAX, or -errno. */
int pl_path(int dirfd, const char *path, char *upath);
int pl_prefix_ok(void);               /* UDAX_PREFIX is usable */
const char *pl_prefix(void);          /* the prefix, normalised */
/* As pl_path, then follow a symbolic link in the last component. */
int pl_path_follow(int dirfd, const char *path, char *upath);

/* ---- locks.c ---- */
struct flock;
int pl_flock(struct pfile *pf, int op);
void pl_flock_release(struct pfile *pf);
int pl_fcntl_lock(struct pfile *pf, int cmd, struct flock *fl);

/* ---- maps.c ---- */
struct kseg {
	char *addr;
	size_t len;
};
/* The parts of [a, a + len) that lie in udax mappings, up to @max of
 * them into @out; returns how many.  With no udax mapping at all it
 * returns 0 at once, without taking a lock. */
int pl_maps_clip(const void *a, size_t len, struct kseg *out, int max);

/* ---- kbuf.c: buffers handed to the kernel ---- */
/* The kernel cannot take udax's faults: a buffer in a udax mapping must
 * be pinned (udax_pin) around a system call that reads it (KB_IN: the
 * kernel reads the buffer, as write/send do) or stores into it (KB_OUT:
 * read/recv).  kb_add* pin the parts of a buffer that lie in udax
 * mappings (nothing, cheaply, when there are none); kb_done unpins them
 * and leaves errno alone. */
enum { KB_IN = 0, KB_OUT = 1 };
struct kbuf {
	int n, cap;
	struct kseg *seg;
	struct kseg inl[8];
};
void kb_init(struct kbuf *kb);
void kb_add(struct kbuf *kb, const void *buf, size_t len, int out);
struct iovec;
void kb_addv(struct kbuf *kb, const struct iovec *iov, int cnt, int out);
void kb_done(struct kbuf *kb);

/* @call with the buffers named by @setup (kb_add* calls on `_kb`)
 * pinned.  When the kernel only reads them (!@out) and still reports
 * EFAULT, nothing was transferred (a zero page a pin had mapped was
 * replaced meanwhile, udax_pin's documented limit): pin again and
 * retry, twice at most. */
#define KB_CALL(out, setup, call)                                              \
	({                                                                     \
		struct kbuf _kb;                                               \
		__typeof__(call) _kr;                                          \
		int _ktry = 0;                                                 \
		do {                                                           \
			kb_init(&_kb);                                         \
			setup;                                                 \
			_kr = (call);                                          \
			kb_done(&_kb);                                         \
		} while (_kr < 0 && errno == EFAULT && !(out) && _kb.n && ++_ktry < 3); \
		_kr;                                                           \
	})
#define KBUF(buf, len, out, call) KB_CALL(out, kb_add(&_kb, buf, len, out), call)
#define KBUFV(iov, cnt, out, call) KB_CALL(out, kb_addv(&_kb, iov, cnt, out), call)

/* ---- dirs.c ---- */
int pl_is_dirstream(void *d);

#endif
