/*
 * udax.c - the udax command-line tool.
 *
 * One binary with subcommands (mkfs, fsck, info, ls, put, get, ...),
 * each a thin layer over the public API in udax.h and nothing else, so
 * the tool doubles as the first real user of that API.  There is no
 * daemon: every command except mkfs and fsck mounts the pool, does its
 * one job and unmounts it again.
 *
 * Exit status: 0 success, 1 a udax or host call failed, 2 bad usage.
 * fsck follows e2fsck instead: 0 clean, 4 problems found, 8 the pool
 * could not be opened.
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
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "udax.h"
#ifdef UDAX_HAVE_FUSE
#include "fuse/fuse_fs.h"
#endif

/* Implemented in demo.c; declared here to keep the tool to two files. */
int udax_demo(const char *pool);

#define EXIT_USAGE 2
#define COPY_CHUNK (1u << 20)
#define PROGRESS_MIN (8ull << 20)
#define DEMO_POOL "/dev/shm/udax-demo.pool"

struct ctx {
	const struct command *cmd;
	bool opt[256];  /* indexed by the option's short letter */
	const char *value[256]; /* argument of an option that takes one */
	int argc;       /* positional arguments only; argv[0] is POOL */
	char **argv;
};

struct command {
	const char *name;
	const char *synopsis;
	const char *summary;
	const char *options;   /* short letters accepted besides -h */
	int min_args, max_args;
	bool mounts;           /* main() mounts argv[0] around run() */
	int (*run)(struct ctx *c, udax_fs *fs);
};

static const struct command *find_command(const char *name);
static void usage(FILE *f);
static void command_usage(const struct command *cmd, FILE *f);
static void command_help(const struct command *cmd, FILE *f);

/* Name of the running command, for error messages. */
static const char *g_cmd = "udax";

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "udax %s: out of memory\n", g_cmd);
		exit(1);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "udax %s: out of memory\n", g_cmd);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* Report a failed udax call; always returns 1, the exit status. */
static int fail(const char *what, int ret)
{
	fprintf(stderr, "udax %s: %s: %s\n", g_cmd, what, strerror(-ret));
	return 1;
}

/*
 * As fail(), for mkfs/mount/fsck: only those calls leave a detail
 * message, and printing it after other calls could show a stale one.
 */
static int fail_detail(const char *what, int ret)
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
static int fail_errno(const char *what)
{
	return fail(what, -errno);
}

/*
 * "64.0 MiB".  A few static buffers rotate so that one printf can show
 * several sizes; the tool is single-threaded.
 */
static const char *human(uint64_t bytes)
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
static int parse_size(const char *s, uint64_t *out)
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
static char *pool_path(const char *arg)
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

static char *xasprintf(const char *fmt, ...)
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

static char *join_path(const char *dir, const char *name)
{
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
}

/* Last component of a host path, ignoring trailing slashes. */
static char *host_base(const char *path)
{
	char *s = xstrdup(path), *e = s + strlen(s), *b;

	while (e > s + 1 && e[-1] == '/')
		*--e = '\0';
	b = strrchr(s, '/');
	b = xstrdup(b && b[1] ? b + 1 : s);
	free(s);
	return b;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Length of the block that starts at @i of an @n-byte buffer. */
static size_t block_len(size_t n, size_t i)
{
	return n - i < UDAX_BLOCK_SIZE ? n - i : UDAX_BLOCK_SIZE;
}

/* Length of the run of non-zero blocks starting at @i (0 if a hole). */
static size_t data_run(const unsigned char *buf, size_t n, size_t i)
{
	size_t run = 0;

	while (i + run < n && !all_zero(buf + i + run, block_len(n, i + run)))
		run += block_len(n, i + run);
	return run;
}

static char type_char(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISREG(m) ? '-' : '?';
}

static void mode_string(mode_t m, char out[11])
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

/* ------------------------------------------------------------------ */
/* Progress bar (stderr, only on a terminal, only for big files)      */
/* ------------------------------------------------------------------ */

struct progress {
	uint64_t total;
	int shown;   /* percentage on screen, -1 before the first */
	bool on;
};

static void progress_start(struct progress *pg, uint64_t total, bool want)
{
	pg->total = total;
	pg->shown = -1;
	pg->on = want && total >= PROGRESS_MIN && isatty(STDERR_FILENO);
}

static void progress_update(struct progress *pg, uint64_t done)
{
	static const char bar[] = "##############################";
	int pct;

	if (!pg->on)
		return;
	if (done > pg->total)
		done = pg->total;
	pct = (int)(done * 100 / pg->total);
	if (pct == pg->shown)
		return;
	pg->shown = pct;
	fprintf(stderr, "\r[%-30.*s] %3d%% %s / %s\033[K", pct * 30 / 100,
		bar, pct, human(done), human(pg->total));
}

/* Leave the bar's line, so that later messages start on their own. */
static void progress_end(struct progress *pg)
{
	if (pg->on && pg->shown >= 0)
		fputc('\n', stderr);
	pg->on = false;
}

/* ------------------------------------------------------------------ */
/* Data movement                                                      */
/* ------------------------------------------------------------------ */

/* Read up to @len bytes, short only at end of file; -1 on error. */
static ssize_t host_read(int fd, void *buf, size_t len, off_t off,
			 bool positional)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (positional)
			n = pread(fd, (char *)buf + done, len - done,
				  off + done);
		else
			n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Write all of @buf at @off, or sequentially when @off < 0. */
static int host_write(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (off >= 0)
			n = pwrite(fd, (const char *)buf + done, len - done,
				   off + done);
		else
			n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += n;
	}
	return 0;
}

static int udax_write_all(udax_fs *fs, int fd, const void *buf, size_t len,
			  off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = udax_pwrite(fs, fd, (const char *)buf + done, len - done,
				off + done);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/* Write the non-zero blocks of a chunk, leaving the zero ones as holes. */
static int udax_write_sparse(udax_fs *fs, int fd, const unsigned char *buf,
			     size_t len, off_t off)
{
	size_t i = 0, run;
	int ret;

	while (i < len) {
		run = data_run(buf, len, i);
		if (!run) {
			i += block_len(len, i);
			continue;
		}
		ret = udax_write_all(fs, fd, buf + i, run, off + i);
		if (ret < 0)
			return ret;
		i += run;
	}
	return 0;
}

static int host_write_sparse(int fd, const unsigned char *buf, size_t len,
			     off_t off)
{
	size_t i = 0, run;

	while (i < len) {
		run = data_run(buf, len, i);
		if (!run) {
			i += block_len(len, i);
			continue;
		}
		if (host_write(fd, buf + i, run, off + i) < 0)
			return -1;
		i += run;
	}
	return 0;
}

/*
 * Where the next data of host file @fd starts at or after @off, rounded
 * down to a block so that chunks stay block-aligned; -1 if only a hole
 * remains.  File systems without SEEK_DATA simply get read in full.
 */
static off_t host_next_data(int fd, off_t off)
{
	off_t d = lseek(fd, off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? -1 : off;
	d &= ~(off_t)(UDAX_BLOCK_SIZE - 1);
	return d > off ? d : off;
}

/*
 * Copy host file @hfd into udax file @ufd, holes included.  Regular
 * files are read by offset so their holes can be skipped without
 * reading them; pipes are read as they come.
 */
static int copy_in(udax_fs *fs, int ufd, const char *dst, int hfd,
		   const char *host, const struct stat *hst)
{
	bool reg = S_ISREG(hst->st_mode);
	unsigned char *buf = xmalloc(COPY_CHUNK);
	struct progress pg;
	off_t off = 0, size = -1;
	ssize_t n;
	int ret = 0;

	progress_start(&pg, reg ? (uint64_t)hst->st_size : 0, true);
	for (;;) {
		if (reg && (off = host_next_data(hfd, off)) < 0)
			break;
		n = host_read(hfd, buf, COPY_CHUNK, off, reg);
		if (n < 0) {
			progress_end(&pg);
			ret = fail_errno(host);
			goto out;
		}
		if (n == 0) {
			size = off;
			break;
		}
		ret = udax_write_sparse(fs, ufd, buf, n, off);
		if (ret < 0) {
			progress_end(&pg);
			ret = fail(dst, ret);
			goto out;
		}
		off += n;
		progress_update(&pg, off);
	}
	progress_end(&pg);
	/* Ended in a trailing hole: the host's size is the truth. */
	if (size < 0) {
		struct stat now;

		size = fstat(hfd, &now) == 0 ? now.st_size : hst->st_size;
	}
	ret = udax_ftruncate(fs, ufd, size);
	if (ret < 0)
		ret = fail(dst, ret);
out:
	free(buf);
	return ret;
}

/*
 * The next data segment of udax file @fd at or after @off, capped to
 * one chunk, as [*start, *end).  Returns 0, 1 when only holes remain,
 * or -errno.
 */
static int next_segment(udax_fs *fs, int fd, off_t off, off_t size,
			off_t *start, off_t *end)
{
	off_t d = udax_lseek(fs, fd, off, SEEK_DATA), h;

	if (d == -ENXIO || d >= size)
		return 1;
	if (d < 0)
		return (int)d;
	h = udax_lseek(fs, fd, d, SEEK_HOLE);
	if (h < 0)
		return (int)h;
	/* A hole before the data would make a negative read length. */
	if (h <= d || h > size)
		h = size;
	*start = d;
	*end = h - d > COPY_CHUNK ? d + COPY_CHUNK : h;
	return 0;
}

/*
 * Copy udax file @ufd (@size bytes) to host fd @hfd.  With @sparse the
 * host fd is a regular file written by offset: udax holes and all-zero
 * blocks are skipped and a final ftruncate sets the size.  Otherwise
 * (stdout, pipes, devices) every byte is written in order.
 */
static int copy_out(udax_fs *fs, int ufd, const char *src, off_t size,
		    int hfd, const char *host, bool sparse, bool bar)
{
	unsigned char *buf = xmalloc(COPY_CHUNK);
	struct progress pg;
	off_t off = 0, end;
	ssize_t n;
	int seg, rc = 1;

	progress_start(&pg, size, bar);
	while (off < size) {
		end = size - off > COPY_CHUNK ? off + COPY_CHUNK : size;
		seg = sparse ? next_segment(fs, ufd, off, size, &off, &end) : 0;
		if (seg == 1)
			break;
		n = seg < 0 ? seg : udax_pread(fs, ufd, buf, end - off, off);
		if (n < 0) {
			progress_end(&pg);
			fail(src, (int)n);
			goto out;
		}
		if (n == 0)
			break;   /* truncated under us */
		if (sparse ? host_write_sparse(hfd, buf, n, off) :
			     host_write(hfd, buf, n, -1)) {
			progress_end(&pg);
			fail_errno(host);
			goto out;
		}
		off += n;
		progress_update(&pg, off);
	}
	progress_end(&pg);
	if (sparse && ftruncate(hfd, size) < 0) {
		fail_errno(host);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Commands that do not mount                                         */
/* ------------------------------------------------------------------ */

static int cmd_mkfs(struct ctx *c, udax_fs *unused)
{
	const char *pool = c->argv[0], *arg = c->argv[1];
	uint64_t size;
	int ret;

	ret = parse_size(arg, &size);
	if (ret < 0) {
		fprintf(stderr, "udax mkfs: %s: %s\n", arg,
			arg[0] == '-' ? "size must not be negative" :
			ret == -ERANGE ? "size too large" :
			"invalid size (examples: 64M, 1G, 512K, 4096)");
		return EXIT_USAGE;
	}
	/* 0 asks udax to use the file's current size. */
	if (size && size < UDAX_MIN_POOL_SIZE) {
		fprintf(stderr, "udax mkfs: %s: a pool needs at least %s\n",
			arg, human(UDAX_MIN_POOL_SIZE));
		return EXIT_USAGE;
	}
	ret = udax_mkfs(pool, size, c->opt['f'] ? UDAX_MKFS_FORCE : 0);
	if (ret == -EEXIST) {
		fprintf(stderr, "udax mkfs: %s already holds a udax file "
			"system; use --force to overwrite it\n", pool);
		return 1;
	}
	if (ret < 0)
		return fail_detail(pool, ret);
	size &= ~(uint64_t)(UDAX_BLOCK_SIZE - 1);
	if (size)
		printf("%s: formatted, %s (%" PRIu64 " bytes)\n", pool,
		       human(size), size);
	else
		printf("%s: formatted\n", pool);
	return 0;
}

static void fsck_report(void *arg, const char *problem)
{
	printf("%s\n", problem);
}

static int cmd_fsck(struct ctx *c, udax_fs *unused)
{
	const char *pool = c->argv[0];
	int ret = udax_fsck(pool, fsck_report, NULL);

	if (ret < 0) {
		fail_detail(pool, ret);
		return 8;
	}
	if (ret == 0) {
		printf("%s: clean\n", pool);
		return 0;
	}
	printf("%s: %d %s\n", pool, ret, ret == 1 ? "problem" : "problems");
	return 4;
}

static int cmd_demo(struct ctx *c, udax_fs *unused)
{
	return udax_demo(c->argc ? c->argv[0] : DEMO_POOL) ? 1 : 0;
}

static int cmd_help(struct ctx *c, udax_fs *unused)
{
	const struct command *cmd;

	if (!c->argc) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(c->argv[0]);
	if (!cmd) {
		fprintf(stderr, "udax help: unknown command '%s'\n",
			c->argv[0]);
		return EXIT_USAGE;
	}
	command_help(cmd, stdout);
	return 0;
}

static int cmd_version(struct ctx *c, udax_fs *unused)
{
	printf("udax %s\n", UDAX_VERSION_STRING);
	return 0;
}

/* ------------------------------------------------------------------ */
/* FUSE: mount and umount                                             */
/* ------------------------------------------------------------------ */

static int cmd_mount(struct ctx *c, udax_fs *unused)
{
#ifdef UDAX_HAVE_FUSE
	return udax_fuse_mount(c->argv[0], c->argv[1], c->value['o'],
			       c->opt['f']);
#else
	fprintf(stderr, "udax mount: this udax was built without FUSE support "
		"(install libfuse3-dev and pkg-config, then rebuild)\n");
	return EXIT_USAGE;
#endif
}

/*
 * An absolute spelling of @arg without touching the file system beyond
 * getcwd: realpath() fails on a mount whose daemon has died (ENOTCONN),
 * and such a mount is exactly one that needs unmounting.
 */
static char *absolute_path(const char *arg)
{
	char *cwd, *joined, *out;

	if (arg[0] == '/')
		return pool_path(arg);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	joined = join_path(cwd, arg);
	out = pool_path(joined);
	free(cwd);
	free(joined);
	return out;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * The file system type of the topmost mount on @dir ("fuse.udax" for
 * ours) into @type; returns 1 if @dir is a mount point, 0 if not, -1 if
 * the mount table cannot be read.
 */
static int mount_type(const char *dir, char *type, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *save, *fld, *mnt, *sep;
	size_t cap = 0;
	int found = 0, i;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root MOUNTPOINT opts [tags] - TYPE ... */
		fld = strtok_r(line, " \n", &save);
		for (i = 0; fld && i < 4; i++)
			fld = strtok_r(NULL, " \n", &save);
		if (!fld)
			continue;
		mnt = fld;
		unescape_octal(mnt);
		if (strcmp(mnt, dir))
			continue;
		while ((sep = strtok_r(NULL, " \n", &save)) && strcmp(sep, "-"))
			;
		fld = sep ? strtok_r(NULL, " \n", &save) : NULL;
		snprintf(type, size, "%s", fld ? fld : "?");
		found = 1;   /* keep going: the last one is on top */
	}
	free(line);
	fclose(f);
	return found;
}

/* fusermount3 -u DIR, for users who may not call umount(2). */
static int run_fusermount(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail_errno("fork");
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", dir,
		       (char *)NULL);
		fprintf(stderr, "udax umount: cannot run fusermount3: %s\n",
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail_errno("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "udax umount: fusermount3 -u %s failed\n", dir);
	return 1;
}

/*
 * Wait for the daemon that served @dir to finish: it holds a shared
 * flock on the directory under the mount until it has unmounted the
 * pool (written back, marked clean), so that `udax fsck` or another
 * mount right after `udax umount` sees a quiet pool.
 */
static int wait_daemon(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), i;

	if (fd < 0)
		return 0;   /* gone too: nothing to wait for */
	for (i = 0; i < 6000; i++) {   /* 60 s */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			close(fd);
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		usleep(10000);
	}
	close(fd);
	fprintf(stderr, "udax umount: %s is unmounted, but its udax daemon "
		"has not finished after 60 s\n", dir);
	return 1;
}

static int cmd_umount(struct ctx *c, udax_fs *unused)
{
	char *dir = realpath(c->argv[0], NULL), type[64];
	int found, rc = 1;

	if (!dir && errno != ENOTCONN) {
		fail_errno(c->argv[0]);
		return 1;
	}
	if (!dir)
		dir = absolute_path(c->argv[0]);
	if (!dir)
		return fail_errno(c->argv[0]);
	found = mount_type(dir, type, sizeof(type));
	if (found < 0) {
		fail_errno("/proc/self/mountinfo");
		goto out;
	}
	if (!found) {
		fprintf(stderr, "udax umount: %s: not mounted\n", dir);
		goto out;
	}
	if (strcmp(type, "fuse.udax")) {
		fprintf(stderr, "udax umount: %s: not a udax mount (type %s)\n",
			dir, type);
		goto out;
	}
	if (geteuid() == 0 && umount2(dir, 0) == 0) {
		rc = 0;
	} else if (geteuid() == 0 && errno != EPERM) {
		fprintf(stderr, "udax umount: %s: %s%s\n", dir, strerror(errno),
			errno == EBUSY ? " (files are open there, or a "
			"process is working in it)" : "");
		goto out;
	} else {
		rc = run_fusermount(dir);
	}
	if (!rc)
		rc = wait_daemon(dir);
out:
	free(dir);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Commands on a mounted pool                                         */
/* ------------------------------------------------------------------ */

static void print_uuid(const uint8_t u[16])
{
	int i;

	for (i = 0; i < 16; i++)
		printf("%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ?
		       "-" : "", u[i]);
	putchar('\n');
}

static int cmd_info(struct ctx *c, udax_fs *fs)
{
	struct udax_info in;
	int ret = udax_info(fs, &in);

	if (ret < 0)
		return fail(c->argv[0], ret);
	printf("pool:           %s\n", c->argv[0]);
	printf("uuid:           ");
	print_uuid(in.uuid);
	printf("format version: %" PRIu32 "\n", in.version);
	printf("clean:          %s\n", in.clean ? "yes" : "no");
	printf("pool size:      %s (%" PRIu64 " bytes)\n",
	       human(in.pool_size), in.pool_size);
	printf("blocks:         %" PRIu64 " of %u bytes, data from block %"
	       PRIu64 "\n", in.total_blocks, UDAX_BLOCK_SIZE, in.data_start);
	printf("free:           %s (%" PRIu64 " blocks)\n",
	       human(in.free_blocks * UDAX_BLOCK_SIZE), in.free_blocks);
	printf("inodes:         %" PRIu64 " total, %" PRIu64 " free\n",
	       in.total_inodes, in.free_inodes);
	printf("journal:        %" PRIu64 " blocks (%s)\n", in.journal_blocks,
	       human(in.journal_blocks * UDAX_BLOCK_SIZE));
	printf("mount count:    %" PRIu64 "\n", in.mount_count);
	printf("flush:          %.*s\n", (int)sizeof(in.flush_insn),
	       in.flush_insn);
	printf("MAP_SYNC:       %s\n", in.map_sync ? "yes" : "no");
	return 0;
}

static void free_names(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All entry names of directory @dir, sorted; -errno on failure. */
static int read_names(udax_fs *fs, const char *dir, char ***out, size_t *np)
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

static void print_entry(const struct stat *st, const char *name)
{
	printf("%c %10s  %s\n", type_char(st->st_mode),
	       human(st->st_size), name);
}

static int cmd_ls(struct ctx *c, udax_fs *fs)
{
	char *dir = pool_path(c->argc > 1 ? c->argv[1] : "/"), *child;
	char **names = NULL;
	struct stat st;
	size_t n = 0, i;
	int ret, rc = 0;

	ret = udax_stat(fs, dir, &st);
	if (ret < 0) {
		rc = fail(dir, ret);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		print_entry(&st, dir);
		goto out;
	}
	ret = read_names(fs, dir, &names, &n);
	if (ret < 0) {
		rc = fail(dir, ret);
		goto out;
	}
	for (i = 0; i < n; i++) {
		child = join_path(dir, names[i]);
		ret = udax_stat(fs, child, &st);
		if (ret < 0)
			rc = fail(child, ret);
		else
			print_entry(&st, names[i]);
		free(child);
	}
	free_names(names, n);
out:
	free(dir);
	return rc;
}

/* mkdir -p: create each missing component, accept existing ones. */
static int mkdir_parents(udax_fs *fs, char *path)
{
	struct stat st;
	char *p, save;
	int ret;

	for (p = path + 1; *p; p++) {
		if (p[1] != '/' && p[1] != '\0')
			continue;
		save = p[1];
		p[1] = '\0';
		ret = udax_mkdir(fs, path, 0755);
		/* An existing file in the middle of the path is ENOTDIR. */
		if (ret == -EEXIST && udax_stat(fs, path, &st) == 0)
			ret = S_ISDIR(st.st_mode) ? 0 : save ? -ENOTDIR : ret;
		if (ret < 0)
			return fail(path, ret);
		p[1] = save;
	}
	return 0;
}

static int cmd_mkdir(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path(c->argv[1]);
	int ret, rc = 0;

	if (c->opt['p']) {
		rc = mkdir_parents(fs, path);
	} else {
		ret = udax_mkdir(fs, path, 0755);
		if (ret < 0)
			rc = fail(path, ret);
	}
	free(path);
	return rc;
}

/* Open the udax destination of put, going inside it if it is a dir. */
static int open_put_target(udax_fs *fs, const char *host, char **dst)
{
	struct stat st;
	char *inside;

	if (udax_stat(fs, *dst, &st) == 0 && S_ISDIR(st.st_mode) &&
	    strcmp(host, "-")) {
		char *base = host_base(host);

		inside = join_path(*dst, base);
		free(base);
		free(*dst);
		*dst = inside;
	}
	return udax_open(fs, *dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

static int cmd_put(struct ctx *c, udax_fs *fs)
{
	const char *host = c->argv[1];
	char *dst = pool_path(c->argv[2]);
	bool use_stdin = !strcmp(host, "-");
	int hfd, ufd, ret, rc = 1;
	struct stat hst;

	hfd = use_stdin ? STDIN_FILENO : open(host, O_RDONLY | O_CLOEXEC);
	if (hfd < 0) {
		fail_errno(host);
		goto out_free;
	}
	if (fstat(hfd, &hst) < 0) {
		fail_errno(host);
		goto out_host;
	}
	if (S_ISDIR(hst.st_mode)) {
		fail(host, -EISDIR);
		goto out_host;
	}
	ufd = open_put_target(fs, host, &dst);
	if (ufd < 0) {
		fail(dst, ufd);
		goto out_host;
	}
	rc = copy_in(fs, ufd, dst, hfd, host, &hst);
	/* fsync for the size and timestamps; the data is durable already. */
	ret = udax_fsync(fs, ufd);
	if (ret < 0 && !rc)
		rc = fail(dst, ret);
	ret = udax_close(fs, ufd);
	if (ret < 0 && !rc)
		rc = fail(dst, ret);
out_host:
	if (!use_stdin)
		close(hfd);
out_free:
	free(dst);
	return rc;
}

/* Open @path in the pool for reading; it must be a regular file. */
static int open_source(udax_fs *fs, const char *path, struct stat *st)
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

/* Open host file @*host for get; an existing directory gets @src's name. */
static int open_get_target(char **host, const char *src)
{
	struct stat st;
	char *inside;

	if (stat(*host, &st) == 0 && S_ISDIR(st.st_mode)) {
		inside = xasprintf("%s/%s", *host, strrchr(src, '/') + 1);
		*host = inside;
	} else {
		*host = xstrdup(*host);
	}
	return open(*host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static int cmd_get(struct ctx *c, udax_fs *fs)
{
	char *src = pool_path(c->argv[1]), *host = c->argv[2];
	bool to_stdout = !strcmp(host, "-");
	int ufd, hfd, rc = 1;
	struct stat st, hst;

	ufd = open_source(fs, src, &st);
	if (ufd < 0) {
		fail(src, ufd);
		goto out_free;
	}
	fflush(stdout);
	hfd = to_stdout ? STDOUT_FILENO : open_get_target(&host, src);
	if (hfd < 0) {
		fail_errno(host);
		goto out_udax;
	}
	/* stdout may be in append mode or mid-file: never write by offset. */
	rc = copy_out(fs, ufd, src, st.st_size, hfd, host,
		      !to_stdout && fstat(hfd, &hst) == 0 &&
		      S_ISREG(hst.st_mode), true);
	if (!to_stdout && close(hfd) < 0 && !rc)
		rc = fail_errno(host);
out_udax:
	udax_close(fs, ufd);
	if (!to_stdout)
		free(host);
out_free:
	free(src);
	return rc;
}

static int cmd_cat(struct ctx *c, udax_fs *fs)
{
	char *src = pool_path(c->argv[1]);
	struct stat st;
	int ufd, rc = 1;

	ufd = open_source(fs, src, &st);
	if (ufd < 0) {
		fail(src, ufd);
	} else {
		fflush(stdout);
		rc = copy_out(fs, ufd, src, st.st_size, STDOUT_FILENO,
			      "stdout", false, false);
		udax_close(fs, ufd);
	}
	free(src);
	return rc;
}

static void print_time(const char *label, const struct timespec *ts)
{
	char when[64], zone[16];
	time_t t = ts->tv_sec;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%s: %s.%09ld %s\n", label, when, (long)ts->tv_nsec, zone);
}

/* The data segments of a regular file; the gaps between are holes. */
static int print_segments(udax_fs *fs, const char *path)
{
	off_t off = 0, d, h;
	int fd, n = 0, rc = 0;

	fd = udax_open(fs, path, O_RDONLY, 0);
	if (fd < 0)
		return fail(path, fd);
	for (;;) {
		d = udax_lseek(fs, fd, off, SEEK_DATA);
		if (d == -ENXIO)
			break;
		h = d < 0 ? d : udax_lseek(fs, fd, d, SEEK_HOLE);
		if (h < 0) {
			rc = fail(path, (int)h);
			break;
		}
		printf("data %jd..%jd (%s)\n", (intmax_t)d, (intmax_t)h,
		       human(h - d));
		n++;
		off = h;
	}
	if (!rc && !n)
		printf("data: none\n");
	udax_close(fs, fd);
	return rc;
}

static int cmd_stat(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path(c->argv[1]), mode[11];
	struct stat st;
	int ret, rc = 0;

	ret = udax_stat(fs, path, &st);
	if (ret < 0) {
		rc = fail(path, ret);
		goto out;
	}
	mode_string(st.st_mode, mode);
	printf("  File: %s\n", path);
	printf("  Size: %-12jd Blocks: %-10jd IO Block: %u  %s\n",
	       (intmax_t)st.st_size, (intmax_t)st.st_blocks, UDAX_BLOCK_SIZE,
	       S_ISDIR(st.st_mode) ? "directory" :
	       st.st_size ? "regular file" : "regular empty file");
	printf(" Alloc: %s (%jd bytes)\n", human((uint64_t)st.st_blocks * 512),
	       (intmax_t)st.st_blocks * 512);
	printf(" Inode: %ju  Links: %ju\n", (uintmax_t)st.st_ino,
	       (uintmax_t)st.st_nlink);
	printf("Access: (%04o/%s)\n", (unsigned)(st.st_mode & 07777), mode);
	print_time("Access", &st.st_atim);
	print_time("Modify", &st.st_mtim);
	print_time("Change", &st.st_ctim);
	if (S_ISREG(st.st_mode))
		rc = print_segments(fs, path);
out:
	free(path);
	return rc;
}

/* rm -r: children first, then the directory; stops at the first error. */
static int remove_tree(udax_fs *fs, const char *dir)
{
	char **names, *child;
	struct stat st;
	size_t n, i;
	int ret = read_names(fs, dir, &names, &n), rc = 0;

	if (ret < 0)
		return fail(dir, ret);
	for (i = 0; i < n && !rc; i++) {
		child = join_path(dir, names[i]);
		ret = udax_stat(fs, child, &st);
		if (ret == 0 && S_ISDIR(st.st_mode))
			rc = remove_tree(fs, child);
		else if (ret == 0)
			ret = udax_unlink(fs, child);
		if (ret < 0)
			rc = fail(child, ret);
		free(child);
	}
	free_names(names, n);
	if (rc)
		return rc;
	ret = udax_rmdir(fs, dir);
	return ret < 0 ? fail(dir, ret) : 0;
}

static int cmd_rm(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path(c->argv[1]);
	struct stat st;
	int ret, rc = 0;

	ret = udax_stat(fs, path, &st);
	if (ret == 0 && !S_ISDIR(st.st_mode)) {
		ret = udax_unlink(fs, path);
	} else if (ret == 0 && c->opt['r']) {
		if (!strcmp(path, "/")) {
			fprintf(stderr, "udax rm: refusing to remove '/'\n");
			rc = 1;
		} else {
			rc = remove_tree(fs, path);
		}
	} else if (ret == 0 && c->opt['d']) {
		ret = udax_rmdir(fs, path);
	} else if (ret == 0) {
		fprintf(stderr, "udax rm: %s: is a directory (use -d if it "
			"is empty, -r to remove the whole tree)\n", path);
		rc = 1;
	}
	if (ret < 0)
		rc = fail(path, ret);
	free(path);
	return rc;
}

static int cmd_mv(struct ctx *c, udax_fs *fs)
{
	char *from, *to, *what;
	unsigned flags = 0;
	int ret, rc = 0;

	if (c->opt['n'] && c->opt['x']) {
		fprintf(stderr, "udax mv: --no-replace and --exchange "
			"exclude each other\n");
		return EXIT_USAGE;
	}
	if (c->opt['n'])
		flags = UDAX_RENAME_NOREPLACE;
	if (c->opt['x'])
		flags = UDAX_RENAME_EXCHANGE;
	from = pool_path(c->argv[1]);
	to = pool_path(c->argv[2]);
	ret = udax_rename(fs, from, to, flags);
	if (ret < 0) {
		what = xasprintf("%s -> %s", from, to);
		rc = fail(what, ret);
		free(what);
	}
	free(from);
	free(to);
	return rc;
}

static int cmd_df(struct ctx *c, udax_fs *fs)
{
	struct udax_statfs sf;
	uint64_t size, avail, used, iused;
	int ret = udax_statfs(fs, &sf);

	if (ret < 0)
		return fail(c->argv[0], ret);
	size = sf.total_blocks * sf.block_size;
	avail = sf.free_blocks * sf.block_size;
	used = size - avail;
	iused = sf.total_inodes - sf.free_inodes;
	printf("pool:    %s\n", c->argv[0]);
	printf("size:    %s (%" PRIu64 " bytes)\n", human(size), size);
	printf("used:    %s (%" PRIu64 " bytes)\n", human(used), used);
	printf("free:    %s (%" PRIu64 " bytes)\n", human(avail), avail);
	/* Round up, as df does, so that a nearly full pool never shows 0%. */
	printf("use%%:    %" PRIu64 "%%\n",
	       size ? (used * 100 + size - 1) / size : 0);
	printf("inodes:  %" PRIu64 " used, %" PRIu64 " free, %" PRIu64
	       " total\n", iused, sf.free_inodes, sf.total_inodes);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Command table, option parsing and main                             */
/* ------------------------------------------------------------------ */

static const struct command commands[] = {
	{ "mkfs", "[--force] POOL SIZE",
	  "format POOL (SIZE: 64M, 1G, 4096...)",
	  "f", 2, 2, false, cmd_mkfs },
	{ "fsck", "POOL", "check POOL (exit 0 clean, 4 problems, 8 error)",
	  "", 1, 1, false, cmd_fsck },
	{ "info", "POOL", "show the pool's superblock and geometry",
	  "", 1, 1, true, cmd_info },
	{ "ls", "POOL [PATH]", "list a directory (default /), sorted",
	  "", 1, 2, true, cmd_ls },
	{ "mkdir", "[-p] POOL PATH", "create a directory",
	  "p", 2, 2, true, cmd_mkdir },
	{ "put", "POOL HOSTFILE PATH", "copy a host file in (- = stdin)",
	  "", 3, 3, true, cmd_put },
	{ "get", "POOL PATH HOSTFILE", "copy a file out (- = stdout)",
	  "", 3, 3, true, cmd_get },
	{ "cat", "POOL PATH", "write a file to stdout",
	  "", 2, 2, true, cmd_cat },
	{ "stat", "POOL PATH", "show a file's status and data segments",
	  "", 2, 2, true, cmd_stat },
	{ "rm", "[-r|-d] POOL PATH", "remove a file or directory",
	  "rd", 2, 2, true, cmd_rm },
	{ "mv", "[-n|-x] POOL FROM TO", "rename FROM to TO atomically",
	  "nx", 3, 3, true, cmd_mv },
	{ "df", "POOL", "show space and inode usage",
	  "", 1, 1, true, cmd_df },
	{ "mount", "[-f] [-o OPTS] POOL DIR",
	  "mount POOL on DIR for every program (FUSE)",
	  "fo", 2, 2, false, cmd_mount },
	{ "umount", "DIR", "unmount DIR; returns once the pool is clean",
	  "", 1, 1, false, cmd_umount },
	{ "demo", "[POOL]", "a guided tour (default " DEMO_POOL ")",
	  "", 0, 1, false, cmd_demo },
	{ "help", "[COMMAND]", "show help", "", 0, 1, false, cmd_help },
	{ "version", "", "show the version", "", 0, 0, false, cmd_version },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct {
	const char *name;
	char letter;
	const char *help;
	const char *only;   /* the one command it belongs to, or NULL */
} long_options[] = {
	{ "force", 'f', "overwrite a pool that already holds udax", "mkfs" },
	{ "foreground", 'f', "stay in the foreground (do not daemonise)",
	  "mount" },
	{ "options", 'o', "comma-separated: ro, write_lock=MODE, "
	  "hide_unlinked, FUSE's options", "mount" },
	{ "parents", 'p', "create missing parents; no error if it exists",
	  NULL },
	{ "recursive", 'r', "remove a directory and everything below it",
	  NULL },
	{ "dir", 'd', "remove PATH if it is an empty directory", NULL },
	{ "no-replace", 'n', "fail if TO exists", NULL },
	{ "exchange", 'x', "swap FROM and TO atomically", NULL },
	{ "help", 'h', "show this help", NULL },
};

/* Short letters of the options that take an argument (-o OPTS). */
#define VALUE_OPTIONS "o"

static bool long_option_for(size_t k, const struct command *cmd)
{
	return !long_options[k].only || !strcmp(long_options[k].only, cmd->name);
}

#define NLONG (sizeof(long_options) / sizeof(long_options[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	int width = 0, n;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if ((n = (int)strlen(commands[i].synopsis)) > width)
			width = n;
	fprintf(f, "usage: udax COMMAND [OPTIONS] POOL [ARGS...]\n\n"
		"commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-7s %-*s %s\n", commands[i].name, width,
			commands[i].synopsis, commands[i].summary);
	fprintf(f, "\nPaths inside POOL start at its root (\"/a/b\").\n"
		"Run 'udax COMMAND --help' for a command's details.\n");
}

static void command_usage(const struct command *cmd, FILE *f)
{
	fprintf(f, "usage: udax %s%s%s\n", cmd->name,
		*cmd->synopsis ? " " : "", cmd->synopsis);
}

static void command_help(const struct command *cmd, FILE *f)
{
	const char *p;
	size_t i;

	command_usage(cmd, f);
	fprintf(f, "\n%s\n\noptions:\n", cmd->summary);
	for (p = cmd->options; ; p++) {
		for (i = 0; i < NLONG; i++)
			if (long_options[i].letter == (*p ? *p : 'h') &&
			    long_option_for(i, cmd))
				fprintf(f, "  -%c, --%-12s %s\n",
					long_options[i].letter,
					long_options[i].name,
					long_options[i].help);
		if (!*p)
			break;
	}
}

static bool option_allowed(const struct command *cmd, char letter)
{
	return letter == 'h' || (letter && strchr(cmd->options, letter));
}

static int bad_option(const struct ctx *c, const char *opt)
{
	fprintf(stderr, "udax %s: unknown option '%s'\n", c->cmd->name, opt);
	command_usage(c->cmd, stderr);
	return EXIT_USAGE;
}

static int missing_value(const struct ctx *c, const char *opt)
{
	fprintf(stderr, "udax %s: option '%s' needs an argument\n",
		c->cmd->name, opt);
	command_usage(c->cmd, stderr);
	return EXIT_USAGE;
}

/*
 * Split @argv into options and positional arguments, in any order.
 * Hand-rolled rather than getopt so that "-5M" reaches the size parser
 * (and its "negative" message) instead of being an unknown option.
 */
static int parse_args(struct ctx *c, int argc, char **argv)
{
	bool only_args = false;
	char letter, bad[3] = "-";
	int i, w = 0;
	size_t k;
	const char *p;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (only_args || a[0] != '-' || !a[1] ||
		    isdigit((unsigned char)a[1])) {
			argv[w++] = argv[i];
		} else if (!strcmp(a, "--")) {
			only_args = true;
		} else if (a[1] == '-') {
			for (k = 0, letter = 0; k < NLONG; k++)
				if (!strcmp(a + 2, long_options[k].name) &&
				    long_option_for(k, c->cmd))
					letter = long_options[k].letter;
			if (!option_allowed(c->cmd, letter))
				return bad_option(c, a);
			c->opt[(unsigned char)letter] = true;
			if (strchr(VALUE_OPTIONS, letter)) {
				if (i + 1 >= argc)
					return missing_value(c, a);
				c->value[(unsigned char)letter] = argv[++i];
			}
		} else {
			for (p = a + 1; *p; p++) {
				bad[1] = *p;
				if (!option_allowed(c->cmd, *p))
					return bad_option(c, bad);
				c->opt[(unsigned char)*p] = true;
				/* -oVALUE or -o VALUE */
				if (strchr(VALUE_OPTIONS, *p)) {
					if (!p[1] && i + 1 >= argc)
						return missing_value(c, bad);
					c->value[(unsigned char)*p] =
						p[1] ? p + 1 : argv[++i];
					break;
				}
			}
		}
	}
	c->argc = w;
	c->argv = argv;
	return 0;
}

/* A full disk or closed stdout must not pass for success. */
static int finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "udax %s: stdout: %s\n", g_cmd,
			strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct ctx c = { 0 };
	udax_fs *fs;
	int ret, rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		argv[1] = "help";
	else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		argv[1] = "version";
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "udax: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	g_cmd = cmd->name;
	c.cmd = cmd;
	ret = parse_args(&c, argc - 2, argv + 2);
	if (ret)
		return ret;
	if (c.opt['h']) {
		command_help(cmd, stdout);
		return finish_stdout(0);
	}
	if (c.argc < cmd->min_args || c.argc > cmd->max_args) {
		command_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (!cmd->mounts)
		return finish_stdout(cmd->run(&c, NULL));
	/* Commands that only look mount read-only, so they work beside a
	 * read-only `udax mount`; a pool whose journal needs replaying
	 * (-EROFS) is mounted read-write to replay it. */
	static const char *const lookers[] = { "info", "ls", "get", "cat", "stat", "df" };
	const char *opts = NULL;
	for (size_t i = 0; i < sizeof(lookers) / sizeof(lookers[0]); i++)
		if (!strcmp(cmd->name, lookers[i]))
			opts = "ro";
	ret = udax_mount(c.argv[0], opts, &fs);
	if (ret == -EROFS && opts)
		ret = udax_mount(c.argv[0], NULL, &fs);
	if (ret < 0)
		return fail_detail(c.argv[0], ret);
	rc = cmd->run(&c, fs);
	ret = udax_unmount(fs);
	if (ret < 0 && !rc)
		rc = fail(c.argv[0], ret);
	return finish_stdout(rc);
}
