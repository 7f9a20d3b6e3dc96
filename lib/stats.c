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

#include "util.h"
#include "vfmig.h"

#define JUMP_FACTOR 16
#define JUMP_SLACK (64ull << 20) /* small devices may jump by this */
#define MEASURED_MIN (1ull << 20) /* raw bytes before a ratio counts */
#define STAGE_MIN_US \
	100000 /* a device's read or load time before its rate
			      * counts */
#define WINDOW 16 /* busy intervals in the bandwidth window */
#define BUSY_MIN_MS 200 /* busy time before a measurement counts */
#define TREND_POINTS 4 /* estimates without progress: stalled */
#define STALL_MIN_MS 1000 /* ... and for at least this long */
#define PROGRESS 0.95 /* a new low must be 5% below the last */
#define GROWTH 1.25 /* 25% above the low: diverging */
#define MAX_MS 1000000000000ull /* 31 years: "forever", not an overflow */

/*
 * A rate from cumulative samples (bytes, and the time spent moving them):
 * the last sample, and a ring of the last WINDOW intervals that moved
 * something, so that the rate follows what a device does now.
 */
struct rate {
	uint64_t bytes, us;
	bool have;
	uint64_t db[WINDOW], dt[WINDOW];
	unsigned n;
};

static void rate_sample(struct rate *r, uint64_t bytes, uint64_t us)
{
	if (r->have && us > r->us && bytes >= r->bytes) {
		unsigned i = r->n++ % WINDOW;

		r->dt[i] = us - r->us;
		r->db[i] = bytes - r->bytes;
	}
	r->bytes = bytes;
	r->us = us;
	r->have = true;
}

/* bytes/s over the window; 0 when it holds too little to judge */
static uint64_t rate_get(const struct rate *r, uint64_t min_us,
			 uint64_t min_bytes)
{
	unsigned n = r->n < WINDOW ? r->n : WINDOW;
	uint64_t dt = 0, db = 0;

	for (unsigned i = 0; i < n; i++) {
		dt += r->dt[i];
		db += r->db[i];
	}
	if (dt < min_us || db < min_bytes)
		return 0;
	return (uint64_t)((double)db * 1e6 / (double)dt);
}

struct dev_stats {
	uint64_t stopcopy; /* last good report */
	bool have, untrusted;
	uint64_t dirty_rate;
	uint64_t raw, wire; /* sent so far */
	uint64_t queued; /* read, not yet sent */
	uint64_t waiting; /* at the destination, not yet loaded */
	struct rate read, load; /* the device here, and its peer there */
};

struct vfmig_stats {
	struct vfmig_stats_opts o;
	uint64_t fixed_us;
	struct dev_stats *d;
	uint64_t ram_pending, ram_dirty;
	/* bandwidth, over saturated time; the samples' clock */
	struct rate wire;
	uint64_t t_last;
	bool have_sample;
	/* trend: the lowest remaining, when, and estimates since */
	uint64_t rem_min, t_min;
	unsigned since_min;
	bool have_min;
	bool shrunk; /* a new low after the first estimate: a trend */
};

const char *vfmig_verdict_name(int v)
{
	static const char *const names[] = { "ready", "converging", "stalled",
					     "diverging", "over-limit" };

	return v >= 0 && v <= VFMIG_VERDICT_OVER_LIMIT ? names[v] : "unknown";
}

const char *vfmig_ratio_source_name(int src)
{
	static const char *const names[] = { "assumed", "measured", "given" };

	return src >= 0 && src <= VFMIG_RATIO_GIVEN ? names[src] : "unknown";
}

const char *vfmig_bandwidth_source_name(int src)
{
	static const char *const names[] = { "unknown", "prior", "measured",
					     "given" };

	return src >= 0 && src <= VFMIG_BANDWIDTH_GIVEN ? names[src] :
							  "unknown";
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
	s->fixed_us = s->o.fixed_cost_ms > MAX_MS ? MAX_MS * 1000 :
						    s->o.fixed_cost_ms * 1000;
	if (!s->o.downtime_limit_ms)
		s->o.downtime_limit_ms = VFMIG_DOWNTIME_LIMIT_DEFAULT_MS;
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
	return v > PLAUSIBLE_STATE_MAX ? PLAUSIBLE_STATE_MAX : v;
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
	bad = stopcopy > PLAUSIBLE_STATE_MAX ||
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

int vfmig_stats_queued(struct vfmig_stats *s, unsigned dev, uint64_t raw)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	s->d[dev].queued = clamp(raw);
	return 0;
}

int vfmig_stats_loaded(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		       uint64_t busy_us, uint64_t waiting)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	rate_sample(&s->d[dev].load, raw, busy_us);
	s->d[dev].waiting = clamp(waiting);
	return 0;
}

int vfmig_stats_read(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		     uint64_t busy_us)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	rate_sample(&s->d[dev].read, raw, busy_us);
	return 0;
}

int vfmig_stats_wire(struct vfmig_stats *s, uint64_t now_ms, uint64_t busy_ms,
		     uint64_t busy_bytes)
{
	if (!s)
		return -EINVAL;
	/* Only time in which the sender had more to send than went out
	 * measures the link (or the pipeline): an idle pre-copy moves what
	 * the device dirties, not what the link can carry. */
	rate_sample(&s->wire, busy_bytes, busy_ms * 1000);
	s->t_last = now_ms;
	s->have_sample = true;
	return 0;
}

int vfmig_stats_set_fixed_cost_us(struct vfmig_stats *s, uint64_t us)
{
	if (!s)
		return -EINVAL;
	s->fixed_us = us > MAX_MS * 1000 ? MAX_MS * 1000 : us;
	return 0;
}

int vfmig_stats_set_prior(struct vfmig_stats *s, uint64_t bandwidth)
{
	if (!s)
		return -EINVAL;
	s->o.bandwidth_prior = bandwidth;
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

static uint64_t bandwidth(const struct vfmig_stats *s, int *src)
{
	uint64_t bw;

	if (s->o.bandwidth) {
		*src = VFMIG_BANDWIDTH_GIVEN;
		return s->o.bandwidth;
	}
	bw = rate_get(&s->wire, BUSY_MIN_MS * 1000ull, 0);
	if (bw) {
		*src = VFMIG_BANDWIDTH_MEASURED;
		return bw;
	}
	*src = s->o.bandwidth_prior ? VFMIG_BANDWIDTH_PRIOR :
				      VFMIG_BANDWIDTH_UNKNOWN;
	return s->o.bandwidth_prior;
}

/*
 * Progress is a new low of the remaining bytes, 5% under the last one.
 * Without it for TREND_POINTS estimates (and STALL_MIN_MS, when the
 * samples tell the time) the migration is stalled; diverging when it also
 * grew well past the low, or when dirtying outruns the bandwidth.
 */
static int verdict(struct vfmig_stats *s, struct vfmig_estimate *e,
		   uint64_t dirty)
{
	bool ready = e->expected_downtime_ms <= s->o.downtime_limit_ms;

	if (!s->have_min ||
	    (double)e->remaining < (double)s->rem_min * PROGRESS) {
		s->shrunk = s->have_min;
		s->rem_min = e->remaining;
		s->t_min = s->t_last;
		s->since_min = 0;
		s->have_min = true;
	} else {
		s->since_min++;
	}
	e->stalled_ms = s->t_last - s->t_min;
	if (ready)
		return VFMIG_VERDICT_READY;
	if (dirty >= e->bandwidth)
		return VFMIG_VERDICT_DIVERGING;
	/* too soon to call it stalled: converging if it ever shrank (over
	 * the limit with no trend yet, as a single estimate is, if not) */
	if (s->since_min < TREND_POINTS ||
	    (s->have_sample && e->stalled_ms < STALL_MIN_MS))
		return s->shrunk ? VFMIG_VERDICT_CONVERGING :
				   VFMIG_VERDICT_OVER_LIMIT;
	if ((double)e->remaining > (double)s->rem_min * GROWTH)
		return VFMIG_VERDICT_DIVERGING;
	return VFMIG_VERDICT_STALLED;
}

int vfmig_stats_estimate(struct vfmig_stats *s, struct vfmig_estimate *out)
{
	struct vfmig_estimate e;
	double wire, us, ms, dev_us = 0;
	uint64_t dirty;

	if (!s || !out || out->size < sizeof(size_t))
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.bandwidth = bandwidth(s, &e.bandwidth_source);
	e.ratio_source = VFMIG_RATIO_GIVEN;
	wire = (double)s->ram_pending; /* RAM goes uncompressed */
	e.remaining = s->ram_pending;
	dirty = s->ram_dirty;
	for (unsigned i = 0; i < s->o.ndev; i++) {
		const struct dev_stats *d = &s->d[i];
		/* what is queued goes out before the stop-copy data, and
		 * what waits at the destination is loaded before it */
		uint64_t p = clamp(pending(d) + d->queued);
		uint64_t pl = clamp(p + d->waiting);
		uint64_t rd = rate_get(&d->read, STAGE_MIN_US, MEASURED_MIN);
		uint64_t ld = rate_get(&d->load, STAGE_MIN_US, MEASURED_MIN);
		int src;
		double r = ratio_of(s, d, &src);

		wire += (double)p * r;
		/* Devices are read and loaded in parallel: the slowest one's
		 * time.  Reading has the stop-copy data left, loading also
		 * what is on its way. */
		if (rd && (double)pending(d) * 1e6 / (double)rd > dev_us)
			dev_us = (double)pending(d) * 1e6 / (double)rd;
		if (ld && (double)pl * 1e6 / (double)ld > dev_us)
			dev_us = (double)pl * 1e6 / (double)ld;
		e.remaining = e.remaining + pl < e.remaining ? UINT64_MAX :
							       e.remaining + pl;
		dirty = clamp(dirty + d->dirty_rate);
		e.untrusted += d->untrusted;
		if (src < e.ratio_source)
			e.ratio_source = src;
	}
	if (!e.bandwidth) {
		memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
		return -EAGAIN;
	}
	/* A pipeline moves its data at its bottleneck's rate: the wire's (or
	 * the codec's, which the measured bandwidth then is), or a device's
	 * reading here or loading there. */
	us = wire * 1e6 / (double)e.bandwidth;
	if (dev_us > us)
		us = dev_us;
	us += (double)s->fixed_us;
	if (us >= (double)MAX_MS * 1000) {
		e.expected_downtime_us = MAX_MS * 1000;
		e.expected_downtime_ms = MAX_MS;
	} else {
		e.expected_downtime_us = (uint64_t)llround(us);
		/* nearest ms: 1.91 GiB at 1 GiB/s is 1910 ms, not 1911 */
		e.expected_downtime_ms = (uint64_t)llround(us / 1000);
	}
	/* the smallest limit that holds now, with a tenth of margin */
	ms = ceil((double)e.expected_downtime_ms * 1.1 / 10.0) * 10.0;
	e.recommended_limit_ms = ms >= (double)MAX_MS ? MAX_MS : (uint64_t)ms;
	e.verdict = verdict(s, &e, dirty);
	memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
	out->size = out->size < sizeof(e) ? out->size : sizeof(e);
	return 0;
}
