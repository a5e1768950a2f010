/* cmd_get.c - udax get: copy a file out. */
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

/* Open host file @*host for get; an existing directory gets @src's name. */
static int open_get_target(char **host, const char *src)
{
	struct stat st;
	char *inside;

	if (stat(*host, &st) == 0 && S_ISDIR(st.st_mode)) {
		inside = xasprintf("%s/%s", *host, strrchr(src, '/') + 1);
		*host = inside;
	} else {
		*host = xstrdup(*host);
	}
	return open(*host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int cmd_get(struct ctx *c, udax_fs *fs)
{
	char *src = pool_path_at(fs, c->argv[1]), *host = c->argv[2];
	bool to_stdout = !strcmp(host, "-");
	int ufd, hfd, rc = 1;
	struct stat st, hst;

	if (!src)
		return 1;
	ufd = open_source(fs, src, &st);
	if (ufd < 0) {
		fail(src, ufd);
		goto out_free;
	}
	fflush(stdout);
	hfd = to_stdout ? STDOUT_FILENO : open_get_target(&host, src);
	if (hfd < 0) {
		fail_errno(host);
		goto out_udax;
	}
	/* stdout may be in append mode or mid-file: never write by offset. */
	rc = copy_out(fs, ufd, src, st.st_size, hfd, host,
		      !to_stdout && fstat(hfd, &hst) == 0 &&
		      S_ISREG(hst.st_mode), true);
	if (!to_stdout && close(hfd) < 0 && !rc)
		rc = fail_errno(host);
out_udax:
	udax_close(fs, ufd);
	if (!to_stdout)
		free(host);
out_free:
	free(src);
	return rc;
}
