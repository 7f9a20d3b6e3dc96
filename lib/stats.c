// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The downtime estimator.  Documentation/stats.md states the model:
 *
 *   expected = fixed + the slowest of: the wire (RAM pending + sum(device
 *              pending x ratio)) / bandwidth, the codec (compression time
 *              of the pending bytes over the workers; -z auto balances it
 *              against the wire), a device's read here, its load there
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

#include "stats.h"
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
#define RATIO_BEST 0.0001 /* about what zstd makes of a zeroed chunk */
#define INCOMPRESSIBLE 0.98 /* -z auto stops compressing such a device */

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
	uint64_t queued_frame; /* the largest frame queued */
	struct rate read, load; /* the device here, and its peer there */
	uint64_t z_raw, z_wire, z_us; /* what the codec compressed */
	double h_ratio, h_ns; /* from history; 0: none */
	uint64_t h_read; /* stop-copy read rate, from history; 0: none */
	uint64_t h_load; /* and the destination's load rate then */
};

struct vfmig_stats {
	struct vfmig_stats_opts o;
	uint64_t fixed_us;
	struct dev_stats *d;
	unsigned channels; /* sharing the wire; 0: one */
	uint64_t ram_pending, ram_dirty;
	uint64_t credit; /* wire bytes the cap lets out at once */
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
	static const char *const names[] = { "assumed", "measured", "given",
					     "history" };

	return src >= 0 && src <= VFMIG_RATIO_HISTORY ? names[src] : "unknown";
}

/* How much a ratio source is worth: the estimate reports the weakest. */
static int ratio_rank(int src)
{
	static const int rank[] = { 0, 2, 3, 1 };

	return rank[src];
}

const char *vfmig_bottleneck_name(int b)
{
	static const char *const names[] = { "wire", "codec", "device-read",
					     "destination-load" };

	return b >= 0 && b <= VFMIG_BOTTLENECK_DESTINATION_LOAD ? names[b] :
								  "unknown";
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
	if (!(s->o.ratio >= 0 && s->o.ratio <= 2) || /* NaN fails too */
	    s->o.codec < VFMIG_CODEC_NONE || s->o.codec > VFMIG_CODEC_AUTO) {
		free(s);
		return -EINVAL;
	}
	if (!s->o.workers)
		s->o.workers = 1;
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

void stats_set_wire_credit(struct vfmig_stats *s, uint64_t bytes)
{
	if (s)
		s->credit = clamp(bytes);
}

void stats_set_channels(struct vfmig_stats *s, unsigned channels)
{
	if (s)
		s->channels = channels;
}

void stats_set_queued_frame(struct vfmig_stats *s, unsigned dev, uint64_t raw)
{
	if (s && dev < s->o.ndev)
		s->d[dev].queued_frame = clamp(raw);
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

int vfmig_stats_codec(struct vfmig_stats *s, unsigned dev, uint64_t raw,
		      uint64_t wire, uint64_t busy_us)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	s->d[dev].z_raw = raw;
	s->d[dev].z_wire = wire;
	s->d[dev].z_us = busy_us;
	return 0;
}

int vfmig_stats_set_history(struct vfmig_stats *s, unsigned dev, double ratio,
			    double codec_ns_per_byte, uint64_t read_rate)
{
	/* NaN fails both */
	if (!s || dev >= s->o.ndev || !(ratio >= 0 && ratio <= 2) ||
	    !(codec_ns_per_byte >= 0 && codec_ns_per_byte < 1e6))
		return -EINVAL;
	s->d[dev].h_ratio = ratio;
	s->d[dev].h_ns = codec_ns_per_byte;
	s->d[dev].h_read = clamp(read_rate);
	return 0;
}

int vfmig_stats_set_history_load(struct vfmig_stats *s, unsigned dev,
				 uint64_t load_rate)
{
	if (!s || dev >= s->o.ndev)
		return -EINVAL;
	s->d[dev].h_load = clamp(load_rate);
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

/* Whether the estimate models the codec at all. */
static bool compressing(const struct vfmig_stats *s)
{
	return s->o.codec != VFMIG_CODEC_NONE;
}

/*
 * The ratio of what the codec compresses: with a codec, of the chunks it
 * compressed (-z auto sends others raw by choice, which says nothing of
 * the data); else of everything moved.  Then history, then 1.
 */
static double ratio_of(const struct vfmig_stats *s, const struct dev_stats *d,
		       int *src)
{
	double r;

	if (s->o.ratio > 0) {
		*src = VFMIG_RATIO_GIVEN;
		return s->o.ratio;
	}
	if (compressing(s) && d->z_raw >= MEASURED_MIN) {
		r = (double)d->z_wire / (double)d->z_raw;
		*src = VFMIG_RATIO_MEASURED;
	} else if (d->raw >= MEASURED_MIN) {
		r = (double)d->wire / (double)d->raw;
		*src = VFMIG_RATIO_MEASURED;
	} else if (d->h_ratio > 0) {
		r = d->h_ratio;
		*src = VFMIG_RATIO_HISTORY;
	} else {
		*src = VFMIG_RATIO_ASSUMED;
		return 1.0;
	}
	return r < RATIO_BEST ? RATIO_BEST : r > 1.1 ? 1.1 : r;
}

/* The device's read rate: pre-copy's, or the history's stop-copy rate when
 * that is lower or the only one; 0 when unknown. */
static uint64_t read_rate(const struct dev_stats *d)
{
	uint64_t rd = rate_get(&d->read, STAGE_MIN_US, MEASURED_MIN);

	return d->h_read && (!rd || d->h_read < rd) ? d->h_read : rd;
}

/* The destination's load rate for the device: pre-copy's, or the
 * history's stop-copy rate when that is lower or the only one; 0 when
 * unknown.  Pre-copy's is mostly its initial data's, in large frames, with
 * the destination's CPUs to itself; at the stop the destination loads the
 * dirty data and every device at once (2 x 256 MiB of random data behind
 * 1 Gbit/s: 1.7-2.4 GB/s in pre-copy, 0.9-1.3 after the stop, and the
 * estimates bound by the load 5 ms short on 5-18 ms).  A faster
 * destination than last time's errs over, the safe side. */
static uint64_t load_rate(const struct dev_stats *d)
{
	uint64_t ld = rate_get(&d->load, STAGE_MIN_US, MEASURED_MIN);

	return d->h_load && (!ld || d->h_load < ld) ? d->h_load : ld;
}

/* The codec's ns per raw byte on this device; 0 when unknown. */
static double codec_ns(const struct dev_stats *d)
{
	if (d->z_raw >= MEASURED_MIN && d->z_us)
		return (double)d->z_us * 1000.0 / (double)d->z_raw;
	return d->h_ns;
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

/* The devices' part of the stop-copy, summed. */
struct sums {
	double raw; /* bytes pending, queued ones included */
	double wire, wire_best; /* what they become; the second with each
				 * assumed ratio at its best */
	double codec_us; /* compressing them all, over the workers */
	double dev_us; /* the slowest device's read here */
	double load, load_rate; /* to load there, and the rates' sum */
	/* the first chunk's compression: the wire waits for it (µs), unless
	 * frames already queued keep it busy meanwhile (bytes) */
	double fill_us, queued_wire;
	/* the codec bounds: its last chunk is still to be loaded there */
	double drain_us;
	/* the wire bounds: its last frames are still to be loaded there */
	double tail_us;
	uint64_t dirty;
};

/* Whether a device of ratio @r goes through the codec: -z auto sends raw
 * what zstd does not shrink (lib/source.c: it tries 1 chunk in 16 again). */
static bool compresses(const struct vfmig_stats *s, double r)
{
	return compressing(s) &&
	       (s->o.codec != VFMIG_CODEC_AUTO || r < INCOMPRESSIBLE);
}

/*
 * A device's first chunk at the codec: nothing of it goes out before it is
 * compressed whole (a 4 MiB chunk of text at 5 ns a byte: 21 ms).  Chunks
 * after it are compressed while others are on the wire.  Where the codec
 * is the bottleneck, its last chunk is the mirror image: the destination
 * loads it only once it is compressed and across (the wire waited for
 * it, so the cap's credit lets it out at once): 4 MiB at 470 MB/s, 9 ms.
 */
static void latency(const struct vfmig_stats *s, const struct dev_stats *d,
		    uint64_t p, double r, uint64_t ld, struct sums *m)
{
	double c = (double)(p < s->o.chunk ? p : s->o.chunk), us;

	if (compresses(s, r)) {
		us = c * codec_ns(d) / 1000.0;
		m->fill_us = us > m->fill_us ? us : m->fill_us;
		us = ld ? c * 1e6 / (double)ld : 0;
		m->drain_us = us > m->drain_us ? us : m->drain_us;
	}
}

/*
 * Where the wire is the bottleneck, the mirror of the first chunk is its
 * last frames: the destination writes a frame only once all of it came
 * (and its crc matched), and a device's frames in order.  The channels
 * share the wire, so the frames that arrive last are the largest in
 * flight, one a channel, and the device's frames that came before them
 * on other channels wait for them.  Two 256 MiB random devices behind
 * 1 Gbit/s over two channels, timestamps of both ends: a 4 MiB pre-copy
 * chunk still queued at the stop arrived up to 35 ms after the stop-copy
 * frames, and every device was loaded 6.0-6.4 ms after it.  Estimates
 * bound by the wire there: 2.7-6.8 ms short without this term (median
 * 4.5, five runs), 0.5-8.4 with it (median 3.3, nine).
 */
static void tail(const struct vfmig_stats *s, const struct dev_stats *d,
		 uint64_t p, uint64_t ld, struct sums *m)
{
	uint64_t pd = pending(d), last = pd < s->o.chunk ? pd : s->o.chunk;
	double trail, us;

	if (d->queued_frame > last)
		last = d->queued_frame;
	trail = (double)last * (s->channels ? s->channels : 1);
	if (trail > (double)p)
		trail = (double)p;
	us = ld ? trail * 1e6 / (double)ld : 0;
	m->tail_us = us > m->tail_us ? us : m->tail_us;
}

static void sum_devices(const struct vfmig_stats *s, struct vfmig_estimate *e,
			struct sums *m)
{
	for (unsigned i = 0; i < s->o.ndev; i++) {
		const struct dev_stats *d = &s->d[i];
		/* what is queued goes out before the stop-copy data, and
		 * what waits at the destination is loaded before it */
		uint64_t p = clamp(pending(d) + d->queued);
		uint64_t pl = clamp(p + d->waiting);
		uint64_t rd = read_rate(d);
		uint64_t ld = load_rate(d);
		int src;
		double r = ratio_of(s, d, &src);
		bool guess = src == VFMIG_RATIO_ASSUMED && compressing(s);

		m->raw += (double)p;
		m->wire += (double)p * r;
		m->wire_best += (double)p * (guess ? RATIO_BEST : r);
		if (compresses(s, r))
			m->codec_us +=
				(double)p * codec_ns(d) / 1000.0 / s->o.workers;
		/* Devices are read in parallel: the slowest one's time, for
		 * the stop-copy data it has left. */
		if (rd && (double)pending(d) * 1e6 / (double)rd > m->dev_us)
			m->dev_us = (double)pending(d) * 1e6 / (double)rd;
		/* The destination loads them side by side on shared CPUs:
		 * a device's rate was measured beside the others', so what
		 * is left (on its way too) goes at the rates' sum, however
		 * it is spread over the devices. */
		if (ld) {
			m->load += (double)pl;
			m->load_rate += (double)ld;
		}
		latency(s, d, p, r, ld, m);
		tail(s, d, p, ld, m);
		m->queued_wire += (double)clamp(d->queued) * r;
		e->remaining = e->remaining + pl < e->remaining ?
				       UINT64_MAX :
				       e->remaining + pl;
		m->dirty = clamp(m->dirty + d->dirty_rate);
		e->untrusted += d->untrusted;
		if (ratio_rank(src) < ratio_rank(e->ratio_source))
			e->ratio_source = src;
	}
}

/*
 * The pipeline's time for @raw device bytes that become @wire, RAM sent
 * as it is, with @codec_us of compression for all of them; the wire
 * starts @fill_us late, after the first chunk's compression.  -z zstd
 * compresses everything: the slower of the codec and the wire.  -z auto
 * sends raw what the workers cannot take in time: it compresses the
 * fraction f at which both finish together,
 *   f x codec = (ram + raw - f x (raw - wire)) / bandwidth.
 */
static double pipe_us(const struct vfmig_stats *s, double ram, double raw,
		      double wire, double codec_us, double fill_us, double bw,
		      bool *codec_bound)
{
	/* what the cap's credit lets out at once does not wait for its pace */
	double paced = ram + wire - (double)s->credit, f;
	double all = (paced > 0 ? paced : 0) * 1e6 / bw + fill_us;

	*codec_bound = false;
	if (!compressing(s) || codec_us <= all)
		return all;
	*codec_bound = true;
	if (s->o.codec == VFMIG_CODEC_ZSTD)
		return codec_us;
	f = (ram + raw) * 1e6 / bw / (codec_us + (raw - wire) * 1e6 / bw);
	return f * codec_us;
}

static uint64_t bounded_us(double us)
{
	return us >= (double)MAX_MS * 1000 ? MAX_MS * 1000 :
					     (uint64_t)llround(us);
}

int vfmig_stats_estimate(struct vfmig_stats *s, struct vfmig_estimate *out)
{
	struct vfmig_estimate e;
	struct sums m = { 0 };
	double ram, us, best, ms, bw, load_us, dev_us, fill;
	bool codec_bound, best_codec;

	if (!s || !out || out->size < sizeof(size_t))
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.bandwidth = bandwidth(s, &e.bandwidth_source);
	e.ratio_source = VFMIG_RATIO_GIVEN;
	ram = (double)s->ram_pending; /* RAM goes uncompressed */
	e.remaining = s->ram_pending;
	m.dirty = s->ram_dirty;
	sum_devices(s, &e, &m);
	if (!e.bandwidth) {
		memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
		return -EAGAIN;
	}
	/* A pipeline moves its data at its bottleneck's rate: the wire's,
	 * the codec's, or a device's reading here or loading there. */
	bw = (double)e.bandwidth;
	fill = m.fill_us - m.queued_wire * 1e6 / bw;
	fill = fill > 0 ? fill : 0;
	us = pipe_us(s, ram, m.raw, m.wire, m.codec_us, fill, bw, &codec_bound);
	us += codec_bound ? m.drain_us : m.tail_us;
	best = pipe_us(s, ram, m.raw, m.wire_best, m.codec_us, fill, bw,
		       &best_codec);
	best += best_codec ? m.drain_us : m.tail_us;
	e.bottleneck = codec_bound ? VFMIG_BOTTLENECK_CODEC :
				     VFMIG_BOTTLENECK_WIRE;
	/* the devices' own terms bound the best case as well */
	load_us = m.load_rate > 0 ? m.load * 1e6 / m.load_rate : 0;
	dev_us = load_us > m.dev_us ? load_us : m.dev_us;
	if (dev_us > us) {
		us = dev_us;
		e.bottleneck = load_us > m.dev_us ?
				       VFMIG_BOTTLENECK_DESTINATION_LOAD :
				       VFMIG_BOTTLENECK_DEVICE_READ;
	}
	best = dev_us > best ? dev_us : best;
	us += (double)s->fixed_us;
	e.expected_downtime_us = bounded_us(us);
	/* nearest ms: 1.91 GiB at 1 GiB/s is 1910 ms, not 1911 */
	e.expected_downtime_ms = (e.expected_downtime_us + 500) / 1000;
	e.expected_downtime_max_us = e.expected_downtime_us;
	e.expected_downtime_min_us = bounded_us(best + (double)s->fixed_us);
	/* the smallest limit that holds now, with a tenth of margin */
	ms = ceil((double)e.expected_downtime_ms * 1.1 / 10.0) * 10.0;
	e.recommended_limit_ms = ms >= (double)MAX_MS ? MAX_MS : (uint64_t)ms;
	e.verdict = verdict(s, &e, m.dirty);
	memcpy(out, &e, out->size < sizeof(e) ? out->size : sizeof(e));
	out->size = out->size < sizeof(e) ? out->size : sizeof(e);
	return 0;
}
