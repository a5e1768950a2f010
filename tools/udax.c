/*
 * udax.c - the udax command-line tool: the table of commands, their
 * options and help, the option parser, and main().
 *
 * One binary with subcommands (mkfs, fsck, info, ls, put, get, ...),
 * each a thin layer over the public API in udax.h and nothing else, so
 * the tool doubles as the first real user of that API.  Each command
 * is a function in its own file, tools/cmd_NAME.c (see cli.h).  There
 * is no daemon: every command marked `mounts` below is run between a
 * udax_mount and a udax_unmount of its pool by main().
 *
 * Exit status: 0 success, 1 a udax or host call failed, 2 bad usage.
 * fsck follows e2fsck instead: see cmd_fsck.c.
 */
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

/* ------------------------------------------------------------------ */
/* Command table, option parsing and main                             */
/* ------------------------------------------------------------------ */

static const struct command commands[] = {
	{ "mkfs", "[-f] [-m MODE] POOL SIZE",
	  "format POOL (SIZE: 64M, 1G, 4096...), created mode 0600",
	  "fm", 2, 2, false, cmd_mkfs },
	{ "fsck", "[-n|-y] [--json] POOL", "check POOL, changing nothing "
	  "unless --repair (exit 0 clean, 1 repaired, 4 problems, 8 error)",
	  "nyj", 1, 1, false, cmd_fsck },
	{ "info", "[--json] POOL", "show the pool's superblock and geometry",
	  "j", 1, 1, true, cmd_info },
	{ "ls", "POOL [PATH]", "list a directory (default /), sorted",
	  "", 1, 2, true, cmd_ls },
	{ "mkdir", "[-p] POOL PATH", "create a directory",
	  "p", 2, 2, true, cmd_mkdir },
	{ "put", "POOL HOSTFILE PATH", "copy a host file in (- = stdin)",
	  "", 3, 3, true, cmd_put },
	{ "get", "POOL PATH HOSTFILE", "copy a file out (- = stdout)",
	  "", 3, 3, true, cmd_get },
	{ "cat", "POOL PATH", "write a file to stdout",
	  "", 2, 2, true, cmd_cat },
	{ "stat", "[--json] POOL PATH", "show a file's status (as stat(1)) "
	  "and data segments", "j", 2, 2, true, cmd_stat },
	{ "rm", "[-r|-d] POOL PATH", "remove a file or directory",
	  "rd", 2, 2, true, cmd_rm },
	{ "mv", "[-n|-x] POOL FROM TO", "rename FROM to TO atomically",
	  "nx", 3, 3, true, cmd_mv },
	{ "df", "[-h] [-i] [--json] POOL", "show space or inode usage "
	  "(as df(1))", "hij", 1, 1, true, cmd_df },
	{ "mount", "[-f] [-o OPTS] POOL DIR",
	  "mount POOL on DIR for every program (FUSE)",
	  "fo", 2, 2, false, cmd_mount },
	{ "run", "[-o OPTS] [-P DIR] POOL -- CMD...",
	  "run COMMAND with POOL under DIR (default /udax) through the "
	  "interposer; exits with COMMAND's status",
	  "oP", 2, 1 << 20, false, cmd_run },
	{ "umount", "DIR", "unmount DIR; returns once the pool is clean",
	  "", 1, 1, false, cmd_umount },
	{ "demo", "[POOL]", "a guided tour (default " DEMO_POOL ")",
	  "", 0, 1, false, cmd_demo },
	{ "help", "[COMMAND]", "show help", "", 0, 1, false, cmd_help },
	{ "version", "", "show the version", "", 0, 0, false, cmd_version },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct {
	const char *name;
	char letter;
	const char *help;
	const char *only;   /* the one command it belongs to, or NULL */
} long_options[] = {
	{ "force", 'f', "overwrite a pool that already holds udax", "mkfs" },
	{ "mode", 'm', "permissions of the pool file (octal; default 600 for "
	  "a new file, an existing one keeps its own)", "mkfs" },
	{ "read-only", 'n', "change nothing (the default)", "fsck" },
	{ "repair", 'y', "replay the journal and free orphans in the pool "
	  "(refused while it is mounted)", "fsck" },
	{ "foreground", 'f', "stay in the foreground (do not daemonise)",
	  "mount" },
	{ "options", 'o', "comma-separated: ro, write_lock=MODE, "
	  "hide_unlinked, FUSE's options", "mount" },
	{ "options", 'o', "mount options for the interposer (UDAX_OPTIONS): "
	  "ro, write_lock=MODE", "run" },
	{ "prefix", 'P', "where the pool appears in COMMAND's namespace "
	  "(UDAX_PREFIX, default /udax)", "run" },
	{ "parents", 'p', "create missing parents; no error if it exists",
	  "mkdir" },
	{ "recursive", 'r', "remove a directory and everything below it",
	  NULL },
	{ "dir", 'd', "remove PATH if it is an empty directory", NULL },
	{ "no-replace", 'n', "fail if TO exists", "mv" },
	{ "exchange", 'x', "swap FROM and TO atomically", "mv" },
	{ "human-readable", 'h', "sizes in powers of 1024 (1K 234M 2.0G), "
	  "rounded up", "df" },
	{ "inodes", 'i', "inode usage instead of blocks", "df" },
	{ "json", 'j', "one JSON object on stdout with every field", NULL },
	{ "help", 'h', "show this help", NULL },
};

/* Short letters of the options that take an argument (-o OPTS). */
#define VALUE_OPTIONS "omP"

static bool long_option_for(size_t k, const struct command *cmd)
{
	return !long_options[k].only || !strcmp(long_options[k].only, cmd->name);
}

#define NLONG (sizeof(long_options) / sizeof(long_options[0]))

const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void usage(FILE *f)
{
	int width = 0, n;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if ((n = (int)strlen(commands[i].synopsis)) > width)
			width = n;
	fprintf(f, "usage: udax COMMAND [OPTIONS] POOL [ARGS...]\n\n"
		"commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-7s %-*s %s\n", commands[i].name, width,
			commands[i].synopsis, commands[i].summary);
	fprintf(f, "\nPaths inside POOL start at its root (\"/a/b\").\n"
		"Run 'udax COMMAND --help' for a command's details.\n");
}

void command_usage(const struct command *cmd, FILE *f)
{
	fprintf(f, "usage: udax %s%s%s\n", cmd->name,
		*cmd->synopsis ? " " : "", cmd->synopsis);
}

void command_help(const struct command *cmd, FILE *f)
{
	const char *p;
	size_t i;
	int w = 12;   /* the longest option name */

	for (i = 0; i < NLONG; i++)
		if ((int)strlen(long_options[i].name) > w)
			w = (int)strlen(long_options[i].name);
	command_usage(cmd, f);
	fprintf(f, "\n%s\n\noptions:\n", cmd->summary);
	for (p = cmd->options; ; p++) {
		for (i = 0; i < NLONG; i++) {
			bool help = !strcmp(long_options[i].name, "help");

			if (long_options[i].letter != (*p ? *p : 'h') ||
			    !long_option_for(i, cmd) || help != !*p)
				continue;
			/* a command that takes -h for itself (df -h) keeps
			 * only --help for its help */
			if (help && strchr(cmd->options, 'h'))
				fprintf(f, "      --%-*s %s\n", w,
					long_options[i].name,
					long_options[i].help);
			else
				fprintf(f, "  -%c, --%-*s %s\n",
					long_options[i].letter, w,
					long_options[i].name,
					long_options[i].help);
		}
		if (!*p)
			break;
	}
}

static bool option_allowed(const struct command *cmd, char letter)
{
	return letter == 'h' || (letter && strchr(cmd->options, letter));
}

static int bad_option(const struct ctx *c, const char *opt)
{
	fprintf(stderr, "udax %s: unknown option '%s'\n", c->cmd->name, opt);
	command_usage(c->cmd, stderr);
	return EXIT_USAGE;
}

static int missing_value(const struct ctx *c, const char *opt)
{
	fprintf(stderr, "udax %s: option '%s' needs an argument\n",
		c->cmd->name, opt);
	command_usage(c->cmd, stderr);
	return EXIT_USAGE;
}

/*
 * Split @argv into options and positional arguments, in any order.
 * Hand-rolled rather than getopt so that "-5M" reaches the size parser
 * (and its "negative" message) instead of being an unknown option.
 */
static int parse_args(struct ctx *c, int argc, char **argv)
{
	bool only_args = false;
	char letter, bad[3] = "-";
	int i, w = 0;
	size_t k;
	const char *p;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (only_args || a[0] != '-' || !a[1] ||
		    isdigit((unsigned char)a[1])) {
			argv[w++] = argv[i];
			/* run: what follows the command is the command's */
			if (!strcmp(c->cmd->name, "run") && w == 2)
				only_args = true;
		} else if (!strcmp(a, "--")) {
			only_args = true;
		} else if (a[1] == '-') {
			for (k = 0, letter = 0; k < NLONG; k++)
				if (!strcmp(a + 2, long_options[k].name) &&
				    long_option_for(k, c->cmd))
					letter = long_options[k].letter;
			if (!option_allowed(c->cmd, letter))
				return bad_option(c, a);
			if (!strcmp(a + 2, "help")) {
				c->help = true;
				continue;
			}
			c->opt[(unsigned char)letter] = true;
			if (strchr(VALUE_OPTIONS, letter)) {
				if (i + 1 >= argc)
					return missing_value(c, a);
				c->value[(unsigned char)letter] = argv[++i];
			}
		} else {
			for (p = a + 1; *p; p++) {
				bad[1] = *p;
				if (!option_allowed(c->cmd, *p))
					return bad_option(c, bad);
				/* -h is help unless the command has its own */
				if (*p == 'h' && !strchr(c->cmd->options, 'h')) {
					c->help = true;
					continue;
				}
				c->opt[(unsigned char)*p] = true;
				/* -oVALUE or -o VALUE */
				if (strchr(VALUE_OPTIONS, *p)) {
					if (!p[1] && i + 1 >= argc)
						return missing_value(c, bad);
					c->value[(unsigned char)*p] =
						p[1] ? p + 1 : argv[++i];
					break;
				}
			}
		}
	}
	argv[w] = NULL;   /* run hands argv on to execvp */
	c->argc = w;
	c->argv = argv;
	return 0;
}

/* A full disk or closed stdout must not pass for success. */
static int finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "udax %s: stdout: %s\n", g_cmd,
			strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct ctx c = { 0 };
	udax_fs *fs;
	int ret, rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		argv[1] = "help";
	else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		argv[1] = "version";
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "udax: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	g_cmd = cmd->name;
	c.cmd = cmd;
	ret = parse_args(&c, argc - 2, argv + 2);
	if (ret)
		return ret;
	if (c.help) {
		command_help(cmd, stdout);
		return finish_stdout(0);
	}
	if (c.argc < cmd->min_args || c.argc > cmd->max_args) {
		command_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (!cmd->mounts)
		return finish_stdout(cmd->run(&c, NULL));
	/* Commands that only look mount read-only, so they work beside a
	 * read-only `udax mount`; a pool whose journal needs replaying
	 * (-EROFS) is mounted read-write to replay it. */
	static const char *const lookers[] = { "info", "ls", "get", "cat", "stat", "df" };
	const char *opts = NULL;
	for (size_t i = 0; i < sizeof(lookers) / sizeof(lookers[0]); i++)
		if (!strcmp(cmd->name, lookers[i]))
			opts = "ro";
	ret = udax_mount(c.argv[0], opts, &fs);
	if (ret == -EROFS && opts)
		ret = udax_mount(c.argv[0], NULL, &fs);
	if (ret < 0)
		return fail_detail(c.argv[0], ret);
	rc = cmd->run(&c, fs);
	ret = udax_unmount(fs);
	if (ret < 0 && !rc)
		rc = fail(c.argv[0], ret);
	return finish_stdout(rc);
}
