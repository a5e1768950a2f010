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
 * A second test generates workloads ACE-style: every sequence of one
 * and (sampled) two operations from a fixed alphabet.
 * UDAX_CRASH_FULL=1 tries 32 subsets per fence instead of 4 and every
 * pair of operations.
 */
#include "t.h"

#include <dirent.h>
#include <sys/mman.h>

#define MAXE 64
#define POOL_MB 8

struct ent {
	char path[512];
	int dir;
	unsigned mode, uid, nlink;  /* attributes a step may change */
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
		struct stat lst;
		if (udax_stat(fs, e->path, &lst) < 0)
			return -EIO;
		e->mode = lst.st_mode;
		e->uid = lst.st_uid;
		e->nlink = lst.st_nlink;
		if (S_ISLNK(lst.st_mode)) { /* a link's data is its target */
			e->data = malloc(UDAX_SYMLINK_MAX + 1);
			ssize_t n = udax_readlink(fs, e->path, (char *)e->data, UDAX_SYMLINK_MAX + 1);
			if (n < 0)
				return -EIO;
			e->size = (uint64_t)n;
			continue;
		}
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
		if (strcmp(p->path, q->path) || p->dir != q->dir || p->mode != q->mode ||
		    p->uid != q->uid || p->nlink != q->nlink)
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

static const char *fixed_mix(int j)
{
	return inplace[j];
}

/* ---- exploration ---- */

#define MAXOPS 32
/* The workload being explored: @nops steps, step j run by op(fs, j);
 * mix(j) names the file step j may leave half old, half new (or NULL). */
static struct workload {
	int nops;
	int (*op)(udax_fs *fs, int j);
	const char *(*mix)(int j);
} W;

static char base_img[128], work_img[128], crash_img[128];
static struct state ref[MAXOPS + 1];
static uint64_t fence_end[MAXOPS];

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
	         (same_state(&s, &ref[j], &ref[j + 1], W.mix(j)) ||
	          same_state(&s, &ref[j + 1], &ref[j], W.mix(j)));
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
	for (j = 0; j < W.nops && !c.saved; j++)
		W.op(fs, j);
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

static void set_paths(void)
{
	int pid = (int)getpid();
	snprintf(base_img, sizeof(base_img), "/dev/shm/udax-test-%d-base.pool", pid);
	snprintf(work_img, sizeof(work_img), "/dev/shm/udax-test-%d-work.pool", pid);
	snprintf(crash_img, sizeof(crash_img), "/dev/shm/udax-test-%d-crash", pid);
}

struct tally {
	long workloads, fences, states, failures;
};

/* Reference run of W from base_img, then a cut before every fence. */
static int explore(int nseeds, struct tally *t, int quiet)
{
	udax_fs *fs;
	int failures = 0, states = 0;

	if (copy_file(base_img, work_img) || udax_mount(work_img, "shadow", &fs))
		return 1;
	if (capture(fs, &ref[0]))
		return 1;
	uint64_t first = udax_shadow_fences(fs) + 1; /* mount's own fences come first */
	for (int j = 0; j < W.nops; j++) {
		int r = W.op(fs, j);
		if (r && !quiet)
			fprintf(stderr, "  op %d failed: %d\n", j, r);
		fence_end[j] = udax_shadow_fences(fs);
		if ((r && !quiet) || capture(fs, &ref[j + 1]))
			return 1;
	}
	udax_unmount(fs);
	uint64_t total = fence_end[W.nops - 1];
	for (uint64_t k = first; k <= total; k++)
		failures += explore_fence(k, nseeds, &states);
	for (int j = 0; j <= W.nops; j++)
		state_free(&ref[j]);
	if (states != (int)(total + 1 - first) * nseeds)
		failures++;
	t->workloads++;
	t->fences += (long)(total + 1 - first);
	t->states += states;
	t->failures += failures;
	return failures;
}

static int env_is(const char *name)
{
	const char *v = getenv(name);
	return v && *v == '1';
}

/* UDAX_CRASH_FULL=1: everything; UDAX_CRASH_LIGHT=1 (sanitizer builds,
 * several times slower): a sparser sample. */
static int nseeds_for_run(void)
{
	return env_is("UDAX_CRASH_FULL") ? 32 : env_is("UDAX_CRASH_LIGHT") ? 2 : 4;
}

static void test_crash_every_fence(void)
{
	struct tally t = { 0 };

	set_paths();
	unlink(base_img);
	REQUIRE(udax_mkfs(base_img, POOL_MB << 20, 0) == 0);
	W = (struct workload){ NOPS, run_op, fixed_mix };
	explore(nseeds_for_run(), &t, 0);
	printf("  crash exploration: %d ops, %ld fences, %ld crash states checked, %ld failures\n",
	       NOPS, t.fences, t.states, t.failures);
	CHECK_EQ(t.failures, 0);
	CHECK(t.states > 0);
	unlink(base_img);
	unlink(work_img);
}

/* ---- generated workloads (ACE-style) ----
 * Every sequence of up to two operations from a fixed alphabet on a
 * small tree (/A 8 KiB, /B 4 KiB, /D/E), each followed by a crash at
 * every fence.  Operations whose preconditions fail just return an
 * error and change nothing; that is part of the test. */

enum { ACE_N = 20 };
static int ace_seq[3], ace_len;

static int mapped_store(udax_fs *fs, const char *path)
{
	void *m;
	int fd = udax_open(fs, path, O_RDWR, 0);
	if (fd < 0)
		return fd;
	int r = udax_mmap(fs, fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &m);
	if (!r) {
		memset((char *)m + 100, 'M', 300);
		r = udax_fsync(fs, fd);
		udax_munmap(fs, m, 4096);
	}
	udax_close(fs, fd);
	return r;
}

static const char *long_target(void)
{
	static char t[3001];
	for (int i = 0; i < 3000; i++)
		t[i] = (char)('a' + i % 23);
	return t;
}

static int ace_do(udax_fs *fs, int op)
{
	switch (op) {
	case 0: return create(fs, "/C");
	case 1: return put(fs, "/A", O_APPEND, 5000, 0, 11);
	case 2: return put(fs, "/A", 0, 2000, 1000, 12);
	case 3: return with_fd(fs, "/A", 0, 3000, 0, 1);
	case 4: return with_fd(fs, "/A", 0, 20000, 0, 1);
	case 5: return with_fd(fs, "/A", UDAX_FALLOC_KEEP_SIZE, 65536, 65536, 0);
	case 6: return with_fd(fs, "/A", UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 4096, 4096, 0);
	case 7: return udax_rename(fs, "/A", "/D/A2", 0);
	case 8: return udax_rename(fs, "/B", "/A", 0);
	case 9: return udax_rename(fs, "/A", "/D", UDAX_RENAME_EXCHANGE);
	case 10: return udax_unlink(fs, "/A");
	case 11: return udax_mkdir(fs, "/F", 0755);
	case 12: return udax_rmdir(fs, "/F");
	case 13: return mapped_store(fs, "/B");
	case 14: return with_fd(fs, "/A", UDAX_FALLOC_ZERO_RANGE, 100, 4900, 0);
	case 15: return put(fs, "/B", 0, 3000, 40000, 13);
	case 16: return udax_link(fs, "/A", "/D/L");
	case 17: return udax_symlink(fs, "../A", "/D/S");
	case 18: return udax_symlink(fs, long_target(), "/T"); /* target in a block */
	case 19: return udax_chown(fs, "/A", 4242, 4343); /* chmod shares its path */
	}
	return -EINVAL;
}

static int ace_op(udax_fs *fs, int j)
{
	ace_do(fs, ace_seq[j]);
	return 0; /* a failing step is a legitimate step */
}

static const char *ace_mix(int j)
{
	static const char *const mix[ACE_N] = {
		[1] = "/A", [2] = "/A", [6] = "/A", [13] = "/B", [14] = "/A", [15] = "/B",
	};
	return mix[ace_seq[j]];
}

static int make_ace_base(void)
{
	udax_fs *fs;
	unlink(base_img);
	if (udax_mkfs(base_img, POOL_MB << 20, 0) || udax_mount(base_img, NULL, &fs))
		return -1;
	int r = put(fs, "/A", O_CREAT, 8192, 0, 1) | put(fs, "/B", O_CREAT, 4096, 0, 2) |
	        udax_mkdir(fs, "/D", 0755) | put(fs, "/D/E", O_CREAT, 100, 0, 3);
	udax_unmount(fs);
	return r ? -1 : 0;
}

static void test_crash_generated(void)
{
	int all = env_is("UDAX_CRASH_FULL"), light = env_is("UDAX_CRASH_LIGHT");
	int nseeds = all ? 8 : light ? 1 : 2, stride = light ? 17 : 5;
	struct tally t = { 0 };

	set_paths();
	REQUIRE(make_ace_base() == 0);
	W = (struct workload){ 0, ace_op, ace_mix };
	/* length 1: all; length 2: all pairs in the full run, every
	 * stride-th pair (a fixed walk through all of them) otherwise */
	for (int a = 0; a < ACE_N; a++) {
		ace_seq[0] = a;
		W.nops = ace_len = 1;
		explore(nseeds, &t, 1);
		for (int b = 0; b < ACE_N; b++) {
			if (!all && (a * ACE_N + b) % stride)
				continue;
			ace_seq[1] = b;
			W.nops = ace_len = 2;
			if (explore(nseeds, &t, 1))
				fprintf(stderr, "  failing sequence: %d %d\n", a, b);
		}
	}
	printf("  generated: %ld workloads, %ld fences, %ld crash states checked, %ld failures\n",
	       t.workloads, t.fences, t.states, t.failures);
	CHECK_EQ(t.failures, 0);
	CHECK(t.workloads >= ACE_N);
	unlink(base_img);
	unlink(work_img);
}

int main(void)
{
	RUN(test_crash_every_fence);
	RUN(test_crash_generated);
	return t_summary();
}
