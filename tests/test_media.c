/*
 * test_media.c - bad input to the media layer.
 *
 * mkfs and mount are fed pools that are missing, too small, truncated,
 * of a newer format, garbage, or edited behind udax's back (with and
 * without a recomputed CRC), and must answer with the errno udax.h
 * documents and a non-empty udax_last_error().  Corrupted structures
 * (bitmap, inodes, extent leaves, directory blocks, journal, mount
 * record) must be refused or reported by udax_fsck, and what is stored
 * elsewhere must stay readable.  A bounded fuzz loop flips bytes in the
 * metadata of a small pool and checks that nothing crashes or hangs.
 *
 * Pools are edited with pread/pwrite on the host file while unmounted;
 * structures are found from the superblock in block 0, exactly as
 * src/media/layout.h lays them out.
 */
#include "t.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "media/crc32c.h"
#include "media/layout.h"

/* ------------------------------------------------------------------ */
/* Host-side access to a pool file                                    */
/* ------------------------------------------------------------------ */

static int hread(const char *p, void *buf, size_t n, uint64_t off)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = pread(fd, buf, n, (off_t)off);
	close(fd);
	return r == (ssize_t)n ? 0 : -EIO;
}

static int hwrite(const char *p, const void *buf, size_t n, uint64_t off)
{
	int fd = open(p, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = pwrite(fd, buf, n, (off_t)off);
	close(fd);
	return r == (ssize_t)n ? 0 : -EIO;
}

static uint64_t hsize(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The whole file in a malloc'ed buffer (size in *n). */
static char *hslurp(const char *p, size_t *n)
{
	*n = hsize(p);
	char *b = malloc(*n ? *n : 1);
	if (b && *n && hread(p, b, *n, 0) < 0) {
		free(b);
		return NULL;
	}
	return b;
}

static int hcopy(const char *from, const char *to)
{
	size_t n;
	char *b = hslurp(from, &n);
	if (!b)
		return -1;
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, b, n) == (ssize_t)n;
	if (fd >= 0)
		close(fd);
	free(b);
	return ok ? 0 : -1;
}

static int hcreate(const char *p, const void *buf, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	int ok = n == 0 || write(fd, buf, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -EIO;
}

static void hflip(const char *p, uint64_t off, uint8_t x)
{
	uint8_t b;
	if (hread(p, &b, 1, off) == 0) {
		b ^= x;
		hwrite(p, &b, 1, off);
	}
}

/* ---- sealing, as format.md section 1 describes ---- */

static void sb_seal(struct dsuper *sb)
{
	sb->crc = 0;
	sb->crc = crc32c(0, sb, sizeof(*sb));
}

static void ino_seal(struct dinode *d)
{
	d->crc = 0;
	d->crc = crc32c(0, d, sizeof(*d));
}

static void mrec_seal(struct dmount *m)
{
	m->crc = 0;
	m->crc = crc32c(0, m, sizeof(*m));
}

/* bitmap, journal header, leaf and directory block: crc at offset 4 */
static void blk_seal(void *blk)
{
	uint32_t c = 0;
	memcpy((char *)blk + 4, &c, 4);
	c = crc32c(0, blk, BLK);
	memcpy((char *)blk + 4, &c, 4);
}

static uint64_t ino_off(const struct dsuper *sb, uint64_t ino)
{
	return (sb->itable_start + (ino - 1) / INODES_PER_BLOCK) * BLK +
	       ((ino - 1) % INODES_PER_BLOCK) * INODE_SIZE;
}

static void ino_get(const char *p, const struct dsuper *sb, uint64_t ino, struct dinode *d)
{
	memset(d, 0, sizeof(*d));
	hread(p, d, sizeof(*d), ino_off(sb, ino));
}

static void ino_put(const char *p, const struct dsuper *sb, uint64_t ino, struct dinode *d,
                    int reseal)
{
	if (reseal)
		ino_seal(d);
	hwrite(p, d, sizeof(*d), ino_off(sb, ino));
}

static void blk_get(const char *p, uint64_t blk, void *buf)
{
	memset(buf, 0, BLK);
	hread(p, buf, BLK, blk * BLK);
}

static void blk_put(const char *p, uint64_t blk, void *buf, int reseal)
{
	if (reseal)
		blk_seal(buf);
	hwrite(p, buf, BLK, blk * BLK);
}

static void mrec_get(const char *p, struct dmount *m)
{
	memset(m, 0, sizeof(*m));
	hread(p, m, sizeof(*m), MOUNT_OFFSET);
}

/* First extent leaf block of @ino and the pool block of its file block 0. */
static uint64_t first_pblk(const char *p, const struct dsuper *sb, uint64_t ino, uint64_t *leaf)
{
	struct dinode d;
	static struct dleaf l;

	ino_get(p, sb, ino, &d);
	*leaf = d.extent_head;
	if (!d.extent_head)
		return 0;
	blk_get(p, d.extent_head, &l);
	return l.count ? l.ext[0].pblk : 0;
}

/* ------------------------------------------------------------------ */
/* A sample pool with known files                                     */
/* ------------------------------------------------------------------ */

struct sfile {
	const char *name;
	unsigned seed;
	size_t len;
};

static const struct sfile SF[] = {
	{ "/a", 1, 10000 },
	{ "/b", 2, 5 * 4096 },
	{ "/d1/x", 3, 5000 },
	{ "/d2/y", 4, 7000 },
	{ "/e", 5, 0 },
};
#define NSF (sizeof(SF) / sizeof(SF[0]))
enum { F_A, F_B, F_X, F_Y, F_E };

struct sample {
	char path[256];
	struct dsuper sb;
	uint64_t ino[NSF];
	uint64_t ino_d1, ino_d2;
};

static int write_file(udax_fs *fs, const char *name, unsigned seed, size_t len)
{
	int fd = udax_open(fs, name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	char *b = malloc(len ? len : 1);
	t_fill(b, len, seed);
	ssize_t w = len ? udax_pwrite(fs, fd, b, len, 0) : 0;
	free(b);
	udax_close(fs, fd);
	return w == (ssize_t)len ? 0 : -EIO;
}

/* 1 = size and content match, 0 = they do not, <0 = errno of open/read. */
static int file_matches(udax_fs *fs, const char *name, unsigned seed, size_t len)
{
	int fd = udax_open(fs, name, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	char *want = malloc(len + 1), *got = malloc(len + 4097);
	t_fill(want, len, seed);
	ssize_t r = udax_pread(fs, fd, got, len + 4096, 0);
	udax_close(fs, fd);
	int ok = r == (ssize_t)len && memcmp(want, got, len) == 0;
	free(want);
	free(got);
	return r < 0 ? (int)r : ok;
}

/* Number of sample files (not in @skip, a bit mask) that do not read back. */
static int files_bad(udax_fs *fs, unsigned skip)
{
	int bad = 0;
	for (unsigned i = 0; i < NSF; i++) {
		if (skip & (1u << i))
			continue;
		int r = file_matches(fs, SF[i].name, SF[i].seed, SF[i].len);
		if (r != 1) {
			fprintf(stderr, "    %s does not read back (%d)\n", SF[i].name, r);
			bad++;
		}
	}
	return bad;
}

/* Mount read-write, check the sample files, unmount.  -1000 if the
 * mount fails, else the number of bad files. */
static int mount_verify(const char *p, unsigned skip)
{
	udax_fs *fs;
	int r = udax_mount(p, NULL, &fs);
	if (r) {
		fprintf(stderr, "    mount %s: %d (%s)\n", p, r, udax_last_error());
		return -1000;
	}
	int bad = files_bad(fs, skip);
	udax_unmount(fs);
	return bad;
}

static uint64_t ino_of(udax_fs *fs, const char *path)
{
	struct stat st;
	return udax_stat(fs, path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* After a clean unmount the journal header still describes the last
 * transaction, which every mount replays (format.md 4.3: replaying a
 * checkpointed transaction rewrites identical contents).  Tests that
 * edit home blocks behind udax's back therefore clear the header first:
 * everything is checkpointed, so an invalid header means the same
 * thing (format.md 10). */
static void journal_forget(const char *p)
{
	static const char zero[BLK];
	hwrite(p, zero, BLK, (uint64_t)JOURNAL_START * BLK);
}

static int make_sample_j(struct sample *s, const char *tag, unsigned mb, int keep_journal)
{
	udax_fs *fs;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", t_pool(tag));
	if (udax_mkfs(s->path, (uint64_t)mb << 20, 0) || udax_mount(s->path, NULL, &fs))
		return -1;
	int err = udax_mkdir(fs, "/d1", 0755) | udax_mkdir(fs, "/d2", 0755);
	for (unsigned i = 0; i < NSF && !err; i++) {
		err = write_file(fs, SF[i].name, SF[i].seed, SF[i].len);
		s->ino[i] = ino_of(fs, SF[i].name);
	}
	s->ino_d1 = ino_of(fs, "/d1");
	s->ino_d2 = ino_of(fs, "/d2");
	udax_unmount(fs);
	if (err || hread(s->path, &s->sb, sizeof(s->sb), 0))
		return -1;
	if (t_fsck(s->path) != 0)
		return -1;
	if (!keep_journal)
		journal_forget(s->path);
	return 0;
}

static int make_sample(struct sample *s, const char *tag, unsigned mb)
{
	return make_sample_j(s, tag, mb, 0);
}

/* ---- fsck with the problems captured ---- */

struct probs {
	int n;
	char text[16384];
};

static void capture(void *arg, const char *msg)
{
	struct probs *p = arg;
	size_t l = strlen(p->text);
	p->n++;
	snprintf(p->text + l, sizeof(p->text) - l, "      %s\n", msg);
}

static int fsck_cap(const char *pool, struct probs *p)
{
	memset(p, 0, sizeof(*p));
	return udax_fsck(pool, capture, p);
}

/* fsck must find > 0 problems and one of them must mention @what. */
#define CHECK_FSCK_FINDS(pool, what) do { \
	struct probs pr_; \
	int fr_ = fsck_cap((pool), &pr_); \
	CHECK(fr_ > 0); \
	if (fr_ <= 0 || !strstr(pr_.text, (what))) { \
		CHECK(strstr(pr_.text, (what)) != NULL); \
		fprintf(stderr, "    fsck returned %d, expected a problem about '%s'; reported:\n%s", \
		        fr_, (what), pr_.text); \
	} \
} while (0)

/* The mount must fail with @want and leave an explanation. */
#define CHECK_MOUNT_FAILS(path, opts, want) do { \
	udax_fs *fs_ = NULL; \
	int r_ = udax_mount((path), (opts), &fs_); \
	CHECK_EQ(r_, (want)); \
	if (r_ == 0) \
		udax_unmount(fs_); \
	else \
		CHECK(udax_last_error()[0] != '\0'); \
} while (0)

/* ---- running something that may crash in a child ---- */

/* Returns the child's exit status, or -signal if it died of one. */
static int in_child(void (*fn)(void *), void *arg, unsigned timeout_s)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0) {
		alarm(timeout_s);
		fn(arg);
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1000;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return -WTERMSIG(st);
}

/* ------------------------------------------------------------------ */
/* Layout: our reading of the format matches what mkfs writes         */
/* ------------------------------------------------------------------ */

static void test_layout_sanity(void)
{
	CHECK_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
	static const uint8_t zero[256];
	CHECK_EQ(crc32c(0, zero, 256), 0xB872B190u);

	struct sample s;
	REQUIRE(make_sample_j(&s, "layout", 16, 1) == 0);
	struct dsuper sb = s.sb, t;
	CHECK(memcmp(sb.magic, SB_MAGIC, 8) == 0);
	CHECK_EQ(sb.version, FORMAT_VERSION);
	CHECK_EQ(sb.block_size, 4096);
	CHECK_EQ(sb.inode_size, 256);
	CHECK_EQ(sb.nblocks, 4096);
	CHECK_EQ(sb.journal_start, 1);
	CHECK_EQ(sb.journal_blocks, 255);
	CHECK_EQ(sb.bitmap_start, 256);
	CHECK_EQ(sb.bitmap_blocks, 1);
	CHECK_EQ(sb.itable_start, 257);
	CHECK_EQ(sb.ninodes, 1024);
	CHECK_EQ(sb.itable_blocks, 64);
	CHECK_EQ(sb.data_start, 321);
	CHECK_EQ(sb.root_ino, 1);
	t = sb;
	sb_seal(&t);
	CHECK_EQ(t.crc, sb.crc);

	struct dmount mr, mt;
	mrec_get(s.path, &mr);
	CHECK_EQ(mr.magic, MOUNT_MAGIC);
	CHECK_EQ(mr.state, STATE_CLEAN);
	mt = mr;
	mrec_seal(&mt);
	CHECK_EQ(mt.crc, mr.crc);

	static struct dbitmap bm, bt;
	blk_get(s.path, sb.bitmap_start, &bm);
	CHECK_EQ(bm.magic, BITMAP_MAGIC);
	CHECK_EQ(bm.index, 0);
	bt = bm;
	blk_seal(&bt);
	CHECK_EQ(bt.crc, bm.crc);
	/* metadata blocks are marked used, LSB first */
	CHECK_EQ(bm.bits[0], 0xff);
	CHECK(bm.bits[320 / 8] & (1u << (320 % 8)));

	struct dinode root, rt, a;
	ino_get(s.path, &sb, ROOT_INO, &root);
	CHECK(S_ISDIR(root.mode));
	CHECK_EQ(root.ino, 1);
	CHECK_EQ(root.parent, 1);
	rt = root;
	ino_seal(&rt);
	CHECK_EQ(rt.crc, root.crc);
	ino_get(s.path, &sb, s.ino[F_A], &a);
	CHECK(S_ISREG(a.mode));
	CHECK_EQ(a.size, 10000);
	CHECK_EQ(a.blocks, 3);
	CHECK_EQ(a.nlink, 1);

	uint64_t leaf, pblk = first_pblk(s.path, &sb, s.ino[F_A], &leaf);
	CHECK(leaf >= sb.data_start && leaf < sb.nblocks);
	CHECK(pblk >= sb.data_start && pblk < sb.nblocks);
	static struct dleaf l, lt;
	blk_get(s.path, leaf, &l);
	CHECK_EQ(l.magic, LEAF_MAGIC);
	CHECK_EQ(l.owner, s.ino[F_A]);
	lt = l;
	blk_seal(&lt);
	CHECK_EQ(lt.crc, l.crc);
	/* the file's data is where the extent says */
	char want[4096], got[4096];
	t_fill(want, sizeof(want), SF[F_A].seed);
	hread(s.path, got, sizeof(got), pblk * BLK);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	CHECK(bm.bits[pblk / 8] & (1u << (pblk % 8)));

	uint64_t dleafb, dpblk = first_pblk(s.path, &sb, s.ino_d2, &dleafb);
	static struct ddirblock db;
	blk_get(s.path, dpblk, &db);
	CHECK_EQ(db.magic, DIRB_MAGIC);
	CHECK_EQ(db.owner, s.ino_d2);
	CHECK_EQ(db.used, 1);
	CHECK_EQ(db.slot[0].ino, s.ino[F_Y]);
	CHECK_EQ(db.slot[0].name_len, 1);
	CHECK_EQ(db.slot[0].type, DT_REG_);
	unlink(s.path);
}

/* ------------------------------------------------------------------ */
/* mkfs                                                               */
/* ------------------------------------------------------------------ */

static void test_mkfs_refuses_existing(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "mkfs-exist", 16) == 0);
	uint64_t size0 = hsize(s.path);

	CHECK_EQ(udax_mkfs(s.path, 16 << 20, 0), -EEXIST);
	CHECK(udax_last_error()[0] != '\0');
	CHECK_EQ(udax_mkfs(s.path, 0, 0), -EEXIST);
	CHECK(udax_last_error()[0] != '\0');
	/* a different size must not resize the refused pool either */
	CHECK_EQ(udax_mkfs(s.path, 32 << 20, 0), -EEXIST);
	CHECK_EQ(hsize(s.path), size0);
	/* FORCE with a bad size or a bad flag is refused before touching it */
	CHECK_EQ(udax_mkfs(s.path, UDAX_MIN_POOL_SIZE - 4096, UDAX_MKFS_FORCE), -EINVAL);
	CHECK_EQ(udax_mkfs(s.path, 16 << 20, UDAX_MKFS_FORCE | 0x4), -EINVAL);
	CHECK_EQ(hsize(s.path), size0);

	/* everything stored is still there */
	CHECK_EQ(mount_verify(s.path, 0), 0);
	CHECK_EQ(t_fsck(s.path), 0);

	/* FORCE overwrites */
	CHECK_EQ(udax_mkfs(s.path, 16 << 20, UDAX_MKFS_FORCE), 0);
	udax_fs *fs;
	REQUIRE(udax_mount(s.path, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/a", O_RDONLY, 0), -ENOENT);
	struct udax_statfs sf;
	udax_statfs(fs, &sf);
	CHECK_EQ(sf.free_inodes, sf.total_inodes - 1);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(s.path), 0);
	/* and FORCE on something that is not a pool works as well */
	CHECK_EQ(udax_mkfs(s.path, 8 << 20, UDAX_MKFS_FORCE), 0);
	CHECK_EQ(hsize(s.path), 8 << 20);
	CHECK_EQ(t_fsck(s.path), 0);
	unlink(s.path);
}

static void test_mkfs_bad_args(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s", t_pool("mkfs-args"));

	/* below the minimum: refused, and nothing created */
	CHECK_EQ(udax_mkfs(p, UDAX_MIN_POOL_SIZE - 4096, 0), -EINVAL);
	CHECK(udax_last_error()[0] != '\0');
	CHECK(access(p, F_OK) != 0);
	CHECK_EQ(udax_mkfs(p, 1, 0), -EINVAL);
	CHECK(access(p, F_OK) != 0);
	/* a size that rounds down below the minimum */
	CHECK_EQ(udax_mkfs(p, UDAX_MIN_POOL_SIZE - 1, 0), -EINVAL);
	CHECK(access(p, F_OK) != 0);

	/* nonexistent path, size 0: nothing to size it from */
	int r = udax_mkfs(p, 0, 0);
	CHECK(r < 0);
	CHECK(udax_last_error()[0] != '\0');
	CHECK(access(p, F_OK) != 0);

	/* unknown flags */
	CHECK_EQ(udax_mkfs(p, 16 << 20, 0x2), -EINVAL);
	CHECK(udax_last_error()[0] != '\0');
	CHECK_EQ(udax_mkfs(p, 16 << 20, 0x80000000u), -EINVAL);
	CHECK_EQ(udax_mkfs(p, 16 << 20, ~0u), -EINVAL);
	CHECK(access(p, F_OK) != 0);

	/* no path */
	CHECK_EQ(udax_mkfs("", 16 << 20, 0), -EINVAL);
	CHECK_EQ(udax_mkfs(NULL, 16 << 20, 0), -EINVAL);
	/* a directory that does not exist */
	CHECK_EQ(udax_mkfs("/dev/shm/udax-no-such-dir-xyz/pool", 16 << 20, 0), -ENOENT);
	CHECK(udax_last_error()[0] != '\0');

	/* an existing file that is too small, size 0: refused, left alone */
	char small[1000];
	t_fill(small, sizeof(small), 99);
	REQUIRE(hcreate(p, small, sizeof(small)) == 0);
	CHECK_EQ(udax_mkfs(p, 0, 0), -EINVAL);
	CHECK(udax_last_error()[0] != '\0');
	char back[1000];
	CHECK_EQ(hsize(p), sizeof(small));
	CHECK(hread(p, back, sizeof(back), 0) == 0 && memcmp(back, small, sizeof(small)) == 0);
	unlink(p);

	/* the minimum exactly works; an odd size is rounded down */
	CHECK_EQ(udax_mkfs(p, UDAX_MIN_POOL_SIZE + 100, 0), 0);
	udax_fs *fs;
	if (udax_mount(p, NULL, &fs) == 0) {
		struct udax_info info;
		udax_info(fs, &info);
		CHECK_EQ(info.total_blocks, UDAX_MIN_POOL_SIZE / 4096);
		udax_unmount(fs);
	} else {
		CHECK(!"minimum-size pool does not mount");
	}
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
	/* a non-udax file of the right size is formatted without FORCE */
	char *junk = malloc(8 << 20);
	t_fill(junk, 8 << 20, 7);
	REQUIRE(hcreate(p, junk, 8 << 20) == 0);
	free(junk);
	CHECK_EQ(udax_mkfs(p, 0, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* mount: pools that are not there, garbage, too small                */
/* ------------------------------------------------------------------ */

static void test_mount_missing_and_garbage(void)
{
	char p[256];
	udax_fs *fs;
	snprintf(p, sizeof(p), "%s", t_pool("garbage"));

	CHECK_MOUNT_FAILS(p, NULL, -ENOENT);
	CHECK_MOUNT_FAILS("/dev/shm/udax-no-such-dir-xyz/pool", NULL, -ENOENT);
	CHECK_MOUNT_FAILS(p, "ro", -ENOENT);
	CHECK(udax_fsck(p, NULL, NULL) < 0);
	CHECK_EQ(udax_mount(NULL, NULL, &fs), -EINVAL);
	CHECK_EQ(udax_mount(p, NULL, NULL), -EINVAL);

	/* random bytes */
	size_t n = 1 << 20;
	char *b = malloc(n);
	t_fill(b, n, 1234);
	REQUIRE(hcreate(p, b, n) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EINVAL);
	CHECK_MOUNT_FAILS(p, "ro", -EINVAL);
	CHECK(udax_fsck(p, NULL, NULL) < 0);
	/* random bytes behind a valid magic: the checksum fails */
	memcpy(b, SB_MAGIC, 8);
	REQUIRE(hcreate(p, b, n) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) != 0);
	/* zeros */
	memset(b, 0, n);
	REQUIRE(hcreate(p, b, n) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EINVAL);
	free(b);

	/* shorter than a block */
	REQUIRE(hcreate(p, "udax", 4) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EINVAL);
	REQUIRE(hcreate(p, "", 0) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EINVAL);
	CHECK_MOUNT_FAILS(p, "ro", -EINVAL);
	CHECK(udax_fsck(p, NULL, NULL) < 0);

	/* the first 4095 bytes of a real pool: still too small */
	struct sample s;
	REQUIRE(make_sample(&s, "garbage-src", 16) == 0);
	char blk0[4096];
	hread(s.path, blk0, sizeof(blk0), 0);
	REQUIRE(hcreate(p, blk0, 4095) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EINVAL);
	/* exactly block 0 of a real pool: superblock says 4096 blocks */
	REQUIRE(hcreate(p, blk0, 4096) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EFBIG);

	/* things that are not regular pool files */
	CHECK_MOUNT_FAILS("/dev/null", "ro", -EINVAL);
	fs = NULL;
	int r = udax_mount("/dev/shm", NULL, &fs);
	CHECK(r < 0);
	if (r == 0)
		udax_unmount(fs);
	else
		CHECK(udax_last_error()[0] != '\0');

	/* the source pool was not disturbed by any of this */
	CHECK_EQ(mount_verify(s.path, 0), 0);
	unlink(p);
	unlink(s.path);
}

static void test_mount_truncated(void)
{
	struct sample s;
	char p[256];
	REQUIRE(make_sample(&s, "trunc-src", 16) == 0);
	snprintf(p, sizeof(p), "%s", t_pool("trunc"));
	uint64_t size = hsize(s.path);

	REQUIRE(hcopy(s.path, p) == 0);
	REQUIRE(truncate(p, (off_t)(size / 2)) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EFBIG);
	CHECK_MOUNT_FAILS(p, "ro", -EFBIG);
	CHECK(udax_fsck(p, NULL, NULL) != 0);

	/* one block short, and a partial last block */
	REQUIRE(hcopy(s.path, p) == 0);
	REQUIRE(truncate(p, (off_t)(size - 4096)) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EFBIG);
	REQUIRE(hcopy(s.path, p) == 0);
	REQUIRE(truncate(p, (off_t)(size - 1)) == 0);
	CHECK_MOUNT_FAILS(p, NULL, -EFBIG);

	/* longer than the superblock says is fine */
	REQUIRE(hcopy(s.path, p) == 0);
	REQUIRE(truncate(p, (off_t)(size + 3 * 4096 + 100)) == 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);

	CHECK_EQ(mount_verify(s.path, 0), 0);
	unlink(p);
	unlink(s.path);
}

/* ------------------------------------------------------------------ */
/* mount: superblock fields                                           */
/* ------------------------------------------------------------------ */

/* Write @mod (sealed if @reseal) over the superblock, mount with @opts,
 * put @orig back.  A refusal without a message or one that fsck calls
 * clean is reported. */
static int sb_try(const char *p, const struct dsuper *orig, struct dsuper *mod, int reseal,
                  const char *opts, const char *label, int line)
{
	udax_fs *fs = NULL;
	if (reseal)
		sb_seal(mod);
	hwrite(p, mod, sizeof(*mod), 0);
	int r = udax_mount(p, opts, &fs);
	if (r == 0) {
		udax_unmount(fs);
	} else {
		if (!udax_last_error()[0]) {
			fprintf(stderr, "  FAIL %s:%d [%s]: '%s': refused (%d) without a message\n",
			        __FILE__, line, t_name, label, r);
			t_cur_failed = 1;
		}
		if (!opts && udax_fsck(p, NULL, NULL) == 0) {
			fprintf(stderr, "  FAIL %s:%d [%s]: '%s': mount refused (%d) but fsck clean\n",
			        __FILE__, line, t_name, label, r);
			t_cur_failed = 1;
		}
	}
	hwrite(p, orig, sizeof(*orig), 0);
	return r;
}

static void sb_case(const char *p, const struct dsuper *orig, struct dsuper *mod, int reseal,
                    const char *opts, int want, const char *label, int line)
{
	int r = sb_try(p, orig, mod, reseal, opts, label, line);
	if (r != want) {
		fprintf(stderr, "  FAIL %s:%d [%s]: superblock '%s'%s%s: mount gave %d (%s), expected %d\n",
		        __FILE__, line, t_name, label, reseal ? " (crc fixed)" : " (crc stale)",
		        opts ? " ro" : "", r, r ? udax_last_error() : "", want);
		t_cur_failed = 1;
	}
}

/* SB(stmt on m_, reseal, opts, expected errno) */
#define SB(stmt, reseal, opts, want) do { \
	struct dsuper m_ = orig; \
	stmt; \
	sb_case(p, &orig, &m_, (reseal), (opts), (want), #stmt, __LINE__); \
} while (0)

static void test_super_version_features(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "sbver", 16) == 0);
	const char *p = s.path;
	const struct dsuper orig = s.sb;

	SB(m_.version = 2, 1, NULL, -EPROTONOSUPPORT);
	SB(m_.version = 2, 1, "ro", -EPROTONOSUPPORT);
	SB(m_.version = 0xffffffffu, 1, NULL, -EPROTONOSUPPORT);
	SB(m_.version = 0, 1, NULL, -EUCLEAN);
	SB(m_.feat_incompat |= 1, 1, NULL, -EPROTONOSUPPORT);
	SB(m_.feat_incompat |= 1, 1, "ro", -EPROTONOSUPPORT);
	SB(m_.feat_incompat |= 0x80000000u, 1, NULL, -EPROTONOSUPPORT);
	SB(m_.feat_ro_compat |= 1, 1, NULL, -EPROTONOSUPPORT);
	SB(m_.feat_ro_compat |= 0x100, 1, "rw", -EPROTONOSUPPORT);
	SB(m_.feat_compat |= 1, 1, NULL, 0);  /* ignored */
	SB(m_.feat_compat = ~0u, 1, NULL, 0);
	/* the same changes with a stale CRC are checksum errors first */
	SB(m_.version = 2, 0, NULL, -EUCLEAN);
	SB(m_.feat_incompat |= 1, 0, NULL, -EUCLEAN);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);

	/* an unknown ro-compatible feature still allows a read-only mount.
	 * (A freshly made pool: its journal is empty, see test_ro_mount.) */
	char q[256];
	snprintf(q, sizeof(q), "%s", t_pool("sbver-ro"));
	REQUIRE(udax_mkfs(q, 16 << 20, 0) == 0);
	struct dsuper o2;
	hread(q, &o2, sizeof(o2), 0);
	{
		struct dsuper m_ = o2;
		m_.feat_ro_compat |= 1;
		sb_case(q, &o2, &m_, 1, "ro", 0, "feat_ro_compat |= 1", __LINE__);
		m_ = o2;
		m_.feat_ro_compat |= 1;
		sb_case(q, &o2, &m_, 1, NULL, -EPROTONOSUPPORT, "feat_ro_compat |= 1", __LINE__);
	}
	CHECK_EQ(t_fsck(q), 0);
	unlink(q);
	unlink(p);
}

static void test_super_flip_no_crc(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "sbflip", 16) == 0);
	const char *p = s.path;
	const struct dsuper orig = s.sb;

	SB(m_.uuid[3] ^= 0x10, 0, NULL, -EUCLEAN);
	SB(m_.uuid[3] ^= 0x10, 0, "ro", -EUCLEAN);
	SB(m_.crc ^= 1, 0, NULL, -EUCLEAN);
	SB(m_.mkfs_time++, 0, NULL, -EUCLEAN);
	SB(m_.reserved[100] = 0x5a, 0, NULL, -EUCLEAN);
	SB(m_.nblocks ^= 1, 0, NULL, -EUCLEAN);
	SB(m_.data_start++, 0, NULL, -EUCLEAN);
	/* the magic is checked first: not a udax pool at all */
	SB(m_.magic[0] = 'X', 0, NULL, -EINVAL);
	SB(m_.magic[7] ^= 0x20, 1, NULL, -EINVAL);
	/* byte flips anywhere in the 512 bytes, one at a time */
	for (unsigned off = 0; off < sizeof(struct dsuper); off += 37) {
		struct dsuper m_ = orig;
		((uint8_t *)&m_)[off] ^= 0x41;
		char label[64];
		snprintf(label, sizeof(label), "byte %u ^= 0x41", off);
		sb_case(p, &orig, &m_, 0, NULL, off < 8 ? -EINVAL : -EUCLEAN, label, __LINE__);
	}
	/* bytes 512..1023 and past the mount record are not covered by any
	 * CRC and unused: changing them is harmless */
	hflip(p, 700, 0xff);
	hflip(p, 2000, 0xff);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_super_geometry(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "sbgeo", 16) == 0);
	const char *p = s.path;
	const struct dsuper orig = s.sb;

	/* every region field is recomputed from nblocks and ninodes */
	SB(m_.bitmap_start++, 1, NULL, -EUCLEAN);
	SB(m_.bitmap_start = 0, 1, NULL, -EUCLEAN);
	SB(m_.bitmap_blocks++, 1, NULL, -EUCLEAN);
	SB(m_.bitmap_blocks = 0, 1, NULL, -EUCLEAN);
	SB(m_.itable_start++, 1, NULL, -EUCLEAN);
	SB(m_.itable_blocks--, 1, NULL, -EUCLEAN);
	SB(m_.data_start--, 1, NULL, -EUCLEAN);
	SB(m_.data_start++, 1, NULL, -EUCLEAN);
	SB(m_.data_start = 0, 1, NULL, -EUCLEAN);
	SB(m_.data_start = m_.nblocks + 1, 1, NULL, -EUCLEAN);
	SB(m_.journal_start = 0, 1, NULL, -EUCLEAN);
	SB(m_.journal_blocks = 254, 1, NULL, -EUCLEAN);
	SB(m_.ninodes += 16, 1, NULL, -EUCLEAN);
	SB(m_.ninodes -= 16, 1, NULL, -EUCLEAN);
	SB(m_.ninodes = 0, 1, NULL, -EUCLEAN);
	SB(m_.ninodes = 1000, 1, NULL, -EUCLEAN);
	SB(m_.ninodes = 1ull << 40, 1, NULL, -EUCLEAN);
	SB(m_.root_ino = 2, 1, NULL, -EUCLEAN);
	SB(m_.block_size = 8192, 1, NULL, -EUCLEAN);
	SB(m_.inode_size = 128, 1, NULL, -EUCLEAN);
	/* nblocks larger than the file */
	SB(m_.nblocks *= 2, 1, NULL, -EFBIG);
	SB(m_.nblocks++, 1, NULL, -EFBIG);
	SB(m_.nblocks = UINT64_MAX, 1, NULL, -EFBIG);
	SB(m_.nblocks = UINT64_MAX, 1, "ro", -EFBIG);
	/* nblocks smaller: no room for data, or inconsistent bitmap size */
	SB(m_.nblocks = 330, 1, NULL, -EUCLEAN);
	SB(m_.nblocks = 0, 1, NULL, -EUCLEAN);
	/* all region fields consistent with a huge inode count: no room */
	SB((m_.ninodes = 1ull << 32, m_.itable_blocks = m_.ninodes / 16,
	    m_.data_start = m_.itable_start + m_.itable_blocks), 1, NULL, -EUCLEAN);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);

	/* A self-consistent geometry that is not the one mkfs wrote (more
	 * inodes: the table grows over the data area).  format.md allows
	 * any ninodes, so mount may accept the superblock, but the pool
	 * cannot be consistent: refused or reported by fsck. */
	{
		struct dsuper m_ = orig;
		m_.ninodes = 2048;
		m_.itable_blocks = 128;
		m_.data_start = m_.itable_start + 128;
		sb_seal(&m_);
		hwrite(p, &m_, sizeof(m_), 0);
		udax_fs *fs;
		int r = udax_mount(p, NULL, &fs);
		if (r == 0)
			udax_unmount(fs);
		CHECK(r == 0 || r == -EUCLEAN);
		CHECK(udax_fsck(p, NULL, NULL) != 0);
		/* fewer inodes: the old table's tail becomes data nobody owns */
		m_ = orig;
		m_.ninodes = 512;
		m_.itable_blocks = 32;
		m_.data_start = m_.itable_start + 32;
		sb_seal(&m_);
		hwrite(p, &m_, sizeof(m_), 0);
		r = udax_mount(p, NULL, &fs);
		if (r == 0)
			udax_unmount(fs);
		CHECK(r == 0 || r == -EUCLEAN);
		CHECK(udax_fsck(p, NULL, NULL) > 0);
		hwrite(p, &orig, sizeof(orig), 0);
	}
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* mount: options, twice, read-only                                   */
/* ------------------------------------------------------------------ */

static void test_mount_options(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "opts", 16) == 0);
	const char *p = s.path;

	CHECK_MOUNT_FAILS(p, "bogus", -EINVAL);
	CHECK_MOUNT_FAILS(p, "ro,bogus", -EINVAL);
	CHECK_MOUNT_FAILS(p, "bogus,ro", -EINVAL);
	CHECK_MOUNT_FAILS(p, "RO", -EINVAL);
	CHECK_MOUNT_FAILS(p, "ro ", -EINVAL);
	CHECK_MOUNT_FAILS(p, "write_lock", -EINVAL);
	CHECK_MOUNT_FAILS(p, "write_lock=", -EINVAL);
	CHECK_MOUNT_FAILS(p, "write_lock=none", -EINVAL);
	CHECK_MOUNT_FAILS(p, "write_lock=entryx", -EINVAL);
	char longopt[400];
	memset(longopt, 'r', sizeof(longopt) - 1);
	longopt[sizeof(longopt) - 1] = 0;
	CHECK_MOUNT_FAILS(p, longopt, -EINVAL);
	/* valid ones */
	const char *good[] = { "", "rw", "write_lock=range", "write_lock=exclusive,rw",
	                       "write_lock=flush", ",rw,", "write_lock=entry" };
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		udax_fs *fs;
		int r = udax_mount(p, good[i], &fs);
		CHECK_EQ(r, 0);
		if (r == 0) {
			CHECK_EQ(files_bad(fs, 0), 0);
			udax_unmount(fs);
		} else {
			fprintf(stderr, "    option '%s' refused: %s\n", good[i], udax_last_error());
		}
	}
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_mount_twice(void)
{
	struct sample s;
	REQUIRE(make_sample_j(&s, "twice", 16, 1) == 0);
	const char *p = s.path;
	udax_fs *fs, *fs2 = NULL;

	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	/* a file unlinked while open: an orphan that only this mount holds */
	int ofd = udax_open(fs, "/orphan", O_RDWR | O_CREAT, 0644);
	REQUIRE(ofd >= 0);
	char ob[8192], out[8192];
	t_fill(ob, sizeof(ob), 77);
	CHECK_EQ(udax_pwrite(fs, ofd, ob, sizeof(ob), 0), sizeof(ob));
	CHECK_EQ(udax_unlink(fs, "/orphan"), 0);
	struct stat ost;
	CHECK_EQ(udax_fstat(fs, ofd, &ost), 0);
	uint64_t oino = (uint64_t)ost.st_ino;

	size_t n0, n1;
	char *before = hslurp(p, &n0);
	struct dmount mr0, mr1;
	mrec_get(p, &mr0);
	CHECK_EQ(mr0.state, STATE_DIRTY);

	int r = udax_mount(p, NULL, &fs2);
	CHECK_EQ(r, -EBUSY);
	if (r == 0)
		udax_unmount(fs2);
	else
		CHECK(udax_last_error()[0] != '\0');
	r = udax_mount(p, "ro", &fs2);
	CHECK_EQ(r, -EBUSY);
	if (r == 0)
		udax_unmount(fs2);
	else
		CHECK(udax_last_error()[0] != '\0');

	/* the refused mounts wrote nothing: the pool is still marked in use
	 * and the first mount's orphan is still allocated */
	char *after = hslurp(p, &n1);
	mrec_get(p, &mr1);
	struct dinode od;
	ino_get(p, &s.sb, oino, &od);
	CHECK(od.mode != 0); /* the refused mount must not reap our orphan */
	CHECK_EQ(od.nlink, 0);
	CHECK_EQ(mr1.state, STATE_DIRTY);
	CHECK_EQ(mr1.mount_count, mr0.mount_count);
	REQUIRE(before && after);
	CHECK_EQ(n1, n0);
	if (n0 == n1) {
		/* outside the mount record */
		memset(before + MOUNT_OFFSET, 0, sizeof(struct dmount));
		memset(after + MOUNT_OFFSET, 0, sizeof(struct dmount));
		size_t first = n0;
		for (size_t i = 0; i < n0; i++)
			if (before[i] != after[i]) {
				first = i;
				break;
			}
		CHECK_EQ(first, n0);
		if (first != n0)
			fprintf(stderr, "    refused second mount changed the pool at byte %zu "
			        "(block %zu)\n", first, first / BLK);
	}
	free(before);
	free(after);

	/* the first mount still works */
	CHECK_EQ(udax_pread(fs, ofd, out, sizeof(out), 0), sizeof(out));
	CHECK(memcmp(out, ob, sizeof(ob)) == 0);
	CHECK_EQ(files_bad(fs, 0), 0);
	CHECK_EQ(write_file(fs, "/after", 88, 12345), 0);
	CHECK_EQ(udax_close(fs, ofd), 0);
	CHECK_EQ(udax_unmount(fs), 0);
	CHECK_EQ(t_fsck(p), 0);

	/* once unmounted it can be mounted again */
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(files_bad(fs, 0), 0);
	CHECK_EQ(file_matches(fs, "/after", 88, 12345), 1);
	CHECK_EQ(udax_open(fs, "/orphan", O_RDONLY, 0), -ENOENT);
	udax_unmount(fs);
	unlink(p);
}

static void test_ro_mount(void)
{
	struct sample s;
	REQUIRE(make_sample_j(&s, "ro", 16, 1) == 0);
	const char *p = s.path;
	udax_fs *fs;

	size_t n0, n1;
	char *before = hslurp(p, &n0);
	/* A cleanly unmounted pool needs no replay: ro must mount it. */
	int r = udax_mount(p, "ro", &fs);
	CHECK_EQ(r, 0);
	if (r == -EROFS) {
		/* Work around to exercise the rest: after a clean unmount every
		 * transaction is checkpointed, so an invalid journal header is
		 * equivalent (format.md 4.3). */
		fprintf(stderr, "    ro mount of a clean pool: %d (%s); retrying with the "
		        "journal header zeroed\n", r, udax_last_error());
		journal_forget(p);
		free(before);
		before = hslurp(p, &n0);
		r = udax_mount(p, "ro", &fs);
		CHECK_EQ(r, 0);
	}
	REQUIRE(r == 0);

	CHECK_EQ(udax_open(fs, "/a", O_RDWR, 0), -EROFS);
	CHECK_EQ(udax_open(fs, "/a", O_WRONLY, 0), -EROFS);
	CHECK_EQ(udax_open(fs, "/a", O_RDONLY | O_TRUNC, 0), -EROFS);
	CHECK_EQ(udax_open(fs, "/new", O_RDWR | O_CREAT, 0644), -EROFS);
	CHECK_EQ(udax_open(fs, "/new", O_RDONLY | O_CREAT, 0644), -EROFS);
	CHECK_EQ(udax_open(fs, "/d1/new", O_WRONLY | O_CREAT | O_EXCL, 0644), -EROFS);
	CHECK_EQ(udax_mkdir(fs, "/newdir", 0755), -EROFS);
	CHECK_EQ(udax_mkdir(fs, "/d1/sub", 0755), -EROFS);
	CHECK_EQ(udax_unlink(fs, "/a"), -EROFS);
	CHECK_EQ(udax_unlink(fs, "/d1/x"), -EROFS);
	CHECK_EQ(udax_rmdir(fs, "/d1"), -EROFS);
	CHECK_EQ(udax_rename(fs, "/a", "/a2", 0), -EROFS);
	CHECK_EQ(udax_rename(fs, "/a", "/b", 0), -EROFS);
	CHECK_EQ(udax_rename(fs, "/a", "/b", UDAX_RENAME_EXCHANGE), -EROFS);
	CHECK_EQ(udax_rename(fs, "/d1", "/d2/d1", 0), -EROFS);

	/* reads work */
	CHECK_EQ(files_bad(fs, 0), 0);
	int fd = udax_open(fs, "/a", O_RDONLY | O_CREAT, 0644); /* exists: fine */
	CHECK(fd >= 0);
	if (fd >= 0) {
		char b[16];
		CHECK_EQ(udax_write(fs, fd, "x", 1), -EBADF);
		CHECK(udax_pwrite(fs, fd, "x", 1, 0) < 0);
		CHECK(udax_ftruncate(fs, fd, 0) < 0);
		CHECK(udax_fallocate(fs, fd, 0, 0, 4096) < 0);
		CHECK_EQ(udax_read(fs, fd, b, sizeof(b)), sizeof(b));
		CHECK_EQ(udax_fsync(fs, fd), 0);
		CHECK_EQ(udax_close(fs, fd), 0);
	}
	udax_dir *d;
	CHECK_EQ(udax_opendir(fs, "/", &d), 0);
	if (d) {
		struct udax_dirent e;
		int cnt = 0;
		while (udax_readdir(d, &e) == 1)
			cnt++;
		CHECK_EQ(cnt, 5); /* a b d1 d2 e */
		udax_closedir(d);
	}
	struct stat st;
	CHECK_EQ(udax_stat(fs, "/d2/y", &st), 0);
	CHECK_EQ(st.st_size, 7000);
	struct udax_statfs sf;
	CHECK_EQ(udax_statfs(fs, &sf), 0);
	/* nothing changed by the refused calls */
	CHECK_EQ(udax_stat(fs, "/a", &st), 0);
	CHECK_EQ(udax_stat(fs, "/a2", &st), -ENOENT);
	CHECK_EQ(udax_stat(fs, "/newdir", &st), -ENOENT);
	CHECK_EQ(udax_unmount(fs), 0);

	/* a read-only mount writes nothing at all */
	char *after = hslurp(p, &n1);
	CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
	free(before);
	free(after);
	CHECK_EQ(t_fsck(p), 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	unlink(p);
}

/* An inode with nlink 0 but still named (a CRC-valid corruption) in a
 * read-only mount: using it must not try to free it (the pool is mapped
 * read-only). */
struct ro_orphan_arg {
	const char *pool;
};

static void ro_orphan_child(void *arg)
{
	struct ro_orphan_arg *a = arg;
	udax_fs *fs;
	struct stat st;

	if (udax_mount(a->pool, "ro", &fs) != 0)
		_exit(3);
	int fd = udax_open(fs, "/a", O_RDONLY, 0);
	if (fd >= 0) {
		char b[64];
		udax_pread(fs, fd, b, sizeof(b), 0);
		udax_close(fs, fd);
	}
	udax_stat(fs, "/a", &st);
	if (files_bad(fs, 1u << F_A) != 0)
		_exit(4);
	udax_unmount(fs);
	_exit(0);
}

static void test_ro_named_nlink0(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "ro-nlink0", 16) == 0);
	const char *p = s.path;
	struct dinode d;
	ino_get(p, &s.sb, s.ino[F_A], &d);
	d.nlink = 0;
	ino_put(p, &s.sb, s.ino[F_A], &d, 1);

	struct ro_orphan_arg a = { p };
	int st = in_child(ro_orphan_child, &a, 20);
	CHECK_EQ(st, 0);
	if (st < 0)
		fprintf(stderr, "    ro mount: open+close of a named inode with nlink 0 died "
		        "with signal %d\n", -st);
	/* read-write: the link count is wrong in any case */
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* Block bitmap                                                       */
/* ------------------------------------------------------------------ */

static void bit_set(struct dbitmap *bm, uint64_t i, int on)
{
	if (on)
		bm->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		bm->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static int bit_get(const struct dbitmap *bm, uint64_t i)
{
	return (bm->bits[i / 8] >> (i % 8)) & 1;
}

static void test_bitmap_flip(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "bmflip", 16) == 0);
	const char *p = s.path;
	uint64_t bmb = s.sb.bitmap_start;
	static struct dbitmap orig, bm;
	blk_get(p, bmb, &orig);

	/* a byte of the bits, no CRC fix */
	hflip(p, bmb * BLK + 16 + 100, 0x24);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK_FSCK_FINDS(p, "bitmap");
	blk_put(p, bmb, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);

	/* magic, index (CRC fixed), crc */
	bm = orig;
	bm.magic ^= 1;
	blk_put(p, bmb, &bm, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	bm = orig;
	bm.index = 1;
	blk_put(p, bmb, &bm, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	bm = orig;
	bm.crc ^= 0x8000;
	blk_put(p, bmb, &bm, 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	/* the bits past nblocks are "not fixed" (format.md 10): a change
	 * there with the CRC fixed is harmless */
	bm = orig;
	bm.bits[(BITS_PER_BITMAP - 1) / 8] ^= 0x80;
	blk_put(p, bmb, &bm, 1);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);

	blk_put(p, bmb, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_bitmap_used_marked_free(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "bmfree", 16) == 0);
	const char *p = s.path;
	uint64_t bmb = s.sb.bitmap_start, leaf;
	uint64_t pblk = first_pblk(p, &s.sb, s.ino[F_A], &leaf);
	REQUIRE(pblk >= s.sb.data_start);
	static struct dbitmap orig, bm;
	blk_get(p, bmb, &orig);
	REQUIRE(bit_get(&orig, pblk));

	/* a data block of /a */
	bm = orig;
	bit_set(&bm, pblk, 0);
	blk_put(p, bmb, &bm, 1);
	udax_fs *fs;
	int r = udax_mount(p, NULL, &fs);
	CHECK(r == 0 || r == -EUCLEAN);
	if (r == 0) {
		CHECK_EQ(files_bad(fs, 0), 0);
		udax_unmount(fs);
	}
	CHECK_FSCK_FINDS(p, "marked free");

	/* the extent leaf of /a */
	bm = orig;
	bit_set(&bm, leaf, 0);
	blk_put(p, bmb, &bm, 1);
	CHECK_FSCK_FINDS(p, "marked free");

	/* the root directory's block */
	uint64_t rleaf, rblk = first_pblk(p, &s.sb, ROOT_INO, &rleaf);
	bm = orig;
	bit_set(&bm, rblk, 0);
	blk_put(p, bmb, &bm, 1);
	CHECK_FSCK_FINDS(p, "marked free");

	blk_put(p, bmb, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_bitmap_leak_and_meta_free(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "bmleak", 16) == 0);
	const char *p = s.path;
	uint64_t bmb = s.sb.bitmap_start;
	static struct dbitmap orig, bm;
	blk_get(p, bmb, &orig);

	/* a leaked block: used, owned by nobody */
	uint64_t leak = s.sb.nblocks - 1;
	REQUIRE(!bit_get(&orig, leak));
	bm = orig;
	bit_set(&bm, leak, 1);
	blk_put(p, bmb, &bm, 1);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_FSCK_FINDS(p, "no inode owns");

	/* metadata blocks marked free: refused */
	uint64_t meta[] = { 0, JOURNAL_START, 100, s.sb.bitmap_start, s.sb.itable_start,
	                    s.sb.data_start - 1 };
	for (unsigned i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		bm = orig;
		bit_set(&bm, meta[i], 0);
		blk_put(p, bmb, &bm, 1);
		CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
		CHECK(udax_fsck(p, NULL, NULL) > 0);
	}

	blk_put(p, bmb, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* Inodes                                                             */
/* ------------------------------------------------------------------ */

static void test_inode_corrupt(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "inode", 16) == 0);
	const char *p = s.path;
	const struct dsuper *sb = &s.sb;
	uint64_t ia = s.ino[F_A];
	struct dinode orig, d;
	ino_get(p, sb, ia, &orig);

	/* size changed, CRC stale */
	d = orig;
	d.size += 1;
	ino_put(p, sb, ia, &d, 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK_FSCK_FINDS(p, "checksum");
	ino_put(p, sb, ia, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);

	/* other fields, CRC stale */
	d = orig;
	d.mode ^= 0100;
	ino_put(p, sb, ia, &d, 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	d = orig;
	d.reserved[10] = 1;
	ino_put(p, sb, ia, &d, 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);

	/* CRC fixed but meaningless */
	d = orig;
	d.ino = ia + 1;
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	d = orig;
	d.mode = 0120777; /* a symlink: udax has none */
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	d = orig;
	d.extent_head = 5; /* inside the journal */
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	d = orig;
	d.extent_head = sb->nblocks;
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	d = orig;
	d.nleaves = 0;
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	d = orig;
	d.size = 1ull << 50;
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	d = orig;
	d.blocks = sb->nblocks + 1;
	ino_put(p, sb, ia, &d, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	ino_put(p, sb, ia, &orig, 0);

	/* the root inode made a regular file */
	struct dinode root, r2;
	ino_get(p, sb, ROOT_INO, &root);
	r2 = root;
	r2.mode = S_IFREG | 0644;
	ino_put(p, sb, ROOT_INO, &r2, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	/* the root inode freed */
	memset(&r2, 0, sizeof(r2));
	ino_put(p, sb, ROOT_INO, &r2, 0);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	/* a directory with a parent beyond the table */
	r2 = root;
	r2.parent = sb->ninodes + 1;
	ino_put(p, sb, ROOT_INO, &r2, 1);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	ino_put(p, sb, ROOT_INO, &root, 0);

	/* a free slot that is not all zero */
	uint64_t freeino = sb->ninodes - 3;
	hflip(p, ino_off(sb, freeino) + 77, 0x01);
	CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
	CHECK_FSCK_FINDS(p, "free slot");
	hflip(p, ino_off(sb, freeino) + 77, 0x01);

	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_inode_nlink(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "nlink", 16) == 0);
	const char *p = s.path;
	const struct dsuper *sb = &s.sb;
	struct dinode orig, d;

	ino_get(p, sb, s.ino[F_A], &orig);
	d = orig;
	d.nlink = 5;
	ino_put(p, sb, s.ino[F_A], &d, 1);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_FSCK_FINDS(p, "link count");
	ino_put(p, sb, s.ino[F_A], &orig, 0);
	CHECK_EQ(t_fsck(p), 0);

	/* a directory's */
	struct dinode dorig;
	ino_get(p, sb, s.ino_d1, &dorig);
	d = dorig;
	d.nlink = 7;
	ino_put(p, sb, s.ino_d1, &d, 1);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_FSCK_FINDS(p, "link count");
	ino_put(p, sb, s.ino_d1, &dorig, 0);

	/* the root's */
	struct dinode rorig;
	ino_get(p, sb, ROOT_INO, &rorig);
	d = rorig;
	d.nlink = 1;
	ino_put(p, sb, ROOT_INO, &d, 1);
	CHECK_FSCK_FINDS(p, "link count");
	ino_put(p, sb, ROOT_INO, &rorig, 0);

	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* Extent leaves and directory blocks                                 */
/* ------------------------------------------------------------------ */

static void test_leaf_corrupt(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "leaf", 16) == 0);
	const char *p = s.path;
	uint64_t leaf, pblk_a, leaf_a;
	first_pblk(p, &s.sb, s.ino[F_B], &leaf);
	pblk_a = first_pblk(p, &s.sb, s.ino[F_A], &leaf_a);
	REQUIRE(leaf >= s.sb.data_start);
	static struct dleaf orig, l;
	blk_get(p, leaf, &orig);
	udax_fs *fs;
	struct stat st;

	/* a byte of the first extent's pblk, CRC stale */
	hflip(p, leaf * BLK + offsetof(struct dleaf, ext) + 8, 0x02);
	REQUIRE(udax_mount(p, NULL, &fs) == 0); /* leaves load lazily */
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	CHECK_EQ(udax_open(fs, "/b", O_RDWR, 0), -EUCLEAN);
	CHECK_EQ(udax_stat(fs, "/b", &st), -EUCLEAN);
	CHECK_EQ(files_bad(fs, 1u << F_B), 0);
	/* the name is still listed */
	udax_dir *d;
	if (udax_opendir(fs, "/", &d) == 0) {
		struct udax_dirent e;
		int seen = 0;
		while (udax_readdir(d, &e) == 1)
			seen |= strcmp(e.d_name, "b") == 0;
		CHECK(seen);
		udax_closedir(d);
	}
	/* still refused on a second try (no half-loaded state cached) */
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	/* other files can still be created and written */
	CHECK_EQ(write_file(fs, "/c", 9, 9000), 0);
	CHECK_EQ(file_matches(fs, "/c", 9, 9000), 1);
	CHECK_EQ(udax_unlink(fs, "/c"), 0);
	udax_unmount(fs);
	CHECK_FSCK_FINDS(p, "extent chain");

	/* CRC fixed, but out of the pool / wrong owner / bad count */
	l = orig;
	l.ext[0].pblk = s.sb.nblocks - 1;
	blk_put(p, leaf, &l, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	CHECK_EQ(files_bad(fs, 1u << F_B), 0);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	l = orig;
	l.owner = s.ino[F_A];
	blk_put(p, leaf, &l, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	l = orig;
	l.count = LEAF_CAP + 1;
	blk_put(p, leaf, &l, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	udax_unmount(fs);

	l = orig;
	l.next = leaf; /* a loop */
	blk_put(p, leaf, &l, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	l = orig;
	l.ext[0].len = 0;
	blk_put(p, leaf, &l, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/b", O_RDONLY, 0), -EUCLEAN);
	udax_unmount(fs);

	/* CRC fixed and valid-looking, but the block belongs to /a */
	l = orig;
	l.ext[0].pblk = pblk_a;
	l.ext[0].len = 1;
	blk_put(p, leaf, &l, 1);
	CHECK_FSCK_FINDS(p, "owned by");

	blk_put(p, leaf, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* Slot of @name in the directory block @blk, or -1. */
static int find_slot(const struct ddirblock *db, const char *name)
{
	for (unsigned i = 0; i < DIR_SLOTS; i++)
		if (db->slot[i].ino && db->slot[i].name_len == strlen(name) &&
		    memcmp(db->slot[i].name, name, strlen(name)) == 0)
			return (int)i;
	return -1;
}

static void test_dirblock_corrupt(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "dirblk", 16) == 0);
	const char *p = s.path;
	uint64_t leaf, dblk = first_pblk(p, &s.sb, s.ino_d1, &leaf);
	REQUIRE(dblk >= s.sb.data_start);
	static struct ddirblock orig, db;
	blk_get(p, dblk, &orig);
	int sx = find_slot(&orig, "x");
	REQUIRE(sx >= 0);
	udax_fs *fs;
	udax_dir *d = NULL;
	struct stat st;

	/* a byte of x's name, CRC stale */
	hflip(p, dblk * BLK + offsetof(struct ddirblock, slot) +
	         (uint64_t)sx * sizeof(struct ddirent) + offsetof(struct ddirent, name), 0x01);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/d1/x", O_RDONLY, 0), -EUCLEAN);
	CHECK_EQ(udax_stat(fs, "/d1/x", &st), -EUCLEAN);
	CHECK_EQ(udax_opendir(fs, "/d1", &d), -EUCLEAN);
	/* no change goes into a directory that cannot be read */
	CHECK_EQ(udax_open(fs, "/d1/new", O_RDWR | O_CREAT, 0644), -EUCLEAN);
	CHECK_EQ(udax_mkdir(fs, "/d1/sub", 0755), -EUCLEAN);
	CHECK_EQ(udax_unlink(fs, "/d1/x"), -EUCLEAN);
	CHECK_EQ(udax_rename(fs, "/a", "/d1/a", 0), -EUCLEAN);
	CHECK_EQ(udax_rmdir(fs, "/d1"), -EUCLEAN);
	/* the directory itself is intact in its parent */
	CHECK_EQ(udax_stat(fs, "/d1", &st), 0);
	/* everything else reads */
	CHECK_EQ(files_bad(fs, 1u << F_X), 0);
	udax_unmount(fs);
	CHECK_FSCK_FINDS(p, "directory");
	blk_put(p, dblk, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);

	/* CRC fixed: a name with '/', a bad type, a wrong used count */
	db = orig;
	db.slot[sx].name[0] = '/';
	blk_put(p, dblk, &db, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_opendir(fs, "/d1", &d), -EUCLEAN);
	CHECK_EQ(files_bad(fs, 1u << F_X), 0);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	db = orig;
	db.slot[sx].type = 1;
	blk_put(p, dblk, &db, 1);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	db = orig;
	db.used = 3;
	blk_put(p, dblk, &db, 1);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	db = orig;
	db.slot[sx].name_len = 300;
	blk_put(p, dblk, &db, 1);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	db = orig;
	db.owner = s.ino_d2;
	blk_put(p, dblk, &db, 1);
	CHECK(udax_fsck(p, NULL, NULL) > 0);
	/* a type that disagrees with the inode */
	db = orig;
	db.slot[sx].type = DT_DIR_;
	blk_put(p, dblk, &db, 1);
	CHECK_FSCK_FINDS(p, "wrong type");
	/* a second entry with the same name */
	db = orig;
	db.slot[(sx + 1) % DIR_SLOTS] = db.slot[sx];
	db.used++;
	blk_put(p, dblk, &db, 1);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	blk_put(p, dblk, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_dirent_free_inode(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "dirent", 16) == 0);
	const char *p = s.path;
	uint64_t leaf, dblk = first_pblk(p, &s.sb, s.ino_d2, &leaf);
	REQUIRE(dblk >= s.sb.data_start);
	static struct ddirblock orig, db;
	blk_get(p, dblk, &orig);
	int sy = find_slot(&orig, "y");
	REQUIRE(sy >= 0);
	udax_fs *fs;

	uint64_t freeino = 900;
	struct dinode fi;
	ino_get(p, &s.sb, freeino, &fi);
	REQUIRE(fi.mode == 0);
	db = orig;
	db.slot[sy].ino = freeino;
	blk_put(p, dblk, &db, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK(udax_open(fs, "/d2/y", O_RDONLY, 0) < 0);
	struct stat st;
	CHECK(udax_stat(fs, "/d2/y", &st) < 0);
	CHECK_EQ(files_bad(fs, 1u << F_Y), 0);
	udax_unmount(fs);
	CHECK_FSCK_FINDS(p, "free inode");

	/* an inode number beyond the table */
	db = orig;
	db.slot[sy].ino = s.sb.ninodes + 1;
	blk_put(p, dblk, &db, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	CHECK_EQ(udax_open(fs, "/d2/y", O_RDONLY, 0), -EUCLEAN);
	CHECK_EQ(files_bad(fs, 1u << F_Y), 0);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	/* an entry naming the root: a second name for / and a cycle */
	db = orig;
	db.slot[sy].ino = ROOT_INO;
	db.slot[sy].type = DT_DIR_;
	blk_put(p, dblk, &db, 1);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	struct stat st2;
	CHECK_EQ(udax_stat(fs, "/d2/y/d2/y/a", &st2), 0);
	CHECK_EQ(files_bad(fs, 1u << F_Y), 0);
	udax_unmount(fs);
	CHECK(udax_fsck(p, NULL, NULL) > 0);

	blk_put(p, dblk, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* Journal and mount record                                           */
/* ------------------------------------------------------------------ */

static void test_journal_torn(void)
{
	struct sample s;
	REQUIRE(make_sample_j(&s, "journal", 16, 1) == 0);
	const char *p = s.path;
	static struct djhdr orig, h;
	static char junk[BLK];
	uint64_t hb = JOURNAL_START;
	blk_get(p, hb, &orig);
	udax_fs *fs;

	/* random bytes in the header */
	t_fill(junk, sizeof(junk), 4242);
	if (memcmp(junk, &orig.magic, 4) == 0)
		junk[0] ^= 1;
	blk_put(p, hb, junk, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	/* a header torn after its magic: right magic, stale CRC */
	h = orig;
	memcpy((char *)&h + 2048, junk, 2048);
	blk_put(p, hb, &h, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	/* random bytes in the slots (every 17th, slot 0 first) */
	for (uint64_t b = JOURNAL_START + 1; b < JOURNAL_START + JOURNAL_BLOCKS; b += 17) {
		t_fill(junk, sizeof(junk), (unsigned)b);
		blk_put(p, b, junk, 0);
	}
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);

	/* A sealed header naming a home outside [bitmap_start, nblocks) or
	 * too many slots.  format.md 4.3 calls such a header invalid (action:
	 * nothing); the code refuses it.  Either way the superblock and the
	 * journal itself must not be overwritten and nothing may be lost. */
	struct dsuper sb0;
	hread(p, &sb0, sizeof(sb0), 0);
	uint64_t homes[] = { 0, JOURNAL_START, JOURNAL_START + 1, s.sb.nblocks, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(homes) / sizeof(homes[0]); i++) {
		static char slot[BLK];
		h = orig;
		memset(h.ent, 0, sizeof(h.ent));
		h.count = 1;
		t_fill(slot, sizeof(slot), 31 + i);
		blk_put(p, JOURNAL_START + 1, slot, 0);
		h.ent[0].home = homes[i];
		h.ent[0].crc = crc32c(0, slot, BLK);
		blk_put(p, hb, &h, 1);
		int r = udax_mount(p, NULL, &fs);
		CHECK(r == 0 || r == -EUCLEAN);
		if (r == 0)
			udax_unmount(fs);
		else
			CHECK(udax_last_error()[0] != '\0');
		struct dsuper sb1;
		hread(p, &sb1, sizeof(sb1), 0);
		CHECK(memcmp(&sb0, &sb1, sizeof(sb0)) == 0);
		blk_put(p, hb, &orig, 0);
		CHECK_EQ(mount_verify(p, 0), 0);
	}
	h = orig;
	h.count = JSLOTS + 1;
	blk_put(p, hb, &h, 1);
	{
		int r = udax_mount(p, NULL, &fs);
		CHECK(r == 0 || r == -EUCLEAN);
		if (r == 0)
			udax_unmount(fs);
	}
	blk_put(p, hb, &orig, 0);
	CHECK_EQ(mount_verify(p, 0), 0);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

static void test_mount_record_garbage(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "mrec", 16) == 0);
	const char *p = s.path;
	char junk[sizeof(struct dmount)];
	udax_fs *fs;
	struct udax_info info;

	t_fill(junk, sizeof(junk), 555);
	hwrite(p, junk, sizeof(junk), MOUNT_OFFSET);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	udax_info(fs, &info);
	CHECK_EQ(info.clean, 0); /* an invalid record reads as dirty */
	CHECK_EQ(files_bad(fs, 0), 0);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	udax_info(fs, &info);
	CHECK_EQ(info.clean, 1);
	udax_unmount(fs);

	/* a valid record with an unknown state */
	struct dmount m;
	mrec_get(p, &m);
	m.state = 7;
	mrec_seal(&m);
	hwrite(p, &m, sizeof(m), MOUNT_OFFSET);
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	udax_info(fs, &info);
	CHECK_EQ(info.clean, 0);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* A mount that is refused because the pool is corrupt must not write
 * to it: in particular it must not mark a dirty (crashed) pool clean. */
static void test_refused_mount_writes_nothing(void)
{
	struct sample s;
	REQUIRE(make_sample(&s, "refused", 16) == 0);
	const char *p = s.path;
	struct dmount m;

	/* as a crash leaves it */
	mrec_get(p, &m);
	m.state = STATE_DIRTY;
	mrec_seal(&m);
	hwrite(p, &m, sizeof(m), MOUNT_OFFSET);

	for (int c = 0; c < 2; c++) {
		uint64_t off = c == 0 ? s.sb.bitmap_start * BLK + 16 + 200
		                      : ino_off(&s.sb, s.ino[F_A]) + 24;
		hflip(p, off, 0x10);
		size_t n0, n1;
		char *before = hslurp(p, &n0);
		CHECK_MOUNT_FAILS(p, NULL, -EUCLEAN);
		char *after = hslurp(p, &n1);
		int same = before && after && n0 == n1 && memcmp(before, after, n0) == 0;
		CHECK(same);
		struct dmount m1;
		mrec_get(p, &m1);
		CHECK_EQ(m1.state, STATE_DIRTY);
		CHECK_EQ(m1.mount_count, m.mount_count);
		if (!same)
			fprintf(stderr, "    refused mount (%s corrupt) changed the pool; mount "
			        "record state %u (was %u)\n", c == 0 ? "bitmap" : "inode",
			        m1.state, m.state);
		free(before);
		free(after);
		hflip(p, off, 0x10);
		/* put the dirty record back for the next case */
		hwrite(p, &m, sizeof(m), MOUNT_OFFSET);
	}
	udax_fs *fs;
	REQUIRE(udax_mount(p, NULL, &fs) == 0);
	struct udax_info info;
	udax_info(fs, &info);
	CHECK_EQ(info.clean, 0);
	CHECK_EQ(files_bad(fs, 0), 0);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(p), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ */
/* Fuzz-lite                                                          */
/* ------------------------------------------------------------------ */

#define FZ_MB 4
#define FZ_ITERS 300
#define FZ_MAX_SECONDS 10.0

static const struct sfile FZ_FILES[] = {
	{ "/a", 11, 10000 },
	{ "/b", 12, 3 * 4096 },
	{ "/e", 13, 0 },
	{ "/d1/x", 14, 5000 },
	{ "/d1/sub/z", 15, 4096 },
	{ "/d2/y", 16, 100 },
	{ "/frag1", 17, 6 * 4096 },
	{ "/frag2", 18, 6 * 4096 },
};
#define FZ_NFILES (sizeof(FZ_FILES) / sizeof(FZ_FILES[0]))

struct fz_res {
	int stage;          /* 1 mount, 2 walk, 3 write, 4 unmount, 5 fsck, 6 done */
	int mount_ret;
	int msg_empty;
	int fsck_ret;
	int files_read;
	int read_errors;
	int euclean;        /* -EUCLEAN from opendir/open/stat */
	int mismatch;       /* a known file read back different */
	int visited;
	int write_bad;      /* a fresh write did not read back */
};

struct fz_ctx {
	const char *path;
	int ro;
	struct fz_res *res;
};

static void fz_read_file(udax_fs *fs, const char *path, struct fz_res *r)
{
	static char buf[65536 + 4096];
	int fd = udax_open(fs, path, O_RDONLY, 0);
	if (fd < 0) {
		r->read_errors++;
		r->euclean += fd == -EUCLEAN;
		return;
	}
	struct stat st;
	if (udax_fstat(fs, fd, &st) == 0) {
		uint64_t size = (uint64_t)st.st_size;
		size_t n = size < 65536 ? (size_t)size : 65536;
		ssize_t got = udax_pread(fs, fd, buf, n + 4096, 0);
		if (got < 0)
			r->read_errors++;
		if (size > 65536)
			udax_pread(fs, fd, buf, 4096, (off_t)(size - 4096));
		r->files_read++;
		for (unsigned i = 0; i < FZ_NFILES; i++) {
			if (strcmp(path, FZ_FILES[i].name) != 0)
				continue;
			static char want[65536];
			t_fill(want, FZ_FILES[i].len, FZ_FILES[i].seed);
			if (got != (ssize_t)FZ_FILES[i].len || memcmp(want, buf, FZ_FILES[i].len))
				r->mismatch++;
		}
	}
	udax_close(fs, fd);
}

static void fz_walk(udax_fs *fs, const char *dir, int depth, struct fz_res *r)
{
	udax_dir *d;
	if (depth > 6 || r->visited > 200)
		return;
	int e = udax_opendir(fs, dir, &d);
	if (e < 0) {
		r->read_errors++;
		r->euclean += e == -EUCLEAN;
		return;
	}
	struct udax_dirent ent;
	struct { char name[UDAX_NAME_MAX + 1]; unsigned char type; } *list = calloc(64, sizeof(*list));
	int n = 0;
	while (n < 64 && udax_readdir(d, &ent) == 1) {
		memcpy(list[n].name, ent.d_name, sizeof(list[n].name));
		list[n].type = ent.d_type;
		n++;
	}
	udax_closedir(d);
	for (int i = 0; i < n && r->visited <= 200; i++) {
		char path[UDAX_PATH_MAX];
		r->visited++;
		size_t dl = strlen(dir), nl = strlen(list[i].name);
		if (dl + nl + 2 > sizeof(path))
			continue;
		memcpy(path, dir, dl);
		if (strcmp(dir, "/") != 0)
			path[dl++] = '/';
		memcpy(path + dl, list[i].name, nl + 1);
		struct stat st;
		int se = udax_stat(fs, path, &st);
		if (se < 0) {
			r->read_errors++;
			r->euclean += se == -EUCLEAN;
			continue;
		}
		if (S_ISDIR(st.st_mode))
			fz_walk(fs, path, depth + 1, r);
		else
			fz_read_file(fs, path, r);
	}
	free(list);
}

static void fz_child(void *arg)
{
	struct fz_ctx *c = arg;
	struct fz_res *r = c->res;
	udax_fs *fs;

	r->stage = 1;
	r->mount_ret = udax_mount(c->path, c->ro ? "ro" : NULL, &fs);
	if (r->mount_ret == 0) {
		r->stage = 2;
		fz_walk(fs, "/", 0, r);
		if (!c->ro) {
			/* a little allocation on the damaged pool */
			r->stage = 3;
			static char b[8192], o[8192];
			t_fill(b, sizeof(b), 4711);
			int fd = udax_open(fs, "/fz-new", O_RDWR | O_CREAT, 0644);
			if (fd >= 0) {
				if (udax_pwrite(fs, fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) &&
				    (udax_pread(fs, fd, o, sizeof(o), 0) != (ssize_t)sizeof(o) ||
				     memcmp(b, o, sizeof(b)) != 0))
					r->write_bad++;
				udax_close(fs, fd);
				udax_unlink(fs, "/fz-new");
			}
			if (udax_mkdir(fs, "/fz-dir", 0755) == 0)
				udax_rmdir(fs, "/fz-dir");
		}
		r->stage = 4;
		udax_unmount(fs);
	} else {
		r->msg_empty = udax_last_error()[0] == '\0';
	}
	r->stage = 5;
	r->fsck_ret = udax_fsck(c->path, NULL, NULL);
	r->stage = 6;
	_exit(0);
}

static uint64_t fz_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct range {
	uint64_t off, len;
};

/* Live structures of the base image: where most flips should land. */
static int fz_ranges(const char *img, const struct dsuper *sb, struct range *rg, int max)
{
	int n = 0;
	rg[n++] = (struct range){ 0, sizeof(struct dsuper) };
	rg[n++] = (struct range){ MOUNT_OFFSET, sizeof(struct dmount) };
	const struct djhdr *h = (const void *)(img + (uint64_t)JOURNAL_START * BLK);
	uint32_t cnt = h->count <= JSLOTS ? h->count : 0;
	rg[n++] = (struct range){ (uint64_t)JOURNAL_START * BLK, 32 + 16 * (uint64_t)cnt };
	rg[n++] = (struct range){ sb->bitmap_start * BLK, 16 + sb->nblocks / 8 };
	for (uint64_t ino = 1; ino <= sb->ninodes && n < max; ino++) {
		const struct dinode *d = (const void *)(img + ino_off(sb, ino));
		if (!d->mode)
			continue;
		rg[n++] = (struct range){ ino_off(sb, ino), INODE_SIZE };
		/* its leaves, and for directories their blocks */
		uint64_t lb = d->extent_head;
		for (uint64_t k = 0; k < d->nleaves && lb && lb < sb->nblocks && n < max; k++) {
			const struct dleaf *l = (const void *)(img + lb * BLK);
			rg[n++] = (struct range){ lb * BLK, 40 + 24 * (uint64_t)(l->count <= LEAF_CAP ? l->count : 0) };
			if (S_ISDIR(d->mode))
				for (uint32_t j = 0; j < l->count && j < LEAF_CAP && n < max; j++)
					for (uint32_t q = 0; q < l->ext[j].len && n < max; q++)
						rg[n++] = (struct range){ (l->ext[j].pblk + q) * BLK, BLK };
			lb = l->next;
		}
	}
	return n;
}

enum { S_NONE, S_SUPER, S_MREC, S_JHDR, S_JSLOT, S_BITMAP, S_INODE, S_BLOCK };

/* Which structure byte @off belongs to (and its index). */
static int fz_struct_of(const struct dsuper *sb, uint64_t off, uint64_t *idx)
{
	uint64_t blk = off / BLK;
	*idx = blk;
	if (blk == 0) {
		if (off < sizeof(struct dsuper))
			return S_SUPER;
		if (off >= MOUNT_OFFSET && off < MOUNT_OFFSET + sizeof(struct dmount))
			return S_MREC;
		return S_NONE;
	}
	if (blk == JOURNAL_START)
		return S_JHDR;
	if (blk < JOURNAL_START + JOURNAL_BLOCKS) {
		*idx = blk - JOURNAL_START - 1;
		return S_JSLOT;
	}
	if (blk >= sb->bitmap_start && blk < sb->bitmap_start + sb->bitmap_blocks)
		return S_BITMAP;
	if (blk >= sb->itable_start && blk < sb->data_start) {
		*idx = (off - sb->itable_start * BLK) / INODE_SIZE + 1;
		return S_INODE;
	}
	return S_BLOCK;
}

struct fz_mut {
	uint64_t off;
	uint8_t x;
};

static void fz_reseal(char *img, const struct dsuper *sb, const struct fz_mut *mu, int n)
{
	int jhdr = 0;
	struct djhdr *h = (void *)(img + (uint64_t)JOURNAL_START * BLK);
	for (int i = 0; i < n; i++) {
		uint64_t idx;
		switch (fz_struct_of(sb, mu[i].off, &idx)) {
		case S_SUPER: break; /* last */
		case S_MREC: mrec_seal((struct dmount *)(img + MOUNT_OFFSET)); break;
		case S_JHDR: jhdr = 1; break;
		case S_JSLOT:
			if (idx < JSLOTS && idx < h->count) {
				h->ent[idx].crc = crc32c(0, img + (JOURNAL_START + 1 + idx) * BLK, BLK);
				jhdr = 1;
			}
			break;
		case S_BITMAP:
		case S_BLOCK: blk_seal(img + idx * BLK); break;
		case S_INODE: ino_seal((struct dinode *)(img + ino_off(sb, idx))); break;
		default: break;
		}
	}
	if (jhdr)
		blk_seal(h);
	for (int i = 0; i < n; i++)
		if (mu[i].off < sizeof(struct dsuper))
			sb_seal((struct dsuper *)img);
}

static int fz_make_base(const char *p)
{
	udax_fs *fs;
	if (udax_mkfs(p, (uint64_t)FZ_MB << 20, 0) || udax_mount(p, NULL, &fs))
		return -1;
	int err = udax_mkdir(fs, "/d1", 0755) | udax_mkdir(fs, "/d2", 0755) |
	          udax_mkdir(fs, "/d1/sub", 0755);
	for (unsigned i = 0; i < FZ_NFILES && !err; i++)
		if (strncmp(FZ_FILES[i].name, "/frag", 5) != 0)
			err = write_file(fs, FZ_FILES[i].name, FZ_FILES[i].seed, FZ_FILES[i].len);
	/* two files written block by block in turn: several extents each */
	int f1 = udax_open(fs, "/frag1", O_RDWR | O_CREAT, 0644);
	int f2 = udax_open(fs, "/frag2", O_RDWR | O_CREAT, 0644);
	static char b1[6 * 4096], b2[6 * 4096];
	t_fill(b1, sizeof(b1), 17);
	t_fill(b2, sizeof(b2), 18);
	for (int k = 0; k < 6 && f1 >= 0 && f2 >= 0; k++) {
		err |= udax_pwrite(fs, f1, b1 + k * 4096, 4096, k * 4096) != 4096;
		err |= udax_pwrite(fs, f2, b2 + k * 4096, 4096, k * 4096) != 4096;
	}
	udax_close(fs, f1);
	udax_close(fs, f2);
	udax_unmount(fs);
	return err ? -1 : 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_fuzz_lite(void)
{
	char base[256], p[256];
	snprintf(base, sizeof(base), "%s", t_pool("fuzz-base"));
	snprintf(p, sizeof(p), "%s", t_pool("fuzz"));
	REQUIRE(fz_make_base(base) == 0);
	REQUIRE(t_fsck(base) == 0);

	size_t n;
	char *img_rw = hslurp(base, &n);
	REQUIRE(img_rw && n == (size_t)FZ_MB << 20);
	/* The same pool with its (checkpointed) journal header cleared:
	 * always for read-only mounts, so "ro" is not refused for replay
	 * (see test_ro_mount), and for half the read-write ones, so that
	 * flips in blocks of the last transaction are not undone by its
	 * replay. */
	/* the scratch image is shared, not copy-on-write: rewriting it after
	 * each fork() would otherwise fault on every page */
	char *img_ro = malloc(n);
	char *img = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(img_ro && img != MAP_FAILED);
	memcpy(img_ro, img_rw, n);
	memset(img_ro + (size_t)JOURNAL_START * BLK, 0, BLK);
	struct dsuper sb;
	memcpy(&sb, img_rw, sizeof(sb));
	static struct range rg[512];
	int nrg = fz_ranges(img_rw, &sb, rg, 512);
	uint64_t meta_bytes = sb.data_start * BLK;

	struct fz_res *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
	                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(res != MAP_FAILED);
	uint64_t seed = 0x5eed0fda7a2024ull;
	const char *env = getenv("UDAX_FUZZ_SEED");
	if (env)
		seed = strtoull(env, NULL, 0);
	uint64_t x = seed;

	int refused[8] = { 0 }, mounted = 0, fsck_clean = 0, fsck_problems = 0, fsck_err = 0;
	int crashes = 0, hangs = 0, refused_clean = 0, euclean_clean = 0, no_msg = 0;
	int odd_errno = 0, silent = 0, write_bad = 0, ro_runs = 0, iters = 0;
	int reads_total = 0, euclean_mounts = 0, vanished = 0;
	double t0 = now_s();

	for (int it = 0; it < FZ_ITERS; it++) {
		if (now_s() - t0 > FZ_MAX_SECONDS)
			break;
		iters++;
		int ro = (fz_rand(&x) % 4) == 0;
		int reseal = fz_rand(&x) & 1;
		int nojournal = ro || (fz_rand(&x) & 1);
		ro_runs += ro;
		memcpy(img, nojournal ? img_ro : img_rw, n);
		struct fz_mut mu[8];
		int nm = 1 + (int)(fz_rand(&x) % 8);
		for (int i = 0; i < nm; i++) {
			uint64_t off;
			if (fz_rand(&x) & 1) {
				off = fz_rand(&x) % meta_bytes;
			} else {
				const struct range *g = &rg[fz_rand(&x) % (uint64_t)nrg];
				off = g->off + fz_rand(&x) % (g->len ? g->len : 1);
			}
			mu[i].off = off;
			mu[i].x = (uint8_t)(1 + fz_rand(&x) % 255);
			img[off] ^= (char)mu[i].x;
		}
		if (reseal)
			fz_reseal(img, &sb, mu, nm);
		if (hcreate(p, img, n) != 0) {
			CHECK(!"cannot write the fuzz pool");
			break;
		}
		memset(res, 0, sizeof(*res));
		struct fz_ctx c = { p, ro, res };
		int st = in_child(fz_child, &c, 10);
		if (access(p, F_OK) != 0) {
			/* Deleted behind our back (a concurrently running test
			 * that removes every /dev/shm/udax-test-*.pool): this
			 * iteration says nothing about udax. */
			vanished++;
			continue;
		}

		int bad = 0;
		const char *what = NULL;
		if (st == -SIGALRM) {
			hangs++;
			bad = 1;
			what = "HANG";
		} else if (st != 0) {
			crashes++;
			bad = 1;
			what = "CRASH";
		} else {
			if (res->mount_ret == 0) {
				mounted++;
				reads_total += res->files_read;
				euclean_mounts += res->euclean > 0;
			} else {
				int e = -res->mount_ret;
				int k = e == EINVAL ? 0 : e == EUCLEAN ? 1 : e == EPROTONOSUPPORT ? 2 :
				        e == EFBIG ? 3 : e == EROFS ? 4 : 5;
				refused[k]++;
				if (k == 5 || (k == 4 && !ro)) {
					odd_errno++;
					bad = 1;
					what = "UNDOCUMENTED ERRNO";
				}
				if (res->msg_empty) {
					no_msg++;
					bad = 1;
					what = "NO MESSAGE";
				}
				if (!ro && res->fsck_ret == 0) {
					refused_clean++;
					bad = 1;
					what = "MOUNT REFUSED BUT FSCK CLEAN";
				}
			}
			if (res->fsck_ret == 0)
				fsck_clean++;
			else if (res->fsck_ret > 0)
				fsck_problems++;
			else
				fsck_err++;
			if (res->mount_ret == 0 && res->euclean && res->fsck_ret == 0) {
				euclean_clean++;
				bad = 1;
				what = "EUCLEAN READ BUT FSCK CLEAN";
			}
			if (res->mount_ret == 0 && !ro && res->fsck_ret == 0 && res->mismatch)
				silent++;
			if (res->write_bad) {
				write_bad++;
				what = what ? what : "FRESH WRITE DID NOT READ BACK";
			}
		}
		if (bad || (what && res->write_bad)) {
			fprintf(stderr, "    fuzz iter %d (seed 0x%llx) %s: status %d stage %d mount %d "
			        "fsck %d %s%s%s\n      flips:", it, (unsigned long long)seed, what, st,
			        res->stage, res->mount_ret, res->fsck_ret, ro ? "ro " : "",
			        nojournal ? "no-journal " : "", reseal ? "crc-fixed" : "crc-stale");
			for (int i = 0; i < nm; i++) {
				uint64_t idx;
				int sk = fz_struct_of(&sb, mu[i].off, &idx);
				static const char *sn[] = { "none", "super", "mrec", "jhdr", "jslot",
				                            "bitmap", "inode", "block" };
				fprintf(stderr, " %llu^0x%02x(%s %llu)", (unsigned long long)mu[i].off,
				        mu[i].x, sn[sk], (unsigned long long)idx);
			}
			fprintf(stderr, "\n");
			if (getenv("UDAX_KEEP_CRASH") && (st != 0)) {
				char keep[300];
				snprintf(keep, sizeof(keep), "udax-fuzz-crash-%d.pool", it);
				hcreate(keep, img, n);
				fprintf(stderr, "      image saved as %s\n", keep);
			}
		}
	}
	double dt = now_s() - t0;
	printf("  fuzz: %d iterations (%d ro) in %.2f s, seed 0x%llx%s\n", iters, ro_runs, dt,
	       (unsigned long long)seed, vanished ? " (some pools deleted externally)" : "");
	if (vanished)
		printf("  fuzz: %d iterations skipped: the pool file was removed by another "
		       "process\n", vanished);
	printf("  fuzz: mounted %d (%d of them saw -EUCLEAN on some file; %d files read), "
	       "refused: EINVAL %d, EUCLEAN %d, EPROTONOSUPPORT %d, EFBIG %d, EROFS %d, other %d\n",
	       mounted, euclean_mounts, reads_total, refused[0], refused[1], refused[2],
	       refused[3], refused[4], refused[5]);
	printf("  fuzz: fsck clean %d, problems %d, cannot open %d\n", fsck_clean, fsck_problems,
	       fsck_err);
	printf("  fuzz: crashes %d, hangs %d, refused-but-fsck-clean %d, EUCLEAN-but-fsck-clean %d, "
	       "refusals without message %d, undocumented errno %d\n", crashes, hangs,
	       refused_clean, euclean_clean, no_msg, odd_errno);
	printf("  fuzz: (info) fsck-clean pools whose known files read differently %d, fresh "
	       "writes that did not read back %d\n", silent, write_bad);
	fflush(stdout);
	CHECK(iters - vanished >= 50);
	CHECK_EQ(crashes, 0);
	CHECK_EQ(hangs, 0);
	CHECK_EQ(no_msg, 0);
	CHECK_EQ(odd_errno, 0);
	CHECK_EQ(refused_clean, 0);
	CHECK_EQ(euclean_clean, 0);
	munmap(res, sizeof(*res));
	munmap(img, n);
	free(img_ro);
	free(img_rw);
	unlink(p);
	unlink(base);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_layout_sanity);
	RUN(test_mkfs_refuses_existing);
	RUN(test_mkfs_bad_args);
	RUN(test_mount_missing_and_garbage);
	RUN(test_mount_truncated);
	RUN(test_super_version_features);
	RUN(test_super_flip_no_crc);
	RUN(test_super_geometry);
	RUN(test_mount_options);
	RUN(test_mount_twice);
	RUN(test_ro_mount);
	RUN(test_ro_named_nlink0);
	RUN(test_bitmap_flip);
	RUN(test_bitmap_used_marked_free);
	RUN(test_bitmap_leak_and_meta_free);
	RUN(test_inode_corrupt);
	RUN(test_inode_nlink);
	RUN(test_leaf_corrupt);
	RUN(test_dirblock_corrupt);
	RUN(test_dirent_free_inode);
	RUN(test_journal_torn);
	RUN(test_mount_record_garbage);
	RUN(test_refused_mount_writes_nothing);
	RUN(test_fuzz_lite);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -f /dev/shm/udax-test-%d-*.pool", (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return t_summary();
}
