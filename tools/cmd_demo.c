/* cmd_demo.c - udax demo: a guided tour. */
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

int cmd_demo(struct ctx *c, udax_fs *unused)
{
	return udax_demo(c->argc ? c->argv[0] : DEMO_POOL) ? 1 : 0;
}
