/* cmd_umount.c - udax umount: unmount a FUSE mount of a pool. */
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
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "cli.h"

/*
 * An absolute spelling of @arg without touching the file system beyond
 * getcwd: realpath() fails on a mount whose daemon has died (ENOTCONN),
 * and such a mount is exactly one that needs unmounting.
 */
static char *absolute_path(const char *arg)
{
	char *cwd, *joined, *out;

	if (arg[0] == '/')
		return pool_path(arg);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	joined = join_path(cwd, arg);
	out = pool_path(joined);
	free(cwd);
	free(joined);
	return out;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * The file system type of the topmost mount on @dir ("fuse.udax" for
 * ours) into @type; returns 1 if @dir is a mount point, 0 if not, -1 if
 * the mount table cannot be read.
 */
static int mount_type(const char *dir, char *type, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *save, *fld, *mnt, *sep;
	size_t cap = 0;
	int found = 0, i;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root MOUNTPOINT opts [tags] - TYPE ... */
		fld = strtok_r(line, " \n", &save);
		for (i = 0; fld && i < 4; i++)
			fld = strtok_r(NULL, " \n", &save);
		if (!fld)
			continue;
		mnt = fld;
		unescape_octal(mnt);
		if (strcmp(mnt, dir))
			continue;
		while ((sep = strtok_r(NULL, " \n", &save)) && strcmp(sep, "-"))
			;
		fld = sep ? strtok_r(NULL, " \n", &save) : NULL;
		snprintf(type, size, "%s", fld ? fld : "?");
		found = 1;   /* keep going: the last one is on top */
	}
	free(line);
	fclose(f);
	return found;
}

/* fusermount3 -u DIR, for users who may not call umount(2). */
static int run_fusermount(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail_errno("fork");
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", dir,
		       (char *)NULL);
		fprintf(stderr, "udax umount: cannot run fusermount3: %s\n",
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail_errno("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "udax umount: fusermount3 -u %s failed\n", dir);
	return 1;
}

/*
 * Wait for the daemon that served @dir to finish: it holds a shared
 * flock on the directory under the mount until it has unmounted the
 * pool (written back, marked clean), so that `udax fsck` or another
 * mount right after `udax umount` sees a quiet pool.
 */
static int wait_daemon(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), i;

	if (fd < 0)
		return 0;   /* gone too: nothing to wait for */
	for (i = 0; i < 6000; i++) {   /* 60 s */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			close(fd);
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		usleep(10000);
	}
	close(fd);
	fprintf(stderr, "udax umount: %s is unmounted, but its udax daemon "
		"has not finished after 60 s\n", dir);
	return 1;
}

int cmd_umount(struct ctx *c, udax_fs *unused)
{
	char *dir = realpath(c->argv[0], NULL), type[64];
	int found, rc = 1;

	if (!dir && errno != ENOTCONN) {
		fail_errno(c->argv[0]);
		return 1;
	}
	if (!dir)
		dir = absolute_path(c->argv[0]);
	if (!dir)
		return fail_errno(c->argv[0]);
	found = mount_type(dir, type, sizeof(type));
	if (found < 0) {
		fail_errno("/proc/self/mountinfo");
		goto out;
	}
	if (!found) {
		fprintf(stderr, "udax umount: %s: not mounted\n", dir);
		goto out;
	}
	if (strcmp(type, "fuse.udax")) {
		fprintf(stderr, "udax umount: %s: not a udax mount (type %s)\n",
			dir, type);
		goto out;
	}
	if (geteuid() == 0 && umount2(dir, 0) == 0) {
		rc = 0;
	} else if (geteuid() == 0 && errno != EPERM) {
		fprintf(stderr, "udax umount: %s: %s%s\n", dir, strerror(errno),
			errno == EBUSY ? " (files are open there, or a "
			"process is working in it)" : "");
		goto out;
	} else {
		rc = run_fusermount(dir);
	}
	if (!rc)
		rc = wait_daemon(dir);
out:
	free(dir);
	return rc;
}
