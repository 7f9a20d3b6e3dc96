// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sizes and rates as users type them: "512M", "1.91GiB", "125MB/s", "1Gbit". */
#include <errno.h>
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

static const struct unit bit_units[] = {
	{ "bit", 1 },
	{ "Kbit", 1000ull },
	{ "Mbit", 1000000ull },
	{ "Gbit", 1000000000ull },
	{ "Tbit", 1000000000000ull },
	{ NULL, 0 },
};

/*
 * number [ '.' fraction ] suffix, where suffix (of @len bytes) must be one
 * of @units (case-insensitive).  The result is value * mult / div.
 */
static int scale(const char *p, size_t len, const struct unit *units,
		 uint64_t div, uint64_t *out)
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
		if (strlen(u->suffix) == (size_t)(end - p) &&
		    !strncasecmp(u->suffix, p, (size_t)(end - p))) {
			mult = u->mult;
			break;
		}
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

int vfmig_parse_rate(const char *text, uint64_t *out, char *err,
		     size_t err_size)
{
	size_t len;
	uint64_t bits;
	int ret;

	if (!text || !out)
		return set_errbuf(err, err_size, EINVAL, "no rate given");
	len = strlen(text);
	if (len > 2 && !strcmp(text + len - 2, "/s")) {
		ret = scale(text, len - 2, size_units, 1, out);
		if (ret == -EINVAL) {
			ret = scale(text, len - 2, bit_units, 1, &bits);
			if (!ret)
				*out = bits / 8;
		}
	} else {
		ret = scale(text, len, bit_units, 1, &bits);
		if (!ret)
			*out = bits / 8;
	}
	if (ret == -ERANGE)
		return set_errbuf(err, err_size, ERANGE,
				  "rate '%s' is too large", text);
	if (ret)
		return set_errbuf(
			err, err_size, EINVAL,
			"bad rate '%s' (expected a size per second such as 125MB/s or 1G/s, or bits such as 1Gbit)",
			text);
	return 0;
}
