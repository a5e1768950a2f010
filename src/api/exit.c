/*
 * exit.c - the interposer's unmount at process exit (api/exit.h).
 *
 * udax_unmount tears mappings down: run from exit() while other threads
 * still touch those mappings, their next access faults on an address
 * range that is gone and the process dies of SIGSEGV.  At exit only
 * durability matters, so this flushes and commits everything and tears
 * nothing down; vm_freeze() stops faults first, so no page becomes
 * dirty or gets allocated behind the flush.
 */
#include <errno.h>

#include "api/exit.h"
#include "api/fs.h"
#include "dax/dax.h"
#include "vm/vm.h"

int udax_unmount_for_exit(udax_fs *fs)
{
	if (!fs)
		return -EINVAL;
	vm_freeze();
	int err = writeback_maps(fs);
	pthread_mutex_lock(&fs->fd_lock);
	int nfds = fs->nfds;
	pthread_mutex_unlock(&fs->fd_lock);
	for (int fd = 0; fd < nfds; fd++) {
		int e = udax_fsync(fs, fd);           /* -EBADF: a free slot */
		if (e && e != -EBADF && !err)
			err = e;
	}
	meta_seal_for_exit(&fs->m);
	return err;
}
