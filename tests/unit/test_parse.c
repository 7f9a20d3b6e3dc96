// SPDX-License-Identifier: GPL-2.0-or-later
/* Sizes and rates as users type them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vfmig.h"

static uint64_t size_ok(const char *s)
{
	char err[256] = "";
	uint64_t v = 0;

	cr_assert_eq(vfmig_parse_size(s, &v, err, sizeof(err)), 0, "'%s': %s",
		     s, err);
	return v;
}

static uint64_t rate_ok(const char *s)
{
	char err[256] = "";
	uint64_t v = 0;

	cr_assert_eq(vfmig_parse_rate(s, &v, err, sizeof(err)), 0, "'%s': %s",
		     s, err);
	return v;
}

Test(parse, sizes)
{
	cr_expect_eq(size_ok("0"), 0);
	cr_expect_eq(size_ok("4096"), 4096);
	cr_expect_eq(size_ok("4K"), 4096);
	cr_expect_eq(size_ok("4k"), 4096);
	cr_expect_eq(size_ok("512M"), 512ull << 20);
	cr_expect_eq(size_ok("512MiB"), 512ull << 20);
	cr_expect_eq(size_ok("2G"), 2ull << 30);
	cr_expect_eq(size_ok("1T"), 1ull << 40);
	cr_expect_eq(size_ok("64MB"), 64000000);
	cr_expect_eq(size_ok("1GB"), 1000000000);
	cr_expect_eq(size_ok("1.5G"), 3ull << 29);
	/* 1.91 GiB, the stats sanity anchor */
	cr_expect_eq(size_ok("1.91GiB"), 2050846884);
	cr_expect_eq(size_ok("18446744073709551615"), UINT64_MAX);
}

static void size_bad(const char *s, int err, const char *quoted)
{
	char msg[256] = "";
	uint64_t v;

	cr_expect_eq(vfmig_parse_size(s, &v, msg, sizeof(msg)), -err, "'%s'",
		     s);
	cr_expect(strstr(msg, quoted), "message '%s' does not quote '%s'", msg,
		  quoted);
}

Test(parse, bad_sizes)
{
	size_bad("", EINVAL, "''");
	size_bad("abc", EINVAL, "'abc'");
	size_bad("12Q", EINVAL, "'12Q'");
	size_bad("-1", EINVAL, "'-1'");
	size_bad("1.2.3", EINVAL, "'1.2.3'");
	size_bad(".M", EINVAL, "'.M'");
	size_bad("18446744073709551616", ERANGE, "too large");
	size_bad("17179869184G", ERANGE, "too large");
	cr_expect_eq(vfmig_parse_size(NULL, NULL, NULL, 0), -EINVAL);
}

Test(parse, rates)
{
	cr_expect_eq(rate_ok("125MB/s"), 125000000);
	cr_expect_eq(rate_ok("1G/s"), 1ull << 30);
	cr_expect_eq(rate_ok("1GiB/s"), 1ull << 30);
	cr_expect_eq(rate_ok("32M/s"), 32ull << 20);
	cr_expect_eq(rate_ok("1Gbit"), 125000000);
	cr_expect_eq(rate_ok("10Gbit/s"), 1250000000);
	cr_expect_eq(rate_ok("100Mbit"), 12500000);
	cr_expect_eq(rate_ok("0/s"), 0);
}

Test(parse, bad_rates)
{
	char msg[256];
	uint64_t v;

	cr_expect_eq(vfmig_parse_rate("125MB", &v, msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "'125MB'"), "%s", msg);
	cr_expect_eq(vfmig_parse_rate("fast", &v, msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "'fast'"), "%s", msg);
	cr_expect_eq(vfmig_parse_rate("/s", &v, msg, sizeof(msg)), -EINVAL);
}

Test(hash, properties)
{
	unsigned char a[1000], b[1000];

	for (unsigned i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)(i * 7);
	cr_expect_eq(vfmig_hash64(a, sizeof(a), 0),
		     vfmig_hash64(b, sizeof(b), 0));
	b[999] ^= 1;
	cr_expect_neq(vfmig_hash64(a, sizeof(a), 0),
		      vfmig_hash64(b, sizeof(b), 0));
	b[999] ^= 1;
	b[0] ^= 0x80;
	cr_expect_neq(vfmig_hash64(a, sizeof(a), 0),
		      vfmig_hash64(b, sizeof(b), 0));
	/* the length counts, not only the bytes (a tail of zeros) */
	memset(a, 0, sizeof(a));
	cr_expect_neq(vfmig_hash64(a, 64, 0), vfmig_hash64(a, 65, 0));
	cr_expect_neq(vfmig_hash64(a, 64, 0), vfmig_hash64(a, 64, 1));
}
