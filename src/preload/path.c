/*
 * path.c - which host paths are udax paths.
 *
 * A path is udax's when, made absolute and normalised lexically ("."
 * and ".." removed, repeated slashes folded), it is UDAX_PREFIX or lies
 * below it; the rest of it is the path inside the pool.  Folding "." or
 * ".." after a name in the pool first looks that name up, as the
 * kernel would: "/udax/file/." and "/udax/file/.." give ENOTDIR when
 * file is no directory (a symbolic link included: udax follows none in
 * the middle of a path), "/udax/none/.." ENOENT.  Relative paths
 * are taken against a udax directory descriptor (the *at() calls) or
 * else the real working directory, which cannot be inside the prefix
 * (chdir() into it is refused).
 *
 * udax never follows symbolic links; pl_path_follow() follows one in
 * the last component, as stat()/open() do, as long as the target stays
 * inside the prefix.  A link used as a directory component gives
 * ENOTDIR, and a link that leads out of the prefix ENOTSUP (both said
 * once on stderr): refusing is better than silently touching another
 * file.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/preload.h"

#define HOST_MAX (UDAX_PATH_MAX * 2 + 2)

/* UDAX_PREFIX must name a directory other than "/" by an absolute path
 * without "." or ".." components (the prefix "/" would send the
 * program's every file, /proc included, to the pool). */
int pl_prefix_ok(void)
{
	const char *e = getenv("UDAX_PREFIX");

	if (!e || !*e)
		return 1; /* the default, /udax */
	if (*e != '/' || strlen(e) > UDAX_PATH_MAX)
		return 0;
	int comps = 0;
	for (const char *s = e; *s;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *c = strchrnul(s, '/');
		if ((c - s == 1 && s[0] == '.') || (c - s == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		comps++;
		s = c;
	}
	return comps > 0;
}

static const char *prefix(size_t *len);

/*
 * @norm (@len bytes, normalised so far) is about to lose a "." or ".."
 * component: if it lies strictly below the prefix, it must name a
 * directory of the pool.  0, or the error the kernel would give.
 */
static int dot_after(const char *norm, size_t len)
{
	char upath[UDAX_PATH_MAX + 1];
	struct stat st;
	size_t n;
	const char *p = prefix(&n);
	udax_fs *fs;

	if (len <= n || strncmp(norm, p, n) || norm[n] != '/')
		return 0; /* the root, or the host's: not ours to judge */
	if (len - n > UDAX_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(upath, norm + n, len - n);
	upath[len - n] = 0;
	if (!(fs = pl_fs()))
		return -errno;
	in_udax++;
	int err = udax_stat(fs, upath, &st);
	in_udax--;
	if (err)
		return err;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Normalise absolute @in into @out (at most @cap bytes).  @pool: look
 * up what precedes a "." or ".." in the pool (dot_after). */
static int normalise(const char *in, char *out, size_t cap, int pool)
{
	size_t o = 0;
	int err;

	for (const char *s = in; *s;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);
		int dots = len == 1 && s[0] == '.' ? 1 :
		           len == 2 && s[0] == '.' && s[1] == '.' ? 2 : 0;
		if (dots && pool && (err = dot_after(out, o)) < 0)
			return err;
		if (dots == 1) {
		} else if (dots == 2) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + 1 + len + 1 > cap)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* The prefix, normalised like every path it is compared with.  Used
 * only once pl_prefix_ok() accepted it (pl_active() checks). */
static char prefix_buf[UDAX_PATH_MAX + 1];
static size_t prefix_len;

static void prefix_init(void)
{
	const char *e = getenv("UDAX_PREFIX");

	if (normalise(e && *e ? e : "/udax", prefix_buf, sizeof(prefix_buf), 0) < 0)
		strcpy(prefix_buf, "/udax"); /* unreachable: pl_prefix_ok bounds it */
	prefix_len = strlen(prefix_buf);
}

static const char *prefix(size_t *len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, prefix_init);
	*len = prefix_len;
	return prefix_buf;
}

const char *pl_prefix(void)
{
	size_t n;
	return prefix(&n);
}

/* Host path @abs (normalised) -> pool path, if under the prefix. */
static int strip_prefix(const char *abs, char *upath)
{
	size_t n;
	const char *p = prefix(&n);

	if (strncmp(abs, p, n) || (abs[n] != '/' && abs[n] != 0))
		return PATH_HOST;
	if (strlen(abs + n) > UDAX_PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(upath, abs[n] ? abs + n : "/");
	return PATH_UDAX;
}

int pl_path(int dirfd, const char *path, char *upath)
{
	char joined[HOST_MAX], norm[HOST_MAX];

	if (!pl_active() || !path || !*path)
		return PATH_HOST;
	if (strnlen(path, UDAX_PATH_MAX + 1) > UDAX_PATH_MAX)
		return PATH_HOST; /* the kernel says ENAMETOOLONG */
	if (path[0] == '/') {
		snprintf(joined, sizeof(joined), "%s", path);
	} else if (dirfd != AT_FDCWD && pf_is_udax(dirfd)) {
		size_t n;
		struct stat st;
		struct pfile *pf = pf_get(dirfd);
		if (!pf)
			return PATH_HOST;
		/* the directory is found again by its path: refuse if that
		 * path now names another inode (renamed or removed since) */
		in_udax++;
		int gone = udax_stat(pl_fs(), pf->path, &st) < 0 || st.st_ino != pf->ino;
		in_udax--;
		snprintf(joined, sizeof(joined), "%s%s/%s", prefix(&n), pf->path, path);
		pf_put(pf);
		if (gone)
			return -ENOENT;
	} else {
		return PATH_HOST;
	}
	int err = normalise(joined, norm, sizeof(norm), 1);
	if (err)
		return err;
	int kind = strip_prefix(norm, upath);
	/* a trailing slash asks for a directory: keep it for udax */
	size_t l = strlen(path), ul;
	if (kind == PATH_UDAX && path[l - 1] == '/' && strcmp(upath, "/") &&
	    (ul = strlen(upath)) < UDAX_PATH_MAX) {
		upath[ul] = '/';
		upath[ul + 1] = 0;
	}
	return kind;
}

int pl_path_follow(int dirfd, const char *path, char *upath)
{
	int kind = pl_path(dirfd, path, upath);
	udax_fs *fs;

	for (int hops = 0; kind == PATH_UDAX; hops++) {
		struct stat st;
		char target[UDAX_SYMLINK_MAX + 1], joined[HOST_MAX], norm[HOST_MAX];
		size_t n;

		if (!(fs = pl_fs()))
			return -errno;
		in_udax++;
		int err = udax_stat(fs, upath, &st);
		ssize_t len = err || !S_ISLNK(st.st_mode) ? 0
		              : udax_readlink(fs, upath, target, sizeof(target) - 1);
		in_udax--;
		if (err || !S_ISLNK(st.st_mode))
			return PATH_UDAX; /* the call itself reports a missing file */
		if (len < 0)
			return (int)len;
		if (hops == 40)
			return -ELOOP;
		target[len] = 0;
		if (target[0] == '/') {
			snprintf(joined, sizeof(joined), "%s", target);
		} else {
			char *slash = strrchr(upath, '/');
			*slash = 0;
			snprintf(joined, sizeof(joined), "%s%s/%s", prefix(&n), upath, target);
		}
		if ((err = normalise(joined, norm, sizeof(norm), 1)) < 0)
			return err;
		kind = strip_prefix(norm, upath);
		if (kind == PATH_HOST) {
			pl_warn_once("link-out", "a symbolic link in the pool leads out of %s "
			             "(to %s): not followed (ENOTSUP)", prefix(&n), norm);
			return -ENOTSUP;
		}
	}
	return kind;
}
