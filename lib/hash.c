// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A fast non-cryptographic 64-bit hash for device state comparison: four
 * independent multiply-rotate lanes over 32-byte blocks (so the CPU overlaps
 * them), then a fold and an avalanche.  It detects corruption and mixing of
 * states; it is not a MAC.
 */
#include <string.h>

#include "vfmig.h"

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xd6e8feb86659fd93ull
#define K3 0xff51afd7ed558ccdull

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t acc, uint64_t w)
{
	acc += w * K2;
	acc = rotl(acc, 31);
	return acc * K1;
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t avalanche(uint64_t h)
{
	h ^= h >> 33;
	h *= K3;
	h ^= h >> 29;
	h *= K2;
	h ^= h >> 32;
	return h;
}

uint64_t vfmig_hash64(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;
	uint64_t a = seed + K1, b = seed ^ K2, c = seed - K1, d = ~seed;
	unsigned char tail[32];
	size_t n = len;
	uint64_t h;

	for (; n >= 32; p += 32, n -= 32) {
		a = lane(a, load64(p));
		b = lane(b, load64(p + 8));
		c = lane(c, load64(p + 16));
		d = lane(d, load64(p + 24));
	}
	if (n) {
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, n);
		a = lane(a, load64(tail));
		b = lane(b, load64(tail + 8));
		c = lane(c, load64(tail + 16));
		d = lane(d, load64(tail + 24));
	}
	h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
	h ^= (uint64_t)len * K3;
	return avalanche(h);
}
