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

/*
 * One line per entry: type, size, name.  Names are quoted as GNU ls
 * quotes them on a terminal, so that a name with a newline or a space
 * is still one recognisable word; a symbolic link shows its target.
 */
static void print_entry(udax_fs *fs, const struct stat *st, const char *path,
			const char *name)
{
	char *q = quote_name(name), *tq = NULL, target[UDAX_PATH_MAX + 1];
	ssize_t n;

	if (S_ISLNK(st->st_mode)) {
		n = udax_readlink(fs, path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		tq = quote_name(n > 0 ? target : "?");
	}
	printf("%c %10s  %s%s%s\n", type_char(st->st_mode),
	       human(st->st_size), q, tq ? " -> " : "", tq ? tq : "");
	free(q);
	free(tq);
}

int cmd_ls(struct ctx *c, udax_fs *fs)
{
	const char *arg = c->argc > 1 ? c->argv[1] : "/";
	char **names = NULL, *child, *dir;
	struct stat st;
	size_t n = 0, i;
	int ret, rc = 0;

	dir = pool_path_in(fs, arg, &ret);
	if (!dir)
		return fail(arg, ret);
	ret = udax_stat(fs, dir, &st);
	if (ret < 0) {
		rc = fail(dir, ret);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		print_entry(fs, &st, dir, dir);
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
			print_entry(fs, &st, child, names[i]);
		free(child);
	}
	free_names(names, n);
out:
	free(dir);
	return rc;
}
