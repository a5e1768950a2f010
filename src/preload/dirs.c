/*
 * dirs.c - directory streams of udax directories.
 *
 * opendir() of a udax directory returns a stream of ours (glibc's DIR is
 * opaque, so any pointer will do); every stream call checks whether the
 * pointer is one of ours before passing it to libc.  A stream holds a
 * snapshot of the directory taken at opendir()/rewinddir(), starting
 * with "." and "..", and a reserved descriptor for dirfd(), so the *at()
 * calls work relative to it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/preload.h"

struct pdir {
	struct pdir *next;
	int fd;                  /* reserved descriptor, for dirfd() */
	uint64_t ino;            /* the directory, to notice it moved */
	udax_dir *ud;
	long pos;                /* entries returned so far */
	char path[UDAX_PATH_MAX + 1];
	struct dirent64 ent;
};

static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pdir *dirs;

void pl_dirs_forget(void)
{
	pthread_mutex_init(&dir_lock, NULL);
	dirs = NULL; /* the streams leak: the parent's */
}

int pl_is_dirstream(void *d)
{
	int found = 0;

	if (!d)
		return 0;
	pthread_mutex_lock(&dir_lock);
	for (struct pdir *p = dirs; p && !found; p = p->next)
		found = (void *)p == d;
	pthread_mutex_unlock(&dir_lock);
	return found;
}

/* Read the directory again (opendir, rewinddir, seekdir).  It is found
 * by its path: if that now names another inode, the stream ends
 * (ENOENT) rather than list another directory. */
static int snapshot(udax_fs *fs, struct pdir *pd)
{
	udax_dir *ud = NULL;
	struct stat st;

	in_udax++;
	int err = udax_stat(fs, pd->path, &st);
	if (!err && pd->ino && st.st_ino != pd->ino)
		err = -ENOENT;
	if (!err)
		err = udax_opendir(fs, pd->path, &ud);
	in_udax--;
	if (!err)
		pd->ino = st.st_ino;
	if (err && pd->ud) {
		in_udax++;
		udax_closedir(pd->ud);
		in_udax--;
		pd->ud = NULL;
		pd->pos = 2; /* past "." and "..": the stream is at its end */
	}
	if (err)
		return err;
	if (pd->ud) {
		in_udax++;
		udax_closedir(pd->ud);
		in_udax--;
	}
	pd->ud = ud;
	pd->pos = 0;
	return 0;
}

/* A stream over the udax directory open as @fd (which it then owns). */
static DIR *stream_of(int fd)
{
	struct pfile *pf = pf_get(fd);
	struct pdir *pd = calloc(1, sizeof(*pd));

	if (!pf || !pd) {
		if (pf)
			pf_put(pf);
		free(pd);
		errno = pf ? ENOMEM : EBADF;
		return NULL;
	}
	snprintf(pd->path, sizeof(pd->path), "%s", pf->path);
	pd->ino = pf->ino;
	pf_put(pf);
	int err = snapshot(pl_fs(), pd);
	if (err) {
		free(pd);
		errno = -err;
		return NULL;
	}
	pd->fd = fd;
	pthread_mutex_lock(&dir_lock);
	pd->next = dirs;
	dirs = pd;
	pthread_mutex_unlock(&dir_lock);
	return (DIR *)pd;
}

PRELOAD_EXPORT DIR *opendir(const char *path)
{
	char up[UDAX_PATH_MAX + 1];
	int k = pl_path_follow(AT_FDCWD, path, up);

	if (k == PATH_HOST)
		return REAL(opendir)(path);
	if (k < 0) {
		errno = -k;
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = stream_of(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

PRELOAD_EXPORT DIR *fdopendir(int fd)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(fdopendir)(fd);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	return stream_of(fd);
}

/* The next entry, "." and ".." first. */
static struct dirent64 *next_entry(struct pdir *pd)
{
	struct udax_dirent de;
	struct dirent64 *e = &pd->ent;

	memset(e, 0, sizeof(*e));
	/* the pool's root has no ".." of its own: the prefix's parent is
	 * the host's */
	if (pd->pos == 1 && !strcmp(pd->path, "/"))
		pd->pos++;
	if (pd->pos < 2) {
		struct stat st;
		char dots[UDAX_PATH_MAX + 4];
		snprintf(dots, sizeof(dots), "%s/%s", pd->path, pd->pos ? ".." : ".");
		in_udax++;
		int err = udax_stat(pl_fs(), dots, &st);
		in_udax--;
		e->d_ino = err ? 1 : st.st_ino;
		e->d_type = DT_DIR;
		strcpy(e->d_name, pd->pos ? ".." : ".");
	} else {
		if (!pd->ud) {
			errno = ENOENT;
			return NULL;
		}
		in_udax++;
		int r = udax_readdir(pd->ud, &de);
		in_udax--;
		if (r <= 0) {
			if (r < 0)
				errno = -r;
			return NULL;
		}
		e->d_ino = de.d_ino;
		e->d_type = de.d_type;
		snprintf(e->d_name, sizeof(e->d_name), "%s", de.d_name);
	}
	pd->pos++;
	e->d_off = pd->pos;
	e->d_reclen = sizeof(*e);
	return e;
}

PRELOAD_EXPORT struct dirent *readdir(DIR *d)
{
	if (!pl_is_dirstream(d))
		return REAL(readdir)(d);
	return (struct dirent *)next_entry((struct pdir *)d);
}

PRELOAD_EXPORT struct dirent64 *readdir64(DIR *d)
{
	if (!pl_is_dirstream(d))
		return REAL(readdir64)(d);
	return next_entry((struct pdir *)d);
}

/* Deprecated, but glibc's would take our stream for its own DIR. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int entry_r(DIR *d, void *ent, size_t size, void **res)
{
	int saved = errno;
	errno = 0;
	struct dirent64 *e = next_entry((struct pdir *)d);
	int err = e ? 0 : errno;
	errno = saved;
	if (e)
		memcpy(ent, e, size);
	*res = e ? ent : NULL;
	return err;
}

PRELOAD_EXPORT int readdir_r(DIR *d, struct dirent *ent, struct dirent **res)
{
	if (!pl_is_dirstream(d))
		return REAL(readdir_r)(d, ent, res);
	return entry_r(d, ent, sizeof(*ent), (void **)res);
}

PRELOAD_EXPORT int readdir64_r(DIR *d, struct dirent64 *ent, struct dirent64 **res)
{
	if (!pl_is_dirstream(d))
		return REAL(readdir64_r)(d, ent, res);
	return entry_r(d, ent, sizeof(*ent), (void **)res);
}
#pragma GCC diagnostic pop

PRELOAD_EXPORT int closedir(DIR *d)
{
	if (!pl_is_dirstream(d))
		return REAL(closedir)(d);
	struct pdir *pd = (struct pdir *)d;
	pthread_mutex_lock(&dir_lock);
	for (struct pdir **pp = &dirs; *pp; pp = &(*pp)->next) {
		if (*pp == pd) {
			*pp = pd->next;
			break;
		}
	}
	pthread_mutex_unlock(&dir_lock);
	in_udax++;
	udax_closedir(pd->ud);
	in_udax--;
	int r = close(pd->fd);
	free(pd);
	return r;
}

PRELOAD_EXPORT int dirfd(DIR *d)
{
	if (!pl_is_dirstream(d))
		return REAL(dirfd)(d);
	return ((struct pdir *)d)->fd;
}

PRELOAD_EXPORT void rewinddir(DIR *d)
{
	if (!pl_is_dirstream(d)) {
		REAL(rewinddir)(d);
		return;
	}
	snapshot(pl_fs(), (struct pdir *)d);
}

PRELOAD_EXPORT long telldir(DIR *d)
{
	if (!pl_is_dirstream(d))
		return REAL(telldir)(d);
	return ((struct pdir *)d)->pos;
}

PRELOAD_EXPORT void seekdir(DIR *d, long pos)
{
	if (!pl_is_dirstream(d)) {
		REAL(seekdir)(d, pos);
		return;
	}
	struct pdir *pd = (struct pdir *)d;
	/* replay the snapshot up to @pos */
	if (snapshot(pl_fs(), pd) < 0)
		return;
	while (pd->pos < pos && next_entry(pd))
		;
}

/* scandir() reads through glibc-internal calls: done here on our
 * streams for udax directories. */
typedef int (*scan_filter)(const struct dirent *);
typedef int (*scan_compar)(const struct dirent **, const struct dirent **);

static int scan_udax(const char *path, struct dirent ***list, scan_filter filter,
                     scan_compar compar)
{
	DIR *d = opendir(path);
	struct dirent **v = NULL, *e;
	size_t n = 0, cap = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (filter && !filter(e))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct dirent **nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		if (!(v[n] = malloc(sizeof(*e))))
			goto nomem;
		memcpy(v[n++], e, sizeof(*e));
	}
	closedir(d);
	if (compar)
		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))compar);
	*list = v;
	return (int)n;
nomem:
	while (n)
		free(v[--n]);
	free(v);
	closedir(d);
	errno = ENOMEM;
	return -1;
}

PRELOAD_EXPORT int scandir(const char *path, struct dirent ***list, scan_filter filter,
                           scan_compar compar)
{
	char up[UDAX_PATH_MAX + 1];
	if (pl_path(AT_FDCWD, path, up) == PATH_HOST)
		return REAL(scandir)(path, list, filter, compar);
	return scan_udax(path, list, filter, compar);
}

PRELOAD_EXPORT int scandir64(const char *path, struct dirent64 ***list,
                             int (*filter)(const struct dirent64 *),
                             int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	char up[UDAX_PATH_MAX + 1];
	if (pl_path(AT_FDCWD, path, up) == PATH_HOST)
		return REAL(scandir64)(path, list, filter, compar);
	/* struct dirent and dirent64 are one layout on 64-bit Linux */
	return scan_udax(path, (struct dirent ***)list, (scan_filter)filter, (scan_compar)compar);
}
