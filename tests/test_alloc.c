/*
 * test_alloc.c - the allocator and extent maps under fragmentation:
 * thousands of extents spanning many leaves, merged back by filling
 * the holes in random order, split again by punching; 2 MiB-aligned
 * placement of large files; contiguity of appends; fsck after each
 * phase.
 */
#include "t.h"

#include "api/fs.h"

static struct inode *inode_of(udax_fs *fs, int fd)
{
	struct ufile *f = fd_get(fs, fd);
	struct inode *ip = f->ip;              /* lives while @fd is open */

	fd_put(fs, f);
	return ip;
}

static uint64_t count_extents(struct inode *ip)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < ip->xm.n; i++)
		n += ip->xm.leaf[i]->count;
	return n;
}

static int verify(udax_fs *fs, int fd, const unsigned char *model, size_t len)
{
	unsigned char *out = malloc(len);
	int ok = udax_pread(fs, fd, out, len, 0) == (ssize_t)len && memcmp(out, model, len) == 0;
	free(out);
	return ok;
}

static void test_many_extents(void)
{
	const char *pool = t_pool("ext");
	REQUIRE(udax_mkfs(pool, 64 << 20, 0) == 0);
	udax_fs *fs;
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	/* a filler file takes every other block so nothing can merge */
	int fd = udax_open(fs, "/frag", O_RDWR | O_CREAT, 0644);
	const int N = 3000;
	size_t len = (size_t)N * 2 * 4096;
	unsigned char *model = calloc(1, len), blk[4096];
	for (int i = 0; i < N; i++) {
		t_fill(blk, 4096, (unsigned)i);
		memcpy(model + (size_t)i * 8192, blk, 4096);
		CHECK_EQ(udax_pwrite(fs, fd, blk, 4096, (off_t)i * 8192), 4096);
	}
	struct inode *ip = inode_of(fs, fd);
	CHECK_EQ(count_extents(ip), N);
	CHECK(ip->xm.n >= (uint32_t)(N / LEAF_CAP));
	CHECK(verify(fs, fd, model, len - 4096));
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	/* fill the holes in a shuffled order: extents merge only where the
	 * pool blocks happen to be adjacent, but the content must hold */
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	fd = udax_open(fs, "/frag", O_RDWR, 0);
	int *order = malloc(N * sizeof(int));
	for (int i = 0; i < N; i++)
		order[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < N; k++) {
		int i = order[k];
		t_fill(blk, 4096, (unsigned)(i + 100000));
		memcpy(model + (size_t)i * 8192 + 4096, blk, 4096);
		udax_pwrite(fs, fd, blk, 4096, (off_t)i * 8192 + 4096);
	}
	CHECK(verify(fs, fd, model, len));
	udax_close(fs, fd);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	/* punch every third block, then truncate to a third */
	REQUIRE(udax_mount(pool, NULL, &fs) == 0);
	fd = udax_open(fs, "/frag", O_RDWR, 0);
	for (int b = 0; b < 2 * N; b += 3) {
		CHECK_EQ(udax_fallocate(fs, fd, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
		                        (off_t)b * 4096, 4096), 0);
		memset(model + (size_t)b * 4096, 0, 4096);
	}
	CHECK(verify(fs, fd, model, len));
	CHECK_EQ(udax_ftruncate(fs, fd, (off_t)len / 3), 0);
	CHECK(verify(fs, fd, model, len / 3));
	udax_close(fs, fd);
	CHECK_EQ(udax_unlink(fs, "/frag"), 0);
	struct udax_statfs sf;
	udax_statfs(fs, &sf);
	udax_unmount(fs);
	CHECK_EQ(t_fsck(pool), 0);
	/* everything but the root's directory block and its leaf is free */
	CHECK_EQ(sf.free_blocks, sf.total_blocks - 2);
	free(order);
	free(model);
	unlink(pool);
}

static void test_large_files_aligned(void)
{
	udax_fs *fs = t_fresh("align", 64, NULL);
	REQUIRE(fs);
	/* age the pool a little with small files first */
	char small[5000];
	t_fill(small, sizeof(small), 3);
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/s%d", i);
		int fd = udax_open(fs, name, O_RDWR | O_CREAT, 0644);
		udax_pwrite(fs, fd, small, sizeof(small), 0);
		udax_close(fs, fd);
	}
	int fd = udax_open(fs, "/big", O_RDWR | O_CREAT, 0644);
	size_t len = 8 << 20;
	unsigned char *b = malloc(len);
	t_fill(b, len, 4);
	CHECK_EQ(udax_pwrite(fs, fd, b, len, 0), (ssize_t)len);
	struct inode *ip = inode_of(fs, fd);
	struct dextent x;
	uint64_t next;
	REQUIRE(xmap_lookup(&ip->xm, 0, &x, &next));
	CHECK_EQ(x.pblk % 512, 0);            /* 2 MiB aligned */
	CHECK(x.len >= 2048);                 /* and contiguous */
	/* appends continue the same extent */
	uint64_t before = count_extents(ip);
	for (int i = 0; i < 64; i++)
		udax_pwrite(fs, fd, b, 4096, (off_t)(len + (size_t)i * 4096));
	CHECK_EQ(count_extents(ip), before);
	/* small files fill partly used groups, not the free aligned ones */
	fd = udax_open(fs, "/small-after", O_RDWR | O_CREAT, 0644);
	udax_pwrite(fs, fd, small, sizeof(small), 0);
	struct inode *sp = inode_of(fs, fd);
	REQUIRE(xmap_lookup(&sp->xm, 0, &x, &next));
	CHECK(x.pblk < 512 * 4);
	free(b);
	udax_unmount(fs);
}

int main(void)
{
	srand(12345);
	RUN(test_many_extents);
	RUN(test_large_files_aligned);
	return t_summary();
}
