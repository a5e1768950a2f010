/*
 * fuzz_image.c - a coverage-guided (libFuzzer) fuzzer of udax pool images.
 *
 * The fuzz input is not an image but a *patch list* applied to one small,
 * valid base pool built once at start-up (LLVMFuzzerInitialize): a 4 MiB
 * pool with directories, small files, a sparse file, a file whose extents
 * fill two leaves, two interleaved (fragmented) files and a directory of
 * 20 entries (two directory blocks).  Patches may touch the metadata area
 * (blocks 0 .. data_start-1: superblock, mount record, journal header and
 * slots, bitmap, inode table) and the extent leaves and directory blocks
 * the base image uses; data blocks are never patched.
 *
 * Input format (all integers little-endian):
 *
 *   input := edit* flags
 *   edit  := sel:u16 off:u16 ctl:u8 byte[(ctl & 0x1f) + 1]
 *   flags := u8, the LAST byte of the input
 *
 *   sel < 0x8000   block = hot[sel % nhot]: the structures the base pool
 *                  really uses (block 0, journal header and live slots,
 *                  bitmap, inode-table blocks holding inodes, leaves and
 *                  directory blocks), so most edits land where it matters;
 *   sel >= 0x8000  window block (sel & 0x7fff) % nwin, where window blocks
 *                  0 .. data_start-1 are pool blocks 0 .. data_start-1 and
 *                  window block data_start + k is the k-th leaf/directory
 *                  block of the base image (ascending block numbers).
 *   off            byte offset in the block (mod 4096); an edit is clipped
 *                  at the end of its block.
 *   ctl & 0x80     XOR the bytes into the image (else overwrite them).
 *   flags bit 0    FIX: recompute the CRC of every structure an edit
 *                  touched (superblock, mount record, bitmap blocks,
 *                  inodes, leaves, directory blocks; a journal slot image
 *                  is resealed as the structure its home block holds and
 *                  its entry CRC in the header updated; then the header).
 *   flags bit 1    RO: mount read-only.
 *   flags bit 2    FORGET: zero the journal header before the edits (the
 *                  base pool's last transaction is replayed at every mount
 *                  and would otherwise undo edits to its home blocks).
 *
 * Each case: write the image to a pid-specific pool file in /dev/shm,
 * udax_fsck it (fsck replays the journal and frees orphans, so the image
 * is written again afterwards: mount judges the same bytes fsck judged),
 * udax_mount it, walk every directory (opendir/readdir/stat), read every
 * file (SEEK_DATA/SEEK_HOLE and pread; holes must read as zeros), on a
 * read-write mount create+write+fsync+unlink a file, mkdir+rmdir, append
 * to an existing file and truncate it back; unmount; udax_fsck again.
 *
 * Invariants (a violation calls abort(), which libFuzzer reports and
 * saves as a crash input):
 *   - no crash, hang or sanitizer report (a per-case POSIX timer, not
 *     alarm(), which libFuzzer's own -timeout uses, aborts a hung case);
 *   - the rule, "every corruption that mount accepts must be
 *     reported by fsck": if udax_mount accepted the image, then either the
 *     first udax_fsck reported problems (> 0), or every call of the read
 *     sweep succeeds and agrees with itself (readdir vs lookup, stat vs
 *     fstat, holes read as zeros), the write sweep succeeds (only ENOSPC,
 *     EEXIST for our own names and EFBIG are allowed), a read-only mount
 *     refuses writes, unmount returns 0 and the final fsck is clean.
 *   With UDAX_FUZZ_STRICT=1, also: a refused mount uses an errno udax.h
 *   documents and leaves a message, and a read-write mount does not refuse
 *   an image that fsck calls clean.  (Counted, not fatal, by default.)
 *
 * Environment: UDAX_FUZZ_CASE_SECONDS (per-case budget, default 10),
 * UDAX_FUZZ_VERBOSE=1 (one line per case), UDAX_FUZZ_STRICT=1.
 *
 * Built with -DUDAX_FUZZ_STANDALONE (any compiler, no libFuzzer) the file
 * has its own main(): "--make-corpus DIR" writes the seed corpus, and any
 * other arguments are inputs to run once each (to replay a crash under
 * gdb or valgrind).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udax.h"
#include "media/crc32c.h"
#include "media/layout.h"

#define FZ_POOL_MB 4
#define FZ_MAX_EDITS 64
#define FZ_MAX_HOT 256
#define FZ_MAX_EXTRA 128

#define FZ_FIX 0x01
#define FZ_RO 0x02
#define FZ_FORGET 0x04

#define FZ_CTL_XOR 0x80
#define FZ_SEL_WINDOW 0x8000

/* touched[] flags per pool block */
#define T_SUPER 1
#define T_MREC 2
#define T_BLOCK 4

#define FZ_FULL_READ (2u << 20)      /* files up to this size are read whole */
#define FZ_READ_BUDGET (8u << 20)    /* bytes read from one larger file */
#define FZ_MAX_SEGMENTS 4096
#define FZ_MAX_DEPTH 16
#define FZ_MAX_ENTRIES 4096          /* per case, all directories */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_edit {
	uint64_t blk;
	uint32_t off, len;
	uint8_t xor;
};

struct fz_probs {
	int n;
	char text[1024];
};

struct fz_sweep {
	int fail;
	char why[768];
	int dirs, files, entries;
	uint64_t bytes;
	char first_file[UDAX_PATH_MAX];
};

struct fz_case {
	uint8_t flags;
	int nedits;
	struct fz_edit edit[FZ_MAX_EDITS];
	int fsck1, mount_ret, umount_ret, fsck2;
	char mount_msg[256];
	struct fz_probs p1, p2;
	struct fz_sweep sw;
};

/* Everything built once, at initialisation. */
static struct {
	char pool[128];
	int fd;
	uint8_t *base, *img;
	size_t size;
	struct dsuper sb;            /* the base superblock: fixer geometry */
	uint64_t extra[FZ_MAX_EXTRA];
	int nextra;
	uint64_t nwin;
	uint64_t hot[FZ_MAX_HOT];    /* pool block numbers */
	int nhot;
	uint8_t *touched;            /* per pool block */
	uint8_t *tino;               /* per inode */
	uint8_t tjent[JSLOTS];       /* journal header entries */
	unsigned budget_s;
	int verbose, strict;
	timer_t timer;
	int have_timer;
} G;

static const char *volatile fz_stage = "idle";

static struct {
	unsigned long cases, f1_clean, f1_problems, f1_error;
	unsigned long mounted, mounted_ro, mounted_clean, refused[6];
	unsigned long refused_clean, refused_undocumented, refused_silent;
	unsigned long write_enospc, files_read, dirs_read;
} S;

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static void fz_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_image: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void fz_fill(void *buf, size_t n, uint64_t seed)
{
	uint8_t *b = buf;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

static void fz_seal_at(void *p, size_t len, size_t crc_off)
{
	uint32_t c = 0;

	memcpy((char *)p + crc_off, &c, 4);
	c = crc32c(0, p, len);
	memcpy((char *)p + crc_off, &c, 4);
}

/* An inode slot: all zero stays all zero (a free slot), else resealed. */
static void fz_seal_inode(struct dinode *d)
{
	static const uint8_t zero[INODE_SIZE - 4];

	if (memcmp(d, zero, sizeof(zero)) == 0)
		d->crc = 0;
	else
		fz_seal_at(d, INODE_SIZE, offsetof(struct dinode, crc));
}

static uint8_t *fz_block(uint8_t *img, uint64_t blk)
{
	return img + blk * BLK;
}

static struct dinode *fz_inode(uint8_t *img, uint64_t ino)
{
	return (struct dinode *)(fz_block(img, G.sb.itable_start + (ino - 1) / INODES_PER_BLOCK) +
	                         ((ino - 1) % INODES_PER_BLOCK) * INODE_SIZE);
}

static int fz_is_bitmap(uint64_t b)
{
	return b >= G.sb.bitmap_start && b < G.sb.bitmap_start + G.sb.bitmap_blocks;
}

static int fz_is_itable(uint64_t b)
{
	return b >= G.sb.itable_start && b < G.sb.data_start;
}

static int fz_write_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w, off += w;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The base image                                                     */
/* ------------------------------------------------------------------ */

static int fz_put(udax_fs *fs, const char *path, size_t len, off_t at, uint64_t seed)
{
	static uint8_t buf[16384];
	int fd = udax_open(fs, path, O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		return fd;
	int err = 0;
	if (len) {
		if (len > sizeof(buf))
			len = sizeof(buf);
		fz_fill(buf, len, seed);
		err = udax_pwrite(fs, fd, buf, len, at) == (ssize_t)len ? 0 : -EIO;
	}
	udax_close(fs, fd);
	return err;
}

/* The sparse file and the file whose 170 one-block extents need two leaves. */
static int fz_put_sparse(udax_fs *fs)
{
	int err = fz_put(fs, "/sparse", 4096, 0, 21) | fz_put(fs, "/sparse", 4096, 65536, 22) |
	          fz_put(fs, "/sparse", 100, 200 * 1024 + 7, 23);
	int fd = udax_open(fs, "/sparse", O_RDWR, 0);
	if (fd < 0 || udax_ftruncate(fs, fd, 1 << 20) < 0)
		err = -EIO;
	udax_close(fs, fd);
	for (int k = 0; k < 170 && !err; k++)
		err = fz_put(fs, "/chain", 4096, (off_t)k * 8192, 100 + (uint64_t)k);
	return err;
}

static int fz_put_tree(udax_fs *fs)
{
	int err = udax_mkdir(fs, "/d1", 0755) | udax_mkdir(fs, "/d1/sub", 0755) |
	          udax_mkdir(fs, "/many", 0755);
	err |= fz_put(fs, "/a", 10000, 0, 1) | fz_put(fs, "/empty", 0, 0, 2) |
	       fz_put(fs, "/d1/x", 5000, 0, 3) | fz_put(fs, "/d1/sub/z", 4096, 0, 4);
	for (int k = 0; k < 4 && !err; k++)
		err = fz_put(fs, "/frag1", 4096, (off_t)k * 4096, 5) |
		      fz_put(fs, "/frag2", 4096, (off_t)k * 4096, 6);
	for (int k = 0; k < 20 && !err; k++) {
		char name[32];
		snprintf(name, sizeof(name), "/many/f%02d", k);
		err = fz_put(fs, name, k < 5 ? 100 * (size_t)(k + 1) : 0, 0, 30 + (uint64_t)k);
	}
	return err ? err : fz_put_sparse(fs);
}

static void fz_add_extra(uint64_t b)
{
	if (b < G.sb.data_start || b >= G.sb.nblocks)
		return;
	for (int i = 0; i < G.nextra; i++)
		if (G.extra[i] == b)
			return;
	if (G.nextra < FZ_MAX_EXTRA)
		G.extra[G.nextra++] = b;
}

static int fz_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Record the extent leaves and directory blocks the base image uses. */
static void fz_find_extra(void)
{
	for (uint64_t ino = 1; ino <= G.sb.ninodes; ino++) {
		const struct dinode *d = fz_inode(G.base, ino);
		if (!d->mode)
			continue;
		uint64_t lb = d->extent_head;
		for (uint64_t k = 0; k < d->nleaves && lb; k++) {
			const struct dleaf *l = (const void *)fz_block(G.base, lb);
			fz_add_extra(lb);
			for (uint32_t j = 0; S_ISDIR(d->mode) && j < l->count && j < LEAF_CAP; j++)
				for (uint32_t q = 0; q < l->ext[j].len; q++)
					fz_add_extra(l->ext[j].pblk + q);
			lb = l->next;
		}
	}
	qsort(G.extra, (size_t)G.nextra, sizeof(G.extra[0]), fz_cmp_u64);
	G.nwin = G.sb.data_start + (uint64_t)G.nextra;
}

static void fz_add_hot(uint64_t b)
{
	if (G.nhot < FZ_MAX_HOT)
		G.hot[G.nhot++] = b;
}

/* The blocks the base pool really uses, where edits matter most. */
static void fz_find_hot(void)
{
	const struct djhdr *h = (const void *)fz_block(G.base, JOURNAL_START);
	uint32_t cnt = h->magic == JHDR_MAGIC && h->count <= JSLOTS ? h->count : 0;

	fz_add_hot(0);
	fz_add_hot(JOURNAL_START);
	for (uint32_t i = 0; i < cnt; i++)
		fz_add_hot(JOURNAL_START + 1 + i);
	for (uint64_t b = 0; b < G.sb.bitmap_blocks; b++)
		fz_add_hot(G.sb.bitmap_start + b);
	for (uint64_t b = G.sb.itable_start; b < G.sb.data_start; b++) {
		const struct dinode *d = (const void *)fz_block(G.base, b);
		int used = 0;
		for (unsigned i = 0; i < INODES_PER_BLOCK; i++)
			used |= d[i].mode != 0;
		if (used)
			fz_add_hot(b);
	}
	for (int i = 0; i < G.nextra; i++)
		fz_add_hot(G.extra[i]);
}

static void fz_make_base(void)
{
	char path[160];
	udax_fs *fs;
	int fd, err;

	snprintf(path, sizeof(path), "%s.base", G.pool);
	unlink(path);
	err = udax_mkfs(path, (uint64_t)FZ_POOL_MB << 20, 0);
	if (err || (err = udax_mount(path, NULL, &fs)) != 0)
		fz_die("base pool %s: %d (%s)", path, err, udax_last_error());
	err = fz_put_tree(fs);
	udax_unmount(fs);
	if (err || udax_fsck(path, NULL, NULL) != 0)
		fz_die("building the base pool failed (%d)", err);
	G.size = (size_t)FZ_POOL_MB << 20;
	G.base = malloc(G.size);
	G.img = malloc(G.size);
	fd = open(path, O_RDONLY);
	if (!G.base || !G.img || fd < 0 || pread(fd, G.base, G.size, 0) != (ssize_t)G.size)
		fz_die("cannot read the base pool %s", path);
	close(fd);
	unlink(path);
	memcpy(&G.sb, G.base, sizeof(G.sb));
	G.touched = calloc(G.sb.nblocks, 1);
	G.tino = calloc(G.sb.ninodes + 1, 1);
	if (!G.touched || !G.tino)
		fz_die("out of memory");
	fz_find_extra();
	fz_find_hot();
}

/* ------------------------------------------------------------------ */
/* Applying a patch list                                              */
/* ------------------------------------------------------------------ */

static uint64_t fz_window_block(uint64_t w)
{
	return w < G.sb.data_start ? w : G.extra[w - G.sb.data_start];
}

static void fz_mark(uint64_t blk, uint32_t off, uint32_t len)
{
	uint32_t end = off + len; /* exclusive, <= BLK */

	if (blk == 0) {
		if (off < sizeof(struct dsuper))
			G.touched[0] |= T_SUPER;
		if (off < MOUNT_OFFSET + sizeof(struct dmount) && end > MOUNT_OFFSET)
			G.touched[0] |= T_MREC;
		return;
	}
	G.touched[blk] |= T_BLOCK;
	if (blk == JOURNAL_START && end > offsetof(struct djhdr, ent)) {
		uint32_t a = off > offsetof(struct djhdr, ent) ? off : offsetof(struct djhdr, ent);
		for (uint32_t i = (a - 32) / 16; i <= (end - 1 - 32) / 16 && i < JSLOTS; i++)
			G.tjent[i] = 1;
	}
	if (fz_is_itable(blk)) {
		uint64_t first = (blk - G.sb.itable_start) * INODES_PER_BLOCK + 1;
		for (uint32_t i = off / INODE_SIZE; i <= (end - 1) / INODE_SIZE; i++)
			G.tino[first + i] = 1;
	}
}

/* Decode one edit at @p (@left bytes); returns the bytes consumed, 0 at the end. */
static size_t fz_apply_edit(const uint8_t *p, size_t left, struct fz_case *c)
{
	if (left < 6 || c->nedits == FZ_MAX_EDITS)
		return 0;
	uint16_t sel = (uint16_t)(p[0] | p[1] << 8);
	uint32_t off = (uint32_t)(p[2] | p[3] << 8) % BLK;
	uint8_t ctl = p[4];
	size_t n = (size_t)(ctl & 0x1f) + 1, len;

	if (n > left - 5)
		n = left - 5;
	len = n < BLK - off ? n : BLK - off;
	uint64_t w = (sel & FZ_SEL_WINDOW) ? (sel & 0x7fffu) % G.nwin : G.hot[sel % G.nhot];
	uint64_t blk = (sel & FZ_SEL_WINDOW) ? fz_window_block(w) : w;
	uint8_t *dst = fz_block(G.img, blk) + off;
	for (size_t i = 0; i < len; i++)
		dst[i] = (ctl & FZ_CTL_XOR) ? (uint8_t)(dst[i] ^ p[5 + i]) : p[5 + i];
	fz_mark(blk, off, (uint32_t)len);
	c->edit[c->nedits++] = (struct fz_edit){ blk, off, (uint32_t)len, !!(ctl & FZ_CTL_XOR) };
	return 5 + n;
}

/* A journal slot image: reseal it as what its home block holds. */
static void fz_seal_slot_image(uint32_t i)
{
	const struct djhdr *h = (const void *)fz_block(G.img, JOURNAL_START);
	uint8_t *img = fz_block(G.img, JOURNAL_START + 1 + i);
	uint64_t home = h->ent[i].home;
	uint32_t magic;

	memcpy(&magic, img, 4);
	if (fz_is_itable(home)) {
		for (unsigned k = 0; k < INODES_PER_BLOCK; k++)
			fz_seal_inode((struct dinode *)(img + k * INODE_SIZE));
	} else if (fz_is_bitmap(home) || magic == LEAF_MAGIC || magic == DIRB_MAGIC) {
		fz_seal_at(img, BLK, 4);
	}
}

/* Flag FIX: recompute the CRC of every structure an edit touched. */
static void fz_fix_crcs(void)
{
	struct djhdr *h = (struct djhdr *)fz_block(G.img, JOURNAL_START);
	int jdirty = G.touched[JOURNAL_START] != 0;

	for (uint32_t i = 0; i < JSLOTS; i++)
		if (G.touched[JOURNAL_START + 1 + i]) {
			fz_seal_slot_image(i);
			G.tjent[i] = 1;
		}
	for (uint64_t b = G.sb.bitmap_start; b < G.sb.nblocks; b++)
		if (G.touched[b] && !fz_is_itable(b))
			fz_seal_at(fz_block(G.img, b), BLK, 4);
	for (uint64_t ino = 1; ino <= G.sb.ninodes; ino++)
		if (G.tino[ino])
			fz_seal_inode(fz_inode(G.img, ino));
	for (uint32_t i = 0; i < JSLOTS && i < h->count; i++)
		if (G.tjent[i]) {
			h->ent[i].crc = crc32c(0, fz_block(G.img, JOURNAL_START + 1 + i), BLK);
			jdirty = 1;
		}
	if (jdirty)
		fz_seal_at(h, BLK, offsetof(struct djhdr, crc));
	if (G.touched[0] & T_MREC)
		fz_seal_at(G.img + MOUNT_OFFSET, sizeof(struct dmount), offsetof(struct dmount, crc));
	if (G.touched[0] & T_SUPER)
		fz_seal_at(G.img, sizeof(struct dsuper), offsetof(struct dsuper, crc));
}

/* Build this case's image in G.img from the base and the patch list. */
static void fz_build_image(const uint8_t *data, size_t size, struct fz_case *c)
{
	memcpy(G.img, G.base, G.size);
	memset(G.touched, 0, G.sb.nblocks);
	memset(G.tino, 0, G.sb.ninodes + 1);
	memset(G.tjent, 0, sizeof(G.tjent));
	c->flags = size ? data[size - 1] : 0;
	if (c->flags & FZ_FORGET)
		memset(fz_block(G.img, JOURNAL_START), 0, BLK);
	const uint8_t *p = data;
	size_t left = size ? size - 1 : 0, used;
	while ((used = fz_apply_edit(p, left, c)) != 0)
		p += used, left -= used;
	if (c->flags & FZ_FIX)
		fz_fix_crcs();
}
