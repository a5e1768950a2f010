/*
 * copy.c - the machine's copy limits and scan loops.
 *
 * nt_copy() is the non-temporal reference a persistent-memory write
 * path is measured against: 32-byte (AVX2) or 16-byte (SSE2) streaming
 * stores that bypass the cache, then one sfence, as a flushing write
 * must end.  The variant is chosen once from CPUID (AVX2 when the CPU
 * and OS support it, else SSE2, which every x86-64 has).  Head and
 * tail bytes that are not vector-aligned are copied with memcpy.
 */
#include <immintrin.h>
#include <pthread.h>

#include "bench.h"

typedef void (*copy_fn)(char *dst, const char *src, size_t n);

__attribute__((target("avx2"))) static void stream_avx2(char *d, const char *s, size_t n)
{
	for (; n >= 128; n -= 128, d += 128, s += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(s + 64));
		__m256i e = _mm256_loadu_si256((const __m256i *)(s + 96));
		_mm256_stream_si256((__m256i *)d, a);
		_mm256_stream_si256((__m256i *)(d + 32), b);
		_mm256_stream_si256((__m256i *)(d + 64), c);
		_mm256_stream_si256((__m256i *)(d + 96), e);
	}
	for (; n >= 32; n -= 32, d += 32, s += 32)
		_mm256_stream_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
	memcpy(d, s, n);
}

static void stream_sse2(char *d, const char *s, size_t n)
{
	for (; n >= 64; n -= 64, d += 64, s += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
		_mm_stream_si128((__m128i *)d, a);
		_mm_stream_si128((__m128i *)(d + 16), b);
		_mm_stream_si128((__m128i *)(d + 32), c);
		_mm_stream_si128((__m128i *)(d + 48), e);
	}
	for (; n >= 16; n -= 16, d += 16, s += 16)
		_mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
	memcpy(d, s, n);
}

static copy_fn streamer;
static size_t stream_align;
static const char *streamer_name;
static pthread_once_t pick_once = PTHREAD_ONCE_INIT;

static void pick(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		streamer = stream_avx2;
		stream_align = 32;
		streamer_name = "AVX2 vmovntdq (32 B)";
	} else {
		streamer = stream_sse2;
		stream_align = 16;
		streamer_name = "SSE2 movntdq (16 B)";
	}
}

const char *nt_copy_name(void)
{
	pthread_once(&pick_once, pick);
	return streamer_name;
}

void nt_copy(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	pthread_once(&pick_once, pick);
	size_t head = (stream_align - ((uintptr_t)d & (stream_align - 1))) & (stream_align - 1);
	if (head > n)
		head = n;
	memcpy(d, s, head);
	streamer(d + head, s + head, n - head);
	_mm_sfence();
}

void fill_pattern(void *p, size_t n, uint64_t seed)
{
	uint64_t *w = p, s = seed | 1;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = rnd(&s);
	memset((char *)p + n / 8 * 8, 0x5a, n % 8);
}

uint64_t read_all(const void *p, size_t n)
{
	const volatile uint64_t *w = p;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i, words = n / 8;

	for (i = 0; i + 4 <= words; i += 4) {
		a += w[i];
		b += w[i + 1];
		c += w[i + 2];
		d += w[i + 3];
	}
	for (; i < words; i++)
		a += w[i];
	return a + b + c + d;
}

uint64_t touch_pages(const void *p, size_t n)
{
	const volatile char *c = p;
	uint64_t sum = 0;
	for (size_t off = 0; off < n; off += PAGE)
		sum += (uint64_t)c[off];
	return sum;
}
