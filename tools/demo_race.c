/*
 * demo_race.c - the demo's last act: the July 2016 fault-vs-write race
 * (DESIGN.md), played with real threads on a shadow-backed pool, then a
 * simulated power cut.  Thread A maps a hole and reads it (zero page),
 * thread B pwrites the block into existence, A stores through its
 * mapping (a write fault on the block B just allocated), B writes and
 * invalidates again; fsync; power cut.  The store must survive: udax's
 * write path never drops a dirty entry.
 *
 * The threads take turns through a small baton; the exact instruction
 * level interleaving of the mail is replayed by tests/test_races.c with
 * schedule points.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "udax.h"

int demo_race(const char *pool);

struct race {
	udax_fs *fs;
	int fd;
	volatile char *map;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;          /* whose step it is: 0 A, 1 B, ... */
	int err;
};

static void wait_turn(struct race *r, int step)
{
	pthread_mutex_lock(&r->lock);
	while (r->turn != step)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static void pass_turn(struct race *r)
{
	pthread_mutex_lock(&r->lock);
	r->turn++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void *thread_a(void *arg)
{
	struct race *r = arg;

	wait_turn(r, 0);
	printf("[demo]   A: mmap the file; read data[0] -> hole: the zero page is mapped (it reads %d)\n",
	       r->map[0]);
	pass_turn(r);
	wait_turn(r, 2);
	r->map[200] = 'A';
	printf("[demo]   A: data[200] = 'A' -> write fault: the block B allocated is mapped "
	       "writable, its entry marked dirty\n");
	pass_turn(r);
	return NULL;
}

static void *thread_b(void *arg)
{
	struct race *r = arg;
	char buf[100];

	memset(buf, 'B', sizeof(buf));
	wait_turn(r, 1);
	if (udax_pwrite(r->fs, r->fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		r->err = -EIO;
	printf("[demo]   B: pwrite(f, 0): allocates block 0, copies, evicts the zero page\n");
	pass_turn(r);
	wait_turn(r, 3);
	if (udax_pwrite(r->fs, r->fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		r->err = -EIO;
	printf("[demo]   B: pwrite(f, 0) again: invalidates the range, but never a dirty entry\n");
	pass_turn(r);
	return NULL;
}

static int play(struct race *r)
{
	pthread_t a, b;

	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_create(&a, NULL, thread_a, r);
	pthread_create(&b, NULL, thread_b, r);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return r->err;
}

static int check_image(const char *img)
{
	udax_fs *fs;
	char c = 0, b = 0;
	int ret = udax_mount(img, NULL, &fs);

	if (ret < 0) {
		fprintf(stderr, "[demo] FAILED: mount %s: %s\n", img, strerror(-ret));
		return -1;
	}
	int fd = udax_open(fs, "/race", O_RDONLY, 0);
	if (fd >= 0) {
		udax_pread(fs, fd, &b, 1, 0);
		udax_pread(fs, fd, &c, 1, 200);
		udax_close(fs, fd);
	}
	udax_unmount(fs);
	if (c != 'A' || b != 'B') {
		fprintf(stderr, "[demo] FAILED: after the power cut data[200] is %d, data[0] is %d\n",
		        c, b);
		return -1;
	}
	printf("[demo] after the power cut: data[0] = 'B' (pwrite) and data[200] = 'A' "
	       "(the store through the mapping): nothing was forgotten\n");
	return 0;
}

int demo_race(const char *pool)
{
	struct race r = { .turn = 0 };
	char img[4200];
	void *map;
	int ret;

	printf("[demo] the 2016 race: a page fault and a write on one hole, with real threads\n");
	if ((ret = udax_mount(pool, "shadow", &r.fs)) < 0) {
		fprintf(stderr, "[demo] FAILED: mount %s: %s\n", pool, strerror(-ret));
		return -1;
	}
	r.fd = udax_open(r.fs, "/race", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (r.fd < 0 || udax_ftruncate(r.fs, r.fd, 8192) < 0 ||
	    udax_mmap(r.fs, r.fd, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &map) < 0) {
		fprintf(stderr, "[demo] FAILED: setting up /race\n");
		udax_unmount(r.fs);
		return -1;
	}
	r.map = map;
	ret = play(&r);
	if (!ret)
		ret = udax_fsync(r.fs, r.fd);
	printf("[demo] fsync(f): flushes exactly the dirty pages\n");
	snprintf(img, sizeof(img), "%s.race", pool);
	if (!ret)
		ret = udax_shadow_save(r.fs, img);
	printf("[demo] power cut: saved what the persistence domain holds to %s\n", img);
	udax_munmap(r.fs, map, 8192);
	udax_close(r.fs, r.fd);
	udax_unmount(r.fs);
	if (ret < 0) {
		fprintf(stderr, "[demo] FAILED: %s\n", strerror(-ret));
		return -1;
	}
	ret = check_image(img);
	unlink(img);
	return ret;
}
