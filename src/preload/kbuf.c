/*
 * kbuf.c - buffers in udax mappings handed to the kernel.
 *
 * udax serves the page faults of its mappings in user space; the kernel
 * cannot take them, so write(hostfd, map, n), read(pipe, map, n),
 * send/recv and the like would fail with EFAULT on a page that is not
 * present yet, is present read-only (every clean page is, so that the
 * first store marks it dirty), or was evicted to stay under the VMA
 * limit.  Every libc call the interposer sees that hands a user buffer
 * to the kernel pins the parts of it that lie in udax mappings
 * (udax_pin: present, writable when the kernel stores into it, and kept
 * so until the call returns) and unpins them afterwards.  A store by
 * the kernel is then a write fault like any other: the page is dirty
 * and the next fsync or msync flushes it.
 *
 * The descriptor calls (read, write, pread, pwrite and the vectored
 * ones) live in files.c, which wraps their kernel path in KBUF/KBUFV;
 * the socket calls and glibc's fortified entry points are here.  With
 * no udax mapping in the process the cost is one atomic load per call.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

void kb_init(struct kbuf *kb)
{
	kb->n = 0;
	kb->cap = (int)(sizeof(kb->inl) / sizeof(kb->inl[0]));
	kb->seg = kb->inl;
}

static int kb_grow(struct kbuf *kb)
{
	int cap = kb->cap * 2;
	struct kseg *s = malloc((size_t)cap * sizeof(*s));

	if (!s)
		return -1;
	memcpy(s, kb->seg, (size_t)kb->n * sizeof(*s));
	if (kb->seg != kb->inl)
		free(kb->seg);
	kb->seg = s;
	kb->cap = cap;
	return 0;
}

void kb_add(struct kbuf *kb, const void *buf, size_t len, int out)
{
	struct kseg part[8];

	if (in_udax || !buf || !len)
		return;
	int np = pl_maps_clip(buf, len, part, 8);
	if (!np)
		return;                  /* the common case: not udax memory */
	udax_fs *fs = pl_fs();
	if (!fs)
		return;                  /* unmounted at exit: nothing to pin */
	for (int i = 0; i < np; i++) {
		if (kb->n == kb->cap && kb_grow(kb) < 0)
			return;
		in_udax++;
		int err = udax_pin(fs, part[i].addr, part[i].len, out ? PROT_WRITE : PROT_READ);
		in_udax--;
		if (!err)
			kb->seg[kb->n++] = part[i];
		else if (err != -EACCES && err != -EFAULT && err != -ENOMEM)
			/* -EACCES (stores into a PROT_READ mapping), -EFAULT
			 * (past end of file): the kernel says EFAULT as it
			 * would for such a mapping; -ENOMEM: unmapped meanwhile */
			pl_warn_once("pin", "cannot make a udax mapping usable by the kernel: %s "
			             "(the call may fail with EFAULT)", strerror(-err));
	}
}

void kb_addv(struct kbuf *kb, const struct iovec *iov, int cnt, int out)
{
	if (cnt <= 0 || !iov)
		return;
	kb_add(kb, iov, (size_t)cnt * sizeof(*iov), KB_IN);
	for (int i = 0; i < cnt; i++)
		kb_add(kb, iov[i].iov_base, iov[i].iov_len, out);
}

void kb_done(struct kbuf *kb)
{
	if (!kb->n)
		return;
	int saved = errno;
	udax_fs *fs = pl_fs();
	in_udax++;
	for (int i = 0; i < kb->n; i++)
		udax_unpin(fs, kb->seg[i].addr, kb->seg[i].len);
	in_udax--;
	if (kb->seg != kb->inl)
		free(kb->seg);
	kb->seg = kb->inl;
	errno = saved;
}

/* The message header itself (the kernel stores msg_flags and the
 * lengths into it on receive), its name, control data and iovecs. */
static void kb_addmsg(struct kbuf *kb, const struct msghdr *msg, int out)
{
	if (!msg)
		return;
	kb_add(kb, msg, sizeof(*msg), out);
	kb_add(kb, msg->msg_name, msg->msg_namelen, out);
	kb_add(kb, msg->msg_control, msg->msg_controllen, out);
	if (msg->msg_iovlen <= IOV_MAX)
		kb_addv(kb, msg->msg_iov, (int)msg->msg_iovlen, out);
}

static void kb_addmmsg(struct kbuf *kb, const struct mmsghdr *v, unsigned n, int out)
{
	if (!v)
		return;
	kb_add(kb, v, (size_t)n * sizeof(*v), KB_OUT);   /* msg_len is stored */
	for (unsigned i = 0; i < n && i < IOV_MAX; i++)
		kb_addmsg(kb, &v[i].msg_hdr, out);
}

/* ---- sockets (never udax descriptors: those are O_PATH placeholders) ---- */

PRELOAD_EXPORT ssize_t send(int fd, const void *buf, size_t n, int fl)
{
	return KBUF(buf, n, KB_IN, REAL(send)(fd, buf, n, fl));
}

PRELOAD_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int fl,
                              const struct sockaddr *to, socklen_t tolen)
{
	return KB_CALL(KB_IN, (kb_add(&_kb, buf, n, KB_IN), kb_add(&_kb, to, tolen, KB_IN)),
	               REAL(sendto)(fd, buf, n, fl, to, tolen));
}

PRELOAD_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int fl)
{
	return KB_CALL(KB_IN, kb_addmsg(&_kb, msg, KB_IN), REAL(sendmsg)(fd, msg, fl));
}

PRELOAD_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int fl)
{
	/* msg_len is stored into each header: no retry on EFAULT */
	return KB_CALL(KB_OUT, kb_addmmsg(&_kb, v, n, KB_IN), REAL(sendmmsg)(fd, v, n, fl));
}

PRELOAD_EXPORT ssize_t recv(int fd, void *buf, size_t n, int fl)
{
	return KBUF(buf, n, KB_OUT, REAL(recv)(fd, buf, n, fl));
}

PRELOAD_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int fl, struct sockaddr *from,
                                socklen_t *fromlen)
{
	return KB_CALL(KB_OUT, (kb_add(&_kb, buf, n, KB_OUT),
	                        kb_add(&_kb, fromlen, sizeof(*fromlen), KB_OUT),
	                        kb_add(&_kb, from, from && fromlen ? *fromlen : 0, KB_OUT)),
	               REAL(recvfrom)(fd, buf, n, fl, from, fromlen));
}

PRELOAD_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int fl)
{
	return KB_CALL(KB_OUT, kb_addmsg(&_kb, msg, KB_OUT), REAL(recvmsg)(fd, msg, fl));
}

PRELOAD_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t)
{
	return KB_CALL(KB_OUT, kb_addmmsg(&_kb, v, n, KB_OUT), REAL(recvmmsg)(fd, v, n, fl, t));
}

/* ---- glibc's fortified entry points (-D_FORTIFY_SOURCE) ----
 * glibc's own versions make the system call internally, past the
 * interposer, which would miss udax descriptors as well as udax
 * buffers: check the size as they do and go through the wrappers. */
extern void __chk_fail(void) __attribute__((noreturn));
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
extern ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
extern ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int fl);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int fl,
                              struct sockaddr *from, socklen_t *fromlen);

PRELOAD_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

PRELOAD_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return pread(fd, buf, n, off);
}

PRELOAD_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return pread64(fd, buf, n, off);
}

PRELOAD_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int fl)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, fl);
}

PRELOAD_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int fl,
                                      struct sockaddr *from, socklen_t *fromlen)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, fl, from, fromlen);
}
