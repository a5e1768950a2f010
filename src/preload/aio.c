/*
 * aio.c - POSIX AIO on udax descriptors.
 *
 * glibc runs AIO requests on helper threads that make the system calls
 * directly, where the interposer cannot see them.  A request on a udax
 * descriptor is therefore done at once, in the caller, through this
 * library's pread/pwrite/fsync (udax has no device queue to wait for:
 * a copy to the pool is the whole I/O).  Its result is stored in the
 * aiocb, completion is notified as asked (SIGEV_NONE, SIGEV_SIGNAL,
 * SIGEV_THREAD), and aio_error/aio_return/aio_suspend/aio_cancel answer
 * for it; requests on other descriptors go to glibc untouched.
 * lio_listio() mixing udax and other descriptors is refused (EINVAL).
 */
#include <aio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "preload/preload.h"

struct notify {
	void (*fn)(union sigval);
	union sigval val;
};

static void *notify_thread(void *arg)
{
	struct notify n = *(struct notify *)arg;

	free(arg);
	n.fn(n.val);
	return NULL;
}

static void notify(const struct sigevent *ev)
{
	if (ev->sigev_notify == SIGEV_SIGNAL) {
		sigqueue(getpid(), ev->sigev_signo, ev->sigev_value);
	} else if (ev->sigev_notify == SIGEV_THREAD && ev->sigev_notify_function) {
		struct notify *n = malloc(sizeof(*n));
		pthread_t t;
		pthread_attr_t attr, *a = ev->sigev_notify_attributes;
		if (!n)
			return;
		*n = (struct notify){ ev->sigev_notify_function, ev->sigev_value };
		if (!a) {
			pthread_attr_init(&attr);
			a = &attr;
		}
		pthread_attr_setdetachstate(a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, a, notify_thread, n))
			free(n);
		if (a == &attr)
			pthread_attr_destroy(&attr);
	}
}

/* Do @cb now; @op is LIO_READ, LIO_WRITE or an O_SYNC/O_DSYNC fsync. */
static void run_now(struct aiocb *cb, int op, int fsync_op, int notify_it)
{
	ssize_t r;
	int saved = errno;

	if (op == LIO_READ)
		r = pread(cb->aio_fildes, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
	else if (op == LIO_WRITE)
		r = pwrite(cb->aio_fildes, (const void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
	else
		r = fsync_op == O_DSYNC ? fdatasync(cb->aio_fildes) : fsync(cb->aio_fildes);
	cb->__error_code = r < 0 ? errno : 0;
	cb->__return_value = r;
	errno = saved;
	if (notify_it)
		notify(&cb->aio_sigevent);
}

static int is_ours(const struct aiocb *cb)
{
	return cb && pf_is_udax(cb->aio_fildes) && !in_udax;
}

PRELOAD_EXPORT int aio_read(struct aiocb *cb)
{
	if (!is_ours(cb))
		return REAL(aio_read)(cb);
	run_now(cb, LIO_READ, 0, 1);
	return 0;
}

PRELOAD_EXPORT int aio_write(struct aiocb *cb)
{
	if (!is_ours(cb))
		return REAL(aio_write)(cb);
	run_now(cb, LIO_WRITE, 0, 1);
	return 0;
}

PRELOAD_EXPORT int aio_fsync(int op, struct aiocb *cb)
{
	if (!is_ours(cb))
		return REAL(aio_fsync)(op, cb);
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	run_now(cb, -1, op, 1);
	return 0;
}

PRELOAD_EXPORT int aio_error(const struct aiocb *cb)
{
	return is_ours(cb) ? cb->__error_code : REAL(aio_error)(cb);
}

PRELOAD_EXPORT ssize_t aio_return(struct aiocb *cb)
{
	return is_ours(cb) ? cb->__return_value : REAL(aio_return)(cb);
}

PRELOAD_EXPORT int aio_cancel(int fd, struct aiocb *cb)
{
	if (!pf_is_udax(fd) || in_udax)
		return REAL(aio_cancel)(fd, cb);
	return AIO_ALLDONE; /* every udax request is done when queued */
}

PRELOAD_EXPORT int aio_suspend(const struct aiocb *const list[], int n,
                               const struct timespec *timeout)
{
	for (int i = 0; i < n; i++)
		if (is_ours(list[i]))
			return 0; /* at least one is complete */
	return REAL(aio_suspend)(list, n, timeout);
}

PRELOAD_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n,
                              struct sigevent *sev)
{
	int ours = 0, others = 0;

	for (int i = 0; i < n; i++) {
		if (!list[i] || list[i]->aio_lio_opcode == LIO_NOP)
			continue;
		if (is_ours(list[i]))
			ours++;
		else
			others++;
	}
	if (!ours)
		return REAL(lio_listio)(mode, list, n, sev);
	if (others || (mode != LIO_WAIT && mode != LIO_NOWAIT)) {
		pl_warn_once("lio-mixed", "lio_listio mixing udax and other descriptors is "
		             "not supported (EINVAL)");
		errno = EINVAL;
		return -1;
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		if (!list[i] || list[i]->aio_lio_opcode == LIO_NOP)
			continue;
		int op = list[i]->aio_lio_opcode;
		if (op != LIO_READ && op != LIO_WRITE) {
			list[i]->__error_code = EINVAL;
			list[i]->__return_value = -1;
		} else {
			run_now(list[i], op, 0, 0);
		}
		failed |= list[i]->__error_code != 0;
	}
	if (mode == LIO_NOWAIT && sev)
		notify(sev);
	if (mode == LIO_WAIT && failed) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* The 64-bit-offset names: struct aiocb64 is struct aiocb on 64-bit
 * Linux (same layout; aio.h checks the result fields line up). */
_Static_assert(sizeof(struct aiocb64) == sizeof(struct aiocb), "one layout");
#define AS32(cb) ((struct aiocb *)(cb))
PRELOAD_EXPORT int aio_read64(struct aiocb64 *cb) { return aio_read(AS32(cb)); }
PRELOAD_EXPORT int aio_write64(struct aiocb64 *cb) { return aio_write(AS32(cb)); }
PRELOAD_EXPORT int aio_fsync64(int op, struct aiocb64 *cb) { return aio_fsync(op, AS32(cb)); }
PRELOAD_EXPORT int aio_error64(const struct aiocb64 *cb)
{
	return aio_error((const struct aiocb *)cb);
}
PRELOAD_EXPORT ssize_t aio_return64(struct aiocb64 *cb) { return aio_return(AS32(cb)); }
PRELOAD_EXPORT int aio_cancel64(int fd, struct aiocb64 *cb) { return aio_cancel(fd, AS32(cb)); }
PRELOAD_EXPORT int aio_suspend64(const struct aiocb64 *const list[], int n,
                                 const struct timespec *timeout)
{
	return aio_suspend((const struct aiocb *const *)list, n, timeout);
}
PRELOAD_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n,
                                struct sigevent *sev)
{
	return lio_listio(mode, (struct aiocb *const *)list, n, sev);
}
