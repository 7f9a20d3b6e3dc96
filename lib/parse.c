// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sizes, rates and times as users type them: "512M", "1.91GiB",
 * "125MB/s", "10Gbps", "300ms".  Rates follow the networking rule: a
 * lower-case b is bits (Gb/s, Gbps, Gbit), an upper-case B bytes (GB/s,
 * GiB/s), and a bare prefix bytes as in a size (512M/s).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "device.h"

struct unit {
	const char *suffix;
	uint64_t mult;
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "K", 1ull << 10 },
	{ "KiB", 1ull << 10 },
	{ "M", 1ull << 20 },
	{ "MiB", 1ull << 20 },
	{ "G", 1ull << 30 },
	{ "GiB", 1ull << 30 },
	{ "T", 1ull << 40 },
	{ "TiB", 1ull << 40 },
	{ "KB", 1000ull },
	{ "MB", 1000000ull },
	{ "GB", 1000000000ull },
	{ "TB", 1000000000000ull },
	{ NULL, 0 },
};

/* A rate's unit, before "/s" or "ps": a prefix, then b/bit or B or
 * nothing.  The prefix is decimal before b/bit/B (network and disk
 * convention), binary with an i (MiB/s) or alone (512M/s, as a size). */
static const struct unit rate_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "K", 1ull << 10 },
	{ "M", 1ull << 20 },
	{ "G", 1ull << 30 },
	{ "T", 1ull << 40 },
	{ "KB", 1000ull },
	{ "MB", 1000000ull },
	{ "GB", 1000000000ull },
	{ "TB", 1000000000000ull },
	{ "KiB", 1ull << 10 },
	{ "MiB", 1ull << 20 },
	{ "GiB", 1ull << 30 },
	{ "TiB", 1ull << 40 },
	{ NULL, 0 },
};

/* Bits: 8 bytes; the same prefixes, decimal. */
static const struct unit bit_units[] = {
	{ "b", 1 },
	{ "Kb", 1000ull },
	{ "Mb", 1000000ull },
	{ "Gb", 1000000000ull },
	{ "Tb", 1000000000000ull },
	{ NULL, 0 },
};

static const struct unit time_units[] = {
	{ "ms", 1 },	  { "s", 1000 },    { "m", 60000 },
	{ "min", 60000 }, { "h", 3600000 }, { NULL, 0 },
};

/*
 * number [ '.' fraction ] suffix, where suffix (of @len bytes) must be one
 * of @units: case-insensitive, or with @exact case-sensitive but for the
 * prefix letter (k and K alike).  The result is value * mult / div.
 */
static int scale_as(const char *p, size_t len, const struct unit *units,
		    bool exact, uint64_t div, uint64_t *out)
{
	uint64_t ip = 0, fnum = 0, fden = 1, mult = 0, v;
	const char *end = p + len;
	int digits = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			return -ERANGE;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
			if (fden < 1000000000000ull) {
				fnum = fnum * 10 + (uint64_t)(*p - '0');
				fden *= 10;
			}
		}
	}
	if (!digits)
		return -EINVAL;
	for (const struct unit *u = units; u->suffix; u++) {
		size_t n = strlen(u->suffix);

		if (n != (size_t)(end - p) || strncasecmp(u->suffix, p, n))
			continue;
		/* exact: only a prefix letter's case may differ */
		if (exact && n > 1 && strncmp(u->suffix + 1, p + 1, n - 1))
			continue;
		if (exact && n == 1 && *u->suffix != *p &&
		    strchr("bB", *u->suffix))
			continue;
		mult = u->mult;
		break;
	}
	if (!mult)
		return -EINVAL;
	if (__builtin_mul_overflow(ip, mult, &v))
		return -ERANGE;
	/* fraction: fnum/fden * mult, rounded; mult <= 1e12, fden <= 1e12 */
	if (fnum) {
		unsigned __int128 f = (unsigned __int128)fnum * mult;

		f = (f + fden / 2) / fden;
		if (__builtin_add_overflow(v, (uint64_t)f, &v))
			return -ERANGE;
	}
	*out = v / div;
	return 0;
}

static int scale(const char *p, size_t len, const struct unit *units,
		 uint64_t div, uint64_t *out)
{
	return scale_as(p, len, units, false, div, out);
}

int vfmig_parse_size(const char *text, uint64_t *out, char *err,
		     size_t err_size)
{
	int ret;

	if (!text || !out)
		return set_errbuf(err, err_size, EINVAL, "no size given");
	ret = scale(text, strlen(text), size_units, 1, out);
	if (ret == -ERANGE)
		return set_errbuf(err, err_size, ERANGE,
				  "size '%s' is too large", text);
	if (ret)
		return set_errbuf(
			err, err_size, EINVAL,
			"bad size '%s' (expected a number with an optional K, M, G, T, KiB.., KB, MB, GB, TB)",
			text);
	return 0;
}

/* "/s", "ps" or, for bits, "bit" and "bit/s": the unit before it. */
static size_t rate_body(const char *text, size_t len, bool *bit_word)
{
	*bit_word = false;
	if (len > 5 && !strcmp(text + len - 5, "bit/s")) {
		*bit_word = true;
		return len - 5;
	}
	if (len > 3 && !strcmp(text + len - 3, "bit")) {
		*bit_word = true;
		return len - 3;
	}
	if (len > 2 &&
	    (!strcmp(text + len - 2, "/s") || !strcmp(text + len - 2, "ps")))
		return len - 2;
	return 0;
}

int vfmig_parse_rate(const char *text, uint64_t *out, char *err,
		     size_t err_size)
{
	size_t len, body;
	bool bit_word;
	uint64_t bits;
	int ret = -EINVAL;

	if (!text || !out)
		return set_errbuf(err, err_size, EINVAL, "no rate given");
	len = strlen(text);
	body = rate_body(text, len, &bit_word);
	if (bit_word) {
		/* "Gbit": the prefix alone, in bits */
		char unit[32];

		if (body < sizeof(unit) - 2) {
			memcpy(unit, text, body);
			unit[body] = 'b';
			unit[body + 1] = '\0';
			ret = scale_as(unit, body + 1, bit_units, true, 1,
				       &bits);
		}
		if (!ret)
			*out = bits / 8;
	} else if (body) {
		ret = scale_as(text, body, bit_units, true, 1, &bits);
		if (!ret)
			*out = bits / 8;
		else if (ret == -EINVAL)
			ret = scale_as(text, body, rate_units, true, 1, out);
	}
	if (ret == -ERANGE)
		return set_errbuf(err, err_size, ERANGE,
				  "rate '%s' is too large", text);
	if (ret)
		return set_errbuf(
			err, err_size, EINVAL,
			"bad rate '%s' (expected bits with a lower-case b: 10Gb/s, 10Gbps, 10Gbit; or bytes with B or a size: 1.25GB/s, 1GiB/s, 512M/s)",
			text);
	return 0;
}

int vfmig_parse_time(const char *text, uint64_t unit_ms, uint64_t *ms,
		     char *err, size_t err_size)
{
	size_t len, digits;
	int ret;

	if (!text || !ms || !unit_ms)
		return set_errbuf(err, err_size, EINVAL, "no time given");
	len = strlen(text);
	digits = strspn(text, "0123456789.");
	/* a bare number is in the option's own unit */
	ret = digits == len && len ?
		      scale(text, len,
			    (const struct unit[]){ { "", unit_ms },
						   { NULL, 0 } },
			    1, ms) :
		      scale(text, len, time_units, 1, ms);
	if (ret == -ERANGE)
		return set_errbuf(err, err_size, ERANGE,
				  "time '%s' is too long", text);
	if (ret)
		return set_errbuf(
			err, err_size, EINVAL,
			"bad time '%s' (expected a number, or one with ms, s, m or h: 300ms, 2s, 1.5m)",
			text);
	return 0;
}
