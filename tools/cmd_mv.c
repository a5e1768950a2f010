/* cmd_mv.c - udax mv: rename. */
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

int cmd_mv(struct ctx *c, udax_fs *fs)
{
	char *from, *to, *what;
	unsigned flags = 0;
	int ret, rc = 0;

	if (c->opt['n'] && c->opt['x']) {
		fprintf(stderr, "udax mv: --no-replace and --exchange "
			"exclude each other\n");
		return EXIT_USAGE;
	}
	if (c->opt['n'])
		flags = UDAX_RENAME_NOREPLACE;
	if (c->opt['x'])
		flags = UDAX_RENAME_EXCHANGE;
	from = pool_path_at(fs, c->argv[1]);
	to = from ? pool_path_at(fs, c->argv[2]) : NULL;
	if (!to) {
		free(from);
		return 1;
	}
	ret = udax_rename(fs, from, to, flags);
	if (ret < 0) {
		what = xasprintf("%s -> %s", from, to);
		rc = fail(what, ret);
		free(what);
	}
	free(from);
	free(to);
	return rc;
}
