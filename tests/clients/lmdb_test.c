/*
 * lmdb_test.c - LMDB as an unmodified client of udax, run under the
 * LD_PRELOAD interposer (libudax-preload.so).  The program only uses
 * ordinary paths; with UDAX_POOL and UDAX_PREFIX set, paths under the
 * prefix are files in the pool.  Without the interposer it runs on the
 * host file system, which is how test_lmdb.sh builds its reference copy.
 *
 * The workload is a fixed list of transactions.  Transaction t (1..42)
 * applies op(k, t) to every key k: nothing, put version v, or delete.
 * The state after transaction t is therefore known for every key, and
 * every transaction also stores t under "seq" in a second database, so
 * a reader that sees seq = t can check the whole database exactly.
 *
 *   t  1..20  insert keys [1000(t-1), 1000t), version 1
 *   t 21..30  overwrite keys k % 10 == t-21 with version 2 (other sizes)
 *   t 31..35  delete keys k % 10 == t-31 with k % 3 == 0
 *   t 36..40  put back the even ones of those, version 3
 *   t 41      insert keys [20000, 22000) version 4; k % 13 == 0 -> v5
 *   t 42      delete even keys of k % 50 < 10, others of it -> v6
 *
 * Values: 16..1024 bytes, a header (key, version, length) followed by a
 * pseudo-random stream seeded by (key, version).
 *
 * Modes (exit 0 on success, 1 on a failed check, 2 on bad usage):
 *   write DIR [--writemap]   mkdir DIR, create the environment, run
 *                            transactions 1..40 while 3 reader threads
 *                            check every snapshot they see, then check
 *                            the result.
 *   verify DIR [--expect T|T1,T2]
 *                            check the database against the model of
 *                            the seq it holds (which must be T, or one
 *                            of T1,T2) and mdb_stat's entry count.
 *   crash DIR IMAGE [--writemap] [--fences F --samples S [--subsets N]]
 *                            needs the interposer with UDAX_OPTIONS=shadow.
 *                            Commits t = 41, saves the power-cut image
 *                            IMAGE; starts t = 42 and leaves it open,
 *                            saves IMAGE-open; then commits t = 42 while
 *                            a fence hook saves IMAGE-fNNNN at S fences
 *                            spread over the F the commit is expected to
 *                            issue (counted by a run with --fences 0),
 *                            the last one included; with --subsets N
 *                            also N images IMAGE-sNNNN.i at each of the
 *                            last two fences holding pseudo-random
 *                            subsets of the cache lines pending there;
 *                            saves IMAGE-done, and _exit(0)s without
 *                            closing anything.  Expected: IMAGE and
 *                            IMAGE-open hold 41, IMAGE-f* and -s* 41 or
 *                            42, IMAGE-done 42.
 *   model T                  print the number of keys after transaction T.
 *
 * LMDB_TEST_READERS=n (0..3) sets the number of reader threads of write.
 */
#include <dlfcn.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udax.h" /* types only: the functions are looked up with dlsym */

#define NKEYS 20000u
#define NKEYS_ALL 22000u
#define BATCH 1000u
#define T_WRITTEN 40
#define T_CRASH 41
#define T_OPEN 42
#define NREADERS 3
#define MAPSIZE (256ull << 20)
#define VAL_MAX 1024u

/* model[t][k]: version of key k after transaction t, 0 = absent. */
static uint8_t model[T_OPEN + 1][NKEYS_ALL];
static unsigned model_count[T_OPEN + 1];

static const char *prog = "lmdb_test";
static volatile int failed;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	if (failed < 20) {
		fprintf(stdout, "FAIL: %s: ", prog);
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
		fputc('\n', stdout);
		fflush(stdout);
	}
	failed++;
	pthread_mutex_unlock(&out_lock);
}

/* Abort the run on an LMDB error that leaves nothing to check. */
#define MDB_OK(call)                                                      \
	do {                                                              \
		int rc_ = (call);                                         \
		if (rc_) {                                                \
			fail("%s:%d: %s: %s", __FILE__, __LINE__, #call,  \
			     mdb_strerror(rc_));                          \
			exit(1);                                          \
		}                                                         \
	} while (0)

/* ------------------------------------------------------------------ */
/* The model                                                          */
/* ------------------------------------------------------------------ */

enum { OP_NONE, OP_PUT, OP_DEL };

static int op_for(unsigned k, int t, int *ver)
{
	if (t >= 1 && t <= 20) {
		if (k >= BATCH * (unsigned)(t - 1) && k < BATCH * (unsigned)t) {
			*ver = 1;
			return OP_PUT;
		}
	} else if (t <= 30) {
		if (k < NKEYS && k % 10 == (unsigned)(t - 21)) {
			*ver = 2;
			return OP_PUT;
		}
	} else if (t <= 35) {
		if (k < NKEYS && k % 10 == (unsigned)(t - 31) && k % 3 == 0)
			return OP_DEL;
	} else if (t <= 40) {
		if (k < NKEYS && k % 10 == (unsigned)(t - 36) && k % 3 == 0 &&
		    k % 2 == 0) {
			*ver = 3;
			return OP_PUT;
		}
	} else if (t == T_CRASH) {
		if (k >= NKEYS) {
			*ver = 4;
			return OP_PUT;
		}
		if (k % 13 == 0) {
			*ver = 5;
			return OP_PUT;
		}
	} else if (t == T_OPEN) {
		if (k % 50 < 10) {
			if (k % 2 == 0)
				return OP_DEL;
			*ver = 6;
			return OP_PUT;
		}
	}
	return OP_NONE;
}

static void build_model(void)
{
	for (int t = 1; t <= T_OPEN; t++) {
		unsigned n = 0;
		for (unsigned k = 0; k < NKEYS_ALL; k++) {
			int v = model[t - 1][k];
			switch (op_for(k, t, &v)) {
			case OP_PUT:
				break;
			case OP_DEL:
				v = 0;
				break;
			default:
				break;
			}
			model[t][k] = (uint8_t)v;
			n += v != 0;
		}
		model_count[t] = n;
	}
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t val_len(unsigned k, int v)
{
	return 16 + (size_t)(mix64((uint64_t)k * 977 + (uint64_t)v) % (VAL_MAX - 15));
}

static void put32(uint8_t *p, uint32_t x)
{
	memcpy(p, &x, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return x;
}

/* Fill @buf with the value of key @k in version @v; returns its length. */
static size_t val_fill(unsigned k, int v, uint8_t *buf)
{
	size_t len = val_len(k, v);
	uint64_t seed = mix64(((uint64_t)k << 8) | (uint64_t)v);

	put32(buf, k);
	put32(buf + 4, (uint32_t)v);
	put32(buf + 8, (uint32_t)len);
	put32(buf + 12, (uint32_t)(seed >> 32));
	for (size_t i = 16; i < len; i += 8) {
		uint64_t w = mix64(seed + i / 8);
		memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
	}
	return len;
}

static void key_fill(unsigned k, char kb[16], MDB_val *key)
{
	int n = snprintf(kb, 16, "k%08u", k);

	key->mv_data = kb;
	key->mv_size = (size_t)n;
}

/* Parse "kNNNNNNNN"; returns -1 if the key is not of that form. */
static long key_parse(const MDB_val *key)
{
	const char *s = key->mv_data;
	long k = 0;

	if (key->mv_size != 9 || s[0] != 'k')
		return -1;
	for (int i = 1; i < 9; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		k = k * 10 + (s[i] - '0');
	}
	return k;
}

/* Check one record against version @want; @who names the checker. */
static int check_record(const char *who, int t, const MDB_val *key,
                        const MDB_val *val, uint8_t *scratch)
{
	long k = key_parse(key);

	if (k < 0 || k >= (long)NKEYS_ALL) {
		fail("%s: seq %d: unexpected key '%.*s'", who, t,
		     (int)key->mv_size, (const char *)key->mv_data);
		return -1;
	}
	int want = model[t][k];
	if (!want) {
		fail("%s: seq %d: key %ld present, the model has it deleted", who, t, k);
		return -1;
	}
	size_t len = val_fill((unsigned)k, want, scratch);
	if (val->mv_size != len || memcmp(val->mv_data, scratch, len) != 0) {
		const uint8_t *p = val->mv_data;
		if (val->mv_size >= 16)
			fail("%s: seq %d: key %ld: wrong value (%zu bytes, header key %u version %u len %u; want version %d, %zu bytes)",
			     who, t, k, val->mv_size, get32(p), get32(p + 4), get32(p + 8), want, len);
		else
			fail("%s: seq %d: key %ld: wrong value of %zu bytes (want version %d, %zu bytes)",
			     who, t, k, val->mv_size, want, len);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The environment                                                    */
/* ------------------------------------------------------------------ */

struct db {
	MDB_env *env;
	MDB_dbi data, meta;
	int writemap;
};

static void db_open(struct db *d, const char *dir, unsigned flags, int create)
{
	MDB_txn *txn;

	MDB_OK(mdb_env_create(&d->env));
	MDB_OK(mdb_env_set_maxdbs(d->env, 4));
	MDB_OK(mdb_env_set_maxreaders(d->env, 32));
	MDB_OK(mdb_env_set_mapsize(d->env, MAPSIZE));
	MDB_OK(mdb_env_open(d->env, dir, flags, 0644));
	d->writemap = (flags & MDB_WRITEMAP) != 0;
	MDB_OK(mdb_txn_begin(d->env, NULL, create ? 0 : MDB_RDONLY, &txn));
	MDB_OK(mdb_dbi_open(txn, "data", create ? MDB_CREATE : 0, &d->data));
	MDB_OK(mdb_dbi_open(txn, "meta", create ? MDB_CREATE : 0, &d->meta));
	MDB_OK(mdb_txn_commit(txn));
}

static int read_seq(MDB_txn *txn, MDB_dbi meta, const char *who)
{
	MDB_val key = { 3, "seq" }, val;
	int rc = mdb_get(txn, meta, &key, &val);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		fail("%s: get seq: %s", who, mdb_strerror(rc));
		return -1;
	}
	if (val.mv_size != 4 || get32(val.mv_data) > T_OPEN) {
		fail("%s: bad seq record (%zu bytes)", who, val.mv_size);
		return -1;
	}
	return (int)get32(val.mv_data);
}

/*
 * Apply transaction @t.  Deletes must find exactly the keys the model
 * has.  With @commit 0 the transaction is returned open in *@open.
 */
static void apply(struct db *d, int t, int commit, MDB_txn **open)
{
	static uint8_t vbuf[VAL_MAX];
	MDB_txn *txn;
	char kb[16];
	MDB_val key, val;
	unsigned puts = 0, dels = 0;

	MDB_OK(mdb_txn_begin(d->env, NULL, 0, &txn));
	for (unsigned k = 0; k < NKEYS_ALL; k++) {
		int v = 0, rc;
		switch (op_for(k, t, &v)) {
		case OP_PUT:
			key_fill(k, kb, &key);
			val.mv_size = val_fill(k, v, vbuf);
			val.mv_data = vbuf;
			MDB_OK(mdb_put(txn, d->data, &key, &val, 0));
			puts++;
			break;
		case OP_DEL:
			key_fill(k, kb, &key);
			rc = mdb_del(txn, d->data, &key, NULL);
			if (model[t - 1][k] ? rc != 0 : rc != MDB_NOTFOUND)
				fail("txn %d: delete key %u: %s (model: %s)", t, k,
				     rc ? mdb_strerror(rc) : "found",
				     model[t - 1][k] ? "present" : "absent");
			dels++;
			break;
		default:
			break;
		}
	}
	uint8_t sb[4];
	put32(sb, (uint32_t)t);
	key.mv_data = "seq";
	key.mv_size = 3;
	val.mv_data = sb;
	val.mv_size = 4;
	MDB_OK(mdb_put(txn, d->meta, &key, &val, 0));
	if (!commit) {
		*open = txn;
		return;
	}
	MDB_OK(mdb_txn_commit(txn));
	(void)puts;
	(void)dels;
}

/*
 * Check a whole snapshot: every record, the count, a sample of lookups.
 * Returns the seq seen or -1.  @rand is a per-caller PRNG state.
 */
static int check_snapshot(struct db *d, MDB_txn *txn, const char *who,
                          uint64_t *rand, uint8_t *scratch)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int t = read_seq(txn, d->meta, who), rc, bad = 0;
	unsigned n = 0;
	long prev = -1;

	if (t < 0)
		return -1;
	MDB_OK(mdb_cursor_open(txn, d->data, &cur));
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		long k = key_parse(&key);
		if (k <= prev) {
			fail("%s: seq %d: key %ld after %ld", who, t, k, prev);
			bad = 1;
			break;
		}
		prev = k;
		if (check_record(who, t, &key, &val, scratch)) {
			bad = 1;
			break;
		}
		n++;
	}
	if (!bad && rc != MDB_NOTFOUND) {
		fail("%s: seq %d: cursor: %s", who, t, mdb_strerror(rc));
		bad = 1;
	}
	mdb_cursor_close(cur);
	if (!bad && n != model_count[t]) {
		fail("%s: seq %d: %u records, the model has %u", who, t, n, model_count[t]);
		bad = 1;
	}
	for (int i = 0; i < 64 && !bad; i++) {
		char kb[16];
		unsigned k = (unsigned)((*rand = mix64(*rand)) % NKEYS_ALL);
		key_fill(k, kb, &key);
		rc = mdb_get(txn, d->data, &key, &val);
		if (model[t][k] ? rc != 0 : rc != MDB_NOTFOUND) {
			fail("%s: seq %d: get key %u: %s, model has it %s", who, t, k,
			     rc ? mdb_strerror(rc) : "found", model[t][k] ? "present" : "absent");
			bad = 1;
		} else if (rc == 0 && check_record(who, t, &key, &val, scratch)) {
			bad = 1;
		}
	}
	return bad ? -1 : t;
}

/* ------------------------------------------------------------------ */
/* write                                                              */
/* ------------------------------------------------------------------ */

struct reader {
	pthread_t th;
	int id;
	struct db *d;
	unsigned long scans;
	unsigned long states; /* distinct seqs seen */
};

static volatile int writer_done;

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	static __thread uint8_t scratch[VAL_MAX];
	char who[32];
	uint64_t rand = 12345u + (uint64_t)r->id;
	uint8_t seen[T_OPEN + 1] = { 0 };
	MDB_txn *txn = NULL;
	int rc;

	snprintf(who, sizeof(who), "reader %d", r->id);
	while (!failed) {
		int last = writer_done;
		rc = txn ? mdb_txn_renew(txn) : mdb_txn_begin(r->d->env, NULL, MDB_RDONLY, &txn);
		if (rc) {
			fail("%s: begin: %s", who, mdb_strerror(rc));
			break;
		}
		int t = check_snapshot(r->d, txn, who, &rand, scratch);
		mdb_txn_reset(txn);
		if (t < 0)
			break;
		r->scans++;
		if (!seen[t]) {
			seen[t] = 1;
			r->states++;
		}
		if (last)
			break; /* one full scan after the writer finished */
	}
	if (txn)
		mdb_txn_abort(txn);
	return NULL;
}

static int mode_write(const char *dir, int writemap)
{
	struct db d;
	struct reader rd[NREADERS];
	struct timespec t0, t1;
	const char *env_readers = getenv("LMDB_TEST_READERS");
	int nreaders = env_readers ? atoi(env_readers) : NREADERS;

	if (nreaders < 0 || nreaders > NREADERS)
		nreaders = NREADERS;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fail("mkdir %s: %s", dir, strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	db_open(&d, dir, writemap ? MDB_WRITEMAP : 0, 1);
	{
		/* seq 0: both databases exist and are empty */
		MDB_txn *txn;
		uint8_t sb[4] = { 0 };
		MDB_val key = { 3, "seq" }, val = { 4, sb };
		MDB_OK(mdb_txn_begin(d.env, NULL, 0, &txn));
		MDB_OK(mdb_put(txn, d.meta, &key, &val, 0));
		MDB_OK(mdb_txn_commit(txn));
	}
	for (int i = 0; i < nreaders; i++) {
		rd[i] = (struct reader){ .id = i, .d = &d };
		if (pthread_create(&rd[i].th, NULL, reader_main, &rd[i])) {
			fail("pthread_create failed");
			return 1;
		}
	}
	for (int t = 1; t <= T_WRITTEN && !failed; t++) {
		apply(&d, t, 1, NULL);
		if (t % 10 == 0)
			MDB_OK(mdb_env_sync(d.env, 1)); /* msync with MDB_WRITEMAP */
		usleep(2000);
	}
	writer_done = 1;
	unsigned long scans = 0, states = 0;
	for (int i = 0; i < nreaders; i++) {
		pthread_join(rd[i].th, NULL);
		scans += rd[i].scans;
		states += rd[i].states;
	}
	if (!failed) {
		MDB_txn *txn;
		uint64_t rand = 99;
		static uint8_t scratch[VAL_MAX];
		MDB_OK(mdb_txn_begin(d.env, NULL, MDB_RDONLY, &txn));
		int t = check_snapshot(&d, txn, "writer", &rand, scratch);
		mdb_txn_abort(txn);
		if (t >= 0 && t != T_WRITTEN)
			fail("writer: final seq %d, want %d", t, T_WRITTEN);
	}
	mdb_env_close(d.env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	if (failed)
		return 1;
	printf("PASS: write %s%s: %d transactions, %u keys in the end; %d readers checked %lu snapshots (%lu distinct states); %.2f s\n",
	       dir, writemap ? " (MDB_WRITEMAP)" : "", T_WRITTEN, model_count[T_WRITTEN],
	       nreaders, scans, states, s);
	return 0;
}

/* ------------------------------------------------------------------ */
/* verify                                                             */
/* ------------------------------------------------------------------ */

static int mode_verify(const char *dir, const char *expect)
{
	struct db d;
	MDB_txn *txn;
	MDB_stat st;
	uint64_t rand = 7;
	static uint8_t scratch[VAL_MAX];

	db_open(&d, dir, 0, 0);
	MDB_OK(mdb_txn_begin(d.env, NULL, MDB_RDONLY, &txn));
	int t = check_snapshot(&d, txn, "verify", &rand, scratch);
	if (t >= 0) {
		MDB_OK(mdb_stat(txn, d.data, &st));
		if (st.ms_entries != model_count[t])
			fail("verify: mdb_stat says %zu entries, want %u", st.ms_entries, model_count[t]);
	}
	mdb_txn_abort(txn);
	mdb_env_close(d.env);
	if (t >= 0 && expect) {
		int ok = 0;
		char *copy = strdup(expect), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			ok |= atoi(tok) == t;
		free(copy);
		if (!ok)
			fail("verify: %s holds seq %d, expected %s", dir, t, expect);
	}
	if (failed)
		return 1;
	printf("PASS: verify %s: seq %d, %u keys, every value and the count as the model says\n",
	       dir, t, model_count[t]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* crash                                                              */
/* ------------------------------------------------------------------ */

static udax_fs *(*p_preload_fs)(void);
static int (*p_save)(udax_fs *, const char *);
static int (*p_save_subset)(udax_fs *, const char *, uint64_t);
static int (*p_set_hook)(udax_fs *, udax_fence_hook, void *);

struct hook_state {
	const char *image;
	uint64_t count;        /* fences seen during the commit */
	uint64_t expect;       /* fences the commit is expected to issue */
	uint64_t stride;       /* save at expect, expect - stride, ... */
	unsigned saved, max;
	unsigned subsets;      /* subset images at each of the last 2 fences */
	int err;
};

/*
 * Called before each fence of the commit takes effect.  Saves the
 * persisted image (the lines flushed since the previous fence are not
 * in it) at the last fence and every stride fences before it, at most
 * max of them; with subsets, also images with pseudo-random subsets
 * of the pending lines at the last two fences.
 */
static void fence_hook(udax_fs *fs, uint64_t fence, void *arg)
{
	struct hook_state *h = arg;
	char path[4096];
	int rc;

	(void)fence;
	h->count++;
	if (h->count > h->expect)
		return;
	uint64_t back = h->expect - h->count;
	if (h->stride && back % h->stride == 0 && back / h->stride < h->max) {
		snprintf(path, sizeof(path), "%s-f%04llu", h->image, (unsigned long long)h->count);
		rc = p_save(fs, path);
		if (rc && !h->err)
			h->err = rc;
		h->saved++;
	}
	if (back < 2 && p_save_subset) {
		for (unsigned i = 1; i <= h->subsets; i++) {
			snprintf(path, sizeof(path), "%s-s%04llu.%u", h->image,
			         (unsigned long long)h->count, i);
			rc = p_save_subset(fs, path, mix64(h->count * 1000 + i));
			if (rc && !h->err)
				h->err = rc;
			h->saved++;
		}
	}
}

static int save_image(udax_fs *fs, const char *path)
{
	int rc = p_save(fs, path);

	if (rc) {
		fail("udax_shadow_save(%s): %s", path, strerror(-rc));
		return -1;
	}
	printf("  saved %s\n", path);
	return 0;
}

static int mode_crash(const char *dir, const char *image, int writemap,
                      uint64_t fences, unsigned samples, unsigned subsets)
{
	struct db d;
	MDB_txn *txn;
	uint64_t rand = 3;
	static uint8_t scratch[VAL_MAX];
	char path[4096];

	p_preload_fs = (udax_fs * (*)(void)) dlsym(RTLD_DEFAULT, "udax_preload_fs");
	p_save = (int (*)(udax_fs *, const char *))dlsym(RTLD_DEFAULT, "udax_shadow_save");
	p_save_subset = (int (*)(udax_fs *, const char *, uint64_t))dlsym(RTLD_DEFAULT, "udax_shadow_save_subset");
	p_set_hook = (int (*)(udax_fs *, udax_fence_hook, void *))dlsym(RTLD_DEFAULT, "udax_shadow_set_hook");
	if (!p_preload_fs || !p_save || !p_set_hook) {
		fail("crash: udax_preload_fs/udax_shadow_save/udax_shadow_set_hook not found: not run under libudax-preload.so?");
		return 1;
	}

	db_open(&d, dir, writemap ? MDB_WRITEMAP : 0, 0);
	MDB_OK(mdb_txn_begin(d.env, NULL, MDB_RDONLY, &txn));
	int t = check_snapshot(&d, txn, "crash: before", &rand, scratch);
	mdb_txn_abort(txn);
	if (t != T_WRITTEN) {
		if (t >= 0)
			fail("crash: %s holds seq %d, want %d (run write first)", dir, t, T_WRITTEN);
		return 1;
	}
	udax_fs *fs = p_preload_fs();
	if (!fs) {
		fail("crash: udax_preload_fs() returned NULL");
		return 1;
	}

	/* 1. a committed transaction, then the power cut image */
	apply(&d, T_CRASH, 1, NULL);
	if (writemap)
		MDB_OK(mdb_env_sync(d.env, 1));
	if (save_image(fs, image))
		return 1;

	/* 2. the next transaction, left open */
	MDB_txn *open_txn;
	apply(&d, T_OPEN, 0, &open_txn);
	snprintf(path, sizeof(path), "%s-open", image);
	if (save_image(fs, path))
		return 1;

	/* 3. its commit, with images taken at fences inside it */
	struct hook_state h = { .image = image, .expect = fences, .max = samples, .subsets = subsets };
	if (fences && samples)
		h.stride = fences / samples ? fences / samples : 1;
	int rc = p_set_hook(fs, fence_hook, &h);
	if (rc) {
		fail("udax_shadow_set_hook: %s (mounted without UDAX_OPTIONS=shadow?)", strerror(-rc));
		return 1;
	}
	MDB_OK(mdb_txn_commit(open_txn));
	p_set_hook(fs, NULL, NULL);
	if (h.err)
		fail("udax_shadow_save in the fence hook: %s", strerror(-h.err));
	printf("  commit of transaction %d issued %llu fences; %u images saved inside it\n",
	       T_OPEN, (unsigned long long)h.count, h.saved);
	printf("FENCES %llu\n", (unsigned long long)h.count);
	snprintf(path, sizeof(path), "%s-done", image);
	if (save_image(fs, path))
		return 1;
	fflush(stdout);
	/* the crash: no close, no unmount */
	_exit(failed ? 1 : 0);
}

/* ------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
	        "usage: %s write DIR [--writemap]\n"
	        "       %s verify DIR [--expect T[,T2]]\n"
	        "       %s crash DIR IMAGE [--writemap] [--fences F --samples S [--subsets N]]\n"
	        "       %s model T\n",
	        prog, prog, prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	int writemap = 0;
	const char *expect = NULL;
	uint64_t fences = 0;
	unsigned samples = 0, subsets = 0;
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--writemap"))
			writemap = 1;
		else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--fences") && i + 1 < argc)
			fences = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--subsets") && i + 1 < argc)
			subsets = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (argv[i][0] == '-' || npos == 3)
			return usage();
		else
			pos[npos++] = argv[i];
	}
	if (npos < 2)
		return usage();
	build_model();
	if (!strcmp(pos[0], "model")) {
		int t = atoi(pos[1]);
		if (t < 0 || t > T_OPEN)
			return usage();
		printf("%u\n", model_count[t]);
		return 0;
	}
	if (!strcmp(pos[0], "write") && npos == 2)
		return mode_write(pos[1], writemap);
	if (!strcmp(pos[0], "verify") && npos == 2)
		return mode_verify(pos[1], expect);
	if (!strcmp(pos[0], "crash") && npos == 3)
		return mode_crash(pos[1], pos[2], writemap, fences, samples, subsets);
	return usage();
}
