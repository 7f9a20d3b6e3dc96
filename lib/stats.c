// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The downtime estimator.  Documentation/stats.md states the model:
 *
 *   expected = fixed + (RAM pending + sum(device pending x ratio)) / bandwidth
 *
 * Drivers' size reports are untrusted: a value beyond any device's size, or
 * one that jumps up by more than JUMP_FACTOR at once, is replaced by the last
 * good value and the device is flagged.  All arithmetic saturates; the
 * figures are bounded, never negative.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vfmig.h"

#define PLAUSIBLE_MAX (1ull << 46) /* 64 TiB: no device holds more */
#define JUMP_FACTOR 16
#define JUMP_SLACK (64ull << 20) /* small devices may jump by this */
#define MEASURED_MIN (1ull << 20) /* raw bytes before a ratio counts */
#define WINDOW 16 /* bandwidth samples and trend points */
#define TREND_POINTS 4
#define TREND_SLACK 0.05
#define MAX_MS 1000000000000ull /* 31 years: "forever", not an overflow */
#define DEFAULT_LIMIT_MS 300

struct dev_stats {
	uint64_t stopcopy; /* last good report */
	bool have, untrusted;
	uint64_t dirty_rate;
	uint64_t raw, wire; /* moved so far */
};

struct vfmig_stats {
	struct vfmig_stats_opts o;
	struct dev_stats *d;
	uint64_t ram_pending, ram_dirty;
	uint64_t t[WINDOW], b[WINDOW]; /* wire samples, a ring */
	unsigned nsamples;
	uint64_t rem[TREND_POINTS]; /* remaining at the last estimates */
	unsigned nrem;
};

const char *vfmig_verdict_name(int v)
{
	static const char *const names[] = { "ready", "converging", "stalled",
					     "diverging" };

	return v >= 0 && v <= VFMIG_VERDICT_DIVERGING ? names[v] : "unknown";
}

const char *vfmig_ratio_source_name(int src)
{
	static const char *const names[] = { "assumed", "measured", "given" };

	return src >= 0 && src <= VFMIG_RATIO_GIVEN ? names[src] : "unknown";
}

int vfmig_stats_new(const struct vfmig_stats_opts *opts,
		    struct vfmig_stats **out)
{
	struct vfmig_stats *s;

	if (!opts || !out || opts->size < sizeof(size_t) + sizeof(unsigned) ||
	    !opts->ndev || opts->ndev > 1024)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(&s->o, opts,
	       opts->size < sizeof(s->o) ? opts->size : sizeof(s->o));
	s->o.size = sizeof(s->o);
	if (!(s->o.ratio >= 0 && s->o.ratio <= 2)) { /* NaN fails too */
		free(s);
		return -EINVAL;
	}
	if (!s->o.downtime_limit_ms)
		s->o.downtime_limit_ms = DEFAULT_LIMIT_MS;
	s->d = calloc(s->o.ndev, sizeof(*s->d));
	if (!s->d) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void vfmig_stats_free(struct vfmig_stats *s)
{
	if (!s)
		return;
	free(s->d);
	free(s);
}

static uint64_t clamp(uint64_t v)
{
	return v > PLAUSIBLE_MAX ? PLAUSIBLE_MAX : v;
}

int vfmig_stats_set_ram(struct vfmig_stats *s, uint64_t pending,
			uint64_t dirty_rate)
{
	if (!s)
		return -EINVAL;
	s->ram_pending = clamp(pending);
	s->ram_dirty = clamp(dirty_rate);
	return 0;
}

int vfmig_stats_set_device(struct vfmig_stats *s, unsigned dev,
			   uint64_t stopcopy, uint64_t dirty_rate)
{
	struct dev_stats *d;
	bool bad;

	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	d = &s->d[dev];
	d->dirty_rate = clamp(dirty_rate);
	bad = stopcopy > PLAUSIBLE_MAX ||
	      (d->have && stopcopy > JUMP_SLACK &&
	       stopcopy / JUMP_FACTOR > d->stopcopy);
	if (bad) {
		/* keep the last good value; without one, see pending() */
		d->untrusted = true;
		return 0;
	}
	d->stopcopy = stopcopy;
	d->have = true;
	return 0;
}

int vfmig_stats_moved(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		      uint64_t wire)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	s->d[dev].raw = raw;
	s->d[dev].wire = wire;
	return 0;
}

int vfmig_stats_wire(struct vfmig_stats *s, uint64_t now_ms, uint64_t bytes)
{
	unsigned i;

	if (!s)
		return -EINVAL;
	i = s->nsamples % WINDOW;
	s->t[i] = now_ms;
	s->b[i] = bytes;
	s->nsamples++;
	return 0;
}

/* Bytes a device still has for STOP_COPY. */
static uint64_t pending(const struct dev_stats *d)
{
	if (d->have)
		return d->stopcopy;
	/* Only garbage so far: what the device streamed is the best
	 * measure of its size we have. */
	return d->untrusted ? clamp(d->raw) : 0;
}

static double ratio_of(const struct vfmig_stats *s, const struct dev_stats *d,
		       int *src)
{
	if (s->o.ratio > 0) {
		*src = VFMIG_RATIO_GIVEN;
		return s->o.ratio;
	}
	if (d->raw >= MEASURED_MIN) {
		double r = (double)d->wire / (double)d->raw;

		*src = VFMIG_RATIO_MEASURED;
		return r < 0.0001 ? 0.0001 : r > 1.1 ? 1.1 : r;
	}
	*src = VFMIG_RATIO_ASSUMED;
	return 1.0;
}

int vfmig_stats_device(const struct vfmig_stats *s, unsigned dev,
		       uint64_t *pend, double *ratio, int *src, int *untrusted)
{
	int rs;
	double r;

	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	r = ratio_of(s, &s->d[dev], &rs);
	if (pend)
		*pend = pending(&s->d[dev]);
	if (ratio)
		*ratio = r;
	if (src)
		*src = rs;
	if (untrusted)
		*untrusted = s->d[dev].untrusted;
	return 0;
}

/* bytes/s over the sample window; 0 when too little is known */
static uint64_t measured_bandwidth(const struct vfmig_stats *s)
{
	unsigned n = s->nsamples < WINDOW ? s->nsamples : WINDOW;
	unsigned last = (s->nsamples - 1) % WINDOW;
	unsigned first = (s->nsamples - n) % WINDOW;
	uint64_t dt, db;

	if (n < 2)
		return 0;
	dt = s->t[last] - s->t[first];
	db = s->b[last] - s->b[first];
	if (s->t[last] < s->t[first] || s->b[last] < s->b[first] || dt < 100)
		return 0;
	return (uint64_t)((double)db * 1000.0 / (double)dt);
}

static int verdict(struct vfmig_stats *s, const struct vfmig_estimate *e,
		   uint64_t dirty)
{
	uint64_t oldest, newest;

	if (e->expected_downtime_ms <= s->o.downtime_limit_ms)
		return VFMIG_VERDICT_READY;
	if (dirty >= e->bandwidth)
		return VFMIG_VERDICT_DIVERGING;
	if (s->nrem < 2)
		return VFMIG_VERDICT_CONVERGING;
	oldest = s->rem[s->nrem < TREND_POINTS ? 0 : s->nrem % TREND_POINTS];
	newest = e->remaining;
	if ((double)newest < (double)oldest * (1 - TREND_SLACK))
		return VFMIG_VERDICT_CONVERGING;
	if ((double)newest > (double)oldest * (1 + TREND_SLACK))
		return VFMIG_VERDICT_DIVERGING;
	return VFMIG_VERDICT_STALLED;
}

int vfmig_stats_estimate(struct vfmig_stats *s, struct vfmig_estimate *out)
{
	struct vfmig_estimate e;
	double wire, ms;
	uint64_t dirty;

	if (!s || !out || out->size < sizeof(size_t))
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.bandwidth = s->o.bandwidth ? s->o.bandwidth : measured_bandwidth(s);
	e.ratio_source = VFMIG_RATIO_GIVEN;
	wire = (double)s->ram_pending; /* RAM goes uncompressed */
	e.remaining = s->ram_pending;
	dirty = s->ram_dirty;
	for (unsigned i = 0; i < s->o.ndev; i++) {
		const struct dev_stats *d = &s->d[i];
		uint64_t p = pending(d);
		int src;
		double r = ratio_of(s, d, &src);

		wire += (double)p * r;
		e.remaining = e.remaining + p < e.remaining ? UINT64_MAX :
							      e.remaining + p;
		dirty = clamp(dirty + d->dirty_rate);
		e.untrusted += d->untrusted;
		if (src < e.ratio_source)
			e.ratio_source = src;
	}
	if (!e.bandwidth) {
		memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
		return -EAGAIN;
	}
	/* nearest ms: 1.91 GiB at 1 GiB/s is 1910 ms, not 1911 */
	ms = (double)s->o.fixed_cost_ms + wire * 1000.0 / (double)e.bandwidth;
	e.expected_downtime_ms = ms >= (double)MAX_MS ? MAX_MS :
							(uint64_t)llround(ms);
	/* the smallest limit that holds now, with a tenth of margin */
	ms = ceil((double)e.expected_downtime_ms * 1.1 / 10.0) * 10.0;
	e.recommended_limit_ms = ms >= (double)MAX_MS ? MAX_MS : (uint64_t)ms;
	e.verdict = verdict(s, &e, dirty);
	s->rem[s->nrem % TREND_POINTS] = e.remaining;
	s->nrem++;
	memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
	out->size = out->size < sizeof(e) ? out->size : sizeof(e);
	return 0;
}
