/* cmd_mount.c - udax mount: mount a pool with FUSE. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef UDAX_HAVE_FUSE
#include "fuse/fuse_fs.h"
#endif

#include "cli.h"

int cmd_mount(struct ctx *c, udax_fs *unused)
{
#ifdef UDAX_HAVE_FUSE
	struct stat st;

	/* The directory of a FUSE mount whose daemon died answers every
	 * call with ENOTCONN until it is unmounted. */
	if (stat(c->argv[1], &st) < 0 && errno == ENOTCONN) {
		fprintf(stderr, "udax mount: %s is a dead FUSE mount (its "
			"daemon has exited); run 'udax umount %s' to clean "
			"it up, then mount again\n", c->argv[1], c->argv[1]);
		return 1;
	}
	return udax_fuse_mount(c->argv[0], c->argv[1], c->value['o'],
			       c->opt['f']);
#else
	fprintf(stderr, "udax mount: this udax was built without FUSE support "
		"(install libfuse3-dev and pkg-config, then rebuild)\n");
	return EXIT_USAGE;
#endif
}
