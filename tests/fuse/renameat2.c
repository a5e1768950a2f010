/*
 * renameat2.c - rename(2) with flags, for the FUSE test (coreutils and
 * python3 here have no way to pass RENAME_NOREPLACE/RENAME_EXCHANGE).
 *
 *   udax_renameat2 noreplace|exchange|whiteout|plain FROM TO
 *
 * Exit 0 on success; otherwise prints "errno NAME" (e.g. "errno EEXIST")
 * to stdout and exits 1.  Bad usage exits 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

static const char *errno_name(int e)
{
	switch (e) {
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EXDEV: return "EXDEV";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	unsigned flags;

	if (argc != 4) {
		fprintf(stderr, "usage: %s noreplace|exchange|whiteout|plain FROM TO\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "noreplace"))
		flags = RENAME_NOREPLACE;
	else if (!strcmp(argv[1], "exchange"))
		flags = RENAME_EXCHANGE;
	else if (!strcmp(argv[1], "whiteout"))
		flags = RENAME_WHITEOUT;
	else if (!strcmp(argv[1], "plain"))
		flags = 0;
	else
		return 2;
	if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags) == 0)
		return 0;
	printf("errno %s\n", errno_name(errno));
	return 1;
}
