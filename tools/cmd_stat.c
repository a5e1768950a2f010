/*
 * cmd_stat.c - udax stat: a file's status, as GNU stat(1) prints it,
 * then udax's own lines for the data segments of a regular file:
 *
 *     File: /a/b -> target        (" -> target" for a symbolic link)
 *     Size: 5          Blocks: 8          IO Block: 4096   regular file
 *   Device: 0,0     Inode: 12          Links: 1
 *   Access: (0644/-rw-r--r--)  Uid: ( 1000/    user)   Gid: ( 1000/   group)
 *   Access: 2026-12-01 23:04:26.123456789 +0000
 *   Modify: ...
 *   Change: ...
 *    Birth: -
 *   data 0..4096 (4.0 KiB)
 *
 * Times are in the local time zone, as stat(1) shows them; udax keeps
 * no birth time; st_dev is 0 for every udax file.  Unlike stat(1) a
 * name with unusual characters is quoted as `udax ls` does, so every
 * field stays on its line.  --json: one JSON object with every field.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

#define TIME_LEN 96

/* "2026-12-01 23:04:26.123456789 +0000" */
static void format_time(const struct timespec *ts, char out[TIME_LEN])
{
	char when[40], zone[16];
	time_t t = ts->tv_sec;
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		snprintf(out, TIME_LEN, "%jd.%09ld", (intmax_t)ts->tv_sec,
			 (long)ts->tv_nsec);
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(out, TIME_LEN, "%s.%09ld %s", when, (long)ts->tv_nsec, zone);
}

/* stat(1)'s %F */
static const char *type_word(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return st->st_size ? "regular file" : "regular empty file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symbolic link";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character special file";
	case S_IFBLK:
		return "block special file";
	}
	return "weird file";
}

/* The data segments of a regular file: [seg[2i], seg[2i+1]) hold
 * data, the gaps between are holes. */
static int data_segments(udax_fs *fs, const char *path, off_t **out,
			 size_t *np)
{
	off_t off = 0, d, h, *seg = NULL;
	size_t n = 0, cap = 0;
	int fd, rc = 0;

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
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			seg = xrealloc(seg, 2 * cap * sizeof(*seg));
		}
		seg[2 * n] = d;
		seg[2 * n + 1] = h;
		n++;
		off = h;
	}
	udax_close(fs, fd);
	*out = seg;
	*np = n;
	return rc;
}

struct stat_view {
	const char *path, *target;  /* target: NULL unless a link */
	char mode[11], user[64], group[64];
	char atime[TIME_LEN], mtime[TIME_LEN], ctime[TIME_LEN];
	off_t *seg;
	size_t nseg;
	bool regular;
};

static void json_time(struct json *j, const char *key, const char *text,
		      const struct timespec *ts)
{
	char k[32];

	json_str(j, key, text);
	snprintf(k, sizeof(k), "%s_sec", key);
	json_i64(j, k, (int64_t)ts->tv_sec);
	snprintf(k, sizeof(k), "%s_nsec", key);
	json_i64(j, k, (int64_t)ts->tv_nsec);
}

static void stat_json(const char *pool, const struct stat *st,
		      const struct stat_view *v)
{
	char octal[8];
	struct json j;
	size_t i;

	snprintf(octal, sizeof(octal), "%04o", (unsigned)(st->st_mode & 07777));
	json_begin(&j, stdout);
	json_str(&j, "pool", pool);
	json_str(&j, "file", v->path);
	json_str(&j, "target", v->target);
	json_i64(&j, "size", (int64_t)st->st_size);
	json_i64(&j, "blocks", (int64_t)st->st_blocks);
	json_u64(&j, "io_block", UDAX_BLOCK_SIZE);
	json_str(&j, "type", type_word(st));
	json_u64(&j, "device", (uint64_t)st->st_dev);
	json_u64(&j, "inode", (uint64_t)st->st_ino);
	json_u64(&j, "links", (uint64_t)st->st_nlink);
	json_u64(&j, "mode", st->st_mode & 07777);
	json_str(&j, "mode_octal", octal);
	json_str(&j, "mode_string", v->mode);
	json_u64(&j, "uid", st->st_uid);
	json_str(&j, "user", v->user);
	json_u64(&j, "gid", st->st_gid);
	json_str(&j, "group", v->group);
	json_time(&j, "access", v->atime, &st->st_atim);
	json_time(&j, "modify", v->mtime, &st->st_mtim);
	json_time(&j, "change", v->ctime, &st->st_ctim);
	json_null(&j, "birth");
	if (v->regular) {
		json_open(&j, "data", '[');
		for (i = 0; i < v->nseg; i++) {
			json_open(&j, NULL, '{');
			json_i64(&j, "start", (int64_t)v->seg[2 * i]);
			json_i64(&j, "end", (int64_t)v->seg[2 * i + 1]);
			json_i64(&j, "length",
				 (int64_t)(v->seg[2 * i + 1] - v->seg[2 * i]));
			json_close(&j);
		}
		json_close(&j);
	} else {
		json_null(&j, "data");
	}
	json_end(&j);
}

static void stat_text(const struct stat *st, const struct stat_view *v)
{
	char *q = quote_name(v->path), *tq = v->target ?
		quote_name(v->target) : NULL;
	size_t i;

	printf("  File: %s%s%s\n", q, tq ? " -> " : "", tq ? tq : "");
	printf("  Size: %-10jd\tBlocks: %-10jd IO Block: %-6u %s\n",
	       (intmax_t)st->st_size, (intmax_t)st->st_blocks,
	       UDAX_BLOCK_SIZE, type_word(st));
	printf("Device: %u,%u\tInode: %-10ju  Links: ", major(st->st_dev),
	       minor(st->st_dev), (uintmax_t)st->st_ino);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		printf("%-5ju Device type: %u,%u\n", (uintmax_t)st->st_nlink,
		       major(st->st_rdev), minor(st->st_rdev));
	else
		printf("%ju\n", (uintmax_t)st->st_nlink);
	printf("Access: (%04o/%s)  Uid: (%5u/%8s)   Gid: (%5u/%8s)\n",
	       (unsigned)(st->st_mode & 07777), v->mode, (unsigned)st->st_uid,
	       v->user, (unsigned)st->st_gid, v->group);
	printf("Access: %s\n", v->atime);
	printf("Modify: %s\n", v->mtime);
	printf("Change: %s\n", v->ctime);
	printf(" Birth: -\n");
	for (i = 0; i < v->nseg; i++)
		printf("data %jd..%jd (%s)\n", (intmax_t)v->seg[2 * i],
		       (intmax_t)v->seg[2 * i + 1],
		       human((uint64_t)(v->seg[2 * i + 1] - v->seg[2 * i])));
	if (v->regular && !v->nseg)
		printf("data: none\n");
	free(q);
	free(tq);
}

int cmd_stat(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path_at(fs, c->argv[1]), target[UDAX_SYMLINK_MAX + 1];
	struct stat_view v = { 0 };
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	ssize_t len;
	int ret, rc = 0;

	if (!path)
		return 1;
	ret = udax_stat(fs, path, &st);
	if (ret < 0) {
		rc = fail(path, ret);
		goto out;
	}
	v.path = path;
	if (S_ISLNK(st.st_mode)) {
		len = udax_readlink(fs, path, target, sizeof(target) - 1);
		if (len < 0) {
			rc = fail(path, (int)len);
			goto out;
		}
		target[len] = '\0';
		v.target = target;
	}
	mode_string(st.st_mode, v.mode);
	pw = getpwuid(st.st_uid);
	snprintf(v.user, sizeof(v.user), "%s", pw ? pw->pw_name : "UNKNOWN");
	gr = getgrgid(st.st_gid);
	snprintf(v.group, sizeof(v.group), "%s", gr ? gr->gr_name : "UNKNOWN");
	format_time(&st.st_atim, v.atime);
	format_time(&st.st_mtim, v.mtime);
	format_time(&st.st_ctim, v.ctime);
	v.regular = S_ISREG(st.st_mode);
	if (v.regular) {
		rc = data_segments(fs, path, &v.seg, &v.nseg);
		if (rc)
			goto out;
	}
	if (c->opt['j'])
		stat_json(c->argv[0], &st, &v);
	else
		stat_text(&st, &v);
out:
	free(v.seg);
	free(path);
	return rc;
}
