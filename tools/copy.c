/*
 * copy.c - data movement between host files and pool files, holes
 * kept, with a progress bar on stderr for big files on a terminal.
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

void progress_start(struct progress *pg, uint64_t total, bool want)
{
	pg->total = total;
	pg->shown = -1;
	pg->on = want && total >= PROGRESS_MIN && isatty(STDERR_FILENO);
}

void progress_update(struct progress *pg, uint64_t done)
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
void progress_end(struct progress *pg)
{
	if (pg->on && pg->shown >= 0)
		fputc('\n', stderr);
	pg->on = false;
}

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
int copy_in(udax_fs *fs, int ufd, const char *dst, int hfd,
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
int copy_out(udax_fs *fs, int ufd, const char *src, off_t size,
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

