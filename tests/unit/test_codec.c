// SPDX-License-Identifier: GPL-2.0-or-later
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "wire.h"

#define N (256u << 10)

static unsigned char *buf(void)
{
	unsigned char *b = aligned_alloc(64, 2 * N);

	cr_assert(b);
	memset(b, 0, 2 * N);
	return b;
}

static void fill_random(unsigned char *b, size_t n, uint64_t s)
{
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(s >> 56);
	}
}

static void fill_text(unsigned char *b, size_t n)
{
	static const char *const w[] = { "state ", "device ", "page ", "ring ",
					 "frame\n" };
	for (size_t i = 0, k = 0; i < n; k++)
		for (const char *p = w[(k * 7 + k / 3) % 5]; *p && i < n; p++)
			b[i++] = (unsigned char)*p;
}

static char err[256];

Test(codec, zero_random_and_compressible)
{
	struct codec *c;
	unsigned char *raw = buf(), *enc = malloc(codec_bound(N)), *out = buf();
	uint8_t codec;
	long n;

	cr_assert_eq(codec_new(CODEC_ZSTD, 1, &c), 0);
	/* all zero: a zero frame, nothing to send */
	cr_expect_eq(codec_encode(c, raw, N, enc, codec_bound(N), &codec), 0);
	cr_expect_eq(codec, WIRE_CODEC_ZERO);
	memset(out, 0x55, N);
	cr_expect_eq(codec_decode(c, codec, enc, 0, out, N, err, sizeof(err)),
		     0);
	cr_expect(codec_is_zero(out, N));
	/* one byte set at the very end is not zero */
	raw[N - 1] = 1;
	cr_expect_eq(codec_is_zero(raw, N), 0);
	n = codec_encode(c, raw, N, enc, codec_bound(N), &codec);
	cr_expect_eq(codec, WIRE_CODEC_ZSTD);
	cr_expect_lt(n, 1000);

	/* incompressible: sent raw, from the caller's buffer */
	fill_random(raw, N, 1);
	n = codec_encode(c, raw, N, enc, codec_bound(N), &codec);
	cr_expect_eq(codec, WIRE_CODEC_RAW);
	cr_expect_eq(n, (long)N);

	/* compressible: smaller, and decodes to the same bytes */
	fill_text(raw, N);
	n = codec_encode(c, raw, N, enc, codec_bound(N), &codec);
	cr_assert_eq(codec, WIRE_CODEC_ZSTD);
	cr_expect_lt(n, (long)(N / 2));
	cr_assert_eq(codec_decode(c, codec, enc, (size_t)n, out, N, err,
				  sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(memcmp(out, raw, N), 0);

	/* the decoder refuses frames whose length differs from the header */
	cr_expect_eq(codec_decode(c, codec, enc, (size_t)n, out, N - 1, err,
				  sizeof(err)),
		     -EBADMSG);
	cr_expect(strstr(err, "longer than the header says"), "%s", err);
	cr_expect_eq(codec_decode(c, codec, enc, (size_t)n, out, N + 100, err,
				  sizeof(err)),
		     -EBADMSG);
	cr_expect(strstr(err,
			 "decodes to 262144 bytes, the header says 262244"),
		  "%s", err);
	cr_expect_eq(codec_decode(c, codec, enc, (size_t)n / 2, out, N, err,
				  sizeof(err)),
		     -EBADMSG);
	cr_expect(strstr(err, "zstd frame does not decode"), "%s", err);
	codec_free(c);
	free(raw);
	free(enc);
	free(out);
}

Test(codec, levels_and_no_compression)
{
	struct codec *c;
	unsigned char *raw = buf(), *enc = malloc(codec_bound(N)), *out = buf();
	uint8_t codec;
	int min, max;
	long n;

	codec_level_range(&min, &max);
	cr_expect_lt(min, 0, "fast levels exist");
	cr_expect_eq(codec_new(CODEC_ZSTD, max + 1, &c), -EINVAL);
	cr_expect_eq(codec_new(CODEC_ZSTD, 0, &c), -EINVAL);
	fill_text(raw, N);
	for (int level = -5; level <= 3; level += 4) {
		cr_assert_eq(codec_new(CODEC_ZSTD, level, &c), 0);
		n = codec_encode(c, raw, N, enc, codec_bound(N), &codec);
		cr_assert_eq(codec, WIRE_CODEC_ZSTD, "level %d", level);
		cr_assert_eq(codec_decode(c, codec, enc, (size_t)n, out, N, err,
					  sizeof(err)),
			     0);
		cr_expect_eq(memcmp(out, raw, N), 0);
		codec_free(c);
	}
	cr_assert_eq(codec_new(CODEC_NONE, 0, &c), 0);
	cr_expect_eq(codec_encode(c, raw, N, enc, codec_bound(N), &codec),
		     (long)N);
	cr_expect_eq(codec, WIRE_CODEC_RAW);
	memset(raw, 0, N);
	cr_expect_eq(codec_encode(c, raw, N, enc, codec_bound(N), &codec), 0);
	cr_expect_eq(codec, WIRE_CODEC_ZERO,
		     "zero frames cost nothing to decode");
	codec_free(c);
	codec_free(NULL);
	free(raw);
	free(enc);
	free(out);
}
