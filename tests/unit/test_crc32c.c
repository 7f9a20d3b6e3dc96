// SPDX-License-Identifier: GPL-2.0-or-later
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

Test(crc32c, known_values)
{
	static const unsigned char zeros[32], ones[32] = {
		[0 ... 31] = 0xff,
	};

	/* check values of CRC-32C (iSCSI, RFC 3720 B.4) */
	cr_expect_eq(crc32c(0, "123456789", 9), 0xe3069283u);
	cr_expect_eq(crc32c(0, zeros, 32), 0x8a9136aau);
	cr_expect_eq(crc32c(0, ones, 32), 0x62a8ab43u);
	cr_expect_eq(crc32c_sw(0, "123456789", 9), 0xe3069283u);
	cr_expect_eq(crc32c(0, "", 0), 0);
}

Test(crc32c, fast_path_matches_the_table_and_chains)
{
	size_t n = 100000;
	unsigned char *b = malloc(n);
	uint64_t st = 0x1234567;

	cr_assert(b);
	for (size_t i = 0; i < n; i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(st >> 56);
	}
	/* lengths around the 12 KiB stripes and the 8-byte steps */
	static const size_t lens[] = {
		1,     7,     8,     9,	    4095,  4096,
		12287, 12288, 12289, 24576, 36871, 100000
	};
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		cr_expect_eq(crc32c(0, b, lens[i]), crc32c_sw(0, b, lens[i]),
			     "length %zu", lens[i]);
	/* misaligned starts */
	for (size_t off = 1; off < 8; off++)
		cr_expect_eq(crc32c(0, b + off, 50000),
			     crc32c_sw(0, b + off, 50000));
	/* chaining at arbitrary cuts equals one pass */
	uint32_t whole = crc32c(0, b, n);
	static const size_t cuts[] = { 1, 4096, 5000, 12288, 77777 };
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		cr_expect_eq(crc32c(crc32c(0, b, cuts[i]), b + cuts[i],
				    n - cuts[i]),
			     whole);
	free(b);
}

/* Each implementation this CPU runs, at the lengths around its steps (the
 * 256-byte fold, its 1 KiB threshold, the 12 KiB stripes), from every
 * misalignment of a 64-byte line, with a state carried in. */
Test(crc32c, every_usable_implementation_matches_the_table)
{
	size_t n = 70000;
	unsigned char *b = malloc(n + 64);
	uint64_t st = 0x9e3779b97f4a7c15ull;
	static const size_t lens[] = {
		0,    1,    15,	  16,	255,   256,   257,   1023,  1024,
		1025, 1279, 1280, 4096, 12287, 12288, 12289, 65536, 70000
	};
	unsigned tried = 0;

	cr_assert(b);
	for (size_t i = 0; i < n + 64; i++) {
		st ^= st << 13, st ^= st >> 7, st ^= st << 17;
		b[i] = (unsigned char)st;
	}
	cr_assert(crc32c_impl_usable(CRC32C_TABLE));
	cr_assert(crc32c_impl_usable(crc32c_impl_best()));
	for (int impl = CRC32C_TABLE; impl <= CRC32C_FOLD512; impl++) {
		if (!crc32c_impl_usable((enum crc32c_impl)impl))
			continue;
		tried++;
		for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			for (size_t off = 0; off < 64; off += 7)
				cr_expect_eq(crc32c_with((enum crc32c_impl)impl,
							 0xdeadbeef, b + off,
							 lens[i]),
					     crc32c_sw(0xdeadbeef, b + off,
						       lens[i]),
					     "%s: length %zu at offset %zu",
					     crc32c_impl_name(
						     (enum crc32c_impl)impl),
					     lens[i], off);
	}
	cr_log_info("crc32c: %u implementations checked, %s in use", tried,
		    crc32c_impl_name(crc32c_impl_best()));
	cr_expect_eq(crc32c(0, b, n), crc32c_sw(0, b, n));
	free(b);
}

Test(crc32c, combine_without_the_data)
{
	size_t n = 3 << 20;
	unsigned char *b = malloc(n);
	static const size_t cuts[] = { 0,    1,	      4095,	     4096,
				       4097, 1 << 20, (2 << 20) + 13 };

	cr_assert(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t a = cuts[i];

		cr_expect_eq(crc32c_combine(crc32c(0, b, a),
					    crc32c(0, b + a, n - a), n - a),
			     crc32c(0, b, n), "cut at %zu", a);
	}
	/* chained over many chunks, as the pipeline does */
	uint32_t c = 0;
	for (size_t off = 0; off < n; off += 1 << 20)
		c = crc32c_combine(c, crc32c(0, b + off, 1 << 20), 1 << 20);
	cr_expect_eq(c, crc32c(0, b, n));
	free(b);
}
