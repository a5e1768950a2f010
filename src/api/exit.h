/*
 * exit.h - internal: the interposer's unmount at process exit.  Not
 * part of the public API (include/udax.h).
 */
#ifndef UDAX_EXIT_H
#define UDAX_EXIT_H

#include "udax.h"

/*
 * udax_unmount_for_exit - what udax_unmount does for durability, for a
 * process that is about to end while other threads may still load and
 * store through its mappings: every dirty page of every mapping and
 * open file is flushed, timestamps are committed and the pool is marked
 * clean.  Nothing is torn down: windows stay registered and the pool
 * stays mapped, so a load or store to a present page in another thread
 * simply goes through; a fault from another thread waits until the
 * process is gone (exit_group ends it), and a fault in the calling
 * thread raises SIGBUS with a message.  No transaction can commit
 * afterwards.  Call it at most once per process, as its last use of
 * @fs; returns 0 or the first error of the flushes.
 */
int udax_unmount_for_exit(udax_fs *fs);

#endif
