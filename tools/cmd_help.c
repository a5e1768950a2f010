/* cmd_help.c - udax help: help and version. */
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

int cmd_help(struct ctx *c, udax_fs *unused)
{
	const struct command *cmd;

	if (!c->argc) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(c->argv[0]);
	if (!cmd) {
		fprintf(stderr, "udax help: unknown command '%s'\n",
			c->argv[0]);
		return EXIT_USAGE;
	}
	command_help(cmd, stdout);
	return 0;
}

int cmd_version(struct ctx *c, udax_fs *unused)
{
	printf("udax %s\n", UDAX_VERSION_STRING);
	return 0;
}
