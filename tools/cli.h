/*
 * cli.h - what the udax command's files share: the command table's
 * entry, the parsed command line, and the helpers every command uses.
 *
 * udax.c holds the table of commands, their options and help, and
 * main(); each command lives in its own cmd_NAME.c and is a function
 * int cmd_NAME(struct ctx *, udax_fs *), declared below.  Adding a
 * command is one new file and one line in the table.
 *
 * Exit status: 0 success, 1 a udax or host call failed, 2 bad usage.
 * fsck follows e2fsck instead (see cmd_fsck.c).
 */
#ifndef UDAX_CLI_H
#define UDAX_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "udax.h"

#define EXIT_USAGE 2
#define COPY_CHUNK (1u << 20)
#define PROGRESS_MIN (8ull << 20)
#define DEMO_POOL "/dev/shm/udax-demo.pool"

struct ctx {
	const struct command *cmd;
	bool opt[256];  /* indexed by the option's short letter */
	const char *value[256]; /* argument of an option that takes one */
	bool help;      /* -h or --help (--help only if the command has -h) */
	int argc;       /* positional arguments only; argv[0] is POOL */
	char **argv;
};

struct command {
	const char *name;
	const char *synopsis;
	const char *summary;
	const char *options;   /* short letters accepted besides -h */
	int min_args, max_args;
	bool mounts;           /* main() mounts argv[0] around run() */
	int (*run)(struct ctx *c, udax_fs *fs);
};

/* Name of the running command, for error messages. */
extern const char *g_cmd;

const struct command *find_command(const char *name);
void usage(FILE *f);
void command_usage(const struct command *cmd, FILE *f);
void command_help(const struct command *cmd, FILE *f);

/* util.c */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
int fail(const char *what, int ret);
int fail_detail(const char *what, int ret);
int fail_errno(const char *what);
const char *human(uint64_t bytes);
int parse_size(const char *s, uint64_t *out);
char *pool_path(const char *arg);
char *xasprintf(const char *fmt, ...);
char *join_path(const char *dir, const char *name);
char *host_base(const char *path);
char type_char(mode_t m);
void mode_string(mode_t m, char out[11]);
void free_names(char **names, size_t n);
int cmp_names(const void *a, const void *b);
int read_names(udax_fs *fs, const char *dir, char ***out, size_t *np);
int open_source(udax_fs *fs, const char *path, struct stat *st);
char *pool_path_in(udax_fs *fs, const char *arg, int *err);
char *pool_path_at(udax_fs *fs, const char *arg);
char *quote_name(const char *name);

/* copy.c: data movement between host files and the pool */
struct progress {
	uint64_t total;
	int shown;   /* percentage on screen, -1 before the first */
	bool on;
};
void progress_start(struct progress *pg, uint64_t total, bool want);
void progress_update(struct progress *pg, uint64_t done);
void progress_end(struct progress *pg);
int copy_in(udax_fs *fs, int ufd, const char *dst, int hfd,
		   const char *host, const struct stat *hst);
int copy_out(udax_fs *fs, int ufd, const char *src, off_t size,
		    int hfd, const char *host, bool sparse, bool bar);

/* Implemented in demo.c. */
int udax_demo(const char *pool);

/* The commands, one file each. */
int cmd_cat(struct ctx *c, udax_fs *fs);
int cmd_demo(struct ctx *c, udax_fs *fs);
int cmd_df(struct ctx *c, udax_fs *fs);
int cmd_fsck(struct ctx *c, udax_fs *fs);
int cmd_get(struct ctx *c, udax_fs *fs);
int cmd_help(struct ctx *c, udax_fs *fs);
int cmd_info(struct ctx *c, udax_fs *fs);
int cmd_ls(struct ctx *c, udax_fs *fs);
int cmd_mkdir(struct ctx *c, udax_fs *fs);
int cmd_mkfs(struct ctx *c, udax_fs *fs);
int cmd_mount(struct ctx *c, udax_fs *fs);
int cmd_mv(struct ctx *c, udax_fs *fs);
int cmd_put(struct ctx *c, udax_fs *fs);
int cmd_rm(struct ctx *c, udax_fs *fs);
int cmd_run(struct ctx *c, udax_fs *fs);
int cmd_stat(struct ctx *c, udax_fs *fs);
int cmd_umount(struct ctx *c, udax_fs *fs);
int cmd_version(struct ctx *c, udax_fs *fs);

#endif
