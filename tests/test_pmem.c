/*
 * test_pmem.c - the persistence primitives: CRC-32C, flushing copies at
 * every alignment and length, and the shadow backend's rule that only
 * flushed *and* fenced lines reach the persisted image.
 */
#include "t.h"

#include "media/crc32c.h"
#include "pmem/pmem.h"

static void test_crc32c_vectors(void)
{
	/* the standard check value, and RFC 3720's 32 zero bytes */
	CHECK_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
	unsigned char z[32] = { 0 };
	CHECK_EQ(crc32c(0, z, 32), 0x8A9136AAu);
	unsigned char ff[32];
	memset(ff, 0xff, 32);
	CHECK_EQ(crc32c(0, ff, 32), 0x62A8AB43u);
	/* incremental == one shot */
	CHECK_EQ(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}

static void test_copy_all_alignments(void)
{
	struct pmem pm;
	static char dst[12288], src[12288], ref[12288];
	pmem_init_hw(&pm, dst, sizeof(dst));
	t_fill(src, sizeof(src), 9);
	for (size_t off = 0; off < 16; off += 3) {
		for (size_t len = 0; len < 5000; len += len < 70 ? 1 : 997) {
			memset(dst, 0x5a, sizeof(dst));
			memcpy(ref, dst, sizeof(ref));
			memcpy(ref + off, src + 7, len);
			pmem_memcpy(&pm, dst + off, src + 7, len);
			pmem_drain(&pm);
			if (memcmp(dst, ref, sizeof(dst))) {
				CHECK(!"pmem_memcpy wrong");
				return;
			}
			memset(ref + off, 0xc3, len);
			pmem_memset(&pm, dst + off, 0xc3, len);
			pmem_drain(&pm);
			if (memcmp(dst, ref, sizeof(dst))) {
				CHECK(!"pmem_memset wrong");
				return;
			}
		}
	}
	CHECK(strlen(pmem_hw_flush_name()) > 0);
}

static const char *img_path(void)
{
	static char p[128];
	snprintf(p, sizeof(p), "/dev/shm/udax-test-%d-img", (int)getpid());
	return p;
}

static int read_img(char *buf, size_t len)
{
	int fd = open(img_path(), O_RDONLY);
	ssize_t n = fd >= 0 ? pread(fd, buf, len, 0) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static void test_shadow_rules(void)
{
	static char pool[8192], img[8192];
	struct pmem pm;
	REQUIRE(pmem_init_shadow(&pm, pool, sizeof(pool)) == 0);
	/* a store alone does not persist */
	memset(pool, 'A', 128);
	REQUIRE(shadow_save(pm.sh, img_path()) == 0);
	REQUIRE(read_img(img, sizeof(img)) == 0);
	CHECK_EQ(img[0], 0);
	/* flushed but not fenced: not yet */
	pmem_flush(&pm, pool, 64);
	shadow_save(pm.sh, img_path());
	read_img(img, sizeof(img));
	CHECK_EQ(img[0], 0);
	/* fenced: the flushed line only */
	pmem_drain(&pm);
	shadow_save(pm.sh, img_path());
	read_img(img, sizeof(img));
	CHECK_EQ(img[0], 'A');
	CHECK_EQ(img[63], 'A');
	CHECK_EQ(img[64], 0);
	/* the content at flush time persists; a store after the flush is
	 * not known to persist until the line is flushed again */
	pmem_flush(&pm, pool + 64, 1);
	memset(pool + 64, 'B', 64);
	pmem_drain(&pm);
	shadow_save(pm.sh, img_path());
	read_img(img, sizeof(img));
	CHECK_EQ(img[64], 'A');
	pmem_flush(&pm, pool + 64, 1);
	pmem_drain(&pm);
	shadow_save(pm.sh, img_path());
	read_img(img, sizeof(img));
	CHECK_EQ(img[64], 'B');
	/* pmem_memcpy persists at the next fence */
	pmem_memcpy(&pm, pool + 4096, "persist me", 10);
	CHECK_EQ(shadow_fences(pm.sh), 3);
	pmem_drain(&pm);
	shadow_save(pm.sh, img_path());
	read_img(img, sizeof(img));
	CHECK(memcmp(img + 4096, "persist me", 10) == 0);
	/* flushing memory outside the pool is ignored, not a crash */
	char other[64];
	pmem_flush(&pm, other, sizeof(other));
	pmem_drain(&pm);
	pmem_fini(&pm);
	unlink(img_path());
}

struct hook_state {
	struct pmem *pm;
	int calls;
	int none_ok, all_ok, some;
};

static void hook(uint64_t fence, void *arg)
{
	struct hook_state *h = arg;
	static char img[8192];
	h->calls++;
	CHECK_EQ(shadow_pending(h->pm->sh), 4);
	shadow_save_subset(h->pm->sh, img_path(), 0);
	read_img(img, sizeof(img));
	h->none_ok = img[0] == 0 && img[192] == 0;
	shadow_save_subset(h->pm->sh, img_path(), UINT64_MAX);
	read_img(img, sizeof(img));
	h->all_ok = img[0] == 'C' && img[192] == 'C';
	for (uint64_t seed = 1; seed < 40; seed++) {
		shadow_save_subset(h->pm->sh, img_path(), seed);
		read_img(img, sizeof(img));
		int n = (img[0] == 'C') + (img[64] == 'C') + (img[128] == 'C') + (img[192] == 'C');
		h->some |= n > 0 && n < 4;
	}
	(void)fence;
}

static void test_shadow_subsets(void)
{
	static char pool[8192];
	struct pmem pm;
	struct hook_state h = { .pm = &pm };
	REQUIRE(pmem_init_shadow(&pm, pool, sizeof(pool)) == 0);
	shadow_set_hook(pm.sh, hook, &h);
	memset(pool, 'C', 256);
	pmem_flush(&pm, pool, 256);
	pmem_drain(&pm);
	CHECK_EQ(h.calls, 1);
	CHECK(h.none_ok);
	CHECK(h.all_ok);
	CHECK(h.some);
	pmem_fini(&pm);
	unlink(img_path());
}

int main(void)
{
	RUN(test_crc32c_vectors);
	RUN(test_copy_all_alignments);
	RUN(test_shadow_rules);
	RUN(test_shadow_subsets);
	return t_summary();
}
