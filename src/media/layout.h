/*
 * layout.h - the on-media format of a udax pool, byte for byte.
 * docs/format.md explains it in prose; this file is the authority.
 *
 * All integers are little-endian; all structures are naturally aligned.
 * The pool is an array of 4 KiB blocks:
 *
 *   block 0                superblock (geometry, 512 B, CRC) and mount
 *                          record (at byte 1024, one cache line, CRC)
 *   1 .. 255               journal: header block + 254 slot blocks
 *   bitmap_start ..        block bitmap, 32640 blocks per bitmap block
 *   itable_start ..        inode table, 16 inodes of 256 B per block
 *   data_start .. nblocks  data, extent leaves and directory blocks
 *
 * Every metadata structure carries a CRC-32C computed over the
 * structure with its crc field set to zero.
 */
#ifndef UDAX_LAYOUT_H
#define UDAX_LAYOUT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define BLK 4096u
#define BLK_SHIFT 12

#define SB_MAGIC "UDAXPOOL"
#define FORMAT_VERSION 1u
#define FEAT_INCOMPAT_SUPPORTED 0u
#define FEAT_RO_COMPAT_SUPPORTED 0u

#define MOUNT_MAGIC 0x4d584455u   /* "UDXM" */
#define JHDR_MAGIC 0x4a584455u    /* "UDXJ" */
#define BITMAP_MAGIC 0x42584455u  /* "UDXB" */
#define LEAF_MAGIC 0x45584455u    /* "UDXE" */
#define DIRB_MAGIC 0x44584455u    /* "UDXD" */

#define ROOT_INO 1u
#define INODE_SIZE 256u
#define INODES_PER_BLOCK (BLK / INODE_SIZE)

struct dsuper {                 /* block 0, bytes 0..511 */
	char magic[8];              /* "UDAXPOOL" */
	uint32_t version;           /* FORMAT_VERSION */
	uint32_t block_size;        /* 4096 */
	uint32_t feat_compat;
	uint32_t feat_incompat;     /* unknown bits: refuse to mount */
	uint32_t feat_ro_compat;    /* unknown bits: mount read-only only */
	uint32_t inode_size;        /* 256 */
	uint8_t uuid[16];
	uint64_t nblocks;           /* pool size in blocks */
	uint64_t journal_start, journal_blocks;
	uint64_t bitmap_start, bitmap_blocks;
	uint64_t itable_start, itable_blocks;
	uint64_t ninodes;
	uint64_t data_start;
	uint64_t root_ino;
	uint64_t mkfs_time;         /* seconds since the epoch */
	uint8_t reserved[512 - 140];
	uint32_t crc;
};
static_assert(sizeof(struct dsuper) == 512, "superblock is 512 bytes");

#define MOUNT_OFFSET 1024u
#define STATE_CLEAN 1u
#define STATE_DIRTY 2u
struct dmount {                 /* block 0, bytes 1024..1087 */
	uint32_t magic;
	uint32_t state;             /* STATE_CLEAN or STATE_DIRTY */
	uint64_t mount_count;
	uint64_t last_mount;        /* seconds */
	uint64_t last_unmount;
	uint8_t reserved[28];
	uint32_t crc;
};
static_assert(sizeof(struct dmount) == 64, "mount record is one line");

/* Journal: one transaction at a time, physical block images. */
#define JOURNAL_START 1u
#define JSLOTS 254u
#define JOURNAL_BLOCKS (1u + JSLOTS)
struct djent {
	uint64_t home;              /* block the image belongs to */
	uint32_t crc;               /* CRC-32C of the 4 KiB image */
	uint32_t pad;
};
struct djhdr {
	uint32_t magic;
	uint32_t crc;               /* over the whole block, crc = 0 */
	uint64_t seq;               /* transaction number */
	uint32_t count;             /* images in slots 0..count-1 */
	uint32_t pad;
	uint64_t reserved;
	struct djent ent[JSLOTS];
};
static_assert(sizeof(struct djhdr) == BLK, "journal header is a block");

#define BITS_PER_BITMAP ((BLK - 16u) * 8u)   /* 32640 */
struct dbitmap {
	uint32_t magic;
	uint32_t crc;
	uint64_t index;             /* which bitmap block this is */
	uint8_t bits[BLK - 16];     /* bit set = block in use */
};
static_assert(sizeof(struct dbitmap) == BLK, "bitmap block");

struct dinode {
	uint32_t mode;              /* 0 = free slot (whole inode zero) */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;            /* data blocks (for dirs: dir blocks) */
	uint64_t atime_ns, mtime_ns, ctime_ns;
	uint64_t extent_head;       /* first extent leaf block, 0 = none */
	uint64_t nextents;
	uint64_t nleaves;
	uint64_t parent;            /* directories: parent's inode number */
	uint32_t generation;
	uint32_t flags;
	uint8_t reserved[148];
	uint32_t crc;
};
static_assert(sizeof(struct dinode) == INODE_SIZE, "inode is 256 bytes");

struct dextent {
	uint64_t lblk;              /* file block */
	uint64_t pblk;              /* pool block */
	uint32_t len;               /* blocks */
	uint32_t flags;
};
#define LEAF_CAP ((BLK - 40u) / sizeof(struct dextent))   /* 169 */
struct dleaf {
	uint32_t magic;
	uint32_t crc;
	uint64_t owner;             /* inode number */
	uint64_t next;              /* next leaf block, 0 = last */
	uint32_t count;             /* extents, sorted by lblk */
	uint32_t pad;
	uint64_t reserved;
	struct dextent ext[LEAF_CAP];
};
static_assert(sizeof(struct dleaf) == BLK, "leaf is a block");

#define DIR_SLOTS 14u
#define DT_REG_ 8
#define DT_DIR_ 4
#define DT_LNK_ 10
/* A symbolic link keeps a target of up to SYMLINK_INLINE bytes inline in
 * the inode, a longer one (up to SYMLINK_MAX) in one data block at file
 * block 0, zero-padded. */
#define SYMLINK_INLINE 147u
#define SYMLINK_MAX 4095u
struct ddirent {
	uint64_t ino;               /* 0 = empty slot */
	uint16_t name_len;
	uint8_t type;               /* DT_REG_, DT_DIR_ or DT_LNK_ */
	uint8_t pad[5];
	char name[256];             /* not NUL-terminated on media */
	uint8_t reserved[16];
};
static_assert(sizeof(struct ddirent) == 288, "dirent slot");
struct ddirblock {
	uint32_t magic;
	uint32_t crc;
	uint64_t owner;             /* directory inode number */
	uint64_t index;             /* block index within the directory */
	uint32_t used;              /* slots in use */
	uint8_t reserved[36];
	struct ddirent slot[DIR_SLOTS];
};
static_assert(sizeof(struct ddirblock) == BLK, "dir block");

#endif
