// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "print.h"
#include "vfmig.h"

void pr_init(struct printer *p, FILE *out, bool json)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->json = json;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Separator, indentation and key of the next JSON value. */
static void json_key(struct printer *p, const char *key)
{
	bool comma = p->need_comma[p->depth];

	if (comma)
		fputc(',', p->out);
	p->need_comma[p->depth] = true;
	if (p->depth && p->compact) {
		if (comma)
			fputc(' ', p->out);
	} else if (p->depth) {
		fputc('\n', p->out);
		fprintf(p->out, "%*s", p->depth * 2, "");
	}
	if (key && !p->in_array[p->depth]) {
		json_string(p->out, key);
		fputs(": ", p->out);
	}
}

static void text_label(struct printer *p, const char *label)
{
	int indent = p->depth > 1 ? (p->depth - 1) * 2 : 0;

	fprintf(p->out, "%*s%-16s ", indent, "", label ? label : "");
}

static void push(struct printer *p, bool array)
{
	if (p->depth + 1 < PR_MAX_DEPTH) {
		p->depth++;
		p->need_comma[p->depth] = false;
		p->in_array[p->depth] = array;
	}
}

void pr_open_object(struct printer *p, const char *key)
{
	if (p->json) {
		json_key(p, key);
		fputc('{', p->out);
	}
	push(p, false);
}

static void pop(struct printer *p, char close)
{
	bool had = p->need_comma[p->depth];

	if (p->depth)
		p->depth--;
	if (!p->json)
		return;
	if (had && !p->compact) {
		fputc('\n', p->out);
		fprintf(p->out, "%*s", p->depth * 2, "");
	}
	fputc(close, p->out);
}

void pr_close_object(struct printer *p)
{
	pop(p, '}');
}

void pr_open_array(struct printer *p, const char *key, const char *label)
{
	if (p->json) {
		json_key(p, key);
		fputc('[', p->out);
	} else if (label) {
		text_label(p, label);
	}
	push(p, true);
}

void pr_close_array(struct printer *p)
{
	bool text_list = !p->json && p->in_array[p->depth];

	pop(p, ']');
	if (text_list)
		fputc('\n', p->out);
}

void pr_string(struct printer *p, const char *key, const char *label,
	       const char *value)
{
	if (p->json) {
		json_key(p, key);
		json_string(p->out, value);
	} else if (p->in_array[p->depth]) {
		fprintf(p->out, "%s%s", p->need_comma[p->depth] ? " " : "",
			value);
		p->need_comma[p->depth] = true;
	} else {
		text_label(p, label);
		fprintf(p->out, "%s\n", value);
	}
}

void pr_u64(struct printer *p, const char *key, const char *label,
	    uint64_t value)
{
	if (p->json) {
		json_key(p, key);
		fprintf(p->out, "%llu", (unsigned long long)value);
	} else {
		text_label(p, label);
		fprintf(p->out, "%llu\n", (unsigned long long)value);
	}
}

const char *human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char *const unit[] = { "B",   "KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

void pr_bytes(struct printer *p, const char *key, const char *label,
	      uint64_t value)
{
	char h[32];

	if (p->json) {
		pr_u64(p, key, label, value);
		return;
	}
	text_label(p, label);
	fprintf(p->out, "%llu bytes (%s)\n", (unsigned long long)value,
		human_bytes(value, h, sizeof(h)));
}

void pr_double(struct printer *p, const char *key, const char *label,
	       double value, int decimals)
{
	if (p->json) {
		json_key(p, key);
		fprintf(p->out, "%.*f", decimals, value);
	} else {
		text_label(p, label);
		fprintf(p->out, "%.*f\n", decimals, value);
	}
}

void pr_hex64(struct printer *p, const char *key, const char *label,
	      uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)value);
	pr_string(p, key, label, buf);
}

void pr_null(struct printer *p, const char *key, const char *label,
	     const char *text)
{
	if (p->json) {
		json_key(p, key);
		fputs("null", p->out);
	} else {
		text_label(p, label);
		fprintf(p->out, "%s\n", text);
	}
}

void pr_bool(struct printer *p, const char *key, const char *label, bool value,
	     const char *text)
{
	if (p->json) {
		json_key(p, key);
		fputs(value ? "true" : "false", p->out);
	} else {
		text_label(p, label);
		fprintf(p->out, "%s\n", text);
	}
}

void pr_init_ndjson(struct printer *p, FILE *out)
{
	pr_init(p, out, true);
	p->compact = true;
}

void pr_estimate(struct printer *p, const struct vfmig_estimate *e, int ret,
		 uint64_t limit_ms)
{
	if (ret == 0) {
		pr_u64(p, "expected-downtime", "expected downtime (ms)",
		       e->expected_downtime_ms);
		pr_u64(p, "expected-downtime-us", "  in us",
		       e->expected_downtime_us);
		/* text: the range only where a ratio is unknown */
		if (p->json ||
		    e->expected_downtime_min_us < e->expected_downtime_max_us) {
			pr_u64(p, "expected-downtime-min", "  at best (ms)",
			       (e->expected_downtime_min_us + 500) / 1000);
			pr_u64(p, "expected-downtime-max", "  at worst (ms)",
			       (e->expected_downtime_max_us + 500) / 1000);
		}
		pr_string(p, "bottleneck", "  bounded by",
			  vfmig_bottleneck_name(e->bottleneck));
	} else
		pr_null(p, "expected-downtime", "expected downtime",
			"unknown (no bandwidth yet)");
	pr_bytes(p, "remaining", "remaining", e->remaining);
	if (ret == 0) {
		pr_string(p, "verdict", "verdict",
			  vfmig_verdict_name(e->verdict));
		pr_u64(p, "recommended-downtime-limit",
		       "recommended limit (ms)", e->recommended_limit_ms);
	}
	pr_u64(p, "downtime-limit", "downtime limit (ms)", limit_ms);
	pr_u64(p, "bandwidth", "bandwidth (B/s)", e->bandwidth);
	pr_string(p, "bandwidth-source", "bandwidth source",
		  vfmig_bandwidth_source_name(e->bandwidth_source));
	pr_string(p, "ratio-source", "ratio source",
		  vfmig_ratio_source_name(e->ratio_source));
}

void pr_end(struct printer *p)
{
	if (p->json)
		fputc('\n', p->out);
	fflush(p->out);
}
