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

/* The rule, as a table: a lower-case b is bits (decimal prefixes), an
 * upper-case B bytes, a bare prefix bytes as a size is. */
Test(parse, rates)
{
	static const struct {
		const char *text;
		uint64_t bytes_per_s;
	} t[] = {
		/* bits */
		{ "1Gb/s", 125000000 },
		{ "1Gbps", 125000000 },
		{ "10Gbps", 1250000000 },
		{ "1Gbit", 125000000 },
		{ "10Gbit/s", 1250000000 },
		{ "100Mbit", 12500000 },
		{ "100Mb/s", 12500000 },
		{ "100mbps", 12500000 },
		{ "800kbps", 100000 },
		{ "800Kb/s", 100000 },
		{ "25Gb/s", 3125000000ull },
		{ "1Tbps", 125000000000ull },
		{ "8b/s", 1 },
		{ "8bps", 1 },
		/* bytes: B, decimal or binary */
		{ "125MB/s", 125000000 },
		{ "125MBps", 125000000 },
		{ "1.25GB/s", 1250000000 },
		{ "1GiB/s", 1ull << 30 },
		{ "2MiB/s", 2ull << 20 },
		{ "100kB/s", 100000 },
		{ "100B/s", 100 },
		/* bytes: a size per second */
		{ "1G/s", 1ull << 30 },
		{ "32M/s", 32ull << 20 },
		{ "512k/s", 512ull << 10 },
		{ "0/s", 0 },
		{ "1000/s", 1000 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(rate_ok(t[i].text), t[i].bytes_per_s,
			     "'%s': %llu, expected %llu", t[i].text,
			     (unsigned long long)rate_ok(t[i].text),
			     (unsigned long long)t[i].bytes_per_s);
}

static uint64_t time_ok(const char *s, uint64_t unit)
{
	char err[256] = "";
	uint64_t v = 0;

	cr_assert_eq(vfmig_parse_time(s, unit, &v, err, sizeof(err)), 0,
		     "'%s': %s", s, err);
	return v;
}

Test(parse, times)
{
	/* a bare number keeps the option's unit */
	cr_expect_eq(time_ok("300", 1), 300);
	cr_expect_eq(time_ok("120", 1000), 120000);
	cr_expect_eq(time_ok("1.5", 1000), 1500);
	/* an explicit unit wins */
	cr_expect_eq(time_ok("300ms", 1000), 300);
	cr_expect_eq(time_ok("2s", 1), 2000);
	cr_expect_eq(time_ok("0.25s", 1), 250);
	cr_expect_eq(time_ok("1m", 1), 60000);
	cr_expect_eq(time_ok("1.5min", 1000), 90000);
	cr_expect_eq(time_ok("2h", 1), 7200000);
}

Test(parse, bad_times)
{
	char msg[256];
	uint64_t v;

	cr_expect_eq(vfmig_parse_time("2 s", 1, &v, msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "bad time '2 s'"), "%s", msg);
	cr_expect_eq(vfmig_parse_time("5d", 1, &v, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(vfmig_parse_time("", 1, &v, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(vfmig_parse_time("-1s", 1, &v, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(vfmig_parse_time("99999999999999999999", 1000, &v, msg,
				      sizeof(msg)),
		     -ERANGE);
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
	/* bits need their per-second: a quantity is no rate */
	cr_expect_eq(vfmig_parse_rate("1Gb", &v, msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "lower-case b: 10Gb/s, 10Gbps"), "%s", msg);
	/* KiB is binary bytes; "kib" says neither */
	cr_expect_eq(vfmig_parse_rate("1kib/s", &v, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(vfmig_parse_rate("1Xb/s", &v, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(vfmig_parse_rate("99999999999Tbps", &v, msg, sizeof(msg)),
		     -ERANGE);
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
