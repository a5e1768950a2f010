/* cmd_stat.c - udax stat: show a file's status. */
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
#include <time.h>

#include "cli.h"

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

int cmd_stat(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path_at(fs, c->argv[1]), mode[11];
	struct stat st;
	int ret, rc = 0;

	if (!path)
		return 1;
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
