/* cmd_mkfs.c - udax mkfs: format a pool. */
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

int cmd_mkfs(struct ctx *c, udax_fs *unused)
{
	const char *pool = c->argv[0], *arg = c->argv[1];
	unsigned mode = 0;
	uint64_t size;
	int ret;

	ret = parse_size(arg, &size);
	if (ret < 0) {
		fprintf(stderr, "udax mkfs: %s: %s\n", arg,
			arg[0] == '-' ? "size must not be negative" :
			ret == -ERANGE ? "size too large" :
			"invalid size (examples: 64M, 1G, 512K, 4096)");
		return EXIT_USAGE;
	}
	/* 0 asks udax to use the file's current size. */
	if (size && size < UDAX_MIN_POOL_SIZE) {
		fprintf(stderr, "udax mkfs: %s: a pool needs at least %s\n",
			arg, human(UDAX_MIN_POOL_SIZE));
		return EXIT_USAGE;
	}
	if (c->opt['m']) {
		char *end;
		unsigned long m = strtoul(c->value['m'], &end, 8);

		if (!*c->value['m'] || *end || m > 07777) {
			fprintf(stderr, "udax mkfs: %s: invalid mode (octal, "
				"e.g. 600, 660)\n", c->value['m']);
			return EXIT_USAGE;
		}
		mode = (unsigned)m;
		if (!mode) {
			fprintf(stderr, "udax mkfs: mode 0 would lock "
				"everyone out\n");
			return EXIT_USAGE;
		}
	}
	ret = udax_mkfs_mode(pool, size, c->opt['f'] ? UDAX_MKFS_FORCE : 0,
			     mode);
	if (ret == -EEXIST) {
		fprintf(stderr, "udax mkfs: %s already holds a udax file "
			"system; use --force to overwrite it\n", pool);
		return 1;
	}
	if (ret == -EBUSY) {
		fprintf(stderr, "udax mkfs: %s: pool is in use by another "
			"process (mounted); it was not changed\n", pool);
		return 1;
	}
	if (ret < 0)
		return fail_detail(pool, ret);
	size &= ~(uint64_t)(UDAX_BLOCK_SIZE - 1);
	if (size)
		printf("%s: formatted, %s (%" PRIu64 " bytes)\n", pool,
		       human(size), size);
	else
		printf("%s: formatted\n", pool);
	return 0;
}
