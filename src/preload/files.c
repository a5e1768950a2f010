/*
 * files.c - descriptors of udax files: the open family, close, dup,
 * fcntl, flock, and the data calls (read/write and their positional and
 * vectored forms, lseek, the sync calls, truncate, fallocate).
 *
 * Every function first asks whether its descriptor or path is udax's;
 * if not, it calls libc's own function with the same arguments, so
 * everything else a program does is untouched.  udax errors come back
 * as -1 with errno set, exactly as the system call would report them.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

#define NOT_OURS INT_MIN


/* Flags udax_open() understands; the rest are the kernel's business
 * (O_CLOEXEC goes to the reserved descriptor) or mean nothing for a
 * file whose data path has no cache (O_DIRECT, O_NONBLOCK). */
#define UDAX_OPEN_OK (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_SYNC | \
                      O_DSYNC | O_DIRECTORY | O_NOFOLLOW)

static int udax_open_path(const char *up, int flags, mode_t mode)
{
	udax_fs *fs = pl_fs();
	struct stat st;

	if (!fs)
		return -1;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		pl_warn_once("tmpfile", "O_TMPFILE is not supported on udax files (EOPNOTSUPP)");
		return pl_fail(-EOPNOTSUPP);
	}
	int uflags = flags & UDAX_OPEN_OK;
	if (flags & O_PATH)
		uflags = O_RDONLY | (flags & (O_DIRECTORY | O_NOFOLLOW));
	in_udax++;
	int ufd = udax_open(fs, up, uflags, mode & ~pl_umask() & 07777);
	if (ufd >= 0)
		udax_fstat(fs, ufd, &st);
	in_udax--;
	if (ufd < 0)
		return pl_fail(ufd);
	struct pfile *pf = pf_new(ufd, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), up);
	if (!pf) {
		in_udax++;
		udax_close(fs, ufd);
		in_udax--;
		return pl_fail(-ENOMEM);
	}
	pf->ino = st.st_ino;
	int fd = pf_install(pf, flags);
	if (fd < 0) {
		int e = errno;
		tab_wrlock();
		pf->refs = 1;
		pf_unref_locked(pf);
		tab_unlock();
		errno = e;
	}
	return fd;
}

/* open/openat for any path: NOT_OURS when the path is the host's. */
static int open_at(int dirfd, const char *path, int flags, mode_t mode)
{
	char up[UDAX_PATH_MAX + 1];
	int kind = (flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL))
	           ? pl_path(dirfd, path, up) : pl_path_follow(dirfd, path, up);

	if (kind == PATH_HOST)
		return NOT_OURS;
	if (kind < 0)
		return pl_fail(kind);
	return udax_open_path(up, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

#define OPEN_WRAPPER(name, real_call)                                          \
	PRELOAD_EXPORT int name(const char *path, int flags, ...)              \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, flags);                                           \
		mode_t mode = mode_arg(flags, ap);                             \
		va_end(ap);                                                    \
		int fd = open_at(AT_FDCWD, path, flags, mode);                 \
		return fd != NOT_OURS ? fd : real_call;                        \
	}
OPEN_WRAPPER(open, REAL(open)(path, flags, mode))
OPEN_WRAPPER(open64, REAL(open64)(path, flags, mode))

#define OPENAT_WRAPPER(name)                                                   \
	PRELOAD_EXPORT int name(int dirfd, const char *path, int flags, ...)   \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, flags);                                           \
		mode_t mode = mode_arg(flags, ap);                             \
		va_end(ap);                                                    \
		int fd = open_at(dirfd, path, flags, mode);                    \
		return fd != NOT_OURS ? fd : REAL(name)(dirfd, path, flags, mode); \
	}
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

PRELOAD_EXPORT int creat(const char *path, mode_t mode)
{
	int fd = open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	return fd != NOT_OURS ? fd : REAL(creat)(path, mode);
}

PRELOAD_EXPORT int creat64(const char *path, mode_t mode)
{
	int fd = open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	return fd != NOT_OURS ? fd : REAL(creat64)(path, mode);
}

/* _FORTIFY_SOURCE entry points (no mode argument). */
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);

PRELOAD_EXPORT int __open_2(const char *path, int flags)
{
	int fd = open_at(AT_FDCWD, path, flags, 0);
	return fd != NOT_OURS ? fd : REAL(__open_2)(path, flags);
}

PRELOAD_EXPORT int __open64_2(const char *path, int flags)
{
	int fd = open_at(AT_FDCWD, path, flags, 0);
	return fd != NOT_OURS ? fd : REAL(__open64_2)(path, flags);
}

PRELOAD_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int fd = open_at(dirfd, path, flags, 0);
	return fd != NOT_OURS ? fd : REAL(__openat_2)(dirfd, path, flags);
}

PRELOAD_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int fd = open_at(dirfd, path, flags, 0);
	return fd != NOT_OURS ? fd : REAL(__openat64_2)(dirfd, path, flags);
}

/* ---- close and dup ---- */

PRELOAD_EXPORT int close(int fd)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(close)(fd);
	tab_wrlock();
	struct pfile *pf = pf_slot(fd);
	int err = 0;
	if (pf) {
		pf_set_slot(fd, NULL);
		err = pf_unref_locked(pf);
	}
	tab_unlock();
	int r = REAL(close)(fd);
	return err ? pl_fail(err) : r;
}

/* close_range()/closefrom(): forget the udax descriptors first, or a
 * number the kernel hands out again would still lead to the old file. */
static void forget_range(unsigned first, unsigned last)
{
	tab_wrlock();
	for (unsigned fd = first; fd <= last && fd < PTAB_MAX; fd++) {
		struct pfile *pf = pf_slot((int)fd);
		if (pf) {
			pf_set_slot((int)fd, NULL);
			pf_unref_locked(pf);
		}
	}
	tab_unlock();
}

PRELOAD_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (!in_udax && !(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		forget_range(first, last);
	return REAL(close_range)(first, last, flags);
}

PRELOAD_EXPORT void closefrom(int lowfd)
{
	if (!in_udax && lowfd >= 0)
		forget_range((unsigned)lowfd, PTAB_MAX - 1);
	REAL(closefrom)(lowfd);
}

/* Make @newfd (just created by the kernel from @oldfd) share its pfile. */
static void share_slot(int oldfd, int newfd)
{
	struct pfile *pf = pf_slot(oldfd);

	if (!pf || newfd < 0)
		return;
	if (newfd >= PTAB_MAX) { /* cannot track it: refuse the copy */
		REAL(close)(newfd);
		return;
	}
	pf_ref(pf);
	pf_set_slot(newfd, pf);
}

PRELOAD_EXPORT int dup(int oldfd)
{
	if (!pf_is_udax(oldfd) || in_udax)
		return REAL(dup)(oldfd);
	tab_wrlock();
	int fd = REAL(dup)(oldfd);
	share_slot(oldfd, fd);
	if (fd >= PTAB_MAX) {
		fd = -1;
		errno = EMFILE;
	}
	tab_unlock();
	return fd;
}

static int dup_onto(int oldfd, int newfd, int flags, int three)
{
	if ((!pf_is_udax(oldfd) && !pf_is_udax(newfd)) || in_udax)
		return three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	if (newfd < 0 || newfd >= PTAB_MAX)
		return pl_fail(-EBADF);
	tab_wrlock();
	struct pfile *victim = oldfd != newfd ? pf_slot(newfd) : NULL;
	int r = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	int e = errno;
	if (r >= 0 && oldfd != newfd) {
		if (victim) {
			pf_set_slot(newfd, NULL);
			pf_unref_locked(victim);
		}
		share_slot(oldfd, newfd);
	}
	tab_unlock();
	errno = e;
	return r;
}

PRELOAD_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, 0);
}

PRELOAD_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, 1);
}

/* ---- fcntl, flock ---- */

#define GETFL_KEEP (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_DIRECT | \
                    O_NOATIME | O_LARGEFILE | O_PATH | O_DIRECTORY | O_NOFOLLOW)

static int fcntl_udax(int fd, int cmd, void *arg)
{
	long iarg = (long)arg;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		tab_wrlock();
		int nfd = REAL(fcntl)(fd, cmd, iarg);
		share_slot(fd, nfd);
		tab_unlock();
		if (nfd >= PTAB_MAX) { /* share_slot closed it */
			nfd = -1;
			errno = EMFILE;
		}
		return nfd;
	}
	case F_GETFD:
	case F_SETFD:
		return REAL(fcntl)(fd, cmd, iarg);
	default:
		break;
	}
	struct pfile *pf = pf_get(fd);
	int r = 0;
	if (!pf)
		return REAL(fcntl)(fd, cmd, arg);
	switch (cmd) {
	case F_GETFL:
		r = pf->flags & GETFL_KEEP;
		break;
	case F_SETFL:
		if ((iarg ^ pf->flags) & O_APPEND) {
			pl_warn_once("setfl-append", "fcntl(F_SETFL) cannot change O_APPEND "
			             "of a udax file (EINVAL)");
			r = pl_fail(-EINVAL);
		} else {
			int chg = O_NONBLOCK | O_NOATIME | O_DIRECT | O_ASYNC;
			__atomic_store_n(&pf->flags, (pf->flags & ~chg) | (int)(iarg & chg),
			                 __ATOMIC_RELAXED);
		}
		break;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		r = pl_fcntl_lock(pf, cmd, arg);
		r = r < 0 ? pl_fail(r) : 0;
		break;
	default:
		pl_warn_once("fcntl", "fcntl command %d is not supported on udax files (EINVAL)", cmd);
		r = pl_fail(-EINVAL);
		break;
	}
	pf_put(pf);
	return r;
}

PRELOAD_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!pf_is_udax(fd) || in_udax)
		return REAL(fcntl)(fd, cmd, arg);
	return fcntl_udax(fd, cmd, arg);
}

PRELOAD_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!pf_is_udax(fd) || in_udax)
		return REAL(fcntl64)(fd, cmd, arg);
	return fcntl_udax(fd, cmd, arg);
}

PRELOAD_EXPORT int flock(int fd, int op)
{
	struct pfile *pf = pf_get(fd);

	if (!pf)
		return REAL(flock)(fd, op);
	/* wait without holding the table: the holder may need to close */
	pf_ref(pf);
	pf_put(pf);
	int r = pl_flock(pf, op);
	tab_wrlock();
	pf_unref_locked(pf);
	tab_unlock();
	return r < 0 ? pl_fail(r) : 0;
}

/* ---- data ---- */

/* The data calls: as ON_UDAX_FD, and an O_PATH descriptor, which only
 * names its file, refuses them. */
#define ON_FD(fd, real, expr) \
	ON_UDAX_FD(fd, real, (pf->flags & O_PATH) ? -EBADF : (expr))

PRELOAD_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	return ON_FD(fd, KBUF(buf, n, KB_OUT, REAL(read)(fd, buf, n)), udax_read(fs, pf->ufd, buf, n));
}

PRELOAD_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	return ON_FD(fd, KBUF(buf, n, KB_IN, REAL(write)(fd, buf, n)), udax_write(fs, pf->ufd, buf, n));
}

PRELOAD_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return ON_FD(fd, KBUF(buf, n, KB_OUT, REAL(pread)(fd, buf, n, off)), udax_pread(fs, pf->ufd, buf, n, off));
}

PRELOAD_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return ON_FD(fd, KBUF(buf, n, KB_OUT, REAL(pread64)(fd, buf, n, off)), udax_pread(fs, pf->ufd, buf, n, off));
}

PRELOAD_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return ON_FD(fd, KBUF(buf, n, KB_IN, REAL(pwrite)(fd, buf, n, off)), udax_pwrite(fs, pf->ufd, buf, n, off));
}

PRELOAD_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return ON_FD(fd, KBUF(buf, n, KB_IN, REAL(pwrite64)(fd, buf, n, off)), udax_pwrite(fs, pf->ufd, buf, n, off));
}

/* Vectored I/O at @off (or, off < 0, at the descriptor's offset, which
 * pf->pos keeps from moving underneath). */
static ssize_t vec_io(udax_fs *fs, struct pfile *pf, const struct iovec *iov, int cnt,
                      off_t off, int wr)
{
	ssize_t done = 0;
	int at_pos = off < 0;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (at_pos) {
		pthread_mutex_lock(&pf->pos);
		/* appends go through udax_write so they land at the end */
		if (wr && (pf->flags & O_APPEND)) {
			size_t total = 0;
			for (int i = 0; i < cnt; i++)
				total += iov[i].iov_len;
			char *b = malloc(total ? total : 1);
			if (!b) {
				pthread_mutex_unlock(&pf->pos);
				return -ENOMEM;
			}
			for (int i = 0; i < cnt; i++) {
				memcpy(b + done, iov[i].iov_base, iov[i].iov_len);
				done += (ssize_t)iov[i].iov_len;
			}
			done = udax_write(fs, pf->ufd, b, total);
			free(b);
			pthread_mutex_unlock(&pf->pos);
			return done;
		}
		off = udax_lseek(fs, pf->ufd, 0, SEEK_CUR);
	}
	for (int i = 0; i < cnt && off >= 0; i++) {
		ssize_t r = wr ? udax_pwrite(fs, pf->ufd, iov[i].iov_base, iov[i].iov_len, off)
		               : udax_pread(fs, pf->ufd, iov[i].iov_base, iov[i].iov_len, off);
		if (r < 0) {
			if (!done)
				done = r;
			break;
		}
		done += r;
		off += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	if (at_pos) {
		if (done > 0)
			udax_lseek(fs, pf->ufd, off, SEEK_SET);
		pthread_mutex_unlock(&pf->pos);
	}
	return done;
}

PRELOAD_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return ON_FD(fd, KBUFV(iov, cnt, KB_OUT, REAL(readv)(fd, iov, cnt)), vec_io(fs, pf, iov, cnt, -1, 0));
}

PRELOAD_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return ON_FD(fd, KBUFV(iov, cnt, KB_IN, REAL(writev)(fd, iov, cnt)), vec_io(fs, pf, iov, cnt, -1, 1));
}

#define PVEC(name, wr)                                                         \
	PRELOAD_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off) \
	{                                                                      \
		return ON_FD(fd, KBUFV(iov, cnt, wr ? KB_IN : KB_OUT, REAL(name)(fd, iov, cnt, off)), \
		             off < 0 ? -EINVAL : vec_io(fs, pf, iov, cnt, off, wr)); \
	}
PVEC(preadv, 0)
PVEC(preadv64, 0)
PVEC(pwritev, 1)
PVEC(pwritev64, 1)

/* preadv2/pwritev2: offset -1 means the current offset; the RWF_ flags
 * are hints or (RWF_DSYNC, RWF_SYNC) made true by syncing afterwards. */
#define PVEC2(name, wr)                                                        \
	PRELOAD_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off, int fl) \
	{                                                                      \
		return ON_FD(fd, KBUFV(iov, cnt, wr ? KB_IN : KB_OUT, REAL(name)(fd, iov, cnt, off, fl)), \
		             vec2(fs, pf, iov, cnt, off, fl, wr));             \
	}

static ssize_t vec2(udax_fs *fs, struct pfile *pf, const struct iovec *iov, int cnt,
                    off_t off, int fl, int wr)
{
	if (off < -1 || (fl & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)))
		return -EOPNOTSUPP;
	if (fl & RWF_APPEND) {
		pl_warn_once("rwf-append", "RWF_APPEND is not supported on udax files");
		return -EOPNOTSUPP;
	}
	ssize_t r = vec_io(fs, pf, iov, cnt, off, wr);
	if (r > 0 && wr && (fl & (RWF_DSYNC | RWF_SYNC))) {
		int e = (fl & RWF_SYNC) ? udax_fsync(fs, pf->ufd) : udax_fdatasync(fs, pf->ufd);
		if (e < 0)
			return e;
	}
	return r;
}
PVEC2(preadv2, 0)
PVEC2(preadv64v2, 0)
PVEC2(pwritev2, 1)
PVEC2(pwritev64v2, 1)

PRELOAD_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	return ON_FD(fd, REAL(lseek)(fd, off, whence), udax_lseek(fs, pf->ufd, off, whence));
}

PRELOAD_EXPORT off_t lseek64(int fd, off_t off, int whence)
{
	return ON_FD(fd, REAL(lseek64)(fd, off, whence), udax_lseek(fs, pf->ufd, off, whence));
}

PRELOAD_EXPORT int fsync(int fd)
{
	return (int)ON_FD(fd, REAL(fsync)(fd), udax_fsync(fs, pf->ufd));
}

PRELOAD_EXPORT int fdatasync(int fd)
{
	return (int)ON_FD(fd, REAL(fdatasync)(fd), udax_fdatasync(fs, pf->ufd));
}

/* Writes are durable when they return; mapped stores are what a range
 * sync must flush, and fdatasync flushes every dirty page of the file
 * (a superset of the range). */
PRELOAD_EXPORT int sync_file_range(int fd, off_t off, off_t n, unsigned int fl)
{
	return (int)ON_FD(fd, REAL(sync_file_range)(fd, off, n, fl),
	                  (off < 0 || n < 0) ? -EINVAL
	                  : (fl & SYNC_FILE_RANGE_WRITE) ? udax_fdatasync(fs, pf->ufd) : 0);
}

/* Flush every open udax file (mapped stores included) */
static int sync_all_udax(void)
{
	udax_fs *fs = NULL;
	int err = 0;

	if (!pl_active())
		return 0;
	tab_wrlock(); /* a stable table; no pfile goes away meanwhile */
	for (int fd = 0; fd < PTAB_MAX; fd++) {
		struct pfile *pf = pf_slot(fd);
		if (!pf)
			continue;
		if (!fs && !(fs = pl_fs()))
			break;
		in_udax++;
		int e = udax_fsync(fs, pf->ufd);
		in_udax--;
		if (e && e != -EBADF && !err)
			err = e;
	}
	tab_unlock();
	return err;
}

PRELOAD_EXPORT int syncfs(int fd)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(syncfs)(fd);
	int err = sync_all_udax();
	return err ? pl_fail(err) : 0;
}

PRELOAD_EXPORT void sync(void)
{
	REAL(sync)();
	if (!in_udax)
		sync_all_udax();
}

PRELOAD_EXPORT int ftruncate(int fd, off_t len)
{
	return (int)ON_FD(fd, REAL(ftruncate)(fd, len), udax_ftruncate(fs, pf->ufd, len));
}

PRELOAD_EXPORT int ftruncate64(int fd, off_t len)
{
	return (int)ON_FD(fd, REAL(ftruncate64)(fd, len), udax_ftruncate(fs, pf->ufd, len));
}

static int truncate_path(const char *path, off_t len)
{
	char up[UDAX_PATH_MAX + 1];
	int kind = pl_path_follow(AT_FDCWD, path, up);

	if (kind == PATH_HOST)
		return NOT_OURS;
	if (kind < 0)
		return pl_fail(kind);
	udax_fs *fs = pl_fs();
	if (!fs)
		return -1;
	in_udax++;
	int fd = udax_open(fs, up, O_WRONLY, 0);
	int r = fd < 0 ? fd : udax_ftruncate(fs, fd, len);
	if (fd >= 0)
		udax_close(fs, fd);
	in_udax--;
	return r < 0 ? pl_fail(r) : 0;
}

PRELOAD_EXPORT int truncate(const char *path, off_t len)
{
	int r = truncate_path(path, len);
	return r != NOT_OURS ? r : REAL(truncate)(path, len);
}

PRELOAD_EXPORT int truncate64(const char *path, off_t len)
{
	int r = truncate_path(path, len);
	return r != NOT_OURS ? r : REAL(truncate64)(path, len);
}

#define FALLOC_OK (UDAX_FALLOC_KEEP_SIZE | UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE)

static int falloc(udax_fs *fs, struct pfile *pf, int mode, off_t off, off_t len)
{
	if (mode & ~FALLOC_OK)
		return -EOPNOTSUPP;
	return udax_fallocate(fs, pf->ufd, mode, off, len);
}

PRELOAD_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	return (int)ON_FD(fd, REAL(fallocate)(fd, mode, off, len), falloc(fs, pf, mode, off, len));
}

PRELOAD_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return (int)ON_FD(fd, REAL(fallocate64)(fd, mode, off, len), falloc(fs, pf, mode, off, len));
}

/* posix_fallocate returns the error number instead of setting errno. */
PRELOAD_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(posix_fallocate)(fd, off, len);
	int saved = errno;
	int r = (int)ON_FD(fd, REAL(posix_fallocate)(fd, off, len), falloc(fs, pf, 0, off, len));
	r = r < 0 ? errno : 0;
	errno = saved;
	return r;
}

PRELOAD_EXPORT int posix_fallocate64(int fd, off_t off, off_t len)
{
	return posix_fallocate(fd, off, len);
}

/* Advice only: udax has no page cache to prime or drop. */
PRELOAD_EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(posix_fadvise)(fd, off, len, advice);
	return advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE || len < 0 ? EINVAL : 0;
}

PRELOAD_EXPORT int posix_fadvise64(int fd, off_t off, off_t len, int advice)
{
	return posix_fadvise(fd, off, len, advice);
}

PRELOAD_EXPORT ssize_t readahead(int fd, off64_t off, size_t n)
{
	return ON_FD(fd, REAL(readahead)(fd, off, n), 0);
}

/* In-kernel copies cannot reach udax files: refuse in the ways callers
 * already handle by falling back to read()/write(). */
PRELOAD_EXPORT ssize_t copy_file_range(int in, off64_t *oin, int out, off64_t *oout,
                                       size_t n, unsigned int fl)
{
	if ((!pf_is_udax(in) && !pf_is_udax(out)) || in_udax)
		return REAL(copy_file_range)(in, oin, out, oout, n, fl);
	return pl_fail(-EXDEV);
}

PRELOAD_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	if ((!pf_is_udax(in) && !pf_is_udax(out)) || in_udax)
		return REAL(sendfile)(out, in, off, n);
	return pl_fail(-EINVAL);
}

PRELOAD_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
	if ((!pf_is_udax(in) && !pf_is_udax(out)) || in_udax)
		return REAL(sendfile64)(out, in, off, n);
	return pl_fail(-EINVAL);
}

PRELOAD_EXPORT ssize_t splice(int in, off64_t *oin, int out, off64_t *oout, size_t n,
                              unsigned int fl)
{
	if ((!pf_is_udax(in) && !pf_is_udax(out)) || in_udax)
		return REAL(splice)(in, oin, out, oout, n, fl);
	return pl_fail(-EINVAL);
}

/* No ioctl is meaningful on a udax file (no FIEMAP, no FICLONE): the
 * answer a file system gives for an ioctl it does not know. */
PRELOAD_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!pf_is_udax(fd) || in_udax)
		return REAL(ioctl)(fd, req, arg);
	return pl_fail(-ENOTTY);
}
