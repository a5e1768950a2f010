/*
 * test_cli.c - the udax command-line tool, driven as a user would: each
 * command is a separate process (so every command mounts and unmounts
 * the pool), and the test checks exit statuses and what the commands
 * print.  The binary's path comes from the UDAX_CLI environment
 * variable (set by CTest).
 *
 * Exit statuses (tools/udax.c): 0 success, 1 a udax or host call
 * failed, 2 bad usage; fsck: 0 clean, 4 problems, 8 pool unusable.
 */
#include "t.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "media/layout.h"

static const char *cli;

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/*
 * Run the shell command built from @fmt.  Its stdout is collected into
 * *@out (malloc'ed, NUL-terminated; *@out_len gets the length) unless
 * @out is NULL, in which case it is read and dropped.  Returns the exit
 * status, 128 + the signal if it was killed, or -1 if it could not run.
 */
static int vsh(char **out, size_t *out_len, const char *fmt, va_list ap)
{
	char *cmd = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *p;
	int st;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return -1;
	p = popen(cmd, "r");
	if (!p) {
		fprintf(stderr, "    cannot run: %s\n", cmd);
		free(cmd);
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, p);
		if (n == 0)
			break;
		len += n;
	}
	st = pclose(p);
	if (buf)
		buf[len] = 0;
	if (out) {
		*out = buf ? buf : strdup("");
		if (out_len)
			*out_len = len;
	} else {
		free(buf);
	}
	free(cmd);
	if (st == -1)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsh(out, NULL, fmt, ap);
	va_end(ap);
	return r;
}

/* As sh(), also giving the output's length (it may hold NUL bytes). */
static int shl(char **out, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int shl(char **out, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsh(out, len, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Run "udax ARGS 2>&1": stdout and stderr together into *@out (NULL:
 * dropped).  Returns the exit status.  The arguments are passed to the
 * shell as written, so paths must be quoted by the caller if needed.
 */
static int ux(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ux(char **out, const char *fmt, ...)
{
	char *args = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&args, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = sh(out, "'%s' %s 2>&1", cli, args);
	free(args);
	return r;
}

/* Does @out contain @needle?  Prints the output when it does not. */
static int has(const char *out, const char *needle)
{
	if (out && strstr(out, needle))
		return 1;
	fprintf(stderr, "    output lacks \"%s\"; it was:\n%s\n", needle, out ? out : "(null)");
	return 0;
}

static int lacks(const char *out, const char *needle)
{
	if (!out || !strstr(out, needle))
		return 1;
	fprintf(stderr, "    output has \"%s\"; it was:\n%s\n", needle, out);
	return 0;
}

/* Does `udax ls` output @out list @name with type char @type ('d', '-')? */
static int ls_has(const char *out, char type, const char *name)
{
	size_t nlen = strlen(name);
	const char *line = out;

	while (line && *line) {
		const char *end = strchrnul(line, '\n');
		size_t len = (size_t)(end - line);
		if (len > nlen + 2 && line[0] == type &&
		    memcmp(end - nlen - 2, "  ", 2) == 0 &&
		    memcmp(end - nlen, name, nlen) == 0)
			return 1;
		line = *end ? end + 1 : end;
	}
	return 0;
}

static int count_lines(const char *out)
{
	int n = 0;

	for (const char *p = out; p && *p; p++)
		n += *p == '\n';
	return n;
}

/* The number after @label in @out (e.g. "Blocks:"), or -1. */
static long long field(const char *out, const char *label)
{
	const char *p = out ? strstr(out, label) : NULL;

	if (!p)
		return -1;
	p += strlen(label);
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	return strtoll(p, NULL, 10);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

/* 1 if the two host files have the same size and bytes. */
static int same_file(const char *a, const char *b)
{
	enum { CH = 1 << 20 };
	char *ba = malloc(CH), *bb = malloc(CH);
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = 0;
	struct stat sa, sb;
	off_t off = 0;

	if (!ba || !bb || fa < 0 || fb < 0 || fstat(fa, &sa) || fstat(fb, &sb))
		goto out;
	if (sa.st_size != sb.st_size) {
		fprintf(stderr, "    %s: %lld bytes, %s: %lld bytes\n", a,
		        (long long)sa.st_size, b, (long long)sb.st_size);
		goto out;
	}
	for (;;) {
		ssize_t na = pread(fa, ba, CH, off), nb = pread(fb, bb, CH, off);
		if (na != nb || na < 0)
			goto out;
		if (na == 0)
			break;
		if (memcmp(ba, bb, (size_t)na) != 0) {
			fprintf(stderr, "    %s and %s differ in [%lld, %lld)\n", a, b,
			        (long long)off, (long long)(off + na));
			goto out;
		}
		off += na;
	}
	same = 1;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(ba);
	free(bb);
	return same;
}

/* A pid-specific host path under @dir ("/tmp" or "/dev/shm"). */
static const char *tmp_path(const char *dir, const char *tag)
{
	static char paths[16][256];
	static int k;
	char *p = paths[k++ % 16];

	snprintf(p, 256, "%s/udax-test-%d-%s", dir, (int)getpid(), tag);
	return p;
}

/* Run `udax fsck POOL` and return its exit status. */
static int fsck_status(const char *pool)
{
	char *out = NULL;
	int r = ux(&out, "fsck '%s'", pool);

	if (r != 0)
		fprintf(stderr, "    fsck %s exited %d:\n%s\n", pool, r, out);
	free(out);
	return r;
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

static void test_help_and_usage(void)
{
	char *out = NULL;

	CHECK_EQ(ux(&out, "help"), 0);
	CHECK(has(out, "usage: udax"));
	CHECK(has(out, "mkfs"));
	CHECK(has(out, "fsck"));
	CHECK(has(out, "put"));
	CHECK(has(out, "get"));
	free(out);

	CHECK_EQ(ux(&out, "--help"), 0);
	CHECK(has(out, "usage: udax"));
	free(out);

	CHECK_EQ(ux(&out, "help mkfs"), 0);
	CHECK(has(out, "--force"));
	free(out);

	CHECK_EQ(ux(&out, "mv --help"), 0);
	CHECK(has(out, "--exchange"));
	CHECK(has(out, "--no-replace"));
	free(out);

	CHECK_EQ(ux(&out, "version"), 0);
	CHECK(has(out, UDAX_VERSION_STRING));
	free(out);

	/* usage errors exit 2 */
	CHECK_EQ(ux(&out, "frobnicate"), 2);
	CHECK(has(out, "unknown command"));
	CHECK(has(out, "frobnicate"));
	free(out);
	CHECK_EQ(ux(NULL, "%s", ""), 2);               /* no command at all */
	CHECK_EQ(ux(NULL, "help frobnicate"), 2);
	CHECK_EQ(ux(NULL, "ls"), 2);                   /* POOL missing */
	CHECK_EQ(ux(NULL, "mkfs /dev/shm/x"), 2);      /* SIZE missing */
	CHECK_EQ(ux(NULL, "put P a"), 2);              /* PATH missing */
	CHECK_EQ(ux(NULL, "fsck"), 2);
	CHECK_EQ(ux(NULL, "fsck a b"), 2);             /* too many */
	CHECK_EQ(ux(&out, "ls --bogus P"), 2);
	CHECK(has(out, "unknown option"));
	free(out);
	CHECK_EQ(ux(NULL, "ls -z P"), 2);
	CHECK_EQ(ux(NULL, "mkfs -p P 64M"), 2);        /* -p is mkdir's */
}

static void test_mkfs(void)
{
	const char *pool = tmp_path("/dev/shm", "cli-mkfs.pool");
	const char *newp = tmp_path("/dev/shm", "cli-never.pool");
	const char *hello = tmp_path("/tmp", "mkfs-hello.txt");
	char *out = NULL;
	struct stat st;

	unlink(pool);
	unlink(newp);
	CHECK_EQ(ux(&out, "mkfs '%s' 64M", pool), 0);
	CHECK(has(out, "formatted"));
	CHECK(has(out, "67108864"));
	free(out);
	CHECK_EQ(stat(pool, &st), 0);
	CHECK_EQ(st.st_size, 64 << 20);

	/* a second mkfs needs --force and says so */
	CHECK_EQ(ux(&out, "mkfs '%s' 64M", pool), 1);
	CHECK(has(out, "--force"));
	free(out);
	CHECK_EQ(fsck_status(pool), 0);

	/* garbage sizes are usage errors and touch nothing */
	static const char *const bad[] = {
		"banana", "12Q", "64MX", "64M4", "-5M", "''", "1K", "4095",
		"99999999999999999999", "16E", "0x100000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ux(&out, "mkfs --force '%s' %s", pool, bad[i]);
		if (r != 2)
			fprintf(stderr, "    mkfs size %s exited %d:\n%s\n", bad[i], r, out);
		CHECK_EQ(r, 2);
		free(out);
		CHECK_EQ(ux(NULL, "mkfs '%s' %s", newp, bad[i]), 2);
		CHECK(access(newp, F_OK) != 0);
	}
	CHECK_EQ(stat(pool, &st), 0);
	CHECK_EQ(st.st_size, 64 << 20);
	CHECK_EQ(fsck_status(pool), 0);

	/* --force formats again and wipes the old contents */
	REQUIRE(write_file(hello, "hello\n", 6) == 0);
	CHECK_EQ(ux(NULL, "put '%s' '%s' /hello", pool, hello), 0);
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK(ls_has(out, '-', "hello"));
	free(out);
	CHECK_EQ(ux(&out, "mkfs --force '%s' 64M", pool), 0);
	CHECK(has(out, "formatted"));
	free(out);
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK_EQ(strlen(out), 0);
	free(out);
	/* the short option, after the arguments, and other spellings */
	CHECK_EQ(ux(NULL, "mkfs '%s' 32MiB -f", pool), 0);
	CHECK_EQ(stat(pool, &st), 0);
	CHECK_EQ(st.st_size, 32 << 20);
	CHECK_EQ(ux(NULL, "mkfs -f '%s' 33554432", pool), 0);
	CHECK_EQ(fsck_status(pool), 0);

	/* info and df on the fresh pool */
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK(has(out, "uuid:"));
	CHECK(has(out, "format version:"));
	CHECK(has(out, "clean:          yes"));
	CHECK(has(out, "pool size:      32.0 MiB (33554432 bytes)"));
	CHECK(has(out, "journal:"));
	CHECK(has(out, "flush:"));
	long long mc1 = field(out, "mount count:");
	CHECK_EQ(mc1, 0); /* fsck changed nothing; looking mounts read-only */
	/* "free:           31.2 MiB (7807 blocks)" */
	const char *fi = strstr(out, "free:");
	long long free_blocks = fi && strchr(fi, '(') ? strtoll(strchr(fi, '(') + 1, NULL, 10) : -1;
	CHECK(free_blocks > 0);
	free(out);
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK_EQ(field(out, "mount count:"), mc1); /* looking mounts read-only */
	free(out);

	CHECK_EQ(ux(&out, "df '%s'", pool), 0);
	CHECK(has(out, pool));
	CHECK(has(out, "size:"));
	CHECK(has(out, "used:"));
	CHECK(has(out, "free:"));
	CHECK(has(out, "use%:"));
	CHECK(has(out, "inodes:"));
	/* "free:    X MiB (N bytes)": the same space info reports */
	const char *fb = strstr(out, "free:");
	const char *paren = fb ? strchr(fb, '(') : NULL;
	CHECK(paren != NULL);
	if (paren && free_blocks >= 0)
		CHECK_EQ(strtoll(paren + 1, NULL, 10), free_blocks * 4096);
	free(out);
	CHECK_EQ(ux(&out, "mkdir '%s' /counted", pool), 0);
	free(out);
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK_EQ(field(out, "mount count:"), mc1 + 1); /* changing mounts read-write */
	free(out);

	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(has(out, "clean"));
	free(out);
	unlink(pool);
	unlink(hello);
}

static void test_put_get_big(void)
{
	const char *pool = tmp_path("/dev/shm", "cli-big.pool");
	const char *src = tmp_path("/tmp", "big.src");
	const char *dst = tmp_path("/tmp", "big.dst");
	size_t n = 64u << 20;
	char *buf = malloc(n), *out = NULL;

	REQUIRE(buf);
	t_fill(buf, n, 64);
	REQUIRE(write_file(src, buf, n) == 0);
	free(buf);
	unlink(dst);

	CHECK_EQ(ux(NULL, "mkfs '%s' 100M", pool), 0);
	CHECK_EQ(ux(&out, "put '%s' '%s' /big.bin", pool, src), 0);
	free(out);
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK(ls_has(out, '-', "big.bin"));
	CHECK(has(out, "64.0 MiB"));
	free(out);
	CHECK_EQ(ux(&out, "stat '%s' /big.bin", pool), 0);
	CHECK_EQ(field(out, "Size:"), 64 << 20);
	CHECK_EQ(field(out, "Blocks:"), (64 << 20) / 512);
	CHECK(has(out, "regular file"));
	CHECK(has(out, "data 0..67108864"));
	free(out);
	CHECK_EQ(ux(&out, "df '%s'", pool), 0);
	CHECK(field(out, "used:") >= 0);
	const char *u = strstr(out, "used:");
	if (u && strchr(u, '('))
		CHECK(strtoll(strchr(u, '(') + 1, NULL, 10) >= 64ll << 20);
	free(out);

	CHECK_EQ(ux(&out, "get '%s' /big.bin '%s'", pool, dst), 0);
	free(out);
	CHECK(same_file(src, dst));

	/* a 64 MiB file does not fit twice */
	CHECK_EQ(ux(&out, "put '%s' '%s' /again", pool, src), 1);
	CHECK(has(out, "No space left"));
	free(out);
	CHECK_EQ(ux(NULL, "rm '%s' /again", pool), 0);

	CHECK_EQ(fsck_status(pool), 0);
	/* still intact after all those mounts */
	unlink(dst);
	CHECK_EQ(ux(NULL, "get '%s' /big.bin '%s'", pool, dst), 0);
	CHECK(same_file(src, dst));
	unlink(src);
	unlink(dst);
	unlink(pool);
}

static void test_sparse(void)
{
	const char *pool = tmp_path("/dev/shm", "cli-sparse.pool");
	const char *src = tmp_path("/tmp", "sparse.src");
	const char *dst = tmp_path("/tmp", "sparse.dst");
	const char *zsrc = tmp_path("/tmp", "zeros.src");
	const char *zdst = tmp_path("/tmp", "zeros.dst");
	static char seg[3][65536];
	static const off_t at[3] = { 0, 5 << 20, 20 << 20 };
	char *out = NULL;
	size_t outlen = 0;
	struct stat st;
	int fd, host_sparse;

	/* 24 MiB with 64 KiB of data at 0, 5 MiB and 20 MiB */
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	CHECK_EQ(ftruncate(fd, 24 << 20), 0);
	for (int i = 0; i < 3; i++) {
		t_fill(seg[i], sizeof(seg[i]), 100 + i);
		seg[i][0] |= 1; /* no all-zero block at the edges */
		seg[i][sizeof(seg[i]) - 1] |= 1;
		CHECK_EQ(pwrite(fd, seg[i], sizeof(seg[i]), at[i]), sizeof(seg[i]));
	}
	CHECK_EQ(fstat(fd, &st), 0);
	close(fd);
	host_sparse = st.st_blocks * 512 < (4 << 20);
	if (!host_sparse)
		fprintf(stderr, "    note: /tmp does not keep holes; host-side sparseness not checked\n");

	CHECK_EQ(ux(NULL, "mkfs '%s' 32M", pool), 0);
	CHECK_EQ(ux(&out, "put '%s' '%s' /sparse", pool, src), 0);
	free(out);
	CHECK_EQ(ux(&out, "stat '%s' /sparse", pool), 0);
	CHECK_EQ(field(out, "Size:"), 24 << 20);
	long long blocks = field(out, "Blocks:");
	CHECK(blocks >= 3 * 65536 / 512);
	CHECK(blocks * 512 <= (1 << 20)); /* far below 24 MiB */
	CHECK(has(out, "data 0..65536 "));
	CHECK(has(out, "data 5242880..5308416 "));
	CHECK(has(out, "data 20971520..21037056 "));
	int ndata = 0;
	for (const char *p = out; (p = strstr(p, "\ndata ")); p++)
		ndata++;
	CHECK_EQ(ndata, 3);
	free(out);

	unlink(dst);
	CHECK_EQ(ux(&out, "get '%s' /sparse '%s'", pool, dst), 0);
	free(out);
	CHECK_EQ(stat(dst, &st), 0);
	CHECK_EQ(st.st_size, 24 << 20);
	if (host_sparse)
		CHECK(st.st_blocks * 512 < (4 << 20));
	CHECK(same_file(src, dst));

	/* cat writes every byte, holes included */
	CHECK_EQ(shl(&out, &outlen, "'%s' cat '%s' /sparse", cli, pool), 0);
	CHECK_EQ(outlen, 24 << 20);
	if (outlen == 24 << 20) {
		int ok = 1;
		for (int i = 0; i < 3; i++)
			ok &= memcmp(out + at[i], seg[i], sizeof(seg[i])) == 0;
		for (size_t k = 0; k < outlen; k++) {
			int in_seg = 0;
			for (int i = 0; i < 3; i++)
				in_seg |= (off_t)k >= at[i] && (off_t)k < at[i] + (off_t)sizeof(seg[i]);
			if (!in_seg && out[k]) {
				ok = 0;
				break;
			}
		}
		CHECK(ok);
	}
	free(out);

	/* a file that is all hole, with a size that is not a block multiple */
	fd = open(zsrc, O_RDWR | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	CHECK_EQ(ftruncate(fd, (1 << 20) + 100), 0);
	close(fd);
	CHECK_EQ(ux(NULL, "put '%s' '%s' /zeros", pool, zsrc), 0);
	CHECK_EQ(ux(&out, "stat '%s' /zeros", pool), 0);
	CHECK_EQ(field(out, "Size:"), (1 << 20) + 100);
	CHECK_EQ(field(out, "Blocks:"), 0);
	CHECK(has(out, "data: none"));
	free(out);
	unlink(zdst);
	CHECK_EQ(ux(NULL, "get '%s' /zeros '%s'", pool, zdst), 0);
	CHECK_EQ(stat(zdst, &st), 0);
	CHECK_EQ(st.st_size, (1 << 20) + 100);
	if (host_sparse)
		CHECK(st.st_blocks * 512 < (1 << 20));
	CHECK(same_file(zsrc, zdst));

	/* data in odd places: the last byte of block 0, across a 1 MiB copy
	 * chunk boundary (not block-aligned), and in a partial last block */
	fd = open(zsrc, O_RDWR | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	CHECK_EQ(ftruncate(fd, (3 << 20) + 100), 0);
	CHECK_EQ(pwrite(fd, "Q", 1, 4095), 1);
	CHECK_EQ(pwrite(fd, "XXXXXXXXXXXXXXXXXXXX", 20, (1 << 20) - 10), 20);
	memset(seg[0], 'T', 100);
	CHECK_EQ(pwrite(fd, seg[0], 100, 3 << 20), 100);
	close(fd);
	CHECK_EQ(ux(NULL, "put '%s' '%s' /odd", pool, zsrc), 0);
	CHECK_EQ(ux(&out, "stat '%s' /odd", pool), 0);
	CHECK_EQ(field(out, "Size:"), (3 << 20) + 100);
	CHECK_EQ(field(out, "Blocks:"), 4 * 8);
	CHECK(has(out, "data 0..4096 "));
	CHECK(has(out, "data 1044480..1052672 "));
	CHECK(has(out, "data 3145728..3145828 "));
	free(out);
	unlink(zdst);
	CHECK_EQ(ux(NULL, "get '%s' /odd '%s'", pool, zdst), 0);
	CHECK(same_file(zsrc, zdst));
	CHECK_EQ(sh(NULL, "'%s' cat '%s' /odd | cmp -s - '%s'", cli, pool, zsrc), 0);

	CHECK_EQ(fsck_status(pool), 0);
	unlink(src);
	unlink(dst);
	unlink(zsrc);
	unlink(zdst);
	unlink(pool);
}

static long long inodes_used(const char *pool)
{
	char *out = NULL;
	long long n = -1;

	if (ux(&out, "df '%s'", pool) == 0)
		n = field(out, "inodes:");
	free(out);
	return n;
}

/* `udax cat POOL PATH` (stdout only) equals @text. */
static int cat_is(const char *pool, const char *path, const char *text)
{
	char *out = NULL;
	size_t len = 0;
	int r = shl(&out, &len, "'%s' cat '%s' '%s'", cli, pool, path), ok;

	ok = r == 0 && len == strlen(text) && memcmp(out, text, len) == 0;
	if (!ok)
		fprintf(stderr, "    cat %s: exit %d, %zu bytes \"%s\", expected \"%s\"\n",
		        path, r, len, out ? out : "", text);
	free(out);
	return ok;
}

static void test_namespace_commands(void)
{
	const char *pool = tmp_path("/dev/shm", "cli-ns.pool");
	const char *hello = tmp_path("/tmp", "hello.txt");
	const char *hostdir = tmp_path("/tmp", "getdir");
	char *out = NULL, hpath[300];
	long long inodes0;

	REQUIRE(write_file(hello, "hello udax\n", 11) == 0);
	CHECK_EQ(ux(NULL, "mkfs '%s' 32M", pool), 0);
	inodes0 = inodes_used(pool);
	CHECK(inodes0 >= 1);

	/* ls of an empty pool prints nothing */
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK_EQ(strlen(out), 0);
	free(out);

	/* mkdir and mkdir -p */
	CHECK_EQ(ux(NULL, "mkdir -p '%s' /a/b/c", pool), 0);
	CHECK_EQ(ux(&out, "ls '%s' /", pool), 0);
	CHECK(ls_has(out, 'd', "a"));
	CHECK_EQ(count_lines(out), 1);
	free(out);
	CHECK_EQ(ux(&out, "ls '%s' /a/b", pool), 0);
	CHECK(ls_has(out, 'd', "c"));
	free(out);
	CHECK_EQ(ux(NULL, "mkdir -p '%s' /a/b", pool), 0);   /* exists: fine with -p */
	CHECK_EQ(ux(NULL, "mkdir --parents '%s' a/b/c", pool), 0);
	CHECK_EQ(ux(&out, "mkdir '%s' /a", pool), 1);
	CHECK(has(out, "File exists"));
	free(out);
	CHECK_EQ(ux(&out, "mkdir '%s' /x/y", pool), 1);
	CHECK(has(out, "No such file"));
	free(out);
	CHECK_EQ(ux(NULL, "mkdir '%s' /a/b/c/d", pool), 0);
	CHECK_EQ(ux(&out, "stat '%s' /a/b/c", pool), 0);
	CHECK(has(out, "directory"));
	CHECK_EQ(field(out, "Links:"), 3);
	free(out);

	/* put, cat */
	CHECK_EQ(ux(NULL, "put '%s' '%s' /a/b/hello.txt", pool, hello), 0);
	CHECK(cat_is(pool, "/a/b/hello.txt", "hello udax\n"));
	CHECK_EQ(ux(&out, "ls '%s' /a/b", pool), 0);
	CHECK(ls_has(out, '-', "hello.txt"));
	CHECK(ls_has(out, 'd', "c"));
	CHECK_EQ(count_lines(out), 2);
	free(out);
	/* put into a directory keeps the host file's name */
	CHECK_EQ(ux(NULL, "put '%s' '%s' /a", pool, hello), 0);
	const char *base = strrchr(hello, '/') + 1;
	CHECK_EQ(ux(&out, "ls '%s' /a", pool), 0);
	CHECK(ls_has(out, '-', base));
	free(out);
	/* put from stdin */
	CHECK_EQ(sh(NULL, "printf 'from stdin' | '%s' put '%s' - /stdin.txt", cli, pool), 0);
	CHECK(cat_is(pool, "/stdin.txt", "from stdin"));
	/* put of a missing host file */
	CHECK_EQ(ux(&out, "put '%s' /nonexistent/host/file /x", pool), 1);
	CHECK(has(out, "No such file"));
	free(out);

	/* mv, mv -n, mv -x */
	CHECK_EQ(ux(NULL, "mv '%s' /a/b/hello.txt /a/greeting", pool), 0);
	CHECK_EQ(ux(&out, "ls '%s' /a/b", pool), 0);
	CHECK(!ls_has(out, '-', "hello.txt"));
	free(out);
	CHECK_EQ(ux(&out, "ls '%s' /a", pool), 0);
	CHECK(ls_has(out, '-', "greeting"));
	CHECK(ls_has(out, 'd', "b"));
	free(out);
	CHECK(cat_is(pool, "/a/greeting", "hello udax\n"));
	CHECK_EQ(ux(&out, "mv -n '%s' /stdin.txt /a/greeting", pool), 1);
	CHECK(has(out, "File exists"));
	free(out);
	CHECK(cat_is(pool, "/stdin.txt", "from stdin"));
	CHECK(cat_is(pool, "/a/greeting", "hello udax\n"));
	CHECK_EQ(ux(NULL, "mv -x '%s' /stdin.txt /a/greeting", pool), 0);
	CHECK(cat_is(pool, "/stdin.txt", "hello udax\n"));
	CHECK(cat_is(pool, "/a/greeting", "from stdin"));
	CHECK_EQ(ux(NULL, "mv -n -x '%s' /stdin.txt /a/greeting", pool), 2);
	CHECK_EQ(ux(&out, "mv '%s' /a /a/b/c/inside", pool), 1);
	CHECK(has(out, "Invalid argument"));
	free(out);
	CHECK_EQ(ux(NULL, "mv '%s' /missing /elsewhere", pool), 1);

	/* get into an existing host directory uses the pool file's name */
	sh(NULL, "rm -rf '%s'", hostdir);
	REQUIRE(mkdir(hostdir, 0755) == 0);
	CHECK_EQ(ux(NULL, "get '%s' /a/greeting '%s'", pool, hostdir), 0);
	snprintf(hpath, sizeof(hpath), "%s/greeting", hostdir);
	char *got = NULL;
	CHECK_EQ(sh(&got, "cat '%s'", hpath), 0);
	CHECK(got && strcmp(got, "from stdin") == 0);
	free(got);
	CHECK_EQ(ux(NULL, "get '%s' /missing '%s'", pool, hpath), 1);
	CHECK_EQ(ux(NULL, "get '%s' /a '%s'", pool, hpath), 1);   /* a directory */

	/* cat and ls errors */
	CHECK_EQ(ux(&out, "cat '%s' /missing", pool), 1);
	CHECK(has(out, "No such file"));
	free(out);
	CHECK_EQ(ux(&out, "cat '%s' /a", pool), 1);
	CHECK(has(out, "Is a directory"));
	free(out);
	CHECK_EQ(ux(NULL, "ls '%s' /missing", pool), 1);
	/* ls of a file shows that file */
	CHECK_EQ(ux(&out, "ls '%s' /stdin.txt", pool), 0);
	CHECK_EQ(out[0], '-');
	CHECK(has(out, "stdin.txt"));
	CHECK(has(out, "11 B"));
	free(out);

	/* rm, rm -d, rm -r */
	CHECK_EQ(ux(NULL, "rm '%s' /stdin.txt", pool), 0);
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK(lacks(out, "stdin.txt"));
	free(out);
	CHECK_EQ(ux(&out, "rm '%s' /stdin.txt", pool), 1);
	CHECK(has(out, "No such file"));
	free(out);
	CHECK_EQ(ux(&out, "rm '%s' /a", pool), 1);
	CHECK(has(out, "is a directory"));
	free(out);
	CHECK_EQ(ux(&out, "rm -d '%s' /a", pool), 1);
	CHECK(has(out, "not empty"));
	free(out);
	CHECK_EQ(ux(NULL, "rm -d '%s' /a/b/c/d", pool), 0);
	CHECK_EQ(ux(&out, "ls '%s' /a/b/c", pool), 0);
	CHECK_EQ(strlen(out), 0);
	free(out);
	CHECK_EQ(ux(&out, "rm -r '%s' /", pool), 1);
	CHECK(has(out, "refusing"));
	free(out);
	/* a wider tree for rm -r */
	CHECK_EQ(ux(NULL, "mkdir -p '%s' /a/t/u/v", pool), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(sh(NULL, "echo %d | '%s' put '%s' - /a/t/u/f%d", i, cli, pool, i), 0);
	CHECK(inodes_used(pool) > inodes0 + 10);
	CHECK_EQ(ux(NULL, "rm -r '%s' /a", pool), 0);
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK_EQ(strlen(out), 0);
	free(out);
	CHECK_EQ(ux(NULL, "ls '%s' /a", pool), 1);
	CHECK_EQ(inodes_used(pool), inodes0);   /* everything freed */

	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK(has(out, "clean:          yes"));
	free(out);
	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(has(out, "clean"));
	free(out);
	sh(NULL, "rm -rf '%s'", hostdir);
	unlink(hello);
	unlink(pool);
}

static void test_fsck_exit_codes(void)
{
	const char *pool = tmp_path("/dev/shm", "cli-fsck.pool");
	const char *junk = tmp_path("/dev/shm", "cli-junk.pool");
	const char *empty = tmp_path("/dev/shm", "cli-empty.pool");
	size_t n = 8u << 20;
	char *buf = malloc(n), *out = NULL;

	REQUIRE(buf);
	CHECK_EQ(ux(NULL, "mkfs '%s' 16M", pool), 0);
	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(has(out, "clean"));
	free(out);

	/* 8 MiB of random bytes is no pool */
	t_fill(buf, n, 8);
	REQUIRE(write_file(junk, buf, n) == 0);
	free(buf);
	CHECK_EQ(ux(&out, "fsck '%s'", junk), 8);
	CHECK(has(out, junk));
	CHECK(lacks(out, "clean"));
	free(out);
	/* nor is an empty file or a missing one */
	REQUIRE(write_file(empty, "", 0) == 0);
	CHECK_EQ(ux(NULL, "fsck '%s'", empty), 8);
	unlink(empty);
	CHECK_EQ(ux(&out, "fsck '%s'", empty), 8);
	CHECK(has(out, "No such file"));
	free(out);
	/* commands that mount fail with 1 on such files */
	CHECK_EQ(ux(&out, "ls '%s'", junk), 1);
	CHECK(has(out, junk));
	free(out);
	CHECK_EQ(ux(NULL, "info '%s'", junk), 1);
	CHECK_EQ(ux(NULL, "df '%s'", empty), 1);
	/* and nothing wrote to the junk file */
	CHECK_EQ(ux(NULL, "fsck '%s'", junk), 8);
	unlink(junk);
	unlink(pool);
}


/* ------------------------------------------------------------------ */
/* Issue 14: admin commands that never hurt a pool                    */
/* ------------------------------------------------------------------ */

/* cp @a @b; 0 on success. */
static int copy_file(const char *a, const char *b)
{
	return sh(NULL, "cp --sparse=always '%s' '%s'", a, b);
}

/* mkfs --force on a pool another process has mounted changes nothing. */
static void test_mkfs_busy(void)
{
	char pool[256], before[256], *out = NULL;
	udax_fs *fs = NULL;

	snprintf(pool, sizeof(pool), "%s", tmp_path("/dev/shm", "busy.pool"));
	snprintf(before, sizeof(before), "%s", tmp_path("/dev/shm", "busy.before"));
	CHECK_EQ(ux(NULL, "mkfs '%s' 16M", pool), 0);
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	REQUIRE(copy_file(pool, before) == 0);
	/* shrinking would cut off the mounted file system's blocks */
	CHECK_EQ(ux(&out, "mkfs --force '%s' 8M", pool), 1);
	CHECK(has(out, "in use"));
	free(out);
	CHECK(same_file(pool, before));
	CHECK_EQ(ux(&out, "mkfs --force '%s' 32M", pool), 1);
	free(out);
	CHECK(same_file(pool, before));
	CHECK_EQ(ux(&out, "mkfs --force '%s' 16M", pool), 1);
	free(out);
	CHECK(same_file(pool, before));
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(fsck_status(pool), 0);
	unlink(before);
	unlink(pool);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u;
}

/* Pools are created 0600, --mode sets it, re-format keeps it, and a
 * mount of a pool others can open warns. */
static void test_pool_mode(void)
{
	const char *pool = tmp_path("/dev/shm", "mode.pool");
	char *out = NULL;

	unlink(pool);
	CHECK_EQ(ux(NULL, "mkfs '%s' 8M", pool), 0);
	CHECK_EQ(mode_of(pool), 0600u);
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK(lacks(out, "warning"));
	free(out);
	CHECK_EQ(ux(NULL, "mkfs --force --mode 640 '%s' 8M", pool), 0);
	CHECK_EQ(mode_of(pool), 0640u);
	CHECK_EQ(ux(NULL, "mkfs -f '%s' 8M", pool), 0);
	CHECK_EQ(mode_of(pool), 0640u);   /* kept on re-format */
	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK(has(out, "warning"));
	CHECK(has(out, "readable"));
	free(out);
	CHECK_EQ(chmod(pool, 0666), 0);
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK(has(out, "writable"));
	free(out);
	unlink(pool);
	CHECK_EQ(ux(NULL, "mkfs -m 0660 '%s' 8M", pool), 0);
	CHECK_EQ(mode_of(pool), 0660u);
	CHECK_EQ(ux(NULL, "mkfs -f --mode banana '%s' 8M", pool), 2);
	unlink(pool);
}

/*
 * A pool as a crash leaves it: a child mounts it, makes a file it
 * keeps open and unlinks it (an orphan), and dies without unmounting.
 * Then the home block of the journal's last transaction is zeroed, so
 * that the journal needs replay.
 */
static int crashed_pool(const char *pool)
{
	struct djhdr h;
	int fd, st;
	pid_t pid;

	if (ux(NULL, "mkfs -f '%s' 16M", pool) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		udax_fs *fs;
		int f;

		if (udax_mount(pool, NULL, &fs) != 0)
			_exit(1);
		if (udax_mkdir(fs, "/d", 0755) != 0)
			_exit(1);
		f = udax_open(fs, "/d/orphan", O_RDWR | O_CREAT, 0644);
		if (f < 0 || udax_pwrite(fs, f, "data", 4, 0) != 4)
			_exit(1);
		if (udax_unlink(fs, "/d/orphan") != 0)
			_exit(1);
		_exit(0);   /* a crash: no unmount */
	}
	st = -1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "    crash child failed (%d)\n", st);
		return -1;
	}
	fd = open(pool, O_RDWR);
	if (fd < 0)
		return -1;
	if (pread(fd, &h, sizeof(h), (off_t)JOURNAL_START * BLK) != (ssize_t)sizeof(h) ||
	    h.magic != JHDR_MAGIC || h.count == 0) {
		fprintf(stderr, "    no journal transaction in %s\n", pool);
		close(fd);
		return -1;
	}
	static const char zero[BLK];
	if (pwrite(fd, zero, BLK, (off_t)(h.ent[0].home * BLK)) != BLK) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* fsck changes nothing unless --repair; --repair refuses a mounted pool. */
static void test_fsck_readonly(void)
{
	char pool[256], before[256], *out = NULL;
	udax_fs *fs = NULL;

	snprintf(pool, sizeof(pool), "%s", tmp_path("/dev/shm", "crash.pool"));
	snprintf(before, sizeof(before), "%s", tmp_path("/dev/shm", "crash.before"));
	REQUIRE(crashed_pool(pool) == 0);
	REQUIRE(copy_file(pool, before) == 0);
	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(has(out, "journal needs replay"));
	CHECK(has(out, "1 orphaned inode"));
	CHECK(has(out, "clean"));
	free(out);
	CHECK(same_file(pool, before));     /* not a byte written */
	CHECK_EQ(ux(&out, "fsck -n '%s'", pool), 0);
	free(out);
	CHECK(same_file(pool, before));

	/* --repair refuses while the pool is mounted; the check does not */
	REQUIRE(udax_mount(pool, "ro", &fs) == -EROFS); /* needs replay */
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	CHECK_EQ(ux(&out, "fsck --repair '%s'", pool), 8);
	CHECK(has(out, "mounted"));
	free(out);
	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(has(out, "mounted read-write by another process"));
	free(out);
	CHECK_EQ(udax_unmount(fs), 0);

	/* the repair writes: replay and orphans, exit 1 */
	REQUIRE(crashed_pool(pool) == 0);
	CHECK_EQ(ux(&out, "fsck -y '%s'", pool), 1);
	CHECK(has(out, "journal replayed"));
	CHECK(has(out, "1 orphaned inode freed"));
	free(out);
	CHECK_EQ(ux(&out, "fsck '%s'", pool), 0);
	CHECK(lacks(out, "journal"));
	CHECK(lacks(out, "orphan"));
	free(out);
	CHECK_EQ(ux(NULL, "fsck -n -y '%s'", pool), 2);
	unlink(before);
	unlink(pool);
}

/* A FIFO as the pool is refused at once by every command. */
static void test_fifo_pool(void)
{
	const char *fifo = tmp_path("/tmp", "pool.fifo");
	static const char *const cmds[] = {
		"ls %s", "info %s", "df %s", "cat %s /x", "get %s /x -",
		"stat %s /", "fsck %s", "put %s /dev/null /x", "mkfs %s 8M",
		"mkfs -f %s 8M",
	};
	char *out = NULL, args[512];

	unlink(fifo);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(args, sizeof(args), cmds[i], fifo);
		int rc = sh(&out, "timeout 10 '%s' %s 2>&1", cli, args);
		if (rc == 124)
			fprintf(stderr, "    udax %s blocked\n", args);
		CHECK(rc == 1 || (rc == 8 && !strncmp(args, "fsck", 4)));
		CHECK(has(out, "not a file or device"));
		free(out);
	}
	unlink(fifo);
}

/* mkfs checks the space first and leaves nothing behind when it fails;
 * a mount reports a sparse pool its file system cannot back. */
static void test_mkfs_space(void)
{
	const char *pool = tmp_path("/dev/shm", "space.pool");
	struct statvfs sv;
	unsigned long long avail, too_big;
	struct stat st;
	char *out = NULL;

	REQUIRE(statvfs("/dev/shm", &sv) == 0);
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	too_big = (avail + (1ull << 30)) & ~((1ull << 20) - 1);
	unlink(pool);
	CHECK_EQ(ux(&out, "mkfs '%s' %llu", pool, too_big), 1);
	CHECK(has(out, "No space left"));
	free(out);
	CHECK(stat(pool, &st) < 0 && errno == ENOENT);
	CHECK_EQ(ux(&out, "mkfs '%s' 1E", pool), 1);
	free(out);
	CHECK(stat(pool, &st) < 0 && errno == ENOENT);

	/* growing an existing pool past the space leaves it as it was */
	CHECK_EQ(ux(NULL, "mkfs '%s' 8M", pool), 0);
	CHECK_EQ(ux(&out, "mkfs -f '%s' %llu", pool, too_big), 1);
	free(out);
	CHECK_EQ(stat(pool, &st), 0);
	CHECK_EQ(st.st_size, 8 << 20);
	CHECK_EQ(fsck_status(pool), 0);
	/* the space is reserved, not a sparse file */
	CHECK(st.st_blocks * 512 >= st.st_size);

	/* a pool made sparse behind udax's back is reported at mount */
	CHECK_EQ(truncate(pool, (off_t)too_big), 0);
	CHECK_EQ(ux(&out, "info '%s'", pool), 0);
	CHECK(has(out, "sparse"));
	free(out);
	unlink(pool);
}

/* ENOTDIR for "/file/", "/file/.", "/file/.."; ls quotes names and
 * shows symbolic links. */
static void test_paths_and_names(void)
{
	const char *pool = tmp_path("/dev/shm", "names.pool");
	char *out = NULL;
	udax_fs *fs;
	int fd;

	CHECK_EQ(ux(NULL, "mkfs '%s' 8M", pool), 0);
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	static const char *const names[] = {
		"/file", "/a b", "/new\nline", "/it's", "/plain.txt", "/$HOME",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fd = udax_open(fs, names[i], O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0);
		CHECK_EQ(udax_pwrite(fs, fd, "hi\n", 3, 0), 3);
		CHECK_EQ(udax_close(fs, fd), 0);
	}
	CHECK_EQ(udax_symlink(fs, "file", "/link"), 0);
	CHECK_EQ(udax_unmount(fs), 0);

	static const char *const bad[] = {
		"stat '%s' /file/", "stat '%s' /file/.", "cat '%s' /file/.",
		"cat '%s' /file/..", "ls '%s' /file/", "get '%s' /file/ -",
		"cat '%s' /file/../file",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *args = NULL;
		REQUIRE(asprintf(&args, bad[i], pool) > 0);
		CHECK_EQ(ux(&out, "%s", args), 1);
		CHECK(has(out, "Not a directory"));
		free(out);
		free(args);
	}
	CHECK_EQ(ux(&out, "cat '%s' /./file", pool), 0);
	CHECK(has(out, "hi"));
	free(out);

	CHECK_EQ(ux(&out, "ls '%s'", pool), 0);
	CHECK(has(out, "  'a b'\n"));
	CHECK(has(out, "  'new'$'\\n''line'\n"));
	CHECK(has(out, "  \"it's\"\n"));
	CHECK(has(out, "  plain.txt\n"));
	CHECK(has(out, "  '$HOME'\n"));
	CHECK(has(out, "\nl "));
	CHECK(has(out, "  link -> file\n"));
	CHECK(lacks(out, "?"));
	free(out);
	unlink(pool);
}

/* A mountpoint whose FUSE daemon died is named as such, and
 * `udax umount DIR` cleans it up. */
static void test_dead_fuse_mount(void)
{
	const char *pool = tmp_path("/dev/shm", "dead.pool");
	const char *dir = tmp_path("/tmp", "dead.mnt");
	char *out = NULL;
	struct stat st, top;
	long pid;
	int i;

	CHECK_EQ(ux(NULL, "mkfs '%s' 8M", pool), 0);
	mkdir(dir, 0755);
	REQUIRE(stat(dir, &top) == 0);
	if (sh(&out, "'%s' mount -f '%s' '%s' >/dev/null 2>&1 & echo $!", cli, pool, dir) != 0) {
		free(out);
		return;
	}
	pid = strtol(out, NULL, 10);
	free(out);
	for (i = 0; i < 500; i++) {   /* 5 s */
		if (stat(dir, &st) == 0 && st.st_dev != top.st_dev)
			break;
		usleep(10000);
	}
	if (i == 500) {
		fprintf(stderr, "    FUSE unusable here: skipped\n");
		kill((pid_t)pid, SIGKILL);
		rmdir(dir);
		unlink(pool);
		return;
	}
	REQUIRE(kill((pid_t)pid, SIGKILL) == 0);
	for (i = 0; i < 500 && !(stat(dir, &st) < 0 && errno == ENOTCONN); i++)
		usleep(10000);
	CHECK(stat(dir, &st) < 0 && errno == ENOTCONN);
	CHECK_EQ(ux(&out, "mount '%s' '%s'", pool, dir), 1);
	CHECK(has(out, "dead FUSE mount"));
	CHECK(has(out, "udax umount"));
	CHECK(lacks(out, "/dev/fuse"));
	free(out);
	CHECK_EQ(ux(&out, "umount '%s'", dir), 0);
	free(out);
	CHECK_EQ(stat(dir, &st), 0);
	CHECK_EQ(st.st_dev, top.st_dev);
	rmdir(dir);
	unlink(pool);
}

/* udax run: the interposer set up for one command, its status kept. */
static void test_run(void)
{
	const char *pool = tmp_path("/dev/shm", "run.pool");
	char *out = NULL;
	int rc;

	CHECK_EQ(ux(NULL, "mkfs -f '%s' 16M", pool), 0);
	rc = ux(&out, "run '%s' -- sh -c 'echo hi > /udax/x'", pool);
	if (rc == 127 && strstr(out, "cannot find")) {
		fprintf(stderr, "    no libudax-preload.so in this build: skipped\n");
		free(out);
		unlink(pool);
		return;
	}
	CHECK_EQ(rc, 0);
	free(out);
	CHECK_EQ(ux(&out, "cat '%s' /x", pool), 0);
	CHECK_EQ(strcmp(out, "hi\n"), 0);
	free(out);
	/* the command's exit status; --prefix; arguments after COMMAND
	 * are its own, options included */
	CHECK_EQ(ux(NULL, "run '%s' sh -c 'exit 3'", pool), 3);
	CHECK_EQ(ux(&out, "run --prefix /pool '%s' cat -n /pool/x", pool), 0);
	CHECK(has(out, "1\thi"));
	free(out);
	CHECK_EQ(ux(&out, "run -o ro '%s' -- sh -c 'echo no > /udax/y'", pool), 2);
	free(out);
	CHECK_EQ(ux(&out, "run '%s' -- udax-no-such-command", pool), 127);
	CHECK(has(out, "udax-no-such-command"));
	free(out);
	CHECK_EQ(ux(NULL, "run '%s'", pool), 2);
	CHECK_EQ(fsck_status(pool), 0);
	unlink(pool);
}

int main(void)
{
	char cmd[256];

	cli = getenv("UDAX_CLI");
	if (!cli || !*cli || access(cli, X_OK) != 0) {
		fprintf(stderr, "test_cli: UDAX_CLI must name the built udax binary "
		        "(got %s)\n", cli ? cli : "nothing: UDAX_CLI is unset");
		t_failed++;
		return t_summary();
	}
	RUN(test_help_and_usage);
	RUN(test_mkfs);
	RUN(test_put_get_big);
	RUN(test_sparse);
	RUN(test_namespace_commands);
	RUN(test_fsck_exit_codes);
	RUN(test_mkfs_busy);
	RUN(test_pool_mode);
	RUN(test_fsck_readonly);
	RUN(test_fifo_pool);
	RUN(test_mkfs_space);
	RUN(test_paths_and_names);
	RUN(test_dead_fuse_mount);
	RUN(test_run);
	snprintf(cmd, sizeof(cmd), "rm -rf /dev/shm/udax-test-%d-* /tmp/udax-test-%d-*",
	         (int)getpid(), (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s failed\n", cmd);
	return t_summary();
}
