/* cmd_info.c - udax info: show a pool's superblock. */
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

static void print_uuid(const uint8_t u[16])
{
	int i;

	for (i = 0; i < 16; i++)
		printf("%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ?
		       "-" : "", u[i]);
	putchar('\n');
}

int cmd_info(struct ctx *c, udax_fs *fs)
{
	struct udax_info in;
	int ret = udax_info(fs, &in);

	if (ret < 0)
		return fail(c->argv[0], ret);
	printf("pool:           %s\n", c->argv[0]);
	printf("uuid:           ");
	print_uuid(in.uuid);
	printf("format version: %" PRIu32 "\n", in.version);
	printf("clean:          %s\n", in.clean ? "yes" : "no");
	printf("pool size:      %s (%" PRIu64 " bytes)\n",
	       human(in.pool_size), in.pool_size);
	printf("blocks:         %" PRIu64 " of %u bytes, data from block %"
	       PRIu64 "\n", in.total_blocks, UDAX_BLOCK_SIZE, in.data_start);
	printf("free:           %s (%" PRIu64 " blocks)\n",
	       human(in.free_blocks * UDAX_BLOCK_SIZE), in.free_blocks);
	printf("inodes:         %" PRIu64 " total, %" PRIu64 " free\n",
	       in.total_inodes, in.free_inodes);
	printf("journal:        %" PRIu64 " blocks (%s)\n", in.journal_blocks,
	       human(in.journal_blocks * UDAX_BLOCK_SIZE));
	printf("mount count:    %" PRIu64 "\n", in.mount_count);
	printf("flush:          %.*s\n", (int)sizeof(in.flush_insn),
	       in.flush_insn);
	printf("MAP_SYNC:       %s\n", in.map_sync ? "yes" : "no");
	return 0;
}
