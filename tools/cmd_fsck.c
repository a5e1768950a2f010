/* cmd_fsck.c - udax fsck: check a pool. */
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

static void fsck_report(void *arg, const char *problem)
{
	printf("%s\n", problem);
}

int cmd_fsck(struct ctx *c, udax_fs *unused)
{
	const char *pool = c->argv[0];
	int ret = udax_fsck(pool, fsck_report, NULL);

	if (ret < 0) {
		fail_detail(pool, ret);
		return 8;
	}
	if (ret == 0) {
		printf("%s: clean\n", pool);
		return 0;
	}
	printf("%s: %d %s\n", pool, ret, ret == 1 ? "problem" : "problems");
	return 4;
}
