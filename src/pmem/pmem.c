/*
 * pmem.c - the hardware persistence backend and the common entry points.
 *
 * The flush instruction is chosen once, at first use, from CPUID:
 * clwb writes a line back and keeps it cached (best for data that is
 * read again), clflushopt writes back and evicts but may be reordered
 * with other flushes, clflush is serialising and slow.  All three are
 * ordered before later stores by sfence (pmem_drain).
 *
 * Copies of a few cache lines use ordinary stores followed by flushes:
 * the data stays cached for the reader that usually follows.  Larger
 * copies use 32-byte (AVX) or 16-byte (SSE2) streaming stores, which
 * bypass the cache and need no flush, only the fence.
 */
#include "pmem/pmem.h"

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

enum flush_kind { FLUSH_CLFLUSH, FLUSH_CLFLUSHOPT, FLUSH_CLWB };

static enum flush_kind flush_kind;
static int have_avx;
static pthread_once_t flush_once = PTHREAD_ONCE_INIT;

/* Copies at least this long go non-temporal. */
#define NT_THRESHOLD 1024u

static void detect_flush(void)
{
	unsigned a, b, c, d;

	flush_kind = FLUSH_CLFLUSH;
	if (__get_cpuid(1, &a, &b, &c, &d))
		have_avx = (c & (1u << 28)) && (c & (1u << 27)); /* AVX and OSXSAVE */
	if (__get_cpuid_max(0, NULL) < 7)
		return;
	__cpuid_count(7, 0, a, b, c, d);
	if (b & (1u << 24))
		flush_kind = FLUSH_CLWB;
	else if (b & (1u << 23))
		flush_kind = FLUSH_CLFLUSHOPT;
}

const char *pmem_hw_flush_name(void)
{
	pthread_once(&flush_once, detect_flush);
	switch (flush_kind) {
	case FLUSH_CLWB: return "clwb";
	case FLUSH_CLFLUSHOPT: return "clflushopt";
	default: return "clflush";
	}
}

void pmem_init_hw(struct pmem *pm, void *base, size_t len)
{
	pthread_once(&flush_once, detect_flush);
	pm->base = base;
	pm->len = len;
	pm->sh = NULL;
}

int pmem_init_shadow(struct pmem *pm, void *base, size_t len)
{
	pmem_init_hw(pm, base, len);
	pm->sh = shadow_create(base, len);
	return pm->sh ? 0 : -1;
}

int pmem_init_shadow_shared(struct pmem *pm, void *base, size_t len, const char *path,
                            int create)
{
	pmem_init_hw(pm, base, len);
	pm->sh = shadow_create_shared(base, len, path, create);
	return pm->sh ? 0 : -1;
}

void pmem_fini(struct pmem *pm)
{
	if (pm->sh)
		shadow_destroy(pm->sh);
	pm->sh = NULL;
}

static void hw_flush(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(PMEM_LINE - 1);
	uintptr_t end = (uintptr_t)addr + len;

	switch (flush_kind) {
	case FLUSH_CLWB:
		for (; p < end; p += PMEM_LINE)
			__asm__ volatile("clwb %0" : "+m"(*(volatile char *)p));
		break;
	case FLUSH_CLFLUSHOPT:
		for (; p < end; p += PMEM_LINE)
			__asm__ volatile("clflushopt %0" : "+m"(*(volatile char *)p));
		break;
	default:
		for (; p < end; p += PMEM_LINE)
			__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
		break;
	}
}

void pmem_flush(struct pmem *pm, const void *addr, size_t len)
{
	if (len == 0)
		return;
	if (pm->sh)
		shadow_flush(pm->sh, pm->base, addr, len);
	else
		hw_flush(addr, len);
}

void pmem_drain(struct pmem *pm)
{
	__asm__ volatile("sfence" ::: "memory");
	if (pm->sh)
		shadow_drain(pm->sh, pm->base);
}

/* Streaming stores, 32 bytes at a time when the CPU has AVX, else 16
 * (SSE2 is part of x86-64).  @dst is 32-byte aligned, @n a multiple of
 * 32.  Wide stores matter: 8-byte movnti caps a copy at about half of
 * what the memory takes (docs/benchmarks.md). */
__attribute__((target("avx")))
static void nt_copy_avx(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(src + i));
		_mm256_stream_si256((__m256i *)(dst + i), v);
	}
}

static void nt_copy_sse2(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(src + i));
		_mm_stream_si128((__m128i *)(dst + i), v);
	}
}

void pmem_memcpy(struct pmem *pm, void *dst, const void *src, size_t len)
{
	char *d = dst;
	const char *s = src;

	if (len < NT_THRESHOLD || pm->sh) {
		/* The shadow backend sees every store as cached + flushed:
		 * the same persistence rules as streaming stores + fence. */
		memcpy(d, s, len);
		pmem_flush(pm, d, len);
		return;
	}
	/* Head up to 32-byte alignment and tail: cached + flush. */
	size_t head = (32 - ((uintptr_t)d & 31)) & 31;
	memcpy(d, s, head);
	pmem_flush(pm, d, head);
	d += head, s += head, len -= head;
	size_t body = len & ~(size_t)31;
	if (have_avx)
		nt_copy_avx(d, s, body);
	else
		nt_copy_sse2(d, s, body);
	memcpy(d + body, s + body, len - body);
	pmem_flush(pm, d + body, len - body);
}

void pmem_memset(struct pmem *pm, void *dst, int c, size_t len)
{
	char *d = dst;

	if (len < NT_THRESHOLD || pm->sh) {
		memset(d, c, len);
		pmem_flush(pm, d, len);
		return;
	}
	size_t head = (8 - ((uintptr_t)d & 7)) & 7;
	memset(d, c, head);
	pmem_flush(pm, d, head);
	d += head, len -= head;
	uint64_t v = 0x0101010101010101ull * (uint8_t)c;
	uint64_t *w = (uint64_t *)d;
	for (size_t i = 0; i < len / 8; i++)
		__builtin_ia32_movnti64((long long *)&w[i], (long long)v);
	size_t done = len & ~(size_t)7;
	memset(d + done, c, len - done);
	pmem_flush(pm, d + done, len - done);
}
