/* cmd_cat.c - udax cat: write a file to stdout. */
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

#include "cli.h"

int cmd_cat(struct ctx *c, udax_fs *fs)
{
	char *src = pool_path_at(fs, c->argv[1]);
	struct stat st;
	int ufd, rc = 1;

	if (!src)
		return 1;
	ufd = open_source(fs, src, &st);
	if (ufd < 0) {
		fail(src, ufd);
	} else {
		fflush(stdout);
		rc = copy_out(fs, ufd, src, st.st_size, STDOUT_FILENO,
			      "stdout", false, false);
		udax_close(fs, ufd);
	}
	free(src);
	return rc;
}
