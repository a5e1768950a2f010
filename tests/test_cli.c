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

#include <ctype.h>
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

/* Column @col (1: 1K-blocks or Size or Inodes, 2: Used, 3: Available,
 * 4: Use%) of the line after the header of `udax df` output @out, for a
 * pool name without spaces; -1 if it is no number. */
static long long df_column(const char *out, int col)
{
	const char *p = out ? strchr(out, '\n') : NULL;

	if (!p)
		return -1;
	p++;
	for (int i = 0; i < col; i++) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return *p >= '0' && *p <= '9' ? strtoll(p, NULL, 10) : -1;
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
/* A small JSON reader for the --json outputs                         */
/* ------------------------------------------------------------------ */

/*
 * Enough of RFC 8259 to check that a text is one valid JSON value and
 * to pick members out of it: the CI image has no python3 (and the
 * test must not need one), so the check is done here.  Strings must be
 * valid UTF-8 with every control character escaped.
 */
static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Length of the valid UTF-8 sequence at @s, 0 if there is none. */
static int js_utf8(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int len;

	if (s[0] < 0x80)
		return 1;
	len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
	      s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	if (s[0] == 0xed)
		hi = 0x9f;
	if (s[0] == 0xf0)
		lo = 0x90;
	if (s[0] == 0xf4)
		hi = 0x8f;
	if (!len || s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static int js_hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned)d;
	}
	return 0;
}

/* The string at @p (at its '"'): its end, and its decoded bytes into
 * @dec (NUL-terminated, at most strlen(p) + 1 bytes) unless NULL. */
static const char *js_string(const char *p, char *dec)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20)
			return NULL;   /* a raw control character, NUL included */
		if (c == '\\') {
			unsigned u, lo;
			const char *m = strchr("\"\\/bfnrt", p[1]);
			if (p[1] && m) {
				if (dec)
					*dec++ = "\"\\/\b\f\n\r\t"[m - "\"\\/bfnrt"];
				p += 2;
				continue;
			}
			if (p[1] != 'u' || js_hex4(p + 2, &u))
				return NULL;
			p += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (p[0] != '\\' || p[1] != 'u' || js_hex4(p + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return NULL;
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return NULL;
			}
			if (!dec)
				continue;
			if (u < 0x80) {
				*dec++ = (char)u;
			} else if (u < 0x800) {
				*dec++ = (char)(0xc0 | u >> 6);
				*dec++ = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				*dec++ = (char)(0xe0 | u >> 12);
				*dec++ = (char)(0x80 | (u >> 6 & 0x3f));
				*dec++ = (char)(0x80 | (u & 0x3f));
			} else {
				*dec++ = (char)(0xf0 | u >> 18);
				*dec++ = (char)(0x80 | (u >> 12 & 0x3f));
				*dec++ = (char)(0x80 | (u >> 6 & 0x3f));
				*dec++ = (char)(0x80 | (u & 0x3f));
			}
			continue;
		}
		int n = js_utf8((const unsigned char *)p);
		if (!n)
			return NULL;
		if (dec) {
			memcpy(dec, p, (size_t)n);
			dec += n;
		}
		p += n;
	}
	if (dec)
		*dec = 0;
	return p + 1;
}

static const char *js_value(const char *p, int depth);

static const char *js_container(const char *p, int depth)
{
	char close = *p == '{' ? '}' : ']';

	p = js_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = js_string(p, NULL);
			if (!p)
				return NULL;
			p = js_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = js_value(p, depth + 1);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = js_ws(p);
	}
}

/* The end of the value at @p (after white space), or NULL if invalid. */
static const char *js_value(const char *p, int depth)
{
	p = js_ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '{' || *p == '[')
		return js_container(p, depth);
	if (*p == '"')
		return js_string(p, NULL);
	for (const char *lit = "true\0false\0null\0"; *lit; lit += strlen(lit) + 1)
		if (!strncmp(p, lit, strlen(lit)))
			return p + strlen(lit);
	const char *s = p;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p > s ? p : NULL;
}

/* @text is one JSON object, nothing before it and only a newline after
 * (as the --json options write it).  Prints the text when it is not. */
static int json_object_ok(const char *text)
{
	const char *end = text && text[0] == '{' ? js_value(text, 0) : NULL;

	if (end && !strcmp(end, "\n"))
		return 1;
	fprintf(stderr, "    not one JSON object%s%s:\n%s\n", end ? ", then: " : "",
	        end ? end : "", text ? text : "(null)");
	return 0;
}

/* The value of member @key of the object at @obj, or NULL. */
static const char *json_member(const char *obj, const char *key)
{
	const char *p = js_ws(obj);

	if (*p != '{')
		return NULL;
	p = js_ws(p + 1);
	while (*p == '"') {
		char *k = malloc(strlen(p) + 1);
		const char *e = k ? js_string(p, k) : NULL;
		int match = e && !strcmp(k, key);
		free(k);
		if (!e)
			return NULL;
		p = js_ws(e);
		if (*p++ != ':')
			return NULL;
		p = js_ws(p);
		if (match)
			return p;
		p = js_value(p, 1);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p != ',')
			return NULL;
		p = js_ws(p + 1);
	}
	return NULL;
}

/* Element @i of the array at @arr, or NULL. */
static const char *json_element(const char *arr, int i)
{
	const char *p = js_ws(arr);

	if (*p != '[')
		return NULL;
	p = js_ws(p + 1);
	if (*p == ']')
		return NULL;
	for (; i > 0; i--) {
		p = js_value(p, 1);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p != ',')
			return NULL;
		p = js_ws(p + 1);
	}
	return p;
}

static int json_length(const char *arr)
{
	int n = 0;

	while (json_element(arr, n))
		n++;
	return n;
}

/* Member @key as a string (decoded; static, valid until the next call),
 * or NULL when missing or not a string. */
static const char *json_str(const char *obj, const char *key)
{
	static char *buf;
	const char *v = json_member(obj, key);

	free(buf);
	buf = NULL;
	if (!v || *v != '"' || !(buf = malloc(strlen(v) + 1)) || !js_string(v, buf))
		return NULL;
	return buf;
}

/* Member @key as a number (-1 when missing or not an integer). */
static long long json_num(const char *obj, const char *key)
{
	const char *v = json_member(obj, key);
	char *end;
	long long n;

	if (!v || !((*v >= '0' && *v <= '9') || *v == '-'))
		return -1;
	n = strtoll(v, &end, 10);
	return *end == '.' || *end == 'e' || *end == 'E' ? -1 : n;
}

/* Member @key is the literal @lit (true, false, null). */
static int json_is(const char *obj, const char *key, const char *lit)
{
	const char *v = json_member(obj, key);

	return v && !strncmp(v, lit, strlen(lit)) && !isalnum((unsigned char)v[strlen(lit)]);
}

/* Run "udax ARGS 2>/dev/null": stdout alone, for the --json outputs. */
static int uxo(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int uxo(char **out, const char *fmt, ...)
{
	char *args = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&args, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = sh(out, "'%s' %s 2>/dev/null", cli, args);
	free(args);
	return r;
}

/* If python3 is there, its json module accepts @text as well. */
static int python_accepts(const char *text)
{
	const char *f = tmp_path("/tmp", "json.txt");

	if (system("command -v python3 >/dev/null 2>&1") != 0)
		return 1;
	if (write_file(f, text, strlen(text)) != 0)
		return 0;
	int r = sh(NULL, "python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding=\"utf-8\"))' '%s'", f);
	unlink(f);
	return r == 0;
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
	CHECK(has(out, "1K-blocks  Used Available Use% Mounted on\n"));
	CHECK_EQ(count_lines(out), 2);
	/* Available, in KiB: the same space info reports */
	if (free_blocks >= 0)
		CHECK_EQ(df_column(out, 3), free_blocks * 4);
	CHECK_EQ(df_column(out, 1), df_column(out, 2) + df_column(out, 3));
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
	CHECK(df_column(out, 2) >= 64ll << 10);   /* Used, KiB */
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

	if (ux(&out, "df -i '%s'", pool) == 0)
		n = df_column(out, 2);   /* IUsed */
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

/* udax stat prints what GNU stat(1) prints for a file, line by line. */
static void test_stat_format(void)
{
	const char *pool = tmp_path("/dev/shm", "statfmt.pool");
	char *out = NULL, expect[512];
	udax_fs *fs;
	struct stat st;
	int fd;

	CHECK_EQ(ux(NULL, "mkfs '%s' 16M", pool), 0);
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	fd = udax_open(fs, "/f", O_WRONLY | O_CREAT, 0640);
	CHECK(fd >= 0 && udax_pwrite(fs, fd, "hello", 5, 0) == 5);
	CHECK_EQ(udax_close(fs, fd), 0);
	fd = udax_open(fs, "/empty", O_WRONLY | O_CREAT, 0600);
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_mkdir(fs, "/d", 0755), 0);
	CHECK_EQ(udax_symlink(fs, "d/target", "/l"), 0);
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1800000000, 5 } };
	CHECK_EQ(udax_utimens(fs, "/f", ts), 0);
	CHECK_EQ(udax_stat(fs, "/f", &st), 0);
	CHECK_EQ(udax_unmount(fs), 0);

	/* TZ fixed so that the times are known: stat(1) shows local time */
	CHECK_EQ(sh(&out, "TZ=UTC0 '%s' stat '%s' /f", cli, pool), 0);
	CHECK(has(out, "  File: /f\n"));
	CHECK(has(out, "  Size: 5         \tBlocks: 8          IO Block: 4096   regular file\n"));
	snprintf(expect, sizeof(expect), "Device: 0,0\tInode: %-10llu  Links: 1\n",
	         (unsigned long long)st.st_ino);
	CHECK(has(out, expect));
	CHECK(has(out, "Access: (0640/-rw-r-----)  Uid: ("));
	snprintf(expect, sizeof(expect), "Uid: (%5u/", (unsigned)st.st_uid);
	CHECK(has(out, expect));
	snprintf(expect, sizeof(expect), "Gid: (%5u/", (unsigned)st.st_gid);
	CHECK(has(out, expect));
	CHECK(has(out, "\nAccess: 2001-09-09 01:46:40.123456789 +0000\n"));
	CHECK(has(out, "\nModify: 2027-01-15 08:00:00.000000005 +0000\n"));
	CHECK(has(out, "\nChange: "));
	CHECK(has(out, "\n Birth: -\n"));
	CHECK(has(out, "\ndata 0..5 (5 B)\n"));
	/* the order of stat(1) */
	const char *a = strstr(out, "  File:"), *b = strstr(out, "  Size:"),
	           *c = strstr(out, "Device:"), *d = strstr(out, "Access: ("),
	           *e = strstr(out, "Modify:"), *f = strstr(out, " Birth:");
	CHECK(a && b && c && d && e && f && a < b && b < c && c < d && d < e && e < f);
	free(out);
	/* another zone: the offset follows it */
	CHECK_EQ(sh(&out, "TZ=XST-5 '%s' stat '%s' /f", cli, pool), 0);
	CHECK(has(out, "\nAccess: 2001-09-09 06:46:40.123456789 +0500\n"));
	free(out);

	CHECK_EQ(ux(&out, "stat '%s' /empty", pool), 0);
	CHECK(has(out, "  Size: 0         \tBlocks: 0          IO Block: 4096   regular empty file\n"));
	CHECK(has(out, "Access: (0600/-rw-------)"));
	CHECK(has(out, "data: none\n"));
	free(out);
	CHECK_EQ(ux(&out, "stat '%s' /d", pool), 0);
	CHECK(has(out, "IO Block: 4096   directory\n"));
	CHECK(has(out, "Links: 2\n"));
	CHECK(has(out, "Access: (0755/drwxr-xr-x)"));
	CHECK(lacks(out, "data"));
	free(out);
	CHECK_EQ(ux(&out, "stat '%s' /l", pool), 0);
	CHECK(has(out, "  File: /l -> d/target\n"));
	CHECK(has(out, "  Size: 8         \tBlocks: 0          IO Block: 4096   symbolic link\n"));
	CHECK(has(out, "Access: (0777/lrwxrwxrwx)"));
	free(out);
	CHECK_EQ(fsck_status(pool), 0);
	unlink(pool);
}

/* Offset of the end of the @k-th (from 0) blank-separated word of the
 * line at @line. */
static long token_end(const char *line, int k)
{
	const char *p = line;

	for (int i = 0; ; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (i == k || !*p || *p == '\n')
			return (long)(p - line);
	}
}

/* df's table; -h with df's rounding (numfmt --round=up is the same
 * gnulib arithmetic); -i. */
static void test_df_format(void)
{
	const char *pool = tmp_path("/dev/shm", "dffmt.pool");
	const char *src = tmp_path("/tmp", "dffmt.src");
	char *out = NULL, *js = NULL, *num = NULL, expect[256];
	size_t n = 3u << 20;
	char *buf = malloc(n);

	REQUIRE(buf);
	memset(buf, 'x', n);
	REQUIRE(write_file(src, buf, n - 1000) == 0);
	free(buf);
	CHECK_EQ(ux(NULL, "mkfs '%s' 40M", pool), 0);
	CHECK_EQ(ux(NULL, "put '%s' '%s' /x", pool, src), 0);
	CHECK_EQ(ux(NULL, "mkdir '%s' /d", pool), 0);

	CHECK_EQ(uxo(&js, "df --json '%s'", pool), 0);
	REQUIRE(json_object_ok(js));
	long long size = json_num(js, "size"), used = json_num(js, "used");
	long long avail = json_num(js, "available");
	CHECK(size > 0 && used >= 3 << 20 && avail > 0 && used + avail == size);

	CHECK_EQ(ux(&out, "df '%s'", pool), 0);
	CHECK(has(out, "Filesystem"));
	CHECK(!strncmp(out, "Filesystem ", 11));
	CHECK(has(out, " 1K-blocks  Used Available Use% Mounted on\n"));
	CHECK_EQ(df_column(out, 1), (size + 1023) / 1024);
	CHECK_EQ(df_column(out, 2), (used + 1023) / 1024);
	CHECK_EQ(df_column(out, 3), (avail + 1023) / 1024);
	CHECK_EQ(df_column(out, 4), (used * 100 + size - 1) / size);   /* rounded up */
	CHECK(has(out, "% -\n"));
	/* the columns line up: each number ends under the end of its
	 * header, "-" starts under "Mounted on" */
	const char *row = strchr(out, '\n') + 1;
	for (int k = 1; k <= 4; k++)
		CHECK_EQ(token_end(out, k), token_end(row, k));
	CHECK_EQ(token_end(out, 5) - 7, token_end(row, 5) - 1);
	free(out);

	CHECK_EQ(ux(&out, "df -h '%s'", pool), 0);
	CHECK(has(out, " Size  Used Avail Use% Mounted on\n"));
	CHECK_EQ(sh(&num, "numfmt --to=iec --round=up %lld %lld %lld | tr '\\n' ' '",
	            size, used, avail), 0);
	char hs[32], hu[32], ha[32];
	CHECK(num && sscanf(num, "%31s %31s %31s", hs, hu, ha) == 3);
	snprintf(expect, sizeof(expect), " %s %5s %5s ", hs, hu, ha);
	CHECK(has(out, expect));
	free(num);
	free(out);
	CHECK_EQ(ux(&out, "df --human-readable '%s'", pool), 0);
	CHECK(has(out, expect));
	free(out);
	/* -h is df's here; --help still is help */
	CHECK_EQ(ux(&out, "df --help"), 0);
	CHECK(has(out, "--human-readable"));
	CHECK(has(out, "--inodes"));
	CHECK(has(out, "--json"));
	free(out);

	CHECK_EQ(ux(&out, "df -i '%s'", pool), 0);
	CHECK(has(out, " Inodes IUsed IFree IUse% Mounted on\n"));
	CHECK_EQ(df_column(out, 1), json_num(js, "inodes"));
	CHECK_EQ(df_column(out, 2), json_num(js, "inodes_used"));
	CHECK_EQ(df_column(out, 3), json_num(js, "inodes_free"));
	CHECK_EQ(json_num(js, "inodes_used"), 3);  /* /, /x, /d */
	free(out);
	CHECK_EQ(ux(&out, "df -hi '%s'", pool), 0);
	CHECK(has(out, " Inodes IUsed IFree IUse% Mounted on\n"));
	free(out);
	free(js);
	unlink(src);
	unlink(pool);
}

/*
 * --json of info, stat and df: one valid JSON object (checked here by
 * a parser, and by python3's json module where there is one), the
 * values the text shows, and names escaped: a pool and a file whose
 * names hold a newline and a quote, a name that is not UTF-8.
 */
static void test_json(void)
{
	const char *pool = tmp_path("/dev/shm", "j\"s\non 'pool");
	static const char weird[] = "/new\nline \"quoted\" \\ \t\x01\x7f";
	static const char latin1[] = "/caf\xe9\xff";
	static const char utf8[] = "/caf\xc3\xa9 \xe2\x82\xac";
	const char *P = "\"$UDAX_TEST_POOL\"";
	char *out = NULL, *text = NULL;
	udax_fs *fs;
	int fd;

	/* the shell gets the pool's name from the environment */
	setenv("UDAX_TEST_POOL", pool, 1);
	CHECK_EQ(ux(NULL, "mkfs %s 16M", P), 0);
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	const char *names[] = { weird, latin1, utf8 };
	for (int i = 0; i < 3; i++) {
		fd = udax_open(fs, names[i], O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0 && udax_pwrite(fs, fd, "abc", 3, 8192) == 3);
		CHECK_EQ(udax_close(fs, fd), 0);
	}
	CHECK_EQ(udax_symlink(fs, "to\nthere", "/link"), 0);
	CHECK_EQ(udax_unmount(fs), 0);

	/* info */
	CHECK_EQ(ux(&text, "info %s", P), 0);
	CHECK_EQ(uxo(&out, "info --json %s", P), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(has(out, "\"pool\": \"/dev/shm/udax-test-"));
	CHECK(has(out, "j\\\"s\\non 'pool\""));
	CHECK(json_str(out, "pool") && !strcmp(json_str(out, "pool"), pool));
	CHECK_EQ(json_num(out, "format_version"), 1);
	CHECK(json_is(out, "clean", "true"));
	CHECK_EQ(json_num(out, "pool_size"), 16 << 20);
	CHECK_EQ(json_num(out, "block_size"), 4096);
	CHECK_EQ(json_num(out, "mount_count"), field(text, "mount count:"));
	const char *fi = strstr(text, "free:");
	CHECK(fi && strchr(fi, '(') &&
	      json_num(out, "free_blocks") == strtoll(strchr(fi, '(') + 1, NULL, 10));
	CHECK(json_str(out, "uuid") && strlen(json_str(out, "uuid")) == 36 &&
	      has(text, json_str(out, "uuid")));
	CHECK(json_str(out, "flush") && has(text, json_str(out, "flush")));
	CHECK(json_is(out, "map_sync", "false") || json_is(out, "map_sync", "true"));
	long long free_blocks = json_num(out, "free_blocks");
	free(out);
	free(text);

	/* stat of the name with a newline, quotes, a backslash, a tab and
	 * control characters */
	/* the shell gets the names from the environment */
	setenv("UDAX_TEST_NAME", weird, 1);
	const char *q = "\"$UDAX_TEST_NAME\"";
	CHECK_EQ(uxo(&out, "stat --json %s %s", P, q), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(has(out, "\"file\": \"/new\\nline \\\"quoted\\\" \\\\ \\t\\u0001\\u007f\""));
	CHECK(json_str(out, "file") && !strcmp(json_str(out, "file"), weird));
	CHECK(json_str(out, "pool") && !strcmp(json_str(out, "pool"), pool));
	CHECK_EQ(json_num(out, "size"), 8195);
	CHECK_EQ(json_num(out, "blocks"), 8);
	CHECK_EQ(json_num(out, "io_block"), 4096);
	CHECK(json_str(out, "type") && !strcmp(json_str(out, "type"), "regular file"));
	CHECK_EQ(json_num(out, "links"), 1);
	CHECK_EQ(json_num(out, "mode"), 0644);
	CHECK(json_str(out, "mode_octal") && !strcmp(json_str(out, "mode_octal"), "0644"));
	CHECK(json_str(out, "mode_string") && !strcmp(json_str(out, "mode_string"), "-rw-r--r--"));
	CHECK(json_is(out, "target", "null"));
	CHECK(json_is(out, "birth", "null"));
	CHECK(json_num(out, "modify_sec") > 1000000000);
	CHECK(json_num(out, "modify_nsec") >= 0 && json_num(out, "modify_nsec") < 1000000000);
	const char *data = json_member(out, "data");
	CHECK(data && json_length(data) == 1);
	const char *seg = data ? json_element(data, 0) : NULL;
	CHECK(seg && json_num(seg, "start") == 8192 && json_num(seg, "end") == 8195 &&
	      json_num(seg, "length") == 3);
	/* the same values as the text */
	CHECK_EQ(uxo(&text, "stat %s %s", P, q), 0);
	CHECK_EQ(field(text, "Inode:"), json_num(out, "inode"));
	CHECK_EQ(field(text, "Uid: ("), json_num(out, "uid"));
	CHECK_EQ(field(text, "Gid: ("), json_num(out, "gid"));
	CHECK(json_str(out, "user") && has(text, json_str(out, "user")));
	CHECK(json_str(out, "modify") && has(text, json_str(out, "modify")));
	CHECK(json_str(out, "access") && has(text, json_str(out, "access")));
	CHECK(json_str(out, "change") && has(text, json_str(out, "change")));
	CHECK(has(text, "\ndata 8192..8195 (3 B)\n"));
	/* the text quotes the name, one line as for ls */
	CHECK(has(text, "  File: '/new'$'\\n''line \"quoted\" \\ '$'\\t'$'\\001'$'\\177'\n"));
	free(text);
	free(out);

	/* bytes that are not UTF-8 come out as \u00XX; UTF-8 as it is */
	setenv("UDAX_TEST_NAME", latin1, 1);
	CHECK_EQ(uxo(&out, "stat --json %s %s", P, q), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(has(out, "\"file\": \"/caf\\u00e9\\u00ff\""));
	free(out);
	setenv("UDAX_TEST_NAME", utf8, 1);
	CHECK_EQ(uxo(&out, "stat --json %s %s", P, q), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(json_str(out, "file") && !strcmp(json_str(out, "file"), utf8));
	free(out);

	/* a link: its target; a directory: no data */
	CHECK_EQ(uxo(&out, "stat --json %s /link", P), 0);
	CHECK(json_object_ok(out));
	CHECK(json_str(out, "target") && !strcmp(json_str(out, "target"), "to\nthere"));
	CHECK(json_str(out, "type") && !strcmp(json_str(out, "type"), "symbolic link"));
	CHECK(json_is(out, "data", "null"));
	free(out);
	CHECK_EQ(uxo(&out, "stat --json %s /", P), 0);
	CHECK(json_object_ok(out));
	CHECK(json_str(out, "type") && !strcmp(json_str(out, "type"), "directory"));
	CHECK(json_is(out, "data", "null"));
	CHECK(json_str(out, "file") && !strcmp(json_str(out, "file"), "/"));
	free(out);
	/* errors: no object, the status and message as without --json */
	CHECK_EQ(ux(&out, "stat --json %s /none", P), 1);
	CHECK(has(out, "No such file"));
	CHECK(lacks(out, "{"));
	free(out);

	/* df */
	CHECK_EQ(uxo(&out, "df --json %s", P), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(json_str(out, "filesystem") && !strcmp(json_str(out, "filesystem"), pool));
	CHECK_EQ(json_num(out, "block_size"), 4096);
	CHECK_EQ(json_num(out, "free_blocks"), free_blocks);   /* as info says */
	CHECK_EQ(json_num(out, "available"), json_num(out, "free_blocks") * 4096);
	CHECK_EQ(json_num(out, "size"), json_num(out, "total_blocks") * 4096);
	CHECK_EQ(json_num(out, "used") + json_num(out, "available"), json_num(out, "size"));
	CHECK_EQ(json_num(out, "use_percent"), 1);
	CHECK_EQ(json_num(out, "inodes_used"), 5);
	CHECK_EQ(json_num(out, "inodes_used") + json_num(out, "inodes_free"),
	         json_num(out, "inodes"));
	CHECK_EQ(json_num(out, "name_max"), 255);
	CHECK(json_is(out, "mounted_on", "null"));
	/* -h and -i change the text only */
	CHECK_EQ(uxo(&text, "df -h -i --json %s", P), 0);
	CHECK(text && !strcmp(text, out));
	free(text);
	free(out);

	/* fsck */
	CHECK_EQ(uxo(&out, "fsck --json %s", P), 0);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(json_str(out, "pool") && !strcmp(json_str(out, "pool"), pool));
	CHECK(json_is(out, "clean", "true"));
	CHECK_EQ(json_num(out, "exit_code"), 0);
	CHECK_EQ(json_num(out, "problem_count"), 0);
	CHECK(json_member(out, "problems") && json_length(json_member(out, "problems")) == 0);
	free(out);
	unlink(pool);
}

/* fsck --json: the problems as a list, the exit status it returns. */
static void test_fsck_json(void)
{
	char pool[256], *out = NULL;
	const char *junk = tmp_path("/dev/shm", "fsckjson.junk");
	struct dsuper sb;
	unsigned char c;
	int fd;

	snprintf(pool, sizeof(pool), "%s", tmp_path("/dev/shm", "fsckjson.pool"));
	/* a journal to replay and an orphan: clean, exit 0 */
	REQUIRE(crashed_pool(pool) == 0);
	CHECK_EQ(uxo(&out, "fsck --json '%s'", pool), 0);
	CHECK(json_object_ok(out));
	CHECK(json_is(out, "journal", "true"));
	CHECK(json_is(out, "journal_replayed", "false"));
	CHECK_EQ(json_num(out, "orphans"), 1);
	CHECK(json_is(out, "orphans_freed", "false"));
	CHECK(json_is(out, "repair", "false"));
	CHECK(json_is(out, "live", "false"));
	CHECK(json_is(out, "clean", "true"));
	CHECK_EQ(json_num(out, "exit_code"), 0);
	free(out);
	/* repaired: exit 1 */
	CHECK_EQ(uxo(&out, "fsck --repair --json '%s'", pool), 1);
	CHECK(json_object_ok(out));
	CHECK(json_is(out, "repair", "true"));
	CHECK(json_is(out, "journal_replayed", "true"));
	CHECK(json_is(out, "orphans_freed", "true"));
	CHECK_EQ(json_num(out, "exit_code"), 1);
	free(out);

	/* a corrupted block bitmap: problems, exit 4 */
	fd = open(pool, O_RDWR);
	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &sb, sizeof(sb), 0) == (ssize_t)sizeof(sb));
	off_t at = (off_t)(sb.bitmap_start * BLK + 16 + 100);
	REQUIRE(pread(fd, &c, 1, at) == 1);
	c ^= 0x24;
	REQUIRE(pwrite(fd, &c, 1, at) == 1);
	close(fd);
	char *text = NULL;
	CHECK_EQ(ux(&text, "fsck '%s'", pool), 4);
	CHECK_EQ(uxo(&out, "fsck --json '%s'", pool), 4);
	CHECK(json_object_ok(out));
	CHECK(python_accepts(out));
	CHECK(json_is(out, "clean", "false"));
	CHECK_EQ(json_num(out, "exit_code"), 4);
	const char *probs = json_member(out, "problems");
	int n = probs ? json_length(probs) : -1;
	CHECK(n > 0);
	CHECK_EQ(json_num(out, "problem_count"), n);
	/* each problem as the text prints it, on its own line */
	for (int i = 0; probs && i < n; i++) {
		const char *v = json_element(probs, i);
		char *dec = v ? malloc(strlen(v) + 1) : NULL;
		CHECK(dec && *v == '"' && js_string(v, dec));
		if (dec) {
			char line[1024];
			snprintf(line, sizeof(line), "%s\n", dec);
			CHECK(has(text, line));
		}
		free(dec);
	}
	CHECK(has(out, "bitmap"));
	free(text);
	free(out);

	/* no pool: exit 8, and still an object on stdout */
	REQUIRE(write_file(junk, "not a pool", 10) == 0);
	CHECK_EQ(uxo(&out, "fsck --json '%s'", junk), 8);
	CHECK(json_object_ok(out));
	CHECK_EQ(json_num(out, "exit_code"), 8);
	CHECK(json_str(out, "error") != NULL);
	CHECK(json_num(out, "errno") > 0);
	free(out);
	CHECK_EQ(ux(&out, "fsck --json '%s'", junk), 8);   /* the message too */
	CHECK(has(out, "udax fsck: "));
	free(out);
	unlink(junk);
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
	RUN(test_stat_format);
	RUN(test_df_format);
	RUN(test_json);
	RUN(test_fsck_json);
	RUN(test_dead_fuse_mount);
	RUN(test_run);
	snprintf(cmd, sizeof(cmd), "rm -rf /dev/shm/udax-test-%d-* /tmp/udax-test-%d-*",
	         (int)getpid(), (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s failed\n", cmd);
	return t_summary();
}
