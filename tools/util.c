/*
 * util.c - helpers every udax command uses: allocation that exits on
 * failure, error reports, sizes, pool paths, directory listings.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *g_cmd = "udax";

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "udax %s: out of memory\n", g_cmd);
		exit(1);
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "udax %s: out of memory\n", g_cmd);
		exit(1);
	}
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* Report a failed udax call; always returns 1, the exit status. */
int fail(const char *what, int ret)
{
	fprintf(stderr, "udax %s: %s: %s\n", g_cmd, what, strerror(-ret));
	return 1;
}

/*
 * As fail(), for mkfs/mount/fsck: only those calls leave a detail
 * message, and printing it after other calls could show a stale one.
 */
int fail_detail(const char *what, int ret)
{
	const char *detail = udax_last_error();

	if (detail && *detail)
		fprintf(stderr, "udax %s: %s: %s (%s)\n", g_cmd, what,
			strerror(-ret), detail);
	else
		fail(what, ret);
	return 1;
}

/* Report a failed host system call (errno is set). */
int fail_errno(const char *what)
{
	return fail(what, -errno);
}

/*
 * "64.0 MiB".  A few static buffers rotate so that one printf can show
 * several sizes; the tool is single-threaded.
 */
const char *human(uint64_t bytes)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	static char bufs[8][32];
	static unsigned next;
	char *b = bufs[next++ % 8];
	double v = bytes / 1024.0;
	int u = 0;

	if (bytes < 1024) {
		snprintf(b, sizeof(bufs[0]), "%" PRIu64 " B", bytes);
		return b;
	}
	/* 1023.95 would print as "1024.0", so move up a unit first. */
	while (v >= 1023.95 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(b, sizeof(bufs[0]), "%.1f %s", v, units[u]);
	return b;
}

/*
 * Parse "4096", "512K", "64M", "1G", "2T" (binary units; "KiB" and
 * "KB" are accepted as spellings of "K").  Returns 0, -EINVAL for
 * anything else, -ERANGE beyond what an off_t can hold.
 */
int parse_size(const char *s, uint64_t *out)
{
	static const char prefixes[] = "KMGTPE";
	const char *p = s, *q;
	unsigned shift = 0;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	q = *p ? strchr(prefixes, toupper((unsigned char)*p)) : NULL;
	if (q) {
		shift = 10 * (unsigned)(q - prefixes + 1);
		p++;
		if (p[0] == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
	} else if (*p == 'B') {
		p++;
	}
	if (*p)
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/*
 * The canonical pool path for a command-line argument.  Relative paths
 * are taken from the root, and ".", ".." and repeated slashes are
 * folded here so that joins, basenames and the "is it /" test in rm
 * all see one spelling.
 */
char *pool_path(const char *arg)
{
	char *out = xmalloc(strlen(arg) + 2), *o = out;
	const char *p = arg, *e;

	*o++ = '/';
	while (*p) {
		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		if (e == p)
			break;
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			while (o > out + 1 && o[-1] != '/')
				o--;
			if (o > out + 1)
				o--;
		} else if (!(e - p == 1 && p[0] == '.')) {
			if (o > out + 1)
				*o++ = '/';
			memcpy(o, p, e - p);
			o += e - p;
		}
		p = e;
	}
	*o = '\0';
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, "udax %s: out of memory\n", g_cmd);
		exit(1);
	}
	return s;
}

char *join_path(const char *dir, const char *name)
{
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
}

/* Last component of a host path, ignoring trailing slashes. */
char *host_base(const char *path)
{
	char *s = xstrdup(path), *e = s + strlen(s), *b;

	while (e > s + 1 && e[-1] == '/')
		*--e = '\0';
	b = strrchr(s, '/');
	b = xstrdup(b && b[1] ? b + 1 : s);
	free(s);
	return b;
}

char type_char(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISREG(m) ? '-' : S_ISLNK(m) ? 'l' :
	       S_ISFIFO(m) ? 'p' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' :
	       S_ISSOCK(m) ? 's' : '?';
}

void mode_string(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = type_char(m);
	for (i = 0; i < 9; i++)
		out[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

void free_names(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All entry names of directory @dir, sorted; -errno on failure. */
int read_names(udax_fs *fs, const char *dir, char ***out, size_t *np)
{
	struct udax_dirent ent;
	char **names = NULL;
	size_t n = 0, cap = 0;
	udax_dir *d;
	int ret;

	ret = udax_opendir(fs, dir, &d);
	if (ret < 0)
		return ret;
	while ((ret = udax_readdir(d, &ent)) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(ent.d_name);
	}
	udax_closedir(d);
	if (ret < 0) {
		free_names(names, n);
		return ret;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*np = n;
	return 0;
}

/* Open @path in the pool for reading; it must be a regular file. */
int open_source(udax_fs *fs, const char *path, struct stat *st)
{
	int fd = udax_open(fs, path, O_RDONLY, 0), ret;

	if (fd < 0)
		return fd;
	ret = udax_fstat(fs, fd, st);
	if (ret == 0 && S_ISDIR(st->st_mode))
		ret = -EISDIR;
	if (ret < 0) {
		udax_close(fs, fd);
		return ret;
	}
	return fd;
}


/*
 * pool_path() for a pool that is mounted: the canonical spelling, after
 * checking what folding hides.  "/file/", "/file/." and "/file/.."
 * name no directory, and the library, given the path as written, says
 * so (ENOTDIR); the folded "/file" would pass.  Returns NULL and sets
 * *@err then.
 */
char *pool_path_in(udax_fs *fs, const char *arg, int *err)
{
	char *canon = pool_path(arg), *raw;
	struct stat st;

	*err = 0;
	raw = arg[0] == '/' ? xstrdup(arg) : xasprintf("/%s", arg);
	if (strcmp(raw, canon) && udax_stat(fs, raw, &st) == -ENOTDIR) {
		*err = -ENOTDIR;
		free(canon);
		canon = NULL;
	}
	free(raw);
	return canon;
}

/* Does @c need quoting in a shell word? */
static bool shell_special(unsigned char c)
{
	return !(isalnum(c) || strchr("%+,-./:=@_^", c) || c >= 0x80);
}

/*
 * @name as GNU ls shows it on a terminal (--quoting-style=shell-escape):
 * as is when it is a plain word; in single quotes when it holds spaces
 * or shell characters (double quotes if it has a ' but nothing that
 * double quotes would expand); control characters as $'\n' pieces, so
 * that one name is always one line.  The result is malloc'ed.
 */
char *quote_name(const char *name)
{
	const unsigned char *p;
	bool special = !*name, ctrl = false, squote = false, dq_bad = false;
	size_t n = strlen(name);
	char *out, *o;

	for (p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			ctrl = true;
		if (*p == '\'')
			squote = true;
		if (strchr("$`\\\"!", *p))
			dq_bad = true;
		if (shell_special(*p))
			special = true;
	}
	/* "~" and "#" only matter at the start of a word */
	if (name[0] == '~' || name[0] == '#')
		special = true;
	if (!special)
		return xstrdup(name);
	if (!ctrl && squote && !dq_bad)
		return xasprintf("\"%s\"", name);
	o = out = xmalloc(8 * n + 3);
	bool open = false;
	for (p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			static const char esc[] = "abtnvfr";
			if (open) {
				*o++ = '\'';
				open = false;
			}
			if (*p >= 7 && *p <= 13)
				o += sprintf(o, "$'\\%c'", esc[*p - 7]);
			else
				o += sprintf(o, "$'\\%03o'", *p);
			continue;
		}
		if (!open) {
			*o++ = '\'';
			open = true;
		}
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = (char)*p;
		}
	}
	if (open)
		*o++ = '\'';
	*o = '\0';
	return out;
}

/* pool_path_in() that reports its failure (and returns NULL). */
char *pool_path_at(udax_fs *fs, const char *arg)
{
	int err;
	char *p = pool_path_in(fs, arg, &err);

	if (!p)
		fail(arg, err);
	return p;
}
