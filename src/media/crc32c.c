/*
 * crc32c.c - CRC-32C with the SSE4.2 crc32 instruction when the CPU has
 * it, a byte table otherwise.  Both give identical results; the table
 * path is what runs under valgrind-like emulators and old CPUs.
 */
#include "media/crc32c.h"

#include <cpuid.h>
#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static int have_sse42;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	unsigned a, b, c, d;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = (v >> 1) ^ (0x82F63B78u & (0u - (v & 1)));
		table[i] = v;
	}
	if (__get_cpuid(1, &a, &b, &c, &d))
		have_sse42 = !!(c & (1u << 20));
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8, len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&once, crc_init);
	crc = ~crc;
	if (have_sse42) {
		crc = crc_hw(crc, p, len);
	} else {
		while (len--)
			crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	}
	return ~crc;
}
