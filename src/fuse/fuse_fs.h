/*
 * fuse_fs.h - serve a udax pool through FUSE (libfuse3, path-based API).
 *
 * Only the udax command-line tool uses this; it is compiled in when
 * fuse3 was found at configure time (UDAX_HAVE_FUSE).
 */
#ifndef UDAX_FUSE_FS_H
#define UDAX_FUSE_FS_H

/*
 * udax_fuse_mount - mount the udax pool @pool on directory @mountpoint
 * and serve it until the file system is unmounted (fusermount3 -u,
 * umount, `udax umount`) or the daemon gets SIGINT, SIGTERM or SIGHUP.
 *
 * @options: NULL or a comma-separated list.  udax's own mount options
 *   (ro, rw, shadow, write_lock=...) go to udax_mount(); everything else
 *   is handed to libfuse as a mount option (e.g. debug, max_read=N).
 *   "ro" also makes the kernel mount read-only.
 * @foreground: nonzero to stay in the foreground; otherwise the process
 *   daemonises once the pool is mounted and the kernel mount is in place,
 *   so that every error that can be reported is reported first.
 *
 * Messages go to stderr prefixed with "udax mount: ".  Returns the exit
 * status for the tool: 0 after a clean unmount, 1 if the pool or the
 * kernel mount could not be set up.
 */
int udax_fuse_mount(const char *pool, const char *mountpoint,
		    const char *options, int foreground);

#endif
