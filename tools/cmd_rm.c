/* cmd_rm.c - udax rm: remove a file or directory. */
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

/* rm -r: children first, then the directory; stops at the first error. */
static int remove_tree(udax_fs *fs, const char *dir)
{
	char **names, *child;
	struct stat st;
	size_t n, i;
	int ret = read_names(fs, dir, &names, &n), rc = 0;

	if (ret < 0)
		return fail(dir, ret);
	for (i = 0; i < n && !rc; i++) {
		child = join_path(dir, names[i]);
		ret = udax_stat(fs, child, &st);
		if (ret == 0 && S_ISDIR(st.st_mode))
			rc = remove_tree(fs, child);
		else if (ret == 0)
			ret = udax_unlink(fs, child);
		if (ret < 0)
			rc = fail(child, ret);
		free(child);
	}
	free_names(names, n);
	if (rc)
		return rc;
	ret = udax_rmdir(fs, dir);
	return ret < 0 ? fail(dir, ret) : 0;
}

int cmd_rm(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path_at(fs, c->argv[1]);
	struct stat st;
	int ret, rc = 0;

	if (!path)
		return 1;
	ret = udax_stat(fs, path, &st);
	if (ret == 0 && !S_ISDIR(st.st_mode)) {
		ret = udax_unlink(fs, path);
	} else if (ret == 0 && c->opt['r']) {
		if (!strcmp(path, "/")) {
			fprintf(stderr, "udax rm: refusing to remove '/'\n");
			rc = 1;
		} else {
			rc = remove_tree(fs, path);
		}
	} else if (ret == 0 && c->opt['d']) {
		ret = udax_rmdir(fs, path);
	} else if (ret == 0) {
		fprintf(stderr, "udax rm: %s: is a directory (use -d if it "
			"is empty, -r to remove the whole tree)\n", path);
		rc = 1;
	}
	if (ret < 0)
		rc = fail(path, ret);
	free(path);
	return rc;
}
