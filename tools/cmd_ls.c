/* cmd_ls.c - udax ls: list a directory. */
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

static void print_entry(const struct stat *st, const char *name)
{
	printf("%c %10s  %s\n", type_char(st->st_mode),
	       human(st->st_size), name);
}

int cmd_ls(struct ctx *c, udax_fs *fs)
{
	char *dir = pool_path(c->argc > 1 ? c->argv[1] : "/"), *child;
	char **names = NULL;
	struct stat st;
	size_t n = 0, i;
	int ret, rc = 0;

	ret = udax_stat(fs, dir, &st);
	if (ret < 0) {
		rc = fail(dir, ret);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		print_entry(&st, dir);
		goto out;
	}
	ret = read_names(fs, dir, &names, &n);
	if (ret < 0) {
		rc = fail(dir, ret);
		goto out;
	}
	for (i = 0; i < n; i++) {
		child = join_path(dir, names[i]);
		ret = udax_stat(fs, child, &st);
		if (ret < 0)
			rc = fail(child, ret);
		else
			print_entry(&st, names[i]);
		free(child);
	}
	free_names(names, n);
out:
	free(dir);
	return rc;
}
