/* cmd_mkdir.c - udax mkdir: create a directory. */
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

/* mkdir -p: create each missing component, accept existing ones. */
static int mkdir_parents(udax_fs *fs, char *path)
{
	struct stat st;
	char *p, save;
	int ret;

	for (p = path + 1; *p; p++) {
		if (p[1] != '/' && p[1] != '\0')
			continue;
		save = p[1];
		p[1] = '\0';
		ret = udax_mkdir(fs, path, 0755);
		/* An existing file in the middle of the path is ENOTDIR. */
		if (ret == -EEXIST && udax_stat(fs, path, &st) == 0)
			ret = S_ISDIR(st.st_mode) ? 0 : save ? -ENOTDIR : ret;
		if (ret < 0)
			return fail(path, ret);
		p[1] = save;
	}
	return 0;
}

int cmd_mkdir(struct ctx *c, udax_fs *fs)
{
	char *path = pool_path_at(fs, c->argv[1]);
	int ret, rc = 0;

	if (!path)
		return 1;
	if (c->opt['p']) {
		rc = mkdir_parents(fs, path);
	} else {
		ret = udax_mkdir(fs, path, 0755);
		if (ret < 0)
			rc = fail(path, ret);
	}
	free(path);
	return rc;
}
