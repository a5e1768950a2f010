/* cmd_df.c - udax df: space and inode usage. */
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

int cmd_df(struct ctx *c, udax_fs *fs)
{
	struct udax_statfs sf;
	uint64_t size, avail, used, iused;
	int ret = udax_statfs(fs, &sf);

	if (ret < 0)
		return fail(c->argv[0], ret);
	size = sf.total_blocks * sf.block_size;
	avail = sf.free_blocks * sf.block_size;
	used = size - avail;
	iused = sf.total_inodes - sf.free_inodes;
	printf("pool:    %s\n", c->argv[0]);
	printf("size:    %s (%" PRIu64 " bytes)\n", human(size), size);
	printf("used:    %s (%" PRIu64 " bytes)\n", human(used), used);
	printf("free:    %s (%" PRIu64 " bytes)\n", human(avail), avail);
	/* Round up, as df does, so that a nearly full pool never shows 0%. */
	printf("use%%:    %" PRIu64 "%%\n",
	       size ? (used * 100 + size - 1) / size : 0);
	printf("inodes:  %" PRIu64 " used, %" PRIu64 " free, %" PRIu64
	       " total\n", iused, sf.free_inodes, sf.total_inodes);
	return 0;
}
