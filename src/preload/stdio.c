/*
 * stdio.c - the fopen family on udax files, through the descriptor
 * layer: the stream is a fopencookie() stream whose read, write, seek
 * and close are this library's read(), write(), lseek() and close() on
 * a udax descriptor.  (glibc's own fopen() opens files with internal
 * calls an interposer cannot see, so it would miss the prefix.)
 *
 * fileno() of such a stream is its udax descriptor; freopen() onto or
 * from a udax file is refused with ENOTSUP.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/preload.h"

static ssize_t ck_read(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

static ssize_t ck_write(void *c, const char *buf, size_t n)
{
	ssize_t r = write((int)(intptr_t)c, buf, n);
	return r < 0 ? 0 : r; /* stdio: 0 means error */
}

static int ck_seek(void *c, off64_t *off, int whence)
{
	off_t r = lseek((int)(intptr_t)c, *off, whence);
	if (r < 0)
		return -1;
	*off = r;
	return 0;
}

static int ck_close(void *c)
{
	return close((int)(intptr_t)c);
}

/* open(2) flags for an fopen() mode, or -1. */
static int mode_flags(const char *mode)
{
	int f;

	switch (mode[0]) {
	case 'r': f = O_RDONLY; break;
	case 'w': f = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': f = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			f = (f & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'x')
			f |= O_EXCL;
		else if (*m == 'e')
			f |= O_CLOEXEC;
	}
	return f;
}

static FILE *stream_on(int fd, const char *mode)
{
	cookie_io_functions_t io = { ck_read, ck_write, ck_seek, ck_close };
	FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);

	if (!f)
		return NULL;
	/* fileno() gives the udax descriptor: C++ file streams and fsync()
	 * users do their I/O on it (a cookie stream's own I/O goes through
	 * the functions above and never uses the number) */
	f->_fileno = fd;
	if (mode[0] == 'a')
		fseeko(f, 0, SEEK_END);
	return f;
}

static FILE *fopen_udax(const char *path, const char *mode, int *ours)
{
	char up[UDAX_PATH_MAX + 1];
	int k = pl_path(AT_FDCWD, path, up);

	*ours = k != PATH_HOST;
	if (!*ours)
		return NULL;
	int flags = mode ? mode_flags(mode) : -1;
	if (k < 0 || flags < 0) {
		errno = k < 0 ? -k : EINVAL;
		return NULL;
	}
	int fd = open(path, flags, 0666);
	if (fd < 0)
		return NULL;
	FILE *f = stream_on(fd, mode);
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

PRELOAD_EXPORT FILE *fopen(const char *path, const char *mode)
{
	int ours;
	FILE *f = fopen_udax(path, mode, &ours);
	return ours ? f : REAL(fopen)(path, mode);
}

PRELOAD_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	int ours;
	FILE *f = fopen_udax(path, mode, &ours);
	return ours ? f : REAL(fopen64)(path, mode);
}

PRELOAD_EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(fdopen)(fd, mode);
	if (!mode || mode_flags(mode) < 0) {
		errno = EINVAL;
		return NULL;
	}
	return stream_on(fd, mode);
}

static FILE *refuse_freopen(void)
{
	pl_warn_once("freopen", "freopen() of a udax file is not supported (ENOTSUP)");
	errno = ENOTSUP;
	return NULL;
}

PRELOAD_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	char up[UDAX_PATH_MAX + 1];
	if ((path && pl_path(AT_FDCWD, path, up) != PATH_HOST))
		return refuse_freopen();
	return REAL(freopen)(path, mode, stream);
}

PRELOAD_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	char up[UDAX_PATH_MAX + 1];
	if ((path && pl_path(AT_FDCWD, path, up) != PATH_HOST))
		return refuse_freopen();
	return REAL(freopen64)(path, mode, stream);
}
