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
 *   sel < 0x8000   a "hot" range, hot[sel % nhot]: the byte range of one
 *                  structure the base pool really uses (superblock fields,
 *                  mount record, live journal header entries and slots,
 *                  the used part of the bitmap, each in-use inode and one
 *                  free one, each leaf's header and extents, each
 *                  directory block's header and used slots); the edit
 *                  starts at byte off % len of the range.  Most edits
 *                  thus land on a field that matters.
 *   sel >= 0x8000  window block (sel & 0x7fff) % nwin, at byte off % 4096,
 *                  where window blocks 0 .. data_start-1 are pool blocks
 *                  0 .. data_start-1 and window block data_start + k is
 *                  the k-th leaf/directory block of the base image
 *                  (ascending block numbers).  The seeds use this form.
 *   An edit never crosses the end of its block (it is clipped).
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
 *   flags bit 3    DELETE: after the write sweep (read-write mounts),
 *                  unlink and rmdir the whole tree, check "/" is empty and
 *                  write one new 64 KiB file.
 *   flags bits 4-7 which file the write sweep grows, appends to, punches,
 *                  fallocates, truncates and renames: k = flags >> 4 picks
 *                  file k * (n - 1) / 15 of the n files in read-sweep
 *                  order (the first and the last are always reachable).
 *
 * Each case: write the image to a pid-specific pool file in /dev/shm,
 * udax_fsck it (fsck replays the journal and frees orphans, so the image
 * is written again afterwards: mount judges the same bytes fsck judged),
 * udax_mount it, walk every directory (opendir/readdir/stat), read every
 * file (SEEK_DATA/SEEK_HOLE and pread; holes must read as zeros), on a
 * read-write mount grow every file by ftruncate (the new bytes must read
 * as zeros) and shrink it back, create+write+fsync+unlink a file,
 * mkdir+rmdir, and on one existing file append + read back, punch,
 * fallocate, zero a range, truncate back, rename away and back; with
 * flag DELETE, delete the whole tree and write a new file; unmount;
 * udax_fsck again.
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
 *     A mount accepted while fsck could not open the image at all is a
 *     violation too, except for the one documented case: unknown
 *     read-only-compatible features, where only a read-only mount is
 *     allowed and fsck (which opens read-write) declines to check.
 *   With UDAX_FUZZ_STRICT=1, also: a refused mount uses an errno udax.h
 *   documents and leaves a message, and a read-write mount does not refuse
 *   an image that fsck calls clean.  (Counted, not fatal, by default.)
 *
 * Environment: UDAX_FUZZ_CASE_SECONDS (per-case wall-clock budget, default
 * 30; a normal case takes 20-60 ms),
 * UDAX_FUZZ_VERBOSE=1 (one line per case), UDAX_FUZZ_STRICT=1,
 * UDAX_FUZZ_NO_GROW=1 (skip the grow-every-file check, to fuzz past the
 * open bug in tests/fuzz/crashes/README.md).
 *
 * Built with -DUDAX_FUZZ_STANDALONE (any compiler, no libFuzzer) the file
 * has its own main(): "--make-corpus DIR" writes the seed corpus,
 * "--make-crashes DIR" the reproducers of tests/fuzz/crashes, and any
 * other arguments are inputs to run once each (to replay a crash under
 * gdb or valgrind).
 */
#include <dirent.h>
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
#define FZ_DELETE 0x08

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
#define FZ_TARGETS 64                /* files the write sweep may pick from */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_edit {
	uint64_t blk;
	uint32_t off, len;
	uint8_t xor;
};

struct fz_range {
	uint64_t blk;
	uint32_t off, len;
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
	int nfiles;                  /* regular files seen, the first FZ_TARGETS kept */
	char target[FZ_TARGETS][UDAX_PATH_MAX];
};

struct fz_case {
	uint8_t flags;
	int nedits;
	struct fz_edit edit[FZ_MAX_EDITS];
	int fsck1, mount_ret, umount_ret, fsck2;
	char mount_msg[256];
	const char *target;          /* the file the write sweep worked on */
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
	struct fz_range hot[FZ_MAX_HOT];
	int nhot;
	uint8_t *touched;            /* per pool block */
	uint8_t *tino;               /* per inode */
	uint8_t tjent[JSLOTS];       /* journal header entries */
	unsigned budget_s;
	int verbose, strict, no_grow;
	timer_t timer;
	int have_timer;
} G;

static const char *volatile fz_stage = "idle";

static struct {
	unsigned long cases, f1_clean, f1_problems, f1_error;
	unsigned long mounted, mounted_ro, mounted_clean, refused[6];
	unsigned long refused_clean, refused_undocumented, refused_silent;
	unsigned long fsck_declined, files_read, dirs_read;
} S;

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 1, 2)))
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

static void fz_add_hot(uint64_t blk, uint32_t off, uint32_t len)
{
	if (G.nhot < FZ_MAX_HOT && len)
		G.hot[G.nhot++] = (struct fz_range){ blk, off, off + len > BLK ? BLK - off : len };
}

/* Hot ranges of the leaves and directory blocks: a leaf's header and
 * extents (and room for one more), a directory block's header and the
 * header and name of each used slot. */
static void fz_hot_blocks(void)
{
	for (int i = 0; i < G.nextra; i++) {
		const uint8_t *b = fz_block(G.base, G.extra[i]);
		const struct dleaf *l = (const void *)b;
		const struct ddirblock *db = (const void *)b;
		if (l->magic == LEAF_MAGIC) {
			uint32_t n = l->count < LEAF_CAP ? l->count + 1 : LEAF_CAP;
			fz_add_hot(G.extra[i], 0, 40 + 24 * n);
			continue;
		}
		fz_add_hot(G.extra[i], 0, offsetof(struct ddirblock, slot));
		for (uint32_t k = 0; k < DIR_SLOTS; k++)
			if (db->slot[k].ino)
				fz_add_hot(G.extra[i], (uint32_t)offsetof(struct ddirblock, slot[k]),
				           (uint32_t)offsetof(struct ddirent, name) +
				           db->slot[k].name_len + 1);
	}
}

/* The byte ranges of the structures the base pool really uses: most
 * edits land on a field that matters. */
static void fz_find_hot(void)
{
	const struct djhdr *h = (const void *)fz_block(G.base, JOURNAL_START);
	uint32_t cnt = h->magic == JHDR_MAGIC && h->count <= JSLOTS ? h->count : 0;
	int free_inode = 0;

	fz_add_hot(0, 0, offsetof(struct dsuper, reserved));
	fz_add_hot(0, MOUNT_OFFSET, sizeof(struct dmount));
	fz_add_hot(JOURNAL_START, 0, 32 + 16 * (cnt + 1));
	for (uint32_t i = 0; i < cnt; i++)
		fz_add_hot(JOURNAL_START + 1 + i, 0, BLK);
	for (uint64_t b = 0; b < G.sb.bitmap_blocks; b++)
		fz_add_hot(G.sb.bitmap_start + b, 0, (uint32_t)(16 + G.sb.nblocks / 8));
	for (uint64_t ino = 1; ino <= G.sb.ninodes; ino++) {
		uint64_t blk = G.sb.itable_start + (ino - 1) / INODES_PER_BLOCK;
		uint32_t off = (uint32_t)((ino - 1) % INODES_PER_BLOCK) * INODE_SIZE;
		if (fz_inode(G.base, ino)->mode || !free_inode++)
			fz_add_hot(blk, off, INODE_SIZE);  /* and one free slot */
	}
	fz_hot_blocks();
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
	uint32_t off = (uint32_t)(p[2] | p[3] << 8);
	uint8_t ctl = p[4];
	size_t n = (size_t)(ctl & 0x1f) + 1, len;

	if (n > left - 5)
		n = left - 5;
	uint64_t blk;
	if (sel & FZ_SEL_WINDOW) {
		blk = fz_window_block((sel & 0x7fffu) % G.nwin);
		off %= BLK;
	} else {
		const struct fz_range *r = &G.hot[sel % G.nhot];
		blk = r->blk;
		off = r->off + off % r->len;
	}
	len = n < BLK - off ? n : BLK - off;
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

/* ------------------------------------------------------------------ */
/* Per-case time budget                                               */
/* ------------------------------------------------------------------ */

static void fz_on_budget(int sig)
{
	static const char m[] = "\nfuzz_image: per-case time budget exceeded (hang) in stage: ";
	const char *st = fz_stage;
	ssize_t r;

	(void)sig;
	r = write(2, m, sizeof(m) - 1);
	r += write(2, st, strlen(st));
	r += write(2, "\n", 1);
	(void)r;
	abort();
}

/* A POSIX timer with its own signal: alarm() would clobber libFuzzer's
 * -timeout, which uses ITIMER_REAL. */
static void fz_timer_init(void)
{
	struct sigaction sa;
	struct sigevent sev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_on_budget;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + 3, &sa, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 3;
	G.have_timer = timer_create(CLOCK_MONOTONIC, &sev, &G.timer) == 0;
	if (!G.have_timer)
		fprintf(stderr, "fuzz_image: no per-case timer (%s); rely on -timeout\n",
		        strerror(errno));
}

static void fz_timer_arm(unsigned seconds)
{
	struct itimerspec it;

	if (!G.have_timer)
		return;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = seconds;
	timer_settime(G.timer, 0, &it, NULL);
}

/* ------------------------------------------------------------------ */
/* The read sweep                                                     */
/* ------------------------------------------------------------------ */

static void fz_capture(void *arg, const char *msg)
{
	struct fz_probs *p = arg;
	size_t l = strlen(p->text);

	if (p->n++ < 4)
		snprintf(p->text + l, sizeof(p->text) - l, "      %s\n", msg);
}

/* Record why the sweep failed (the first reason only). */
__attribute__((format(printf, 2, 3)))
static void fz_note(struct fz_sweep *s, const char *fmt, ...)
{
	va_list ap;

	if (s->fail++)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static int fz_zero(const uint8_t *p, uint64_t n)
{
	static const uint8_t zero[4096];

	while (n) {
		size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);
		if (memcmp(p, zero, k) != 0)
			return 0;
		p += k, n -= k;
	}
	return 1;
}

/* Read a file of at most FZ_FULL_READ bytes whole; NULL on failure. */
static const uint8_t *fz_read_whole(udax_fs *fs, int fd, const char *path, uint64_t size,
                                    struct fz_sweep *s)
{
	static uint8_t buf[FZ_FULL_READ];

	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < 262144 ? (size_t)(size - off) : 262144;
		ssize_t r = udax_pread(fs, fd, buf + off, n, (off_t)off);
		if (r != (ssize_t)n) {
			fz_note(s, "%s: pread(%zu bytes at %llu) = %zd, size %llu", path, n,
			        (unsigned long long)off, r, (unsigned long long)size);
			return NULL;
		}
		off += n;
	}
	s->bytes += size;
	return buf;
}

static void fz_read_range(udax_fs *fs, int fd, const char *path, uint64_t from, uint64_t to,
                          uint64_t *budget, struct fz_sweep *s)
{
	static uint8_t chunk[65536];

	while (from < to && *budget && !s->fail) {
		size_t n = to - from < sizeof(chunk) ? (size_t)(to - from) : sizeof(chunk);
		n = n < *budget ? n : (size_t)*budget;
		ssize_t r = udax_pread(fs, fd, chunk, n, (off_t)from);
		if (r != (ssize_t)n)
			fz_note(s, "%s: pread(%zu bytes at %llu) = %zd", path, n,
			        (unsigned long long)from, r);
		from += n, *budget -= n, s->bytes += n;
	}
}

/* Walk the file's data segments with SEEK_DATA/SEEK_HOLE.  With @whole
 * (its contents) every hole must read as zeros; without, read each data
 * segment within a budget. */
static void fz_segments(udax_fs *fs, int fd, const char *path, uint64_t size,
                        const uint8_t *whole, struct fz_sweep *s)
{
	uint64_t off = 0, budget = FZ_READ_BUDGET;

	for (int it = 0; off < size && it < FZ_MAX_SEGMENTS && !s->fail; it++) {
		off_t d = udax_lseek(fs, fd, (off_t)off, SEEK_DATA);
		if (d == -ENXIO)
			d = (off_t)size;
		else if (d < 0 || (uint64_t)d < off || (uint64_t)d >= size) {
			fz_note(s, "%s: SEEK_DATA from %llu = %lld, size %llu", path,
			        (unsigned long long)off, (long long)d, (unsigned long long)size);
			return;
		}
		if (whole && !fz_zero(whole + off, (uint64_t)d - off)) {
			fz_note(s, "%s: hole [%llu, %lld) does not read as zeros", path,
			        (unsigned long long)off, (long long)d);
			return;
		}
		if ((uint64_t)d == size)
			return;
		off_t h = udax_lseek(fs, fd, d, SEEK_HOLE);
		if (h <= d || (uint64_t)h > size) {
			fz_note(s, "%s: SEEK_HOLE from %lld = %lld, size %llu", path, (long long)d,
			        (long long)h, (unsigned long long)size);
			return;
		}
		if (!whole)
			fz_read_range(fs, fd, path, (uint64_t)d, (uint64_t)h, &budget, s);
		off = (uint64_t)h;
	}
}

static void fz_read_file(udax_fs *fs, const char *path, const struct stat *st,
                         struct fz_sweep *s)
{
	struct stat fst;
	int fd = udax_open(fs, path, O_RDONLY, 0);

	if (fd < 0) {
		fz_note(s, "open(%s, O_RDONLY) = %d", path, fd);
		return;
	}
	int e = udax_fstat(fs, fd, &fst);
	if (e < 0 || fst.st_ino != st->st_ino || fst.st_size != st->st_size) {
		fz_note(s, "%s: fstat = %d (ino %llu size %lld), stat said ino %llu size %lld", path,
		        e, (unsigned long long)fst.st_ino, (long long)fst.st_size,
		        (unsigned long long)st->st_ino, (long long)st->st_size);
	} else if (st->st_size < 0) {
		fz_note(s, "%s: negative size %lld", path, (long long)st->st_size);
	} else {
		uint64_t size = (uint64_t)st->st_size;
		const uint8_t *whole = NULL;
		if (size <= FZ_FULL_READ)
			whole = fz_read_whole(fs, fd, path, size, s);
		if (whole || size > FZ_FULL_READ)
			fz_segments(fs, fd, path, size, whole, s);
		uint8_t c;
		ssize_t r = udax_pread(fs, fd, &c, 1, (off_t)size);
		if (r != 0 && !s->fail)
			fz_note(s, "%s: pread at end of file (%llu) = %zd", path,
			        (unsigned long long)size, r);
	}
	s->files++;
	udax_close(fs, fd);
}

struct fz_ent {
	char name[UDAX_NAME_MAX + 1];
	uint64_t ino;
	unsigned char type;
};

/* List a directory into a malloc'ed array; returns the number of entries. */
static int fz_list(udax_fs *fs, const char *dir, struct fz_ent **out, struct fz_sweep *s)
{
	struct udax_dirent de;
	struct fz_ent *v = NULL;
	udax_dir *d;
	int n = 0, cap = 0, r;

	*out = NULL;
	r = udax_opendir(fs, dir, &d);
	if (r < 0) {
		fz_note(s, "opendir(%s) = %d", dir, r);
		return 0;
	}
	while ((r = udax_readdir(d, &de)) == 1 && s->entries++ < FZ_MAX_ENTRIES) {
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = realloc(v, (size_t)cap * sizeof(*v));
			if (!v)
				fz_die("out of memory");
		}
		memcpy(v[n].name, de.d_name, sizeof(v[n].name));
		v[n].name[UDAX_NAME_MAX] = '\0';
		v[n].ino = de.d_ino;
		v[n].type = de.d_type;
		n++;
	}
	if (r < 0)
		fz_note(s, "readdir(%s) = %d", dir, r);
	r = udax_closedir(d);
	if (r < 0)
		fz_note(s, "closedir(%s) = %d", dir, r);
	*out = v;
	return n;
}

static void fz_walk(udax_fs *fs, const char *dir, int depth, struct fz_sweep *s)
{
	struct fz_ent *v;
	int n = fz_list(fs, dir, &v, s);

	s->dirs++;
	for (int i = 0; i < n; i++) {
		char path[UDAX_PATH_MAX];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
		                   v[i].name);
		if (len < 0 || len >= (int)sizeof(path))
			continue;
		int e = udax_stat(fs, path, &st);
		if (e < 0)
			fz_note(s, "stat(%s) of a listed entry = %d", path, e);
		else if ((uint64_t)st.st_ino != v[i].ino)
			fz_note(s, "%s: readdir says inode %llu, lookup finds %llu", path,
			        (unsigned long long)v[i].ino, (unsigned long long)st.st_ino);
		else if (v[i].type != DT_REG && v[i].type != DT_DIR)
			fz_note(s, "%s: readdir type %u", path, v[i].type);
		else if ((v[i].type == DT_DIR) != !!S_ISDIR(st.st_mode))
			fz_note(s, "%s: readdir type %u, mode 0%o", path, v[i].type, st.st_mode);
		else if (S_ISDIR(st.st_mode)) {
			if (depth < FZ_MAX_DEPTH)
				fz_walk(fs, path, depth + 1, s);
		} else if (S_ISREG(st.st_mode)) {
			if (s->nfiles < FZ_TARGETS)
				memcpy(s->target[s->nfiles], path, (size_t)len + 1);
			s->nfiles++;
			fz_read_file(fs, path, &st, s);
		} else {
			fz_note(s, "%s: mode 0%o is neither file nor directory", path, st.st_mode);
		}
	}
	free(v);
}

/* ------------------------------------------------------------------ */
/* The write sweep                                                    */
/* ------------------------------------------------------------------ */

/* A write that did nothing wrong: all of it, part of it, or no space. */
static int fz_write_ok(ssize_t w, size_t len)
{
	return (w >= 0 && (size_t)w <= len) || w == -ENOSPC || w == -EFBIG;
}

/* Create a file, write a little and a sparse block, read back, fsync, unlink. */
static void fz_write_new(udax_fs *fs, struct fz_sweep *s)
{
	static uint8_t out[3 * 4096 + 100], in[sizeof(out)];
	int fd = udax_open(fs, "/.fz-new", O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd == -EEXIST || fd == -ENOSPC)
		return;
	if (fd < 0) {
		fz_note(s, "create /.fz-new = %d", fd);
		return;
	}
	fz_fill(out, sizeof(out), 77);
	ssize_t w = udax_pwrite(fs, fd, out, sizeof(out), 0);
	ssize_t w2 = udax_pwrite(fs, fd, out, 4096, (1 << 20) + 123);
	int e;
	if (!fz_write_ok(w, sizeof(out)) || !fz_write_ok(w2, 4096))
		fz_note(s, "pwrite /.fz-new = %zd, %zd", w, w2);
	else if (w > 0 && (udax_pread(fs, fd, in, (size_t)w, 0) != w || memcmp(in, out, (size_t)w)))
		fz_note(s, "/.fz-new does not read back what was written");
	else if ((e = udax_fsync(fs, fd)) != 0)
		fz_note(s, "fsync /.fz-new = %d", e);
	udax_close(fs, fd);
	if ((e = udax_unlink(fs, "/.fz-new")) != 0)
		fz_note(s, "unlink /.fz-new = %d", e);
}

static void fz_write_dir(udax_fs *fs, struct fz_sweep *s)
{
	int e = udax_mkdir(fs, "/.fz-dir", 0755);

	if (e == -EEXIST || e == -ENOSPC)
		return;
	if (e) {
		fz_note(s, "mkdir /.fz-dir = %d", e);
		return;
	}
	int fd = udax_open(fs, "/.fz-dir/f", O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) {
		ssize_t w = udax_pwrite(fs, fd, "hello", 5, 0);
		if (!fz_write_ok(w, 5))
			fz_note(s, "pwrite /.fz-dir/f = %zd", w);
		udax_close(fs, fd);
		if ((e = udax_unlink(fs, "/.fz-dir/f")) != 0)
			fz_note(s, "unlink /.fz-dir/f = %d", e);
	} else if (fd != -ENOSPC) {
		fz_note(s, "create /.fz-dir/f = %d", fd);
	}
	if ((e = udax_rmdir(fs, "/.fz-dir")) != 0)
		fz_note(s, "rmdir /.fz-dir = %d", e);
}

/* Grow the file by ftruncate: the new bytes must read as zeros (udax.h:
 * "growing leaves a hole"); then shrink it back. */
static void fz_check_grow(udax_fs *fs, int fd, const char *path, off_t size,
                          struct fz_sweep *s)
{
	static uint8_t in[8192];
	int e = udax_ftruncate(fs, fd, size + (off_t)sizeof(in));

	if (e) {
		fz_note(s, "ftruncate(%s, %lld) = %d", path, (long long)size + (long long)sizeof(in), e);
		return;
	}
	ssize_t r = udax_pread(fs, fd, in, sizeof(in), size);
	if (r != (ssize_t)sizeof(in))
		fz_note(s, "%s: pread of the grown range = %zd", path, r);
	else if (!fz_zero(in, sizeof(in)))
		fz_note(s, "%s: growing it from %lld to %lld bytes exposes non-zero bytes", path,
		        (long long)size, (long long)size + (long long)sizeof(in));
	if ((e = udax_ftruncate(fs, fd, size)) != 0)
		fz_note(s, "ftruncate(%s, %lld) = %d", path, (long long)size, e);
}

/* Every file (as the image left it): grow by ftruncate, check zeros,
 * shrink back. */
static void fz_grow_all(udax_fs *fs, struct fz_sweep *s)
{
	struct stat st;

	if (G.no_grow)
		return;
	for (int i = 0; i < s->nfiles && i < FZ_TARGETS; i++) {
		int fd = udax_open(fs, s->target[i], O_RDWR, 0);
		if (fd < 0) {
			fz_note(s, "open(%s, O_RDWR) = %d", s->target[i], fd);
			continue;
		}
		int e = udax_fstat(fs, fd, &st);
		if (e == 0 && st.st_size >= 0 &&
		    (uint64_t)st.st_size < UDAX_MAX_FILE_SIZE - 65536)
			fz_check_grow(fs, fd, s->target[i], st.st_size, s);
		udax_close(fs, fd);
	}
}

/* Append to the file (its extent map came from the image), read the new
 * bytes back, and truncate it back to its size. */
static void fz_write_append(udax_fs *fs, const char *path, struct fz_sweep *s)
{
	static uint8_t out[5000], in[sizeof(out)];
	struct stat st;
	int fd = udax_open(fs, path, O_RDWR, 0);
	if (fd < 0) {
		fz_note(s, "open(%s, O_RDWR) = %d", path, fd);
		return;
	}
	int e = udax_fstat(fs, fd, &st);
	if (e == 0 && st.st_size >= 0 && (uint64_t)st.st_size < UDAX_MAX_FILE_SIZE - 65536) {
		fz_fill(out, sizeof(out), 99);
		ssize_t w = udax_pwrite(fs, fd, out, sizeof(out), st.st_size);
		if (!fz_write_ok(w, sizeof(out)))
			fz_note(s, "append to %s at %lld = %zd", path, (long long)st.st_size, w);
		else if (w > 0 && (udax_pread(fs, fd, in, (size_t)w, st.st_size) != w ||
		                   memcmp(in, out, (size_t)w)))
			fz_note(s, "%s: appended bytes do not read back", path);
		if ((e = udax_ftruncate(fs, fd, st.st_size)) != 0)
			fz_note(s, "ftruncate(%s, %lld) = %d", path, (long long)st.st_size, e);
	}
	udax_close(fs, fd);
}

/* Flag DELETE: remove the whole tree bottom-up (every name the image
 * holds), check "/" is empty, and leave one new file for the final fsck. */
static void fz_delete_tree(udax_fs *fs, const char *dir, int depth, struct fz_sweep *s)
{
	struct fz_ent *v;
	int n = fz_list(fs, dir, &v, s);

	for (int i = 0; i < n; i++) {
		char path[UDAX_PATH_MAX];
		int len = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
		                   v[i].name), e;
		if (len < 0 || len >= (int)sizeof(path))
			continue;
		if (v[i].type == DT_DIR) {
			if (depth < FZ_MAX_DEPTH)
				fz_delete_tree(fs, path, depth + 1, s);
			e = udax_rmdir(fs, path);
		} else {
			e = udax_unlink(fs, path);
		}
		if (e)
			fz_note(s, "%s(%s) in the delete sweep = %d",
			        v[i].type == DT_DIR ? "rmdir" : "unlink", path, e);
	}
	free(v);
}

static void fz_delete_all(udax_fs *fs, struct fz_sweep *s)
{
	static uint8_t out[65536], in[sizeof(out)];
	struct fz_ent *v;

	fz_delete_tree(fs, "/", 0, s);
	int n = fz_list(fs, "/", &v, s);
	if (n)
		fz_note(s, "/ still lists %d entries (first '%s') after the delete sweep", n,
		        v[0].name);
	free(v);
	int fd = udax_open(fs, "/.fz-after", O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		fz_note(s, "create /.fz-after on an emptied file system = %d", fd);
		return;
	}
	fz_fill(out, sizeof(out), 55);
	ssize_t w = udax_pwrite(fs, fd, out, sizeof(out), 0);
	if (w != (ssize_t)sizeof(out))
		fz_note(s, "pwrite 64 KiB on an emptied file system = %zd", w);
	else if (udax_pread(fs, fd, in, sizeof(in), 0) != w || memcmp(in, out, sizeof(in)))
		fz_note(s, "/.fz-after does not read back");
	udax_close(fs, fd);
}

/* Punch a hole, allocate past the end, zero a range, truncate back. */
static void fz_write_space(udax_fs *fs, const char *path, struct fz_sweep *s)
{
	struct stat st;
	int fd = udax_open(fs, path, O_RDWR, 0), e;

	if (fd < 0) {
		fz_note(s, "open(%s, O_RDWR) = %d", path, fd);
		return;
	}
	e = udax_fstat(fs, fd, &st);
	if (e == 0 && st.st_size >= 0 && (uint64_t)st.st_size < UDAX_MAX_FILE_SIZE - 65536) {
		e = udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, 4096);
		if (e && e != -ENOSPC)
			fz_note(s, "%s: punch [0, 4096) = %d", path, e);
		e = udax_fallocate(fs, fd, 0, st.st_size, 8192);
		if (e && e != -ENOSPC && e != -EFBIG)
			fz_note(s, "%s: fallocate(%lld, 8192) = %d", path, (long long)st.st_size, e);
		e = udax_fallocate(fs, fd, UDAX_FALLOC_ZERO_RANGE | UDAX_FALLOC_KEEP_SIZE, 4096, 4096);
		if (e && e != -ENOSPC)
			fz_note(s, "%s: zero range [4096, 8192) = %d", path, e);
		if ((e = udax_ftruncate(fs, fd, st.st_size)) != 0)
			fz_note(s, "ftruncate(%s, %lld) = %d", path, (long long)st.st_size, e);
	}
	udax_close(fs, fd);
}

/* Move the file to "/" and back. */
static void fz_write_rename(udax_fs *fs, const char *path, struct fz_sweep *s)
{
	int e = udax_rename(fs, path, "/.fz-renamed", UDAX_RENAME_NOREPLACE);

	if (e == -EEXIST || e == -ENOSPC)
		return;
	if (e) {
		fz_note(s, "rename(%s, /.fz-renamed) = %d", path, e);
		return;
	}
	e = udax_rename(fs, "/.fz-renamed", path, UDAX_RENAME_NOREPLACE);
	if (e)
		fz_note(s, "rename(/.fz-renamed, %s) back = %d", path, e);
}

static void fz_ro_checks(udax_fs *fs, struct fz_sweep *s)
{
	int fd = udax_open(fs, "/.fz-new", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		fz_note(s, "a read-only mount created /.fz-new");
		udax_close(fs, fd);
	}
	int e = udax_mkdir(fs, "/.fz-dir", 0755);
	if (e != -EROFS && e != -EEXIST)
		fz_note(s, "mkdir on a read-only mount = %d", e);
}

/* ------------------------------------------------------------------ */
/* One case, and its judgement                                        */
/* ------------------------------------------------------------------ */

static void fz_write_sweep(udax_fs *fs, struct fz_case *c)
{
	fz_grow_all(fs, &c->sw);
	fz_write_new(fs, &c->sw);
	fz_write_dir(fs, &c->sw);
	if (c->sw.nfiles) {
		int n = c->sw.nfiles < FZ_TARGETS ? c->sw.nfiles : FZ_TARGETS;
		c->target = c->sw.target[(c->flags >> 4) * (n - 1) / 15];
		fz_write_append(fs, c->target, &c->sw);
		fz_write_space(fs, c->target, &c->sw);
		fz_write_rename(fs, c->target, &c->sw);
	}
	if (c->flags & FZ_DELETE) {
		fz_stage = "delete sweep";
		fz_delete_all(fs, &c->sw);
	}
}

static void fz_run(struct fz_case *c)
{
	int ro = c->flags & FZ_RO;
	udax_fs *fs = NULL;

	fz_stage = "write pool";
	if (fz_write_all(G.fd, G.img, G.size, 0) < 0)
		fz_die("cannot write %s: %s", G.pool, strerror(errno));
	fz_stage = "first fsck";
	c->fsck1 = udax_fsck(G.pool, fz_capture, &c->p1);
	/* fsck replays the journal and frees orphans: mount must see the
	 * bytes fsck judged, not fsck's result */
	fz_stage = "write pool";
	if (fz_write_all(G.fd, G.img, G.size, 0) < 0)
		fz_die("cannot write %s: %s", G.pool, strerror(errno));
	fz_stage = "mount";
	c->mount_ret = udax_mount(G.pool, ro ? "ro" : NULL, &fs);
	if (c->mount_ret) {
		snprintf(c->mount_msg, sizeof(c->mount_msg), "%s", udax_last_error());
		return;
	}
	fz_stage = "read sweep";
	fz_walk(fs, "/", 0, &c->sw);
	fz_stage = "write sweep";
	if (ro)
		fz_ro_checks(fs, &c->sw);
	else
		fz_write_sweep(fs, c);
	fz_stage = "unmount";
	c->umount_ret = udax_unmount(fs);
	fz_stage = "final fsck";
	c->fsck2 = udax_fsck(G.pool, fz_capture, &c->p2);
	fz_stage = "judge";
}

static const char *fz_kind(uint64_t blk, uint32_t off)
{
	if (blk == 0)
		return off < sizeof(struct dsuper) ? "superblock" :
		       off < MOUNT_OFFSET + sizeof(struct dmount) && off + 32 > MOUNT_OFFSET ?
		       "mount record" : "block 0 (unused bytes)";
	if (blk == JOURNAL_START)
		return "journal header";
	if (blk < JOURNAL_START + JOURNAL_BLOCKS)
		return "journal slot";
	if (fz_is_bitmap(blk))
		return "bitmap";
	if (fz_is_itable(blk))
		return "inode table";
	uint32_t magic;
	memcpy(&magic, fz_block(G.base, blk), 4);
	return magic == LEAF_MAGIC ? "extent leaf" : magic == DIRB_MAGIC ? "directory block" : "data";
}

static void fz_describe(const struct fz_case *c)
{
	fprintf(stderr, "  flags 0x%02x:%s%s%s%s, %d edit(s)\n", c->flags,
	        c->flags & FZ_FIX ? " crc-fixed" : " crc-stale", c->flags & FZ_RO ? " ro" : "",
	        c->flags & FZ_FORGET ? " journal-forgotten" : "",
	        (c->flags & FZ_DELETE) && !(c->flags & FZ_RO) ? " delete-all" : "", c->nedits);
	for (int i = 0; i < c->nedits; i++) {
		const struct fz_edit *e = &c->edit[i];
		fprintf(stderr, "    block %llu (%s) +%u, %u byte(s) %s:", (unsigned long long)e->blk,
		        fz_kind(e->blk, e->off), e->off, e->len, e->xor ? "xor" : "set");
		for (uint32_t k = 0; k < e->len && k < 16; k++)
			fprintf(stderr, " %02x", fz_block(G.img, e->blk)[e->off + k]);
		fprintf(stderr, e->len > 16 ? " ...\n" : "\n");
		if (fz_is_itable(e->blk))
			fprintf(stderr, "      (inode %llu, field offset %u)\n",
			        (unsigned long long)((e->blk - G.sb.itable_start) * INODES_PER_BLOCK +
			                             e->off / INODE_SIZE + 1), e->off % INODE_SIZE);
	}
	fprintf(stderr, "  first fsck: %d\n%s", c->fsck1, c->p1.text);
	fprintf(stderr, "  mount%s: %d %s\n", c->flags & FZ_RO ? " ro" : "", c->mount_ret,
	        c->mount_msg);
	if (c->mount_ret == 0) {
		fprintf(stderr, "  sweep: %d dirs, %d files, %llu bytes read; write target %s; "
		        "%d failure(s)%s%s\n", c->sw.dirs, c->sw.files,
		        (unsigned long long)c->sw.bytes, c->target ? c->target : "-", c->sw.fail,
		        c->sw.fail ? ", first: " : "", c->sw.why);
		fprintf(stderr, "  unmount: %d\n  final fsck: %d\n%s", c->umount_ret, c->fsck2,
		        c->p2.text);
	}
}

static void fz_violation(const struct fz_case *c, const char *what)
{
	fprintf(stderr, "\n==== fuzz_image: INVARIANT VIOLATED: %s\n", what);
	fz_describe(c);
	fflush(stderr);
	unlink(G.pool); /* abort() skips atexit; replaying the input rebuilds it */
	abort();
}

static void fz_judge_refusal(const struct fz_case *c)
{
	int e = -c->mount_ret, ro = c->flags & FZ_RO;
	int k = e == EINVAL ? 0 : e == EUCLEAN ? 1 : e == EPROTONOSUPPORT ? 2 :
	        e == EFBIG ? 3 : e == EROFS ? 4 : 5;
	const char *bad = NULL;

	S.refused[k]++;
	if (k == 5 || (k == 4 && !ro)) {
		S.refused_undocumented++;
		bad = "mount refused with an errno udax.h does not document";
	} else if (!c->mount_msg[0]) {
		S.refused_silent++;
		bad = "mount refused without a udax_last_error() message";
	} else if (!ro && c->fsck1 == 0) {
		S.refused_clean++;
		bad = "a read-write mount refused an image that fsck calls clean";
	}
	if (bad && G.strict)
		fz_violation(c, bad);
}

/* The rule: what mount accepts, fsck must have reported, or it
 * must behave as a clean file system. */
static void fz_judge(const struct fz_case *c)
{
	S.cases++;
	S.f1_clean += c->fsck1 == 0;
	S.f1_problems += c->fsck1 > 0;
	S.f1_error += c->fsck1 < 0;
	if (c->mount_ret) {
		fz_judge_refusal(c);
		return;
	}
	S.mounted++;
	S.mounted_ro += !!(c->flags & FZ_RO);
	S.files_read += (unsigned long)c->sw.files;
	S.dirs_read += (unsigned long)c->sw.dirs;
	if (c->fsck1 > 0)
		return; /* fsck spoke up: only crashes, hangs and sanitizers count */
	if (c->fsck1 == -EPROTONOSUPPORT && (c->flags & FZ_RO)) {
		/* unknown read-only-compatible features: a read-only mount is
		 * allowed, and fsck (which opens read-write) declines to judge */
		S.fsck_declined++;
		return;
	}
	S.mounted_clean++;
	if (c->fsck1 < 0)
		fz_violation(c, "mount accepted an image that fsck could not open");
	if (c->sw.fail)
		fz_violation(c, "fsck found nothing and mount accepted the image, but the "
		                "read/write sweep failed");
	if (c->umount_ret)
		fz_violation(c, "unmount of a clean file system failed");
	if (c->fsck2 != 0)
		fz_violation(c, "fsck found nothing before, but problems after mount and sweeps");
}

static void fz_verbose(const struct fz_case *c)
{
	fprintf(stderr, "case: flags 0x%02x edits %d | fsck %d | mount %d | dirs %d files %d "
	        "bytes %llu target %s fail %d | unmount %d | fsck %d%s%s\n", c->flags, c->nedits,
	        c->fsck1, c->mount_ret, c->sw.dirs, c->sw.files, (unsigned long long)c->sw.bytes,
	        c->target ? c->target : "-", c->sw.fail,
	        c->umount_ret, c->fsck2, c->sw.fail ? " | " : "", c->sw.why);
}

static void fz_at_exit(void)
{
	fprintf(stderr, "fuzz_image: %lu cases; first fsck clean %lu, problems %lu, error %lu; "
	        "mounted %lu (%lu ro; %lu fsck-clean, %lu fsck declined; %lu files, %lu dirs read); "
	        "refused EINVAL %lu EUCLEAN %lu EPROTONOSUPPORT %lu EFBIG %lu EROFS %lu other %lu; "
	        "soft: refused-but-fsck-clean %lu, undocumented errno %lu, no message %lu\n",
	        S.cases, S.f1_clean, S.f1_problems, S.f1_error, S.mounted, S.mounted_ro,
	        S.mounted_clean, S.fsck_declined, S.files_read, S.dirs_read, S.refused[0], S.refused[1],
	        S.refused[2], S.refused[3], S.refused[4], S.refused[5], S.refused_clean,
	        S.refused_undocumented, S.refused_silent);
	if (G.fd >= 0)
		close(G.fd);
	unlink(G.pool);
}

/* ------------------------------------------------------------------ */
/* libFuzzer entry points                                             */
/* ------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *b = getenv("UDAX_FUZZ_CASE_SECONDS");

	(void)argc;
	(void)argv;
	G.budget_s = b && atoi(b) > 0 ? (unsigned)atoi(b) : 30;
	G.verbose = getenv("UDAX_FUZZ_VERBOSE") != NULL;
	G.strict = getenv("UDAX_FUZZ_STRICT") != NULL;
	G.no_grow = getenv("UDAX_FUZZ_NO_GROW") != NULL;
	snprintf(G.pool, sizeof(G.pool), "/dev/shm/udax-fuzz-%d.pool", (int)getpid());
	fz_make_base();
	G.fd = open(G.pool, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (G.fd < 0 || fz_write_all(G.fd, G.base, G.size, 0) < 0)
		fz_die("cannot create %s: %s", G.pool, strerror(errno));
	fz_timer_init();
	atexit(fz_at_exit);
	fprintf(stderr, "fuzz_image: base pool of %llu blocks, data from block %llu; %d leaf and "
	        "directory blocks; %d hot ranges; window of %llu blocks; pool file %s\n",
	        (unsigned long long)G.sb.nblocks, (unsigned long long)G.sb.data_start, G.nextra,
	        G.nhot, (unsigned long long)G.nwin, G.pool);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_case c;

	memset(&c, 0, sizeof(c));
	fz_build_image(data, size, &c);
	fz_timer_arm(G.budget_s);
	fz_run(&c);
	fz_timer_arm(0);
	if (G.verbose)
		fz_verbose(&c);
	fz_judge(&c);
	return 0;
}

#ifdef UDAX_FUZZ_STANDALONE
/* ------------------------------------------------------------------ */
/* Standalone: the seed corpus writer and a replayer                  */
/* ------------------------------------------------------------------ */

struct fz_seed {
	uint8_t b[512];
	size_t n;
};

/* Find @name in directory inode @dir of the base image; 0 if absent. */
static uint64_t sd_lookup(uint64_t dir, const char *name, size_t len)
{
	const struct dinode *d = fz_inode(G.base, dir);
	uint64_t lb = d->extent_head;

	for (uint64_t k = 0; k < d->nleaves && lb; k++) {
		const struct dleaf *l = (const void *)fz_block(G.base, lb);
		for (uint32_t j = 0; j < l->count && j < LEAF_CAP; j++)
			for (uint32_t q = 0; q < l->ext[j].len; q++) {
				const struct ddirblock *db = (const void *)fz_block(G.base, l->ext[j].pblk + q);
				for (unsigned s = 0; s < DIR_SLOTS; s++)
					if (db->slot[s].ino && db->slot[s].name_len == len &&
					    memcmp(db->slot[s].name, name, len) == 0)
						return db->slot[s].ino;
			}
		lb = l->next;
	}
	return 0;
}

static uint64_t sd_ino(const char *path)
{
	uint64_t ino = ROOT_INO;

	while (*path == '/' && ino) {
		path++;
		size_t len = strcspn(path, "/");
		ino = sd_lookup(ino, path, len);
		path += len;
	}
	if (!ino)
		fz_die("seed: %s not in the base image", path);
	return ino;
}

/* Pool block and byte offset of field @off of inode @ino. */
static uint64_t sd_iblk(uint64_t ino)
{
	return G.sb.itable_start + (ino - 1) / INODES_PER_BLOCK;
}

static uint32_t sd_ioff(uint64_t ino, size_t field)
{
	return (uint32_t)(((ino - 1) % INODES_PER_BLOCK) * INODE_SIZE + field);
}

/* Add one edit addressed by window block (pool block or leaf/dir block). */
static void sd_edit(struct fz_seed *s, uint64_t blk, uint32_t off, int xor, const void *bytes,
                    size_t len)
{
	uint64_t w = blk;

	if (blk >= G.sb.data_start) {
		int k = 0;
		while (k < G.nextra && G.extra[k] != blk)
			k++;
		if (k == G.nextra)
			fz_die("seed: block %llu is not a leaf or directory block",
			       (unsigned long long)blk);
		w = G.sb.data_start + (uint64_t)k;
	}
	uint16_t sel = (uint16_t)(FZ_SEL_WINDOW | w);
	uint8_t *p = s->b + s->n;
	p[0] = (uint8_t)sel, p[1] = (uint8_t)(sel >> 8);
	p[2] = (uint8_t)off, p[3] = (uint8_t)(off >> 8);
	p[4] = (uint8_t)((len - 1) | (xor ? FZ_CTL_XOR : 0));
	memcpy(p + 5, bytes, len);
	s->n += 5 + len;
}

static void sd_set64(struct fz_seed *s, uint64_t blk, uint32_t off, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	sd_edit(s, blk, off, 0, b, 8);
}

static void sd_set32(struct fz_seed *s, uint64_t blk, uint32_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	sd_edit(s, blk, off, 0, b, 4);
}

static void sd_save(const char *dir, const char *name, struct fz_seed *s, uint8_t flags)
{
	char path[512];

	s->b[s->n++] = flags;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || fz_write_all(fd, s->b, s->n, 0) < 0)
		fz_die("cannot write %s", path);
	close(fd);
	memset(s, 0, sizeof(*s));
}

static uint64_t sd_leaf(uint64_t ino)
{
	return fz_inode(G.base, ino)->extent_head;
}

static void sd_super_and_journal(const char *dir)
{
	struct fz_seed s = { { 0 }, 0 };
	static const char junk[32] = "garbage in the journal header!!";
	uint8_t x = 0x01, x7 = 0x07; /* 1024 blocks ^ 0x700 = 768 */

	sd_save(dir, "00-none", &s, 0);
	sd_save(dir, "01-none-ro", &s, FZ_RO);
	sd_save(dir, "09-none-delete-all", &s, FZ_DELETE);
	sd_set32(&s, 0, offsetof(struct dsuper, version), 2);
	sd_save(dir, "02-super-version-fixed", &s, FZ_FIX);
	sd_edit(&s, 0, offsetof(struct dsuper, nblocks) + 1, 1, &x7, 1);
	sd_save(dir, "03-super-nblocks-fixed", &s, FZ_FIX);
	sd_edit(&s, 0, offsetof(struct dsuper, mkfs_time), 1, &x, 1);
	sd_save(dir, "04-super-flip-stale", &s, 0);
	sd_set32(&s, 0, MOUNT_OFFSET + offsetof(struct dmount, state), STATE_DIRTY);
	sd_save(dir, "05-mount-dirty-fixed", &s, FZ_FIX);
	sd_edit(&s, JOURNAL_START, 0, 0, junk, sizeof(junk));
	sd_save(dir, "06-journal-garbage", &s, 0);
	sd_set32(&s, JOURNAL_START, offsetof(struct djhdr, count), JSLOTS);
	sd_save(dir, "07-journal-count-fixed", &s, FZ_FIX);
	sd_edit(&s, JOURNAL_START + 1, 100, 1, &x, 1);
	sd_save(dir, "08-journal-slot-fixed", &s, FZ_FIX);
}

static void sd_bitmap_and_inodes(const char *dir)
{
	struct fz_seed s = { { 0 }, 0 };
	uint64_t a = sd_ino("/a"), leaf = sd_leaf(a), free_blk = G.sb.nblocks - 2;
	uint8_t bit = (uint8_t)(1u << (leaf % 8)), bit2 = (uint8_t)(1u << (free_blk % 8));

	sd_edit(&s, G.sb.bitmap_start, (uint32_t)(16 + leaf / 8), 1, &bit, 1);
	sd_edit(&s, G.sb.bitmap_start, (uint32_t)(16 + free_blk / 8), 1, &bit2, 1);
	sd_save(dir, "10-bitmap-flips-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_set32(&s, sd_iblk(a), sd_ioff(a, offsetof(struct dinode, nlink)), 2);
	sd_save(dir, "11-inode-nlink-fixed", &s, FZ_FIX | FZ_FORGET);
	uint64_t x = sd_ino("/d1/x");
	sd_set32(&s, sd_iblk(x), sd_ioff(x, offsetof(struct dinode, nlink)), 0);
	sd_save(dir, "12-inode-orphan-named-fixed", &s, FZ_FIX | FZ_FORGET);
	uint64_t sp = sd_ino("/sparse");
	sd_set64(&s, sd_iblk(sp), sd_ioff(sp, offsetof(struct dinode, size)), 1ull << 40);
	sd_save(dir, "13-inode-size-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_set64(&s, sd_iblk(a), sd_ioff(a, offsetof(struct dinode, size)), 10);
	sd_save(dir, "14-inode-shrunk-ro", &s, FZ_FIX | FZ_FORGET | FZ_RO);
}

static void sd_leaves_and_dirs(const char *dir)
{
	struct fz_seed s = { { 0 }, 0 };
	uint64_t chain = sd_leaf(sd_ino("/chain")), frag = sd_leaf(sd_ino("/frag1"));
	uint64_t many = sd_ino("/many");
	const struct dleaf *ml = (const void *)fz_block(G.base, sd_leaf(many));
	uint64_t db = ml->ext[0].pblk;
	const struct ddirblock *d = (const void *)fz_block(G.base, db);
	const uint32_t name = offsetof(struct ddirent, name), slot = offsetof(struct ddirblock, slot);

	sd_set32(&s, chain, offsetof(struct dleaf, count), 200);
	sd_save(dir, "20-leaf-count-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_set64(&s, frag, offsetof(struct dleaf, ext[1].lblk), 0);
	sd_save(dir, "21-leaf-overlap-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_set64(&s, chain, offsetof(struct dleaf, next), 0);
	sd_save(dir, "22-leaf-chain-cut-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_edit(&s, db, slot + name, 0, "/", 1);
	sd_save(dir, "23-dir-name-slash-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_edit(&s, db, slot + (uint32_t)sizeof(struct ddirent) + name, 0, d->slot[0].name,
	        d->slot[0].name_len);
	sd_save(dir, "24-dir-name-duplicate-fixed", &s, FZ_FIX | FZ_FORGET);
	sd_set32(&s, db, offsetof(struct ddirblock, used), 3);
	sd_save(dir, "25-dir-used-fixed", &s, FZ_FIX | FZ_FORGET);
}

/* The reproducers of tests/fuzz/crashes (see its README.md). */
static int fz_make_crashes(const char *dir)
{
	struct fz_seed s = { { 0 }, 0 };
	uint64_t f00 = sd_ino("/many/f00"), leaf = sd_leaf(sd_ino("/a"));

	mkdir(dir, 0755);
	sd_set64(&s, sd_iblk(f00), sd_ioff(f00, offsetof(struct dinode, size)), 0);
	sd_save(dir, "grow-exposes-stale-data", &s, FZ_FIX);
	sd_set64(&s, leaf, offsetof(struct dleaf, ext[0].lblk), UINT64_MAX);
	sd_save(dir, "extent-lblk-overflow", &s, FZ_FIX);
	sd_set64(&s, leaf, offsetof(struct dleaf, ext[0].pblk), UINT64_MAX);
	sd_save(dir, "extent-pblk-overflow-segv", &s, FZ_FIX);
	return 0;
}

static int fz_make_corpus(const char *dir)
{
	mkdir(dir, 0755);
	sd_super_and_journal(dir);
	sd_bitmap_and_inodes(dir);
	sd_leaves_and_dirs(dir);
	return 0;
}

static int fz_replay(const char *path)
{
	static uint8_t buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	printf("%s: ok\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc == 3 && strcmp(argv[1], "--make-corpus") == 0)
		return fz_make_corpus(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--make-crashes") == 0)
		return fz_make_crashes(argv[2]);
	for (int i = 1; i < argc; i++)
		bad |= fz_replay(argv[i]);
	return bad;
}
#endif /* UDAX_FUZZ_STANDALONE */
