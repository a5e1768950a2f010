/*
 * state.c - the interposer's one mounted pool: mounted lazily at the
 * first call under the prefix, unmounted (flushing everything) when the
 * program exits, and reported once, clearly, when it cannot be mounted.
 *
 * A failed mount is remembered: every later call under the prefix fails
 * with the same errno and no further message, so a program that cannot
 * reach its files sees consistent errors and never a half-mounted pool.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/exit.h"
#include "preload/preload.h"

__thread int in_udax;

static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static udax_fs *_Atomic the_fs;
static int mount_errno;         /* sticky failure (mount_lock) */
static pid_t mount_pid;

/* The program's umask, tracked through umask() so it is never changed
 * to be read (a set-and-restore would race the program's threads). */
static _Atomic int cur_umask = -1;

static mode_t umask_from_proc(void)
{
	char line[128];
	unsigned m = 022;
	in_udax++;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	if (f)
		fclose(f);
	in_udax--;
	return (mode_t)m & 0777;
}

mode_t pl_umask(void)
{
	int m = atomic_load(&cur_umask);

	if (m < 0) {
		m = (int)umask_from_proc();
		int unset = -1;
		atomic_compare_exchange_strong(&cur_umask, &unset, m);
		m = atomic_load(&cur_umask);
	}
	return (mode_t)m;
}

PRELOAD_EXPORT mode_t umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);
	atomic_store(&cur_umask, (int)(mask & 0777));
	return old;
}

int pl_active(void)
{
	static int on = -1;

	if (in_udax)
		return 0;
	if (on < 0) {
		const char *p = getenv("UDAX_POOL");
		on = p && *p;
		if (on && !pl_prefix_ok()) {
			on = 0;
			pl_warn_once("prefix", "UDAX_PREFIX=%s is not usable (an absolute path other "
			             "than / without . or .. components): interposer off",
			             getenv("UDAX_PREFIX"));
		}
	}
	return on;
}

/* Mounted read-only: UDAX_OPTIONS holds the option "ro". */
int pl_readonly(void)
{
	const char *o = getenv("UDAX_OPTIONS");

	for (const char *s = o; s && *s;) {
		const char *e = strchrnul(s, ',');
		if (e - s == 2 && !strncmp(s, "ro", 2))
			return 1;
		s = *e ? e + 1 : e;
	}
	return 0;
}

int pl_fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

void pl_warn_once(const char *what, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char seen[64][48];
	static int nseen;
	char msg[512];
	va_list ap;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < nseen; i++) {
		if (!strncmp(seen[i], what, sizeof(seen[i]) - 1)) {
			pthread_mutex_unlock(&lock);
			return;
		}
	}
	if (nseen < 64)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", what);
	pthread_mutex_unlock(&lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	in_udax++;
	dprintf(STDERR_FILENO, "udax-preload: %s\n", msg);
	in_udax--;
}

/* Runs from the ELF destructors, after the program's own exit handlers
 * and C++ static destructors.  Streams are flushed first: glibc flushes
 * them only after every destructor, when the pool would be gone.  The
 * mount then stays "gone" (EIO), so nothing can mount the pool again
 * on the way out.  Other threads may still be loading and storing
 * through mappings: udax_unmount_for_exit flushes and commits
 * everything but unmaps nothing, and their faults wait for the end. */
__attribute__((destructor)) static void unmount_at_exit(void)
{
	if (!atomic_load(&the_fs) || mount_pid != getpid())
		return;
	fflush(NULL);
	tab_wrlock();                  /* calls on descriptors finish first */
	pthread_mutex_lock(&mount_lock);
	udax_fs *fs = atomic_exchange(&the_fs, NULL);
	mount_errno = EIO;
	pthread_mutex_unlock(&mount_lock);
	if (fs) {
		in_udax++;
		int err = udax_unmount_for_exit(fs);
		in_udax--;
		if (err)
			dprintf(STDERR_FILENO, "udax-preload: unmount: %s\n", strerror(-err));
	}
	tab_unlock();
}

static void forget_mount_in_child(void)
{
	/* The parent's pool, descriptors, mappings, streams and locks are
	 * not the child's: forget them all (the reserved descriptors it
	 * inherited are O_PATH placeholders that fail with EBADF), and a
	 * new mount gets -EBUSY while the parent holds the pool. */
	atomic_store(&the_fs, NULL);
	pthread_mutex_init(&mount_lock, NULL);
	mount_errno = 0;
	pf_forget_all();
	pl_maps_forget();
	pl_dirs_forget();
	pl_locks_forget();
}

udax_fs *pl_fs(void)
{
	udax_fs *fs = atomic_load(&the_fs);

	if (fs)
		return fs;
	pthread_mutex_lock(&mount_lock);
	fs = atomic_load(&the_fs);
	if (!fs && !mount_errno) {
		const char *pool = getenv("UDAX_POOL");
		const char *opts = getenv("UDAX_OPTIONS");
		in_udax++;
		int err = udax_mount(pool, opts && *opts ? opts : NULL, &fs);
		in_udax--;
		if (err) {
			mount_errno = -err;
			fs = NULL;
			dprintf(STDERR_FILENO, "udax-preload: cannot mount pool %s: %s\n",
			        pool, *udax_last_error() ? udax_last_error() : strerror(-err));
		} else {
			static int hooks;
			if (!hooks++)
				pthread_atfork(NULL, NULL, forget_mount_in_child);
			mount_pid = getpid();
			atomic_store(&the_fs, fs);
		}
	}
	int e = mount_errno;
	pthread_mutex_unlock(&mount_lock);
	if (!fs)
		errno = e;
	return fs;
}

/* For test programs: the mounted file system (mounting it if needed),
 * so they can call udax_shadow_save() and friends; NULL if it cannot
 * be mounted or UDAX_POOL is unset. */
PRELOAD_EXPORT udax_fs *udax_preload_fs(void)
{
	const char *p = getenv("UDAX_POOL");

	return p && *p ? pl_fs() : NULL;
}
