/*
 * cmd_fsck.c - udax fsck: check a pool, as e2fsck does.
 *
 * By default nothing is written (e2fsck -n): a journal that needs
 * replay is reported, and replayed only in memory so that the check
 * sees what a mount would.  --repair (-y) replays the journal and frees
 * orphaned inodes in the pool itself, and so refuses a mounted pool.
 *
 * Exit status: 0 clean; 1 problems were repaired (--repair: the journal
 * replayed or orphans freed) and none are left; 4 problems left; 8 the
 * pool could not be opened (not a pool, in use with --repair); 2 bad
 * usage.
 */
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
	bool repair = c->opt['y'];
	struct udax_fsck_result r;
	int ret, rc;

	if (repair && c->opt['n']) {
		fprintf(stderr, "udax fsck: --repair and --read-only exclude "
			"each other\n");
		return EXIT_USAGE;
	}
	ret = udax_fsck_ex(pool, repair ? UDAX_FSCK_REPAIR : 0, fsck_report,
			   NULL, &r);
	if (ret < 0) {
		if (ret == -EBUSY && repair)
			fprintf(stderr, "udax fsck: %s: pool is mounted; unmount "
				"it before --repair (a check without --repair "
				"runs beside a mount)\n", pool);
		else
			fail_detail(pool, ret);
		return 8;
	}
	if (r.live)
		printf("%s: mounted read-write by another process: checked "
		       "the live file system, problems may be transient\n",
		       pool);
	if (r.journal)
		printf("%s: journal %s\n", pool, repair ? "replayed" :
		       "needs replay (checked as replayed, in memory; "
		       "mount or fsck --repair replays it)");
	if (r.orphans)
		printf("%s: %" PRIu64 " orphaned %s %s\n", pool, r.orphans,
		       r.orphans == 1 ? "inode" : "inodes",
		       repair ? "freed" : "to free (unlinked while open)");
	if (ret == 0) {
		printf("%s: clean\n", pool);
		rc = repair && (r.journal || r.orphans) ? 1 : 0;
	} else {
		printf("%s: %d %s\n", pool, ret, ret == 1 ? "problem" :
		       "problems");
		rc = 4;
	}
	return rc;
}
