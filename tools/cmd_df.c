/*
 * cmd_df.c - udax df: space or inode usage, as df(1) prints it.
 *
 *   Filesystem        1K-blocks  Used Available Use% Mounted on
 *   /dev/shm/x.pool       32768   164     32604   1% -
 *
 * -h: sizes as df -h (powers of 1024, suffixes K M G T P E, one decimal
 * below 10, rounded up); -i: inodes instead of blocks (Inodes IUsed
 * IFree IUse%).  The pool is mounted nowhere (a FUSE mount of it, if
 * any, is not known here): "Mounted on" is "-".  --json: one object
 * with every number, in bytes and counts.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

/*
 * @n as df -h shows it (gnulib human_readable with human_autoscale,
 * base 1024 and human_ceiling): below 1024 as is; else scaled to the
 * largest unit that leaves it below 1024, with one decimal below 10,
 * always rounded up ("1.1K" for 1025, "10K" for 10239 bytes).
 */
static void df_human(uint64_t n, char out[32])
{
	static const char suffix[] = "KMGTPE";
	uint64_t d = 1, q, r, t;
	int e = 0;

	while (e < 6 && n / d >= 1024) {
		d *= 1024;
		e++;
	}
	if (e == 0) {
		snprintf(out, 32, "%" PRIu64, n);
		return;
	}
	q = n / d;
	r = n % d;            /* < d <= 2^60, so r * 10 does not overflow */
	if (q < 10) {
		t = q * 10 + (r * 10 + d - 1) / d;   /* tenths, rounded up */
		if (t < 100)
			snprintf(out, 32, "%" PRIu64 ".%" PRIu64 "%c", t / 10,
				 t % 10, suffix[e - 1]);
		else
			snprintf(out, 32, "10%c", suffix[e - 1]);
		return;
	}
	q += r != 0;
	if (q == 1024 && e < 6)
		snprintf(out, 32, "1.0%c", suffix[e]);
	else
		snprintf(out, 32, "%" PRIu64 "%c", q, suffix[e - 1]);
}

/* Use% as df computes it: used / (used + available), rounded up; -1
 * (shown "-") when there is nothing to divide by. */
static int percent(uint64_t used, uint64_t avail)
{
	uint64_t total = used + avail;

	if (!total)
		return -1;
	if (used <= UINT64_MAX / 100 - total)
		return (int)((used * 100 + total - 1) / total);
	long double p = (long double)used * 100 / (long double)total;
	return (int)p + ((long double)(int)p < p);
}

static void df_json(const char *pool, const struct udax_statfs *sf)
{
	uint64_t size = sf->total_blocks * sf->block_size;
	uint64_t avail = sf->free_blocks * sf->block_size;
	uint64_t iused = sf->total_inodes - sf->free_inodes;
	struct json j;
	int pct = percent(size - avail, avail);
	int ipct = percent(iused, sf->free_inodes);

	json_begin(&j, stdout);
	json_str(&j, "filesystem", pool);
	json_u64(&j, "block_size", sf->block_size);
	json_u64(&j, "total_blocks", sf->total_blocks);
	json_u64(&j, "free_blocks", sf->free_blocks);
	json_u64(&j, "size", size);
	json_u64(&j, "used", size - avail);
	json_u64(&j, "available", avail);
	if (pct < 0)
		json_null(&j, "use_percent");
	else
		json_u64(&j, "use_percent", (uint64_t)pct);
	json_u64(&j, "inodes", sf->total_inodes);
	json_u64(&j, "inodes_used", iused);
	json_u64(&j, "inodes_free", sf->free_inodes);
	if (ipct < 0)
		json_null(&j, "inodes_use_percent");
	else
		json_u64(&j, "inodes_use_percent", (uint64_t)ipct);
	json_u64(&j, "name_max", sf->name_max);
	json_null(&j, "mounted_on");
	json_end(&j);
}

int cmd_df(struct ctx *c, udax_fs *fs)
{
	struct udax_statfs sf;
	bool hum = c->opt['h'], inodes = c->opt['i'];
	char cell[6][32], *name;   /* cell[0] unused: the name */
	const char *head[6];
	uint64_t total, used, avail;
	int ret = udax_statfs(fs, &sf), w[6], i, pct;

	if (ret < 0)
		return fail(c->argv[0], ret);
	if (c->opt['j']) {
		df_json(c->argv[0], &sf);
		return 0;
	}
	if (inodes) {
		total = sf.total_inodes;
		avail = sf.free_inodes;
		used = total - avail;
	} else {
		total = sf.total_blocks * sf.block_size;
		avail = sf.free_blocks * sf.block_size;
		used = total - avail;
	}
	pct = percent(used, avail);

	head[0] = "Filesystem";
	head[1] = inodes ? "Inodes" : hum ? "Size" : "1K-blocks";
	head[2] = inodes ? "IUsed" : "Used";
	head[3] = inodes ? "IFree" : hum ? "Avail" : "Available";
	head[4] = inodes ? "IUse%" : "Use%";
	head[5] = "Mounted on";
	name = quote_name(c->argv[0]);
	cell[0][0] = '\0';
	uint64_t v[3] = { total, used, avail };
	for (i = 0; i < 3; i++) {
		if (hum)
			df_human(v[i], cell[i + 1]);
		else
			/* 1K blocks, rounded up as df does */
			snprintf(cell[i + 1], sizeof(cell[0]), "%" PRIu64,
				 inodes ? v[i] : (v[i] + 1023) / 1024);
	}
	if (pct < 0)
		snprintf(cell[4], sizeof(cell[0]), "-");
	else
		snprintf(cell[4], sizeof(cell[0]), "%d%%", pct);
	snprintf(cell[5], sizeof(cell[0]), "-");

	/* df's column widths: at least 14 for Filesystem, 5 for the
	 * numbers, 4 for Use% (IUse%: its header), and the widest of
	 * header and value */
	w[0] = 14;
	w[1] = w[2] = w[3] = 5;
	w[4] = 4;
	w[5] = 0;
	for (i = 0; i < 6; i++) {
		int hl = (int)strlen(head[i]);
		int vl = (int)strlen(i ? cell[i] : name);

		if (hl > w[i])
			w[i] = hl;
		if (vl > w[i])
			w[i] = vl;
	}
	printf("%-*s %*s %*s %*s %*s %s\n", w[0], head[0], w[1], head[1],
	       w[2], head[2], w[3], head[3], w[4], head[4], head[5]);
	printf("%-*s %*s %*s %*s %*s %s\n", w[0], name, w[1], cell[1],
	       w[2], cell[2], w[3], cell[3], w[4], cell[4], cell[5]);
	free(name);
	return 0;
}
