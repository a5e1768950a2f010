/* cmd_put.c - udax put: copy a host file in. */
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

/* Open the udax destination of put, going inside it if it is a dir. */
static int open_put_target(udax_fs *fs, const char *host, char **dst)
{
	struct stat st;
	char *inside;

	if (udax_stat(fs, *dst, &st) == 0 && S_ISDIR(st.st_mode) &&
	    strcmp(host, "-")) {
		char *base = host_base(host);

		inside = join_path(*dst, base);
		free(base);
		free(*dst);
		*dst = inside;
	}
	return udax_open(fs, *dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

int cmd_put(struct ctx *c, udax_fs *fs)
{
	const char *host = c->argv[1];
	char *dst = pool_path_at(fs, c->argv[2]);
	bool use_stdin = !strcmp(host, "-");
	int hfd, ufd, ret, rc = 1;
	struct stat hst;

	if (!dst)
		return 1;
	hfd = use_stdin ? STDIN_FILENO : open(host, O_RDONLY | O_CLOEXEC);
	if (hfd < 0) {
		fail_errno(host);
		goto out_free;
	}
	if (fstat(hfd, &hst) < 0) {
		fail_errno(host);
		goto out_host;
	}
	if (S_ISDIR(hst.st_mode)) {
		fail(host, -EISDIR);
		goto out_host;
	}
	ufd = open_put_target(fs, host, &dst);
	if (ufd < 0) {
		fail(dst, ufd);
		goto out_host;
	}
	rc = copy_in(fs, ufd, dst, hfd, host, &hst);
	/* fsync for the size and timestamps; the data is durable already. */
	ret = udax_fsync(fs, ufd);
	if (ret < 0 && !rc)
		rc = fail(dst, ret);
	ret = udax_close(fs, ufd);
	if (ret < 0 && !rc)
		rc = fail(dst, ret);
out_host:
	if (!use_stdin)
		close(hfd);
out_free:
	free(dst);
	return rc;
}
