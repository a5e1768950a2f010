/*
 * truncate-crash-then-grow.c - the bug behind crashes/grow-exposes-stale-data,
 * reached without any corruption: a power cut during ftruncate(f, 0).
 *
 * A 100-byte file is truncated to 0 on a shadow-backed pool; the persisted
 * image is saved just before every fence of that call.  Each crash image
 * is fsck'ed, mounted, and the file is grown to 8192 bytes by ftruncate;
 * every byte of it must then read as zero.  In the states after the size
 * transaction commits and before the block-freeing transaction commits,
 * fsck reports nothing, the size is 0, and the grown file shows the 100
 * old bytes.  (With PWRITE=1 the file is grown by a 1-byte pwrite at 8191
 * instead: same result.)
 *
 * Not built by CMake.  From the repository root:
 *   cc -std=gnu11 -O1 -g -D_GNU_SOURCE -Iinclude -Isrc \
 *      tests/fuzz/crashes/truncate-crash-then-grow.c $(find src -name '*.c') \
 *      -lpthread -o /tmp/trunc-crash && /tmp/trunc-crash
 * Exit status 1 when some crash state exposes old bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udax.h"

static int nsaved;

static void save_state(udax_fs *fs, uint64_t fence, void *arg)
{
	char p[128];

	(void)fence;
	(void)arg;
	snprintf(p, sizeof(p), "/dev/shm/udax-trunc-crash-%d-%d.pool", (int)getpid(), nsaved++);
	udax_shadow_save(fs, p);  /* what a power cut just before this fence leaves */
}

static int make_states(const char *pool)
{
	char buf[100];
	udax_fs *fs;

	unlink(pool);
	if (udax_mkfs(pool, 16 << 20, 0) || udax_mount(pool, "shadow", &fs))
		return -1;
	int fd = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644);
	memset(buf, 'S', sizeof(buf));
	udax_pwrite(fs, fd, buf, sizeof(buf), 0);
	udax_fsync(fs, fd);
	udax_shadow_set_hook(fs, save_state, NULL);
	udax_ftruncate(fs, fd, 0);
	udax_shadow_set_hook(fs, NULL, NULL);
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(pool);
	return 0;
}

/* 1 if growing /f in crash state @i shows old bytes. */
static int check_state(int i)
{
	char p[128], b[8192];
	udax_fs *fs;

	snprintf(p, sizeof(p), "/dev/shm/udax-trunc-crash-%d-%d.pool", (int)getpid(), i);
	int problems = udax_fsck(p, NULL, NULL);
	if (udax_mount(p, NULL, &fs) != 0) {
		unlink(p);
		return 0;
	}
	int fd = udax_open(fs, "/f", O_RDWR, 0);
	ssize_t before = udax_pread(fs, fd, b, sizeof(b), 0);
	if (getenv("PWRITE"))
		udax_pwrite(fs, fd, "", 1, 8191);  /* a zero byte: only old data is non-zero */
	else
		udax_ftruncate(fs, fd, 8192);
	memset(b, 0, sizeof(b));
	ssize_t r = udax_pread(fs, fd, b, sizeof(b), 0);
	int nonzero = 0;
	for (size_t k = 0; k < sizeof(b); k++)
		nonzero += b[k] != 0;
	int bad = before == 0 && nonzero > 0;
	printf("crash before fence %d: fsck %d, size %zd, grown read %zd, %d non-zero bytes%s\n",
	       i + 1, problems, before, r, nonzero, bad ? "  <== old data exposed" : "");
	udax_close(fs, fd);
	udax_unmount(fs);
	unlink(p);
	return bad;
}

int main(void)
{
	char pool[128];
	int bad = 0;

	snprintf(pool, sizeof(pool), "/dev/shm/udax-trunc-crash-%d.pool", (int)getpid());
	if (make_states(pool) < 0) {
		fprintf(stderr, "cannot build the pool\n");
		return 2;
	}
	for (int i = 0; i < nsaved; i++)
		bad |= check_state(i);
	return bad;
}
