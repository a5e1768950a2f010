/*
 * test_fdrace.c - udax_close racing another thread's call on the same
 * descriptor (issue 10, defect 11).
 *
 * A call that found the descriptor before close removed it from the
 * table must finish on the file it found, with that file's data, and a
 * call that comes after gets -EBADF (or, once the number is reused, the
 * new file): never freed memory.
 *
 *   close_during_*    deterministic: the call is held by the "fd:got"
 *                     schedule point just after it took the descriptor
 *                     from the table; the main thread closes it, reopens
 *                     another file (same number) and releases the call
 *   close_unlink      the same with the file unlinked while held: the
 *                     held call's release is the last reference and
 *                     frees the inode; fsck must be clean
 *   close_reopen_loop one thread loops pread/pwrite/fstat/fsync/read/
 *                     write/lseek/mmap on a descriptor number while
 *                     another closes and reopens it
 *
 * Usage: test_fdrace [NAME]   (no name: all of them)
 */
#include "t.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "util/sched.h"

#define WAIT_MS 5000
#define FSIZE 8192

/* /a holds FSIZE bytes of 'a', /b of 'b'. */
static udax_fs *setup(const char *tag, const char **pool)
{
	udax_fs *fs;
	char buf[FSIZE];

	*pool = t_pool(tag);
	if (udax_mkfs(*pool, 32 << 20, 0) || udax_mount(*pool, NULL, &fs))
		return NULL;
	for (int i = 0; i < 2; i++) {
		const char *path = i ? "/b" : "/a";
		memset(buf, i ? 'b' : 'a', sizeof(buf));
		int fd = udax_open(fs, path, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || udax_pwrite(fs, fd, buf, sizeof(buf), 0) != FSIZE ||
		    udax_close(fs, fd))
			return NULL;
	}
	return fs;
}

static int all_of(const char *buf, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

enum kind { K_PREAD, K_READ, K_PWRITE, K_WRITE, K_FSTAT, K_FSYNC, K_LSEEK, K_MMAP,
            K_FTRUNCATE, K_NKINDS };
static const char *const kind_name[] = { "pread", "read", "pwrite", "write", "fstat",
                                         "fsync", "lseek", "mmap", "ftruncate" };

struct job {
	udax_fs *fs;
	int fd;
	enum kind kind;
	long result;
	char buf[FSIZE];
	struct stat st;
	void *map;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	char w[100];

	memset(w, 'W', sizeof(w));
	switch (j->kind) {
	case K_PREAD: j->result = udax_pread(j->fs, j->fd, j->buf, FSIZE, 0); break;
	case K_READ: j->result = udax_read(j->fs, j->fd, j->buf, FSIZE); break;
	case K_PWRITE: j->result = udax_pwrite(j->fs, j->fd, w, sizeof(w), 0); break;
	case K_WRITE: j->result = udax_write(j->fs, j->fd, w, sizeof(w)); break;
	case K_FSTAT: j->result = udax_fstat(j->fs, j->fd, &j->st); break;
	case K_FSYNC: j->result = udax_fsync(j->fs, j->fd); break;
	case K_LSEEK: j->result = udax_lseek(j->fs, j->fd, 0, SEEK_END); break;
	case K_MMAP: j->result = udax_mmap(j->fs, j->fd, FSIZE, PROT_READ, MAP_SHARED, 0, &j->map); break;
	case K_FTRUNCATE: j->result = udax_ftruncate(j->fs, j->fd, 100); break;
	default: break;
	}
	return NULL;
}

/* Hold a call of @kind on a descriptor of /a after it found the
 * descriptor; close it, (unlink /a), open /b on the same number, then
 * let the call go on.  It must have acted on /a. */
static void close_during(enum kind kind, int unlink_a)
{
	const char *pool;
	udax_fs *fs = setup(kind_name[kind], &pool);
	REQUIRE(fs);
	int fd = udax_open(fs, "/a", O_RDWR, 0);
	REQUIRE(fd >= 0);
	struct stat sa;
	REQUIRE(udax_fstat(fs, fd, &sa) == 0);

	struct job *j = calloc(1, sizeof(*j));
	REQUIRE(j);
	j->fs = fs;
	j->fd = fd;
	j->kind = kind;
	sched_arm("fd:got");
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, run_job, j) == 0);
	if (sched_wait("fd:got", WAIT_MS) != 0) {
		CHECK(!"the call never reached fd:got");
		sched_reset();
		pthread_join(t, NULL);
		free(j);
		return;
	}
	CHECK_EQ(udax_close(fs, fd), 0);
	CHECK_EQ(udax_close(fs, fd), -EBADF);
	CHECK_EQ(udax_pread(fs, fd, j->buf, 1, 0), -EBADF);
	if (unlink_a)
		CHECK_EQ(udax_unlink(fs, "/a"), 0);
	int fd2 = udax_open(fs, "/b", O_RDWR, 0);
	CHECK_EQ(fd2, fd);                          /* the number is reused */
	sched_release("fd:got");
	pthread_join(t, NULL);

	char buf[FSIZE];
	switch (kind) {
	case K_PREAD:
	case K_READ:
		CHECK_EQ(j->result, FSIZE);
		CHECK(all_of(j->buf, FSIZE, 'a'));
		break;
	case K_PWRITE:
	case K_WRITE:
		CHECK_EQ(j->result, 100);
		break;
	case K_FSTAT:
		CHECK_EQ(j->result, 0);
		CHECK_EQ(j->st.st_ino, sa.st_ino);
		break;
	case K_FSYNC:
	case K_FTRUNCATE:
		CHECK_EQ(j->result, 0);
		break;
	case K_LSEEK:
		CHECK_EQ(j->result, FSIZE);
		break;
	case K_MMAP:
		CHECK_EQ(j->result, 0);
		if (j->result == 0) {
			CHECK(all_of(j->map, FSIZE, 'a'));
			CHECK_EQ(udax_munmap(fs, j->map, FSIZE), 0);
		}
		break;
	default:
		break;
	}
	/* /b is untouched and reachable through the reused number */
	CHECK_EQ(udax_pread(fs, fd2, buf, FSIZE, 0), FSIZE);
	CHECK(all_of(buf, FSIZE, 'b'));
	CHECK_EQ(udax_close(fs, fd2), 0);
	if (!unlink_a) {
		/* the held call acted on /a */
		int fa = udax_open(fs, "/a", O_RDONLY, 0);
		CHECK(fa >= 0);
		ssize_t n = udax_pread(fs, fa, buf, FSIZE, 0);
		if (kind == K_PWRITE || kind == K_WRITE) {
			CHECK_EQ(n, FSIZE);
			CHECK(all_of(buf, 100, 'W') && all_of(buf + 100, FSIZE - 100, 'a'));
		} else if (kind == K_FTRUNCATE) {
			CHECK_EQ(n, 100);
		} else {
			CHECK_EQ(n, FSIZE);
			CHECK(all_of(buf, FSIZE, 'a'));
		}
		CHECK_EQ(udax_close(fs, fa), 0);
	}
	free(j);
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

static void close_during_pread(void) { close_during(K_PREAD, 0); }
static void close_during_read(void) { close_during(K_READ, 0); }
static void close_during_pwrite(void) { close_during(K_PWRITE, 0); }
static void close_during_write(void) { close_during(K_WRITE, 0); }
static void close_during_fstat(void) { close_during(K_FSTAT, 0); }
static void close_during_fsync(void) { close_during(K_FSYNC, 0); }
static void close_during_lseek(void) { close_during(K_LSEEK, 0); }
static void close_during_mmap(void) { close_during(K_MMAP, 0); }
static void close_during_ftruncate(void) { close_during(K_FTRUNCATE, 0); }
static void close_unlink(void) { close_during(K_PWRITE, 1); }

/* ---- the free-running loop ---- */

#define LOOP_ITERS 20000

struct looper {
	udax_fs *fs;
	int fd;
	atomic_int stop;
	atomic_int bad;             /* a result that is neither valid nor -EBADF */
	atomic_long good;           /* valid results */
	long calls, ebadf;
};

static void bad(struct looper *l, const char *what, long r)
{
	if (atomic_fetch_add(&l->bad, 1) < 10)
		fprintf(stderr, "    %s returned %ld\n", what, r);
}

/* Bytes of one file: 'a' or 'b', or 'w' where the loop wrote (read()
 * and write() go wherever the descriptor's offset is, and a reopened
 * descriptor's offset is 0). */
static int one_file(const char *buf, size_t n)
{
	char file = 0;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] == 'w')
			continue;
		if (buf[i] != 'a' && buf[i] != 'b')
			return 0;
		if (file && buf[i] != file)
			return 0;
		file = buf[i];
	}
	return 1;
}

static void *loop_calls(void *arg)
{
	struct looper *l = arg;
	char buf[4096], w[512];
	struct stat st;

	memset(w, 'w', sizeof(w));
	while (!atomic_load(&l->stop)) {
		for (int k = 0; k < 8; k++) {
			long r = 0;
			const char *what = "";
			int ok = 0;
			switch (k) {
			case 0:
				what = "pread";
				r = udax_pread(l->fs, l->fd, buf, sizeof(buf), 0);
				ok = r == (long)sizeof(buf) && one_file(buf, sizeof(buf));
				break;
			case 1:
				what = "pwrite";   /* past the part pread checks */
				r = udax_pwrite(l->fs, l->fd, w, sizeof(w), 4096);
				ok = r == (long)sizeof(w);
				break;
			case 2:
				what = "fstat";
				r = udax_fstat(l->fs, l->fd, &st);
				ok = r == 0 && st.st_size == FSIZE;
				break;
			case 3:
				what = "fsync";
				r = udax_fsync(l->fs, l->fd);
				ok = r == 0;
				break;
			case 4:
				what = "lseek";
				r = udax_lseek(l->fs, l->fd, 0, SEEK_SET);
				ok = r == 0;
				break;
			case 5:
				what = "read";
				r = udax_read(l->fs, l->fd, buf, 512);
				ok = r >= 0 && r <= 512;
				break;
			case 6:
				what = "write";
				r = udax_lseek(l->fs, l->fd, 4096, SEEK_SET);
				if (r == 4096)
					r = udax_write(l->fs, l->fd, w, 100);
				ok = r == 100;
				break;
			case 7: {
				void *p = NULL;
				what = "mmap";
				r = udax_mmap(l->fs, l->fd, 4096, PROT_READ, MAP_SHARED, 0, &p);
				if (r == 0) {
					char c = *(volatile char *)p;
					ok = one_file(&c, 1);
					if (udax_munmap(l->fs, p, 4096))
						ok = 0;
				}
				break;
			}
			}
			l->calls++;
			if (r == -EBADF)
				l->ebadf++;
			else if (!ok)
				bad(l, what, r);
			else
				atomic_fetch_add(&l->good, 1);
		}
	}
	return NULL;
}

static void close_reopen_loop(void)
{
	const char *pool;
	udax_fs *fs = setup("loop", &pool);
	REQUIRE(fs);
	struct looper l = { .fs = fs };
	l.fd = udax_open(fs, "/a", O_RDWR, 0);
	REQUIRE(l.fd >= 0);
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, loop_calls, &l) == 0);
	int reused = 0;
	for (int i = 0; i < LOOP_ITERS; i++) {
		/* close while calls on the open file are going on */
		long g = atomic_load(&l.good);
		for (int spin = 0; spin < 100000 && atomic_load(&l.good) == g; spin++)
			sched_yield();
		CHECK_EQ(udax_close(fs, l.fd), 0);
		int fd = udax_open(fs, i & 1 ? "/a" : "/b", O_RDWR, 0);
		reused += fd == l.fd;
		if (fd != l.fd) {
			CHECK_EQ(fd, l.fd);
			break;
		}
	}
	atomic_store(&l.stop, 1);
	pthread_join(t, NULL);
	CHECK_EQ(reused, LOOP_ITERS);
	CHECK_EQ(atomic_load(&l.bad), 0);
	printf("    %ld calls, %ld valid, %ld -EBADF\n", l.calls, atomic_load(&l.good), l.ebadf);
	CHECK_EQ(udax_close(fs, l.fd), 0);
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(pool), 0);
	unlink(pool);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
#define T(fn) { #fn, fn }
		T(close_during_pread), T(close_during_read), T(close_during_pwrite),
		T(close_during_write), T(close_during_fstat), T(close_during_fsync),
		T(close_during_lseek), T(close_during_mmap), T(close_during_ftruncate),
		T(close_unlink), T(close_reopen_loop),
#undef T
	};
	int found = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		found = 1;
		t_name = tests[i].name;
		t_cur_failed = 0;
		tests[i].fn();
		if (t_cur_failed) {
			t_failed++;
			fprintf(stderr, "FAILED %s\n", tests[i].name);
		} else {
			t_passed++;
			printf("ok %s\n", tests[i].name);
		}
		fflush(stdout);
	}
	if (!found) {
		fprintf(stderr, "no test named %s\n", argv[1]);
		return 2;
	}
	return t_summary();
}
