// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRC-32C.  Three ways, the fastest the CPU runs chosen at the first call:
 *
 * - With AVX-512 and VPCLMULQDQ (Ice Lake, Zen 4 and later), carry-less
 *   multiplication folds sixteen 16-byte lanes forward over 256 bytes per
 *   step; the lanes are folded into one at the end and the crc32
 *   instruction reduces those 16 bytes to the CRC.  About 2x the next way
 *   on a 4 MiB chunk, in cache or not (Documentation/performance.md).
 * - With SSE4.2, three independent chains of the crc32 instruction run over
 *   three 4 KiB parts of each 12 KiB stripe, hiding the instruction's
 *   latency (one chain: ~8.7 GB/s on Zen 5); the chains are joined with a
 *   precomputed linear map that advances a CRC state over 4 KiB of zeros.
 * - Elsewhere, a byte-wise table.
 *
 * Folding rests on the CRC being linear: a 128-bit block B followed by D
 * bits of message contributes B(x) * x^D mod P, so B can be replaced by
 * that product, added into the block D bits later.  In the reflected bit
 * order the stream uses (a byte's bit 0 is the highest power), a block's
 * first 8 bytes are its high half L and the next 8 its low half H, and
 * B * x^D = L * x^(64+D) + H * x^D.  A carry-less product of two 64-bit
 * reflected values comes out one bit short of the 128-bit block's
 * alignment, so the constants are x^(63+D) and x^(D-1) mod P, the missing
 * factor x coming from that shift.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */
#define PART ((size_t)4096)

struct tables {
	uint32_t byte[256]; /* one byte of input, software path */
	uint32_t shift[4][256]; /* state -> state after PART zero bytes */
	/* reflected x^(63+D) and x^(D-1) mod P, for D of 16 lanes and 1 */
	uint64_t fold16[2], fold1[2];
	enum crc32c_impl best;
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

/* x^k mod P as the reflected high half of a 64-bit word (x^0 at bit 63),
 * P being CRC-32C's polynomial in the normal order (0x1edc6f41). */
static uint64_t xpow_reflected(unsigned k)
{
	uint32_t r = 1, rev = 0;

	while (k--)
		r = (r & 0x80000000u) ? (r << 1) ^ 0x1edc6f41u : r << 1;
	for (int i = 0; i < 32; i++)
		rev |= ((r >> i) & 1) << (31 - i);
	return (uint64_t)rev << 32;
}

static enum crc32c_impl pick_impl(void);

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
	tab.fold16[0] = xpow_reflected(63 + 16 * 128);
	tab.fold16[1] = xpow_reflected(16 * 128 - 1);
	tab.fold1[0] = xpow_reflected(63 + 128);
	tab.fold1[1] = xpow_reflected(128 - 1);
	tab.best = pick_impl();
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
#include <immintrin.h>

#define FOLD_MIN ((size_t)1024) /* below it the lanes' set-up costs more */
#define TARGET_SSE42 __attribute__((target("sse4.2")))
#define TARGET_FOLD                                             \
	__attribute__((target("sse4.2,pclmul,avx512f,avx512vl," \
			      "vpclmulqdq")))

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

TARGET_SSE42 static uint32_t update_sse42(uint32_t s, const unsigned char *p,
					  size_t n)
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

/* One block folded forward over the distance its constants k stand for,
 * added into the block there: both halves' products and next in one
 * three-way xor. */
TARGET_FOLD static inline __m512i fold512(__m512i x, __m512i k, __m512i next)
{
	__m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);

	return _mm512_ternarylogic_epi64(lo, hi, next, 0x96);
}

TARGET_FOLD static inline __m128i fold128(__m128i x, __m128i k, __m128i next)
{
	__m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(x, k, 0x11);

	return _mm_ternarylogic_epi64(lo, hi, next, 0x96);
}

/* The raw state after n bytes (a multiple of 256, at least FOLD_MIN): the
 * state enters as the first four bytes' xor, which is what the byte-wise
 * update does with it. */
TARGET_FOLD static uint32_t fold_bulk(uint32_t s, const unsigned char *p,
				      size_t n)
{
	const __m512i k = _mm512_broadcast_i32x4(
		_mm_loadu_si128((const __m128i *)tab.fold16));
	const __m128i k1 = _mm_loadu_si128((const __m128i *)tab.fold1);
	__m512i z[4];
	__m128i lane[16], x;

	for (size_t i = 0; i < 4; i++)
		z[i] = _mm512_loadu_si512(p + 64 * i);
	z[0] = _mm512_xor_si512(
		z[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)s)));
	for (p += 256, n -= 256; n; p += 256, n -= 256)
		for (size_t i = 0; i < 4; i++)
			z[i] = fold512(z[i], k, _mm512_loadu_si512(p + 64 * i));
	for (size_t i = 0; i < 4; i++)
		_mm512_storeu_si512(lane + 4 * i, z[i]);
	/* the sixteen lanes, in the order of their bytes, into one */
	x = lane[0];
	for (int i = 1; i < 16; i++)
		x = fold128(x, k1, lane[i]);
	return (uint32_t)_mm_crc32_u64(
		_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x)),
		(uint64_t)_mm_extract_epi64(x, 1));
}

static uint32_t update_fold(uint32_t s, const unsigned char *p, size_t n)
{
	if (n >= FOLD_MIN) {
		size_t bulk = n & ~(size_t)255;

		s = fold_bulk(s, p, bulk);
		p += bulk;
		n -= bulk;
	}
	return update_sse42(s, p, n);
}

static enum crc32c_impl pick_impl(void)
{
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("vpclmulqdq") &&
	    __builtin_cpu_supports("pclmul") &&
	    __builtin_cpu_supports("sse4.2"))
		return CRC32C_FOLD512;
	if (__builtin_cpu_supports("sse4.2"))
		return CRC32C_SSE42;
	return CRC32C_TABLE;
}

static uint32_t update(enum crc32c_impl impl, uint32_t s, const void *buf,
		       size_t len)
{
	switch (impl) {
	case CRC32C_FOLD512:
		return update_fold(s, buf, len);
	case CRC32C_SSE42:
		return update_sse42(s, buf, len);
	case CRC32C_TABLE:
		break;
	}
	return update_sw(s, buf, len);
}
#else
static enum crc32c_impl pick_impl(void)
{
	return CRC32C_TABLE;
}

static uint32_t update(enum crc32c_impl impl, uint32_t s, const void *buf,
		       size_t len)
{
	(void)impl;
	return update_sw(s, buf, len);
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tab_once, init_tables);
	return ~update(tab.best, ~crc, buf, len);
}

bool crc32c_impl_usable(enum crc32c_impl impl)
{
	pthread_once(&tab_once, init_tables);
	return impl <= tab.best;
}

uint32_t crc32c_with(enum crc32c_impl impl, uint32_t crc, const void *buf,
		     size_t len)
{
	if (!crc32c_impl_usable(impl))
		impl = tab.best;
	return ~update(impl, ~crc, buf, len);
}

const char *crc32c_impl_name(enum crc32c_impl impl)
{
	static const char *const names[] = {
		[CRC32C_TABLE] = "table",
		[CRC32C_SSE42] = "sse4.2",
		[CRC32C_FOLD512] = "avx512 vpclmulqdq",
	};

	return (unsigned)impl <= CRC32C_FOLD512 ? names[impl] : "?";
}

enum crc32c_impl crc32c_impl_best(void)
{
	pthread_once(&tab_once, init_tables);
	return tab.best;
}
