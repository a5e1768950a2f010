/* cmd_info.c - udax info: show a pool's superblock (--json: as one
 * JSON object, the same fields). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"

static void format_uuid(const uint8_t u[16], char out[37])
{
	int i;
	char *o = out;

	for (i = 0; i < 16; i++)
		o += sprintf(o, "%s%02x", i == 4 || i == 6 || i == 8 ||
			     i == 10 ? "-" : "", u[i]);
}

static void info_json(const char *pool, const struct udax_info *in,
		      const char *uuid, const char *flush)
{
	struct json j;

	json_begin(&j, stdout);
	json_str(&j, "pool", pool);
	json_str(&j, "uuid", uuid);
	json_u64(&j, "format_version", in->version);
	json_bool(&j, "clean", in->clean);
	json_u64(&j, "pool_size", in->pool_size);
	json_u64(&j, "block_size", UDAX_BLOCK_SIZE);
	json_u64(&j, "total_blocks", in->total_blocks);
	json_u64(&j, "data_start", in->data_start);
	json_u64(&j, "free_blocks", in->free_blocks);
	json_u64(&j, "free_bytes", in->free_blocks * UDAX_BLOCK_SIZE);
	json_u64(&j, "total_inodes", in->total_inodes);
	json_u64(&j, "free_inodes", in->free_inodes);
	json_u64(&j, "journal_blocks", in->journal_blocks);
	json_u64(&j, "journal_bytes", in->journal_blocks * UDAX_BLOCK_SIZE);
	json_u64(&j, "mount_count", in->mount_count);
	json_str(&j, "flush", flush);
	json_bool(&j, "map_sync", in->map_sync);
	json_end(&j);
}

int cmd_info(struct ctx *c, udax_fs *fs)
{
	struct udax_info in;
	char uuid[37], flush[sizeof(in.flush_insn) + 1];
	int ret = udax_info(fs, &in);

	if (ret < 0)
		return fail(c->argv[0], ret);
	format_uuid(in.uuid, uuid);
	memcpy(flush, in.flush_insn, sizeof(in.flush_insn));
	flush[sizeof(in.flush_insn)] = '\0';
	if (c->opt['j']) {
		info_json(c->argv[0], &in, uuid, flush);
		return 0;
	}
	printf("pool:           %s\n", c->argv[0]);
	printf("uuid:           %s\n", uuid);
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
	printf("flush:          %s\n", flush);
	printf("MAP_SYNC:       %s\n", in.map_sync ? "yes" : "no");
	return 0;
}
