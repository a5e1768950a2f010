/*
 * exit_race.c - runs under LD_PRELOAD=libudax-preload.so: threads load
 * and store all over a udax mapping (faulting pages in, and again after
 * the fsyncs of another thread write-protect them) while main calls
 * exit() after a few milliseconds.  The interposer unmounts the pool at
 * exit; the process must end with status 0, never die of a signal.
 * test_exit_race.sh runs it many times.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGES 8192
#define PG 4096

static char *map;
static int fd;

static void *hammer(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
	for (;;) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		size_t pg = x % PAGES;
		if (x & 1)
			map[pg * PG + (x >> 40) % PG] = (char)x;
		else
			(void)*(volatile char *)&map[pg * PG];
	}
	return NULL;
}

static void *syncer(void *arg)
{
	(void)arg;
	for (;;)
		fsync(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int ms = argc > 1 ? atoi(argv[1]) : 5;
	fd = open("/udax/race", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)PAGES * PG) != 0) {
		perror("open /udax/race");
		return 2;
	}
	map = mmap(NULL, (size_t)PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	pthread_t t;
	for (long i = 0; i < 3; i++)
		pthread_create(&t, NULL, hammer, (void *)(i + 1));
	pthread_create(&t, NULL, syncer, NULL);
	struct timespec d = { 0, (long)ms * 1000000L };
	nanosleep(&d, NULL);
	exit(0);
}
