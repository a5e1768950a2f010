/*
 * kbuf_check.c IMAGE EXPECTED - runs under LD_PRELOAD=libudax-preload.so
 * (UDAX_OPTIONS=shadow, UDAX_MAP_BUDGET=200) and hands a udax mapping
 * to the kernel through plain libc calls: write/read on a pipe,
 * pwrite/pread on a host file, send/recv and sendmsg/recvmsg on a
 * socketpair, writev/readv, and a read() that waits in the kernel while
 * another thread forces VMA-budget eviction.  Without the interposer's
 * pins each of these fails with EFAULT.  At the end it fsyncs, saves the
 * shadow crash image to IMAGE and writes the file's contents, as read
 * back through udax, to the host file EXPECTED (the script compares the
 * two).  Ends with "N passed, N failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PG 4096
#define NPG 64

static int passed, failed;

#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "FAIL %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #c, errno, strerror(errno)); } } while (0)

static void fill(char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(seed * 131 + i * 7 + i / 4093);
}

struct evictor {
	char *map;
	size_t pages;
	int pipefd;
	const char *data;
};

/* Dirty every other page of another mapping (two VMAs each, far past
 * the budget of 200), then feed the pipe the main thread waits on. */
static void *evict(void *arg)
{
	struct evictor *e = arg;
	usleep(100000);
	for (size_t i = 0; i < e->pages; i += 2)
		e->map[i * PG] = 1;
	if (write(e->pipefd, e->data, 2 * PG) != 2 * PG)
		perror("evictor write");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kbuf_check IMAGE EXPECTED\n");
		return 2;
	}
	char a[2 * PG], b[2 * PG], got[4 * PG], zero[4 * PG];
	int p[2], sv[2];
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	memset(zero, 0, sizeof(zero));

	int fd = open("/udax/k", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, NPG * PG) == 0);
	char *m = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	if (fd < 0 || m == MAP_FAILED)
		return 1;
	/* non-blocking, so a failed write cannot leave a read waiting */
	CHECK(pipe2(p, O_NONBLOCK) == 0);

	/* the kernel reads a never-touched mapping (holes) */
	CHECK(write(p[1], m, 4 * PG) == 4 * PG);
	CHECK(read(p[0], got, 4 * PG) == 4 * PG && !memcmp(got, zero, 4 * PG));
	/* the kernel stores into it: pages 4-5 = a */
	CHECK(write(p[1], a, 2 * PG) == 2 * PG);
	CHECK(read(p[0], m + 4 * PG, 2 * PG) == 2 * PG && !memcmp(m + 4 * PG, a, 2 * PG));
	CHECK(fsync(fd) == 0);
	/* after fsync the pages are clean and read-only: the kernel stores
	 * into them again (pages 4-5 = b) */
	CHECK(write(p[1], b, 2 * PG) == 2 * PG);
	CHECK(read(p[0], m + 4 * PG, 2 * PG) == 2 * PG && !memcmp(m + 4 * PG, b, 2 * PG));

	/* a host file: pwrite from the mapping, pread into it (pages 8-9) */
	char host[] = "/tmp/udax-kbuf-XXXXXX";
	int h = mkstemp(host);
	CHECK(h >= 0);
	unlink(host);
	CHECK(pwrite(h, m + 4 * PG, 2 * PG, 0) == 2 * PG);
	CHECK(pread(h, got, 2 * PG, 0) == 2 * PG && !memcmp(got, b, 2 * PG));
	CHECK(pwrite(h, a, 2 * PG, 0) == 2 * PG);
	CHECK(pread(h, m + 8 * PG, 2 * PG, 0) == 2 * PG && !memcmp(m + 8 * PG, a, 2 * PG));
	close(h);

	/* sockets: send from the mapping, recv into it (pages 12-13) */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(send(sv[0], m + 8 * PG, 2 * PG, 0) == 2 * PG);
	CHECK(recv(sv[1], m + 12 * PG, 2 * PG, MSG_DONTWAIT) == 2 * PG &&
	      !memcmp(m + 12 * PG, a, 2 * PG));
	/* sendmsg of a hole and pages 4-5, recvmsg into pages 16-19 */
	struct iovec siov[2] = { { m + 20 * PG, PG }, { m + 4 * PG, 2 * PG } };
	struct msghdr smsg = { .msg_iov = siov, .msg_iovlen = 2 };
	CHECK(sendmsg(sv[0], &smsg, 0) == 3 * PG);
	struct iovec riov[2] = { { m + 16 * PG, PG }, { m + 17 * PG, 2 * PG } };
	struct msghdr rmsg = { .msg_iov = riov, .msg_iovlen = 2 };
	CHECK(recvmsg(sv[1], &rmsg, MSG_DONTWAIT) == 3 * PG);
	CHECK(!memcmp(m + 16 * PG, zero, PG) && !memcmp(m + 17 * PG, b, 2 * PG));
	CHECK(sendto(sv[0], m + 12 * PG, PG, 0, NULL, 0) == PG);
	CHECK(recvfrom(sv[1], m + 24 * PG, PG, MSG_DONTWAIT, NULL, NULL) == PG &&
	      !memcmp(m + 24 * PG, a, PG));
	close(sv[0]);
	close(sv[1]);

	/* vectored: writev from a hole and pages 8-9, readv into 26-28 */
	struct iovec wv[2] = { { m + 30 * PG, PG }, { m + 8 * PG, 2 * PG } };
	CHECK(writev(p[1], wv, 2) == 3 * PG);
	struct iovec rv[2] = { { m + 26 * PG, 2 * PG }, { m + 28 * PG, PG } };
	CHECK(readv(p[0], rv, 2) == 3 * PG);
	CHECK(!memcmp(m + 26 * PG, zero, PG) && !memcmp(m + 27 * PG, a, 2 * PG));

	/* eviction while the kernel holds the buffer (pages 32-33 = b) */
	int fd2 = open("/udax/evict", O_RDWR | O_CREAT | O_TRUNC, 0644);
	size_t n2 = 1024;
	CHECK(fd2 >= 0 && ftruncate(fd2, (off_t)(n2 * PG)) == 0);
	char *m2 = mmap(NULL, n2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	CHECK(m2 != MAP_FAILED);
	if (m2 != MAP_FAILED) {
		int q[2];
		CHECK(pipe(q) == 0);
		struct evictor e = { m2, n2, q[1], b };
		pthread_t t;
		pthread_create(&t, NULL, evict, &e);
		CHECK(read(q[0], m + 32 * PG, 2 * PG) == 2 * PG);
		pthread_join(t, NULL);
		close(q[0]);
		close(q[1]);
		CHECK(!memcmp(m + 32 * PG, b, 2 * PG));
		munmap(m2, n2 * PG);
	}
	close(fd2);

	/* durable: read back through udax, and from the crash image */
	CHECK(fsync(fd) == 0);
	static char all[NPG * PG];
	CHECK(pread(fd, all, sizeof(all), 0) == (ssize_t)sizeof(all));
	CHECK(!memcmp(all + 4 * PG, b, 2 * PG) && !memcmp(all + 8 * PG, a, 2 * PG) &&
	      !memcmp(all + 12 * PG, a, 2 * PG) && !memcmp(all + 17 * PG, b, 2 * PG) &&
	      !memcmp(all + 24 * PG, a, PG) && !memcmp(all + 27 * PG, a, 2 * PG) &&
	      !memcmp(all + 32 * PG, b, 2 * PG));
	int x = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(x >= 0 && write(x, all, sizeof(all)) == (ssize_t)sizeof(all));
	close(x);
	void *(*get_fs)(void) = (void *(*)(void))dlsym(RTLD_DEFAULT, "udax_preload_fs");
	int (*save)(void *, const char *) =
		(int (*)(void *, const char *))dlsym(RTLD_DEFAULT, "udax_shadow_save");
	CHECK(get_fs && save && save(get_fs(), argv[1]) == 0);
	munmap(m, NPG * PG);
	close(fd);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
