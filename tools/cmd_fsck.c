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
 *
 * --json: nothing but one JSON object on stdout, written at the end:
 * the findings, the problems as a list of strings and the exit status
 * the command returns ("exit_code"); an error (exit 8) is an object
 * too, with "error" and "errno" (and the message on stderr as well).
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
#include "json.h"

struct problems {
	bool json;     /* collect them for the object instead of printing */
	char **list;
	size_t n, cap;
};

static void fsck_report(void *arg, const char *problem)
{
	struct problems *p = arg;

	if (!p->json) {
		printf("%s\n", problem);
		return;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->list = xrealloc(p->list, p->cap * sizeof(*p->list));
	}
	p->list[p->n++] = xstrdup(problem);
}

static void fsck_json(const char *pool, bool repair, int ret,
		      const struct udax_fsck_result *r,
		      const struct problems *p, int rc)
{
	struct json j;
	size_t i;

	json_begin(&j, stdout);
	json_str(&j, "pool", pool);
	json_bool(&j, "repair", repair);
	if (ret < 0) {
		json_str(&j, "error", strerror(-ret));
		json_i64(&j, "errno", -ret);
		const char *detail = udax_last_error();
		json_str(&j, "detail", detail && *detail ? detail : NULL);
	} else {
		json_bool(&j, "live", r->live);
		json_bool(&j, "journal", r->journal);
		json_bool(&j, "journal_replayed", repair && r->journal);
		json_u64(&j, "orphans", r->orphans);
		json_bool(&j, "orphans_freed", repair && r->orphans);
		json_bool(&j, "clean", ret == 0);
		json_i64(&j, "problem_count", ret);
	}
	json_open(&j, "problems", '[');
	for (i = 0; i < p->n; i++)
		json_str(&j, NULL, p->list[i]);
	json_close(&j);
	json_i64(&j, "exit_code", rc);
	json_end(&j);
}

int cmd_fsck(struct ctx *c, udax_fs *unused)
{
	const char *pool = c->argv[0];
	bool repair = c->opt['y'];
	struct udax_fsck_result r = { 0 };
	struct problems probs = { .json = c->opt['j'] };
	int ret, rc;

	if (repair && c->opt['n']) {
		fprintf(stderr, "udax fsck: --repair and --read-only exclude "
			"each other\n");
		return EXIT_USAGE;
	}
	ret = udax_fsck_ex(pool, repair ? UDAX_FSCK_REPAIR : 0, fsck_report,
			   &probs, &r);
	if (ret < 0) {
		if (ret == -EBUSY && repair)
			fprintf(stderr, "udax fsck: %s: pool is mounted; unmount "
				"it before --repair (a check without --repair "
				"runs beside a mount)\n", pool);
		else
			fail_detail(pool, ret);
		rc = 8;
		goto out;
	}
	rc = ret > 0 ? 4 : repair && (r.journal || r.orphans) ? 1 : 0;
	if (probs.json)
		goto out;
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
	if (ret == 0)
		printf("%s: clean\n", pool);
	else
		printf("%s: %d %s\n", pool, ret, ret == 1 ? "problem" :
		       "problems");
out:
	if (probs.json)
		fsck_json(pool, repair, ret, &r, &probs, rc);
	free_names(probs.list, probs.n);
	return rc;
}
