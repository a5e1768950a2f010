/*
 * preload_check.c - runs under LD_PRELOAD=libudax-preload.so with
 * UDAX_POOL set and checks, through plain libc calls, that the files
 * under UDAX_PREFIX (default /udax) are udax's and behave as POSIX
 * says: descriptors, offsets shared by dup, vectored I/O, locks, stat
 * and statx, directory streams, links, mappings and the refusals.
 * Ends with "N passed, N failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <aio.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "FAIL %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #c, errno, strerror(errno)); } } while (0)

static void test_files(void)
{
	char buf[64] = { 0 };
	int fd = open("/udax/f", O_RDWR | O_CREAT | O_TRUNC, 0640);
	struct stat st, hst;

	CHECK(fd >= 0);
	/* the reserved descriptor is a real one: the kernel knows it */
	CHECK(fcntl(fd, F_GETFD) >= 0);
	CHECK(write(fd, "hello ", 6) == 6);
	int d = dup(fd);
	CHECK(d >= 0 && d != fd);
	CHECK(write(d, "world", 5) == 5); /* shares the offset */
	CHECK(lseek(fd, 0, SEEK_CUR) == 11);
	CHECK(pread(fd, buf, sizeof(buf), 0) == 11 && !memcmp(buf, "hello world", 11));
	CHECK(close(d) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode));
	CHECK((st.st_mode & 0777) == (0640 & ~022));
	/* a host file is untouched by all of this */
	CHECK(stat("/etc/hostname", &hst) == 0 && hst.st_dev != 0);

	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(writev(fd, iov, 3) == 6);
	CHECK(lseek(fd, 0, SEEK_CUR) == 6);
	char a[3] = { 0 }, b[5] = { 0 };
	struct iovec rv[2] = { { a, 2 }, { b, 4 } };
	CHECK(preadv(fd, rv, 2, 0) == 6 && !memcmp(a, "ab", 2) && !memcmp(b, "cdef", 4));

	CHECK(fcntl(fd, F_GETFL) == O_RDWR);
	CHECK(fcntl(fd, F_SETFL, O_APPEND) == -1 && errno == EINVAL);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(fd, F_SETLK, &fl) == 0);
	CHECK(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	CHECK(fcntl(fd, F_OFD_SETLK, &fl) == -1 && errno == EINVAL);

	/* flock conflicts between two open file descriptions */
	int g = open("/udax/f", O_RDONLY);
	CHECK(flock(fd, LOCK_EX) == 0);
	CHECK(flock(g, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	CHECK(flock(fd, LOCK_UN) == 0);
	CHECK(flock(g, LOCK_SH | LOCK_NB) == 0);
	CHECK(close(g) == 0); /* closing drops the lock */
	CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);

	/* dup2 onto a udax descriptor closes it first */
	int h = open("/udax/h", O_RDWR | O_CREAT, 0600);
	CHECK(dup2(fd, h) == h);
	CHECK(pread(h, buf, 2, 0) == 2 && !memcmp(buf, "ab", 2));
	CHECK(close(h) == 0);

	CHECK(ftruncate(fd, 8192) == 0);
	CHECK(pwrite(fd, "x", 1, 4096) == 1);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0);
	CHECK(lseek(fd, 0, SEEK_DATA) == 4096);
	CHECK(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) == -1 && errno == EOPNOTSUPP);
	CHECK(posix_fallocate(fd, 0, 1 << 20) == 0);
	CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
	CHECK(close(fd) == 0);
	CHECK(read(fd, buf, 1) == -1 && errno == EBADF);
	CHECK(truncate("/udax/f", 3) == 0 && stat("/udax/f", &st) == 0 && st.st_size == 3);

	/* stdio through the descriptor layer */
	FILE *f = fopen("/udax/stdio", "w+");
	CHECK(f != NULL);
	if (f) {
		CHECK(fprintf(f, "line %d\n", 42) == 8);
		CHECK(fseek(f, 0, SEEK_SET) == 0);
		CHECK(fgets(buf, sizeof(buf), f) && !strcmp(buf, "line 42\n"));
		CHECK(fclose(f) == 0);
	}
	CHECK(open("/udax/missing", O_RDONLY) == -1 && errno == ENOENT);
	CHECK(open("/udax/t", O_RDWR | O_CREAT | O_TMPFILE, 0600) == -1);
}

static void test_names(void)
{
	struct stat st;
	struct statx sx;
	struct statfs sf;

	CHECK(mkdir("/udax/dir", 0755) == 0);
	CHECK(mkdir("/udax/dir", 0755) == -1 && errno == EEXIST);
	int fd = open("/udax/dir/a", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "A", 1) == 1 && close(fd) == 0);
	CHECK(rename("/udax/dir/a", "/udax/dir/b") == 0);
	CHECK(rename("/udax/dir/b", "/tmp/udax-preload-x") == -1 && errno == EXDEV);
	CHECK(renameat2(AT_FDCWD, "/udax/f", AT_FDCWD, "/udax/dir/b", RENAME_NOREPLACE) == -1 &&
	      errno == EEXIST);
	CHECK(link("/udax/dir/b", "/udax/dir/c") == 0);
	CHECK(stat("/udax/dir/c", &st) == 0 && st.st_nlink == 2);
	CHECK(symlink("b", "/udax/dir/l") == 0);
	CHECK(lstat("/udax/dir/l", &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(stat("/udax/dir/l", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1);
	char t[16] = { 0 };
	CHECK(readlink("/udax/dir/l", t, sizeof(t)) == 1 && t[0] == 'b');
	fd = open("/udax/dir/l", O_RDONLY); /* follows the link */
	CHECK(fd >= 0 && read(fd, t, 1) == 1 && t[0] == 'A');
	close(fd);
	CHECK(symlink("/etc/passwd", "/udax/dir/out") == 0);
	CHECK(open("/udax/dir/out", O_RDONLY) == -1 && errno == ENOTSUP);
	CHECK(statx(AT_FDCWD, "/udax/dir/b", 0, STATX_BASIC_STATS, &sx) == 0 && sx.stx_size == 1);
	CHECK(chmod("/udax/dir/b", 0600) == 0 && stat("/udax/dir/b", &st) == 0 &&
	      (st.st_mode & 0777) == 0600);
	CHECK(access("/udax/dir/b", R_OK | W_OK) == 0);
	CHECK(access("/udax/nope", F_OK) == -1 && errno == ENOENT);
	CHECK(statfs("/udax", &sf) == 0 && sf.f_bsize == 4096 && sf.f_blocks > 0);

	/* *at() calls relative to a udax directory descriptor */
	int dfd = open("/udax/dir", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK(fstatat(dfd, "b", &st, 0) == 0 && st.st_size == 1);
	CHECK(openat(dfd, "new", O_CREAT | O_WRONLY, 0600) >= 0);
	CHECK(unlinkat(dfd, "new", 0) == 0);

	DIR *d = fdopendir(dfd);
	CHECK(d != NULL);
	int n = 0, dots = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		n++;
		dots += !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	}
	CHECK(n == 6 && dots == 2); /* . .. b c l out */
	CHECK(d && closedir(d) == 0);
	CHECK(rmdir("/udax/dir") == -1 && errno == ENOTEMPTY);

	/* glibc calls that work through internal calls */
	struct dirent **names;
	int nn = scandir("/udax/dir", &names, NULL, alphasort);
	CHECK(nn == 6 && !strcmp(names[2]->d_name, "b") && !strcmp(names[5]->d_name, "out"));
	for (int i = 0; i < nn; i++)
		free(names[i]);
	if (nn >= 0)
		free(names);
	CHECK(mkdir("/udax/gone", 0700) == 0 && remove("/udax/gone") == 0);
	CHECK(remove("/udax/dir/out") == 0 && lstat("/udax/dir/out", &st) == -1);
	fd = open("/udax/dir/b", O_RDWR);
	CHECK(lockf(fd, F_TLOCK, 0) == 0 && lockf(fd, F_ULOCK, 0) == 0);
	close(fd);
	CHECK(chdir("/udax/dir") == -1 && errno == ENOTSUP);

	char rp[PATH_MAX];
	CHECK(realpath("/udax//dir/../dir/l", rp) && !strcmp(rp, "/udax/dir/b"));
	CHECK(!realpath("/udax/dir/none", rp) && errno == ENOENT);
	CHECK(realpath("/udax/dir/", rp) && !strcmp(rp, "/udax/dir"));
	char *rm = realpath("/udax", NULL);
	CHECK(rm && !strcmp(rm, "/udax"));
	free(rm);
	fd = open("/udax/dir/b", O_RDONLY);
	int avail;
	CHECK(ioctl(fd, FIONREAD, &avail) == -1 && errno == ENOTTY);
	close(fd);
}

static void test_maps(void)
{
	int fd = open("/udax/m", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[8];

	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	memcpy(p + 4096, "mapped", 6);               /* a store through the map */
	CHECK(pread(fd, buf, 6, 4096) == 6 && !memcmp(buf, "mapped", 6));
	CHECK(pwrite(fd, "PWRITE", 6, 8192) == 6);   /* a write seen by a load */
	CHECK(!memcmp(p + 8192, "PWRITE", 6));
	CHECK(msync(p, 1 << 20, MS_SYNC) == 0);
	CHECK(madvise(p, 1 << 20, MADV_RANDOM) == 0);
	CHECK(madvise(p, 4096, MADV_REMOVE) == -1 && errno == EINVAL);
	CHECK(mprotect(p, 4096, PROT_READ) == -1 && errno == ENOTSUP);
	CHECK(munmap(p, 4096) == -1 && errno == EINVAL);
	CHECK(mmap(p, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED &&
	      errno == EINVAL);
	CHECK(close(fd) == 0);                        /* the mapping outlives it */
	char *q = mremap(p, 1 << 20, 2 << 20, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	if (q != MAP_FAILED) {
		CHECK(!memcmp(q + 4096, "mapped", 6));
		CHECK(mremap(q, 2 << 20, 4 << 20, 0) == MAP_FAILED && errno == ENOMEM);
		CHECK(munmap(q, 2 << 20) == 0);
	}
	/* anonymous memory is still the kernel's */
	char *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED && munmap(anon, 8192) == 0);
}

static _Atomic int notified;

static void on_done(union sigval v)
{
	notified += v.sival_int;
}

/* POSIX AIO: glibc's helper threads cannot reach udax files; requests
 * complete at once in the caller. */
static void test_aio(void)
{
	int fd = open("/udax/aio", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char out[8192], in[8192];
	struct aiocb w = { 0 }, r = { 0 }, s = { 0 };

	memset(out, 'q', sizeof(out));
	w.aio_fildes = fd;
	w.aio_buf = out;
	w.aio_nbytes = sizeof(out);
	w.aio_offset = 4096;
	w.aio_sigevent.sigev_notify = SIGEV_THREAD;
	w.aio_sigevent.sigev_notify_function = on_done;
	w.aio_sigevent.sigev_value.sival_int = 1;
	CHECK(aio_write(&w) == 0);
	const struct aiocb *list[1] = { &w };
	CHECK(aio_suspend(list, 1, NULL) == 0);
	CHECK(aio_error(&w) == 0 && aio_return(&w) == (ssize_t)sizeof(out));
	r.aio_fildes = fd;
	r.aio_buf = in;
	r.aio_nbytes = sizeof(in);
	r.aio_offset = 4096;
	r.aio_lio_opcode = LIO_READ;
	struct aiocb *lio[1] = { &r };
	CHECK(lio_listio(LIO_WAIT, lio, 1, NULL) == 0);
	CHECK(aio_return(&r) == (ssize_t)sizeof(in) && !memcmp(in, out, sizeof(in)));
	s.aio_fildes = fd;
	CHECK(aio_fsync(O_DSYNC, &s) == 0 && aio_error(&s) == 0);
	CHECK(aio_cancel(fd, &w) == AIO_ALLDONE);
	for (int i = 0; i < 200 && !notified; i++)
		usleep(1000);
	CHECK(notified == 1);
	close(fd);
}

/* Review findings, each a regression test. */
static void test_edges(void)
{
	struct stat st;
	char buf[16];
	int fd = open("/udax/edge", O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, "edge", 4) == 4);
	/* a trailing slash asks for a directory */
	CHECK(open("/udax/edge/", O_RDONLY) == -1 && errno == ENOTDIR);
	CHECK(rename("/udax/edge", "/udax/newname/") == -1 && errno == ENOTDIR);
	CHECK(stat("/udax/edge", &st) == 0);
	CHECK(mkdir("/udax/sl/", 0700) == 0 && stat("/udax/sl/", &st) == 0 && S_ISDIR(st.st_mode));
	/* "." and ".." are looked up in what precedes them, as Linux does:
	 * after a file they give ENOTDIR (not the file, not its directory),
	 * after a missing name ENOENT; after a directory they are folded */
	errno = 0;
	CHECK(open("/udax/edge/.", O_RDONLY) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(open("/udax/edge/..", O_RDONLY) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(stat("/udax/edge/.", &st) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(stat("/udax/edge/..", &st) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(lstat("/udax/edge/../edge", &st) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(stat("/udax/edge/", &st) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(open("/udax/edge/./x", O_WRONLY | O_CREAT, 0600) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(mkdir("/udax/edge/../made", 0700) == -1 && errno == ENOTDIR);
	errno = 0;
	CHECK(stat("/udax/nonesuch/..", &st) == -1 && errno == ENOENT);
	errno = 0;
	CHECK(open("/udax/nonesuch/../x", O_WRONLY | O_CREAT, 0600) == -1 && errno == ENOENT);
	CHECK(lstat("/udax/made", &st) == -1 && lstat("/udax/x", &st) == -1);
	struct stat root;
	CHECK(stat("/udax", &root) == 0);
	CHECK(stat("/udax/sl/..", &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == root.st_ino);
	CHECK(stat("/udax/sl/./../sl/.", &st) == 0 && S_ISDIR(st.st_mode) &&
	      st.st_ino != root.st_ino);
	CHECK(stat("/udax/./edge", &st) == 0 && S_ISREG(st.st_mode));
	int sfd = open("/udax/sl", O_RDONLY | O_DIRECTORY);
	errno = 0;
	CHECK(sfd >= 0 && fstatat(sfd, "../edge/..", &st, 0) == -1 && errno == ENOTDIR);
	CHECK(sfd >= 0 && fstatat(sfd, "../edge", &st, 0) == 0 && S_ISREG(st.st_mode));
	close(sfd);

	/* F_DUPFD shares the description */
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK(d >= 100 && pread(d, buf, 4, 0) == 4 && !memcmp(buf, "edge", 4));
	CHECK(fcntl(d, F_GETFD) == FD_CLOEXEC);

	/* close_range forgets what it closes: a reused number is a host file */
	CHECK(close_range((unsigned)d, (unsigned)d, 0) == 0);
	int h = open("/dev/zero", O_RDONLY);
	CHECK(h >= 0);
	if (h == d)
		CHECK(read(h, buf, 4) == 4 && buf[0] == 0);
	close(h);

	/* readdir_r on a udax stream */
	DIR *dir = opendir("/udax");
	struct dirent ent, *res;
	int n = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	while (dir && readdir_r(dir, &ent, &res) == 0 && res)
		n++;
#pragma GCC diagnostic pop
	CHECK(dir && n >= 3);
	if (dir)
		closedir(dir);

	/* posix_madvise(DONTNEED) must not discard anyone's memory */
	char *heap = malloc(1 << 16);
	memset(heap, 'h', 1 << 16);
	char *page = (char *)(((uintptr_t)heap + 4095) & ~(uintptr_t)4095);
	CHECK(posix_madvise(page, 4096, POSIX_MADV_DONTNEED) == 0 && page[0] == 'h');
	free(heap);

	/* a stdio stream's descriptor is the udax file */
	FILE *f = fopen("/udax/stream", "w");
	CHECK(f && fileno(f) >= 0 && fprintf(f, "s") == 1 && fflush(f) == 0);
	CHECK(f && fsync(fileno(f)) == 0 && fstat(fileno(f), &st) == 0 && st.st_size == 1);
	if (f)
		fclose(f);

	/* a forked child owns none of it: EBADF on the parent's descriptors;
	 * a path under the prefix mounts the pool anew, in the child's own
	 * name, beside the parent's mount */
	pid_t pid = fork();
	if (pid == 0) {
		int bad = read(fd, buf, 1) != -1 || errno != EBADF;
		int g = open("/udax/stream", O_RDONLY);
		bad |= g < 0 || read(g, buf, 1) != 1 || buf[0] != 's';
		if (g >= 0)
			close(g);
		_exit(bad);
	}
	int status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	close(fd);

	/* a directory descriptor whose directory moved: refused, not
	 * applied to whatever now has its old name */
	CHECK(mkdir("/udax/mv1", 0700) == 0);
	int dfd = open("/udax/mv1", O_RDONLY | O_DIRECTORY);
	DIR *ds = opendir("/udax/mv1");
	CHECK(rename("/udax/mv1", "/udax/mv2") == 0 && mkdir("/udax/mv1", 0700) == 0);
	CHECK(openat(dfd, "x", O_CREAT | O_WRONLY, 0600) == -1 && errno == ENOENT);
	CHECK(stat("/udax/mv1/x", &st) == -1 && stat("/udax/mv2/x", &st) == -1);
	if (ds) {
		rewinddir(ds);
		CHECK(readdir(ds) == NULL);
		closedir(ds);
	}
	close(dfd);

	/* O_PATH names a file, it does not read it */
	int op = open("/udax/edge", O_PATH);
	CHECK(op >= 0 && read(op, buf, 1) == -1 && errno == EBADF);
	CHECK(fstat(op, &st) == 0 && st.st_size == 4);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, op, 0) == MAP_FAILED && errno == EBADF);
	close(op);

	/* left open on purpose: exit must flush it before unmounting */
	FILE *late = fopen("/udax/at-exit", "w");
	CHECK(late && fputs("flushed at exit\n", late) >= 0);
}

int main(void)
{
	test_files();
	test_names();
	test_maps();
	test_aio();
	test_edges();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
