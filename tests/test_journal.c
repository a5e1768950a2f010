/*
 * test_journal.c - crash-state exploration on the shadow persistence
 * domain.
 *
 * A workload of namespace and data operations runs once as a reference,
 * recording the file-system state after every operation and which
 * fences each operation issued.  Then, for every fence k, the workload
 * is re-run from the same starting image and the power is cut just
 * before fence k takes effect: with none, all, and pseudo-random
 * subsets of the cache lines flushed since the previous fence on media.
 * Each crash image must
 *   - pass udax_fsck (which mounts, replaying the journal) with no
 *     problem;
 *   - show every operation that returned before the crash, and the
 *     operation in flight either wholly or not at all (in-place data
 *     operations may show each byte old or new, never anything else);
 *   - survive a sweep that deletes everything and writes a new file,
 *     followed by a clean fsck.
 * UDAX_CRASH_FULL=1 tries 32 subsets per fence instead of 4.
 */
#include "t.h"

#include <dirent.h>

#define MAXE 64
#define POOL_MB 8

struct ent {
	char path[512];
	int dir;
	uint64_t size;
	unsigned char *data;
};

struct state {
	int n;
	struct ent e[MAXE];
};

static void state_free(struct state *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->e[i].data);
	s->n = 0;
}

static int capture_dir(udax_fs *fs, const char *path, struct state *s)
{
	udax_dir *d;
	struct udax_dirent de;
	int r = udax_opendir(fs, path, &d);
	if (r)
		return r;
	while ((r = udax_readdir(d, &de)) == 1) {
		if (s->n == MAXE)
			return -E2BIG;
		struct ent *e = &s->e[s->n++];
		snprintf(e->path, sizeof(e->path), "%s/%s", strcmp(path, "/") ? path : "", de.d_name);
		e->dir = de.d_type == DT_DIR;
		e->data = NULL;
		e->size = 0;
		if (e->dir) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s", e->path);
			if ((r = capture_dir(fs, sub, s)) < 0)
				break;
			continue;
		}
		int fd = udax_open(fs, e->path, O_RDONLY, 0);
		struct stat st;
		if (fd < 0 || udax_fstat(fs, fd, &st) < 0)
			return -EIO;
		e->size = (uint64_t)st.st_size;
		e->data = malloc(e->size + 1);
		if (udax_pread(fs, fd, e->data, e->size, 0) != (ssize_t)e->size)
			return -EIO;
		udax_close(fs, fd);
	}
	udax_closedir(d);
	return r < 0 ? r : 0;
}

static int capture(udax_fs *fs, struct state *s)
{
	s->n = 0;
	return capture_dir(fs, "/", s);
}

/* A write that allocated in several transactions may leave a prefix:
 * @x's file @path has a size between @a's and @b's and its bytes are
 * @b's up to that size. */
static int prefix_of(const struct ent *p, const struct ent *before, const struct ent *after)
{
	uint64_t lo = before ? before->size : 0;
	if (p->size < lo || p->size > after->size)
		return 0;
	return memcmp(p->data, after->data, p->size) == 0;
}

/* Exact match, or (for @mix) @mix's bytes each from @a or @b. */
static int same_state(const struct state *x, const struct state *a, const struct state *b,
                      const char *mix)
{
	if (x->n != a->n)
		return 0;
	for (int i = 0; i < x->n; i++) {
		const struct ent *p = &x->e[i], *q = &a->e[i];
		if (strcmp(p->path, q->path) || p->dir != q->dir)
			return 0;
		if (!p->dir && mix && !strcmp(p->path, mix) && b && b->n == a->n &&
		    !strcmp(b->e[i].path, p->path) && prefix_of(p, &q[0], &b->e[i]))
			continue;
		if (p->size != q->size)
			return 0;
		if (p->dir || !memcmp(p->data, q->data, p->size))
			continue;
		if (!mix || strcmp(p->path, mix) || !b || b->n != a->n || b->e[i].size != p->size)
			return 0;
		for (uint64_t k = 0; k < p->size; k++)
			if (p->data[k] != q->data[k] && p->data[k] != b->e[i].data[k])
				return 0;
	}
	return 1;
}

/* ---- the workload ---- */

static unsigned char buf[3 * 4096 * 8];

static int put(udax_fs *fs, const char *path, int flags, size_t len, off_t off, unsigned seed)
{
	int fd = udax_open(fs, path, O_RDWR | flags, 0644);
	if (fd < 0)
		return fd;
	t_fill(buf, len, seed);
	ssize_t r = udax_pwrite(fs, fd, buf, len, off);
	udax_close(fs, fd);
	return r == (ssize_t)len ? 0 : -EIO;
}

static int with_fd(udax_fs *fs, const char *path, int mode, off_t off, off_t len, int trunc)
{
	int fd = udax_open(fs, path, O_RDWR, 0);
	if (fd < 0)
		return fd;
	int r = trunc ? udax_ftruncate(fs, fd, off) : udax_fallocate(fs, fd, mode, off, len);
	udax_close(fs, fd);
	return r;
}

static int create(udax_fs *fs, const char *path)
{
	int fd = udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0644);
	return fd < 0 ? fd : udax_close(fs, fd);
}

/* Each operation is one system-call-like step, so that "wholly there or
 * wholly absent" is the rule to check. */
#define NOPS 28
/* Data operations: the named file may mix old and new bytes (in-place
 * writes), or show a prefix of a write that allocated in several
 * transactions. */
static const char *inplace[NOPS] = {
	[2] = "/a/f1", [3] = "/a/f1", [6] = "/a/sub/f2", [7] = "/a/f1", [13] = "/big",
	[15] = "/a/f1", [17] = "/big", [21] = "/big", [26] = "/b/c/last",
};

static int run_op(udax_fs *fs, int j)
{
	switch (j) {
	case 0: return udax_mkdir(fs, "/a", 0755);
	case 1: return create(fs, "/a/f1");
	case 2: return put(fs, "/a/f1", 0, 10000, 0, 1);                /* allocate */
	case 3: return put(fs, "/a/f1", 0, 5000, 10000, 2);             /* append */
	case 4: return udax_mkdir(fs, "/a/sub", 0700);
	case 5: return put(fs, "/a/sub/f2", O_CREAT, 0, 0, 0);          /* create via open */
	case 6: return put(fs, "/a/sub/f2", 0, 3000, 20000, 3);         /* sparse */
	case 7: return put(fs, "/a/f1", 0, 4096, 2048, 4);              /* overwrite in place */
	case 8: return udax_rename(fs, "/a/sub/f2", "/f2", 0);          /* cross-dir move */
	case 9: return with_fd(fs, "/a/f1", 0, 7000, 0, 1);             /* shrink */
	case 10: return with_fd(fs, "/a/f1", 0, 30000, 0, 1);           /* grow */
	case 11: return udax_rename(fs, "/f2", "/a/f1", 0);             /* replace */
	case 12: return create(fs, "/big");
	case 13: return put(fs, "/big", 0, sizeof(buf), 0, 5);
	case 14: return with_fd(fs, "/big", UDAX_FALLOC_KEEP_SIZE, 1 << 20, 65536, 0);
	case 15: return put(fs, "/a/f1", 0, 100, 20100, 6);
	case 16: return with_fd(fs, "/big", 0, 200000, 8192, 0);         /* allocate, grow */
	case 17: return with_fd(fs, "/big", UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 5000, 40000, 0);
	case 18: return udax_rename(fs, "/a/sub", "/sub2", 0);          /* dir move */
	case 19: return udax_rename(fs, "/big", "/a/f1", UDAX_RENAME_EXCHANGE);
	case 20: return udax_unlink(fs, "/a/f1");
	case 21: return with_fd(fs, "/big", UDAX_FALLOC_ZERO_RANGE, 100, 5000, 0);
	case 22: return udax_rmdir(fs, "/sub2");
	case 23: return udax_rename(fs, "/a", "/b", UDAX_RENAME_NOREPLACE);
	case 24: return udax_mkdir(fs, "/b/c", 0755);
	case 25: return create(fs, "/b/c/last");
	case 26: return put(fs, "/b/c/last", 0, 4096, 0, 7);
	case 27: return udax_unlink(fs, "/big");
	}
	return -EINVAL;
}

/* ---- exploration ---- */

static char base_img[128], work_img[128], crash_img[128];
static struct state ref[NOPS + 1];
static uint64_t fence_end[NOPS];

static int copy_file(const char *from, const char *to)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp --sparse=never '%s' '%s'", from, to);
	return system(cmd);
}

struct cut {
	uint64_t at;        /* fence to cut before */
	int nseeds;
	int saved;
	int err;
};

static uint64_t seed_of(int i)
{
	return i == 0 ? 0 : i == 1 ? UINT64_MAX : (uint64_t)i * 0x9E3779B97F4A7C15ull;
}

static void cut_hook(udax_fs *fs, uint64_t fence, void *arg)
{
	struct cut *c = arg;
	char path[160];

	if (fence != c->at)
		return;
	for (int i = 0; i < c->nseeds; i++) {
		snprintf(path, sizeof(path), "%s.%d", crash_img, i);
		if (udax_shadow_save_subset(fs, path, seed_of(i)) < 0)
			c->err = 1;
	}
	c->saved = 1;
}

static int sweep_dir(udax_fs *fs, const char *path)
{
	udax_dir *d;
	struct udax_dirent de;
	char sub[512];
	int r = udax_opendir(fs, path, &d);
	if (r)
		return r;
	while (udax_readdir(d, &de) == 1) {
		snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", de.d_name);
		r = de.d_type == DT_DIR ? sweep_dir(fs, sub) : udax_unlink(fs, sub);
		if (!r && de.d_type == DT_DIR)
			r = udax_rmdir(fs, sub);
		if (r)
			break;
	}
	udax_closedir(d);
	return r;
}

/* Check one crash image against the op in flight, @j. */
static int check_image(const char *img, int j, uint64_t k, int seed)
{
	struct state s;
	udax_fs *fs;
	int problems = t_fsck(img);
	if (problems) {
		fprintf(stderr, "  fence %llu seed %d (op %d): fsck found %d problems\n",
		        (unsigned long long)k, seed, j, problems);
		return 1;
	}
	if (udax_mount(img, NULL, &fs))
		return 1;
	int ok = capture(fs, &s) == 0 &&
	         (same_state(&s, &ref[j], &ref[j + 1], inplace[j]) ||
	          same_state(&s, &ref[j + 1], &ref[j], inplace[j]));
	if (!ok)
		fprintf(stderr, "  fence %llu seed %d: state is neither before nor after op %d\n",
		        (unsigned long long)k, seed, j);
	state_free(&s);
	/* the recovered tree must be fully usable */
	int r = sweep_dir(fs, "/");
	if (!r)
		r = put(fs, "/after-crash", O_CREAT, 20000, 0, 99);
	udax_unmount(fs);
	if (r || t_fsck(img)) {
		fprintf(stderr, "  fence %llu seed %d: sweep failed (%d)\n", (unsigned long long)k, seed, r);
		ok = 0;
	}
	return !ok;
}

static int explore_fence(uint64_t k, int nseeds, int *states)
{
	udax_fs *fs;
	struct cut c = { .at = k, .nseeds = nseeds };
	int j, failures = 0;

	if (copy_file(base_img, work_img) || udax_mount(work_img, "shadow", &fs))
		return 1;
	udax_shadow_set_hook(fs, cut_hook, &c);
	for (j = 0; j < NOPS && !c.saved; j++)
		run_op(fs, j);
	udax_shadow_set_hook(fs, NULL, NULL);
	udax_unmount(fs);
	if (!c.saved || c.err) {
		fprintf(stderr, "  fence %llu: no crash image (saved %d, err %d)\n",
		        (unsigned long long)k, c.saved, c.err);
		return 1;
	}
	j--; /* the op during which fence k fell */
	for (int i = 0; i < nseeds; i++) {
		char path[160];
		snprintf(path, sizeof(path), "%s.%d", crash_img, i);
		failures += check_image(path, j, k, i);
		(*states)++;
		unlink(path);
	}
	return failures;
}

static void test_crash_every_fence(void)
{
	udax_fs *fs;
	int pid = (int)getpid();
	snprintf(base_img, sizeof(base_img), "/dev/shm/udax-test-%d-base.pool", pid);
	snprintf(work_img, sizeof(work_img), "/dev/shm/udax-test-%d-work.pool", pid);
	snprintf(crash_img, sizeof(crash_img), "/dev/shm/udax-test-%d-crash", pid);
	unlink(base_img);
	REQUIRE(udax_mkfs(base_img, POOL_MB << 20, 0) == 0);
	/* reference run */
	REQUIRE(copy_file(base_img, work_img) == 0);
	REQUIRE(udax_mount(work_img, "shadow", &fs) == 0);
	REQUIRE(capture(fs, &ref[0]) == 0);
	uint64_t first = udax_shadow_fences(fs) + 1; /* mount's own fences precede the workload */
	for (int j = 0; j < NOPS; j++) {
		int r = run_op(fs, j);
		if (r)
			fprintf(stderr, "  op %d failed: %d\n", j, r);
		REQUIRE(r == 0);
		fence_end[j] = udax_shadow_fences(fs);
		REQUIRE(capture(fs, &ref[j + 1]) == 0);
	}
	udax_unmount(fs);
	uint64_t total = fence_end[NOPS - 1];
	const char *full = getenv("UDAX_CRASH_FULL");
	int nseeds = full && *full == '1' ? 32 : 4;
	int failures = 0, states = 0;
	for (uint64_t k = first; k <= total; k++)
		failures += explore_fence(k, nseeds, &states);
	printf("  crash exploration: %d ops, %llu fences, %d crash states checked, %d failures\n",
	       NOPS, (unsigned long long)total, states, failures);
	CHECK_EQ(failures, 0);
	CHECK_EQ(states, (int)(total - first + 1) * nseeds);
	for (int j = 0; j <= NOPS; j++)
		state_free(&ref[j]);
	unlink(base_img);
	unlink(work_img);
}

int main(void)
{
	RUN(test_crash_every_fence);
	return t_summary();
}
