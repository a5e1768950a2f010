/*
 * cmd_run.c - udax run: run a program with the interposer set up.
 *
 *   udax run POOL [-o OPTS] [--prefix DIR] -- COMMAND [ARGS...]
 *
 * Sets LD_PRELOAD to libudax-preload.so (found beside this binary, as
 * in a build tree, or in the library directory of its installation:
 * ../lib, ../lib64, ../lib/<multiarch>; UDAX_PRELOAD_LIB overrides),
 * UDAX_POOL to POOL made absolute, UDAX_PREFIX to DIR (default /udax)
 * and UDAX_OPTIONS to OPTS, then executes COMMAND in place of udax, so
 * its exit status is the command's.  127 if COMMAND cannot be run or
 * the library is not found.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PRELOAD_NAME "libudax-preload.so"

/* The preload library for the udax binary at @exe, or NULL. */
static char *find_preload(void)
{
	static const char *const rel[] = {
		"", "src/preload/", "../lib/", "../lib64/", "../lib/udax/",
#ifdef __x86_64__
		"../lib/x86_64-linux-gnu/",
#endif
#ifdef __aarch64__
		"../lib/aarch64-linux-gnu/",
#endif
		"../", "../src/preload/",
	};
	const char *env = getenv("UDAX_PRELOAD_LIB");
	char exe[PATH_MAX], *slash, *cand, *real;
	ssize_t n;

	if (env && *env)
		return access(env, R_OK) == 0 ? realpath(env, NULL) : NULL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	slash[1] = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		cand = xasprintf("%s%s" PRELOAD_NAME, exe, rel[i]);
		real = access(cand, R_OK) == 0 ? realpath(cand, NULL) : NULL;
		free(cand);
		if (real)
			return real;
	}
	return NULL;
}

int cmd_run(struct ctx *c, udax_fs *unused)
{
	const char *prefix = c->opt['P'] ? c->value['P'] : "/udax";
	const char *old = getenv("LD_PRELOAD");
	char *lib, *pool, *preload;

	if (prefix[0] != '/' || !prefix[1]) {
		fprintf(stderr, "udax run: --prefix %s: must be an absolute "
			"path other than /\n", prefix);
		return EXIT_USAGE;
	}
	pool = realpath(c->argv[0], NULL);
	if (!pool)
		return fail_errno(c->argv[0]);
	lib = find_preload();
	if (!lib) {
		fprintf(stderr, "udax run: cannot find " PRELOAD_NAME " beside "
			"the udax binary or in its installation's library "
			"directory; set UDAX_PRELOAD_LIB to its path\n");
		free(pool);
		return 127;
	}
	preload = old && *old ? xasprintf("%s:%s", lib, old) : xstrdup(lib);
	if (setenv("LD_PRELOAD", preload, 1) || setenv("UDAX_POOL", pool, 1) ||
	    setenv("UDAX_PREFIX", prefix, 1) ||
	    (c->opt['o'] ? setenv("UDAX_OPTIONS", c->value['o'], 1) :
			   unsetenv("UDAX_OPTIONS"))) {
		fail_errno("setenv");
		return 1;
	}
	fflush(NULL);
	execvp(c->argv[1], c->argv + 1);
	fprintf(stderr, "udax run: %s: %s\n", c->argv[1], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
