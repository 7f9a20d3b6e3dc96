// SPDX-License-Identifier: GPL-2.0-or-later
/* The downtime estimator: the model's figures and untrusted inputs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "stats.h"
#include "vfmig.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static struct vfmig_stats *stats(unsigned ndev, uint64_t bw, double ratio)
{
	struct vfmig_stats_opts o = {
		.size = sizeof(o), .ndev = ndev, .bandwidth = bw, .ratio = ratio
	};
	struct vfmig_stats *s;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	return s;
}

static struct vfmig_estimate est(struct vfmig_stats *s)
{
	struct vfmig_estimate e = { .size = sizeof(e) };

	cr_assert_eq(vfmig_stats_estimate(s, &e), 0);
	return e;
}

Test(stats, worked_example_1910_ms)
{
	/* 1.91 GiB of device stop-copy data at 1 GiB/s, no RAM, no fixed
	 * costs: 1910 ms (Documentation/stats.md) */
	struct vfmig_stats *s = stats(1, GiB, 0);
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_set_device(s, 0, 2050846884, 0), 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 1910);
	cr_expect_eq(e.remaining, 2050846884);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_ASSUMED,
		     "no history: ratio 1");
	cr_expect_eq(e.recommended_limit_ms, 2110);
	/* one estimate, over the limit: no trend to speak of */
	cr_expect_eq(e.verdict, VFMIG_VERDICT_OVER_LIMIT);
	vfmig_stats_free(s);
}

Test(stats, ram_ratio_fixed_costs)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 2,
				      .bandwidth = 100 * MiB,
				      .fixed_cost_ms = 40,
				      .downtime_limit_ms = 1000 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;
	double r;
	int src;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_ram(s, 50 * MiB, 0);
	vfmig_stats_set_device(s, 0, 200 * MiB, 0);
	vfmig_stats_set_device(s, 1, 100 * MiB, 0);
	/* device 0 moved at wire/raw 0.25: its stop-copy costs a quarter */
	vfmig_stats_moved(s, 0, 400 * MiB, 100 * MiB);
	e = est(s);
	/* 40 + (50 + 200 * 0.25 + 100 * 1) MiB / 100 MiB/s = 40 + 2000 ms */
	cr_expect_eq(e.expected_downtime_ms, 2040);
	cr_expect_eq(e.remaining, 350 * MiB);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_ASSUMED, "device 1 has none");
	cr_assert_eq(vfmig_stats_device(s, 0, NULL, &r, &src, NULL), 0);
	cr_expect(r == 0.25 && src == VFMIG_RATIO_MEASURED);
	vfmig_stats_free(s);

	/* a given ratio applies to every device */
	s = stats(1, 100 * MiB, 0.5);
	vfmig_stats_set_device(s, 0, 100 * MiB, 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 500);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_GIVEN);
	cr_expect_eq(e.verdict, VFMIG_VERDICT_OVER_LIMIT);
	/* it shrinks by 5%: a trend */
	vfmig_stats_set_device(s, 0, 90 * MiB, 0);
	e = est(s);
	cr_expect_eq(e.verdict, VFMIG_VERDICT_CONVERGING);
	vfmig_stats_free(s);
}

Test(stats, measured_bandwidth)
{
	struct vfmig_stats *s = stats(1, 0, 0);
	struct vfmig_estimate e = { .size = sizeof(e) };

	vfmig_stats_set_device(s, 0, 100 * MiB, 0);
	cr_expect_eq(vfmig_stats_estimate(s, &e), -EAGAIN, "no bandwidth yet");
	cr_expect_eq(e.remaining, 100 * MiB, "remaining is known anyway");
	vfmig_stats_wire(s, 1000, 0, 0);
	vfmig_stats_wire(s, 1500, 500, 100 * MiB);
	vfmig_stats_wire(s, 2000, 1000, 200 * MiB);
	e = est(s);
	cr_expect_eq(e.bandwidth, 200 * MiB);
	cr_expect_eq(e.bandwidth_source, VFMIG_BANDWIDTH_MEASURED);
	cr_expect_eq(e.expected_downtime_ms, 500);
	/* ten idle seconds (pre-copy waiting for dirty data) say nothing
	 * about the link: they leave the measurement alone */
	vfmig_stats_wire(s, 12000, 1000, 200 * MiB);
	e = est(s);
	cr_expect_eq(e.bandwidth, 200 * MiB);
	/* busy time counts, over the window's busy time only */
	vfmig_stats_wire(s, 13000, 2000, 300 * MiB);
	e = est(s);
	cr_expect_eq(e.bandwidth, 150 * MiB, "300 MiB in 2 busy seconds");
	vfmig_stats_free(s);
}

Test(stats, bandwidth_prior_until_measured)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth_prior = 125000000 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, 250000000, 0);
	e = est(s);
	cr_expect_eq(e.bandwidth_source, VFMIG_BANDWIDTH_PRIOR);
	cr_expect_eq(e.expected_downtime_ms, 2000);
	/* 100 ms of busy time is too little to believe */
	vfmig_stats_wire(s, 0, 0, 0);
	vfmig_stats_wire(s, 100, 100, 5000000);
	cr_expect_eq(est(s).bandwidth_source, VFMIG_BANDWIDTH_PRIOR);
	vfmig_stats_wire(s, 300, 300, 15000000);
	e = est(s);
	cr_expect_eq(e.bandwidth_source, VFMIG_BANDWIDTH_MEASURED);
	cr_expect_eq(e.bandwidth, 50000000);
	cr_expect_eq(e.expected_downtime_ms, 5000);
	/* bytes read and not yet sent go out first: they count */
	vfmig_stats_queued(s, 0, 50000000);
	e = est(s);
	cr_expect_eq(e.remaining, 300000000);
	cr_expect_eq(e.expected_downtime_ms, 6000);
	/* fixed costs learned later */
	cr_expect_eq(vfmig_stats_set_fixed_cost_us(s, 25400), 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 6025);
	cr_expect_eq(e.expected_downtime_us, 6025400);
	cr_expect_eq(vfmig_stats_set_fixed_cost_us(NULL, 25), -EINVAL);
	cr_expect_str_eq(vfmig_bandwidth_source_name(VFMIG_BANDWIDTH_PRIOR),
			 "prior");
	cr_expect_str_eq(vfmig_bandwidth_source_name(7), "unknown");
	vfmig_stats_free(s);
}

Test(stats, a_slow_device_is_the_bottleneck)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 2,
				      .bandwidth = 100000000,
				      .ratio = 0.5 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, 100000000, 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 500, "the wire: 50 MB");
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_WIRE);
	/* 50 ms of loading is too little to judge a rate */
	vfmig_stats_loaded(s, 0, 0, 0, 0);
	vfmig_stats_loaded(s, 0, 4000000, 50000, 0);
	cr_expect_eq(est(s).expected_downtime_ms, 500);
	/* device 0 loads at 80 MB/s on the destination: 1250 ms */
	vfmig_stats_loaded(s, 0, 80000000, 1000000, 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 1250);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_DESTINATION_LOAD);
	/* bytes waiting there are loaded first, but crossed the wire */
	vfmig_stats_loaded(s, 0, 80000000, 1000000, 20000000);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 1500);
	cr_expect_eq(e.remaining, 120000000);
	/* device 1 is read at 25 MB/s here: its 50 MB take 2000 ms */
	vfmig_stats_set_device(s, 1, 50000000, 0);
	vfmig_stats_read(s, 1, 0, 0);
	vfmig_stats_read(s, 1, 25000000, 1000000);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 2000);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_DEVICE_READ);
	cr_expect_str_eq(vfmig_bottleneck_name(e.bottleneck), "device-read");
	cr_expect_eq(vfmig_stats_read(s, 2, 0, 0), -EINVAL);
	cr_expect_eq(vfmig_stats_loaded(s, 2, 0, 0, 0), -EINVAL);
	vfmig_stats_free(s);
}

Test(stats, stall_is_timed_by_the_samples)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth = 100 * MiB };
	struct vfmig_stats *s;
	struct vfmig_estimate e;
	uint64_t t = 0;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	/* 500 MiB that hold, sampled every 100 ms: four estimates are not
	 * yet a second */
	for (unsigned i = 0; i < 6; i++, t += 100) {
		vfmig_stats_wire(s, t, t, t * MiB);
		vfmig_stats_set_device(s, 0, (500 - i % 2) * MiB, 0);
		e = est(s);
	}
	/* it never shrank: over the limit, no trend yet */
	cr_expect_eq(e.verdict, VFMIG_VERDICT_OVER_LIMIT, "%s",
		     vfmig_verdict_name(e.verdict));
	cr_expect_eq(e.stalled_ms, 500);
	for (unsigned i = 0; i < 10; i++, t += 100) {
		vfmig_stats_wire(s, t, t, t * MiB);
		e = est(s);
	}
	cr_expect_eq(e.verdict, VFMIG_VERDICT_STALLED, "%s",
		     vfmig_verdict_name(e.verdict));
	cr_expect_eq(e.stalled_ms, 1500);
	/* a 5% drop is progress again */
	vfmig_stats_set_device(s, 0, 470 * MiB, 0);
	e = est(s);
	cr_expect_eq(e.verdict, VFMIG_VERDICT_CONVERGING);
	cr_expect_eq(e.stalled_ms, 0);
	vfmig_stats_free(s);
}

Test(stats, garbage_size_reports)
{
	struct vfmig_stats *s = stats(1, GiB, 0);
	struct vfmig_estimate e;
	uint64_t p;
	int untrusted;

	/* 2^64-1 before any good value: flagged, and no absurd figure */
	vfmig_stats_set_device(s, 0, UINT64_MAX, 0);
	e = est(s);
	cr_expect_eq(e.untrusted, 1);
	cr_expect_eq(e.expected_downtime_ms, 0);
	/* what the device streamed is the fallback measure of its size */
	vfmig_stats_moved(s, 0, 512 * MiB, 512 * MiB);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 500);
	/* a good value, then garbage: the good one stays */
	vfmig_stats_set_device(s, 0, 256 * MiB, 0);
	vfmig_stats_set_device(s, 0, UINT64_MAX, 0);
	vfmig_stats_device(s, 0, &p, NULL, NULL, &untrusted);
	cr_expect_eq(p, 256 * MiB);
	cr_expect(untrusted);
	/* a jump by more than 16x at once is not believed ... */
	vfmig_stats_set_device(s, 0, 100 * GiB, 0);
	vfmig_stats_device(s, 0, &p, NULL, NULL, NULL);
	cr_expect_eq(p, 256 * MiB);
	/* ... but shrinking (data was sent) and small steps are */
	vfmig_stats_set_device(s, 0, 0, 0);
	vfmig_stats_device(s, 0, &p, NULL, NULL, NULL);
	cr_expect_eq(p, 0);
	vfmig_stats_set_device(s, 0, 32 * MiB, 0);
	vfmig_stats_device(s, 0, &p, NULL, NULL, NULL);
	cr_expect_eq(p, 32 * MiB);
	vfmig_stats_free(s);
}

Test(stats, saturation_and_bounds)
{
	struct vfmig_stats *s = stats(3, 1, 0); /* 1 byte/s */
	struct vfmig_estimate e;

	vfmig_stats_set_ram(s, UINT64_MAX, UINT64_MAX);
	for (unsigned i = 0; i < 3; i++)
		vfmig_stats_set_device(s, i, 1ull << 46, UINT64_MAX);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 1000000000000ull,
		     "bounded, not wrapped");
	cr_expect_geq(e.remaining, 1ull << 46);
	cr_expect_eq(e.verdict, VFMIG_VERDICT_DIVERGING);
	vfmig_stats_free(s);
	cr_expect_eq(vfmig_stats_set_device(NULL, 0, 0, 0), -EINVAL);
	s = stats(1, GiB, 0);
	cr_expect_eq(vfmig_stats_set_device(s, 1, 0, 0), -EINVAL);
	vfmig_stats_free(s);
	vfmig_stats_free(NULL);
	struct vfmig_stats_opts bad = { .size = sizeof(bad),
					.ndev = 1,
					.ratio = -1 };
	cr_expect_eq(vfmig_stats_new(&bad, &s), -EINVAL);
}

Test(stats, verdicts_follow_the_trend)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth = 100 * MiB,
				      .downtime_limit_ms = 300 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	/* shrinking: converging, then ready under the limit */
	uint64_t sizes[] = { 800, 600, 400, 200, 20 };
	for (unsigned i = 0; i < 5; i++) {
		vfmig_stats_set_device(s, 0, sizes[i] * MiB, 10 * MiB);
		e = est(s);
	}
	cr_expect_eq(e.verdict, VFMIG_VERDICT_READY, "%s",
		     vfmig_verdict_name(e.verdict));
	vfmig_stats_free(s);

	/* holding: stalled */
	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	for (unsigned i = 0; i < 6; i++) {
		vfmig_stats_set_device(s, 0, 500 * MiB, 10 * MiB);
		e = est(s);
	}
	cr_expect_eq(e.verdict, VFMIG_VERDICT_STALLED, "%s",
		     vfmig_verdict_name(e.verdict));
	cr_expect_eq(e.recommended_limit_ms, 5500);
	vfmig_stats_free(s);

	/* growing, and dirtying faster than the link: diverging */
	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	for (unsigned i = 0; i < 5; i++) {
		vfmig_stats_set_device(s, 0, (500 + 100 * i) * MiB, 10 * MiB);
		e = est(s);
	}
	cr_expect_eq(e.verdict, VFMIG_VERDICT_DIVERGING);
	vfmig_stats_set_ram(s, 0, 200 * MiB);
	e = est(s);
	cr_expect_eq(e.verdict, VFMIG_VERDICT_DIVERGING);
	cr_expect_str_eq(vfmig_verdict_name(VFMIG_VERDICT_STALLED), "stalled");
	cr_expect_str_eq(vfmig_ratio_source_name(VFMIG_RATIO_GIVEN), "given");
	vfmig_stats_free(s);
}

static struct vfmig_stats *codec_stats(int codec, unsigned workers)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth = 100000000,
				      .codec = codec,
				      .workers = workers };
	struct vfmig_stats *s;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	/* 1 GB left; the codec made 25 MB of 100 MB in 1 s of a worker's
	 * time: ratio 0.25, 10 ns a byte */
	vfmig_stats_set_device(s, 0, 1000000000, 0);
	vfmig_stats_codec(s, 0, 100000000, 25000000, 1000000);
	return s;
}

Test(stats, the_codec_can_be_the_bottleneck)
{
	/* the wire needs 250 MB / 100 MB/s = 2.5 s; two workers compress
	 * 1 GB in 5 s: -z zstd waits for them */
	struct vfmig_stats *s = codec_stats(VFMIG_CODEC_ZSTD, 2);
	struct vfmig_estimate e = est(s);

	cr_expect_eq(e.expected_downtime_ms, 5000);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_CODEC);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_MEASURED);
	vfmig_stats_free(s);
	/* eight workers take 1.25 s: the wire bounds it again */
	s = codec_stats(VFMIG_CODEC_ZSTD, 8);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 2500);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_WIRE);
	vfmig_stats_free(s);
	/* -z auto sends raw what two workers cannot take: compressing 80%
	 * takes 4 s, and 200 MB compressed + 200 MB raw take 4 s on the wire */
	s = codec_stats(VFMIG_CODEC_AUTO, 2);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 4000);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_CODEC);
	vfmig_stats_free(s);
	/* -z none: no codec; the ratio is what moved (nothing yet: 1) */
	s = codec_stats(VFMIG_CODEC_NONE, 2);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 10000);
	cr_expect_eq(e.expected_downtime_min_us, e.expected_downtime_us,
		     "nothing compressed: no range");
	vfmig_stats_free(s);
}

/* -z zstd at 100 MB/s, @pending bytes of one device that compresses to
 * 0.25 at 10 ns a byte, in chunks of @chunk */
static struct vfmig_stats *chunked_stats(unsigned workers, uint32_t chunk,
					 uint64_t pending)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth = 100000000,
				      .codec = VFMIG_CODEC_ZSTD,
				      .workers = workers,
				      .chunk = chunk };
	struct vfmig_stats *s;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, pending, 0);
	vfmig_stats_codec(s, 0, 100000000, 25000000, 1000000);
	return s;
}

Test(stats, the_last_chunk_is_loaded_after_the_codec_is_done)
{
	struct vfmig_stats *s = chunked_stats(2, 4 << 20, 1000000000);
	struct vfmig_estimate e;

	/* no load rate yet: the codec's 1 GB x 10 ns / 2 workers alone */
	e = est(s);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_CODEC);
	cr_expect_eq(e.expected_downtime_us, 5000000);
	uint64_t without = e.expected_downtime_us;
	/* the destination loads 400 MB/s: 4 MiB more after the codec,
	 * 10486 us */
	vfmig_stats_loaded(s, 0, 0, 0, 0);
	vfmig_stats_loaded(s, 0, 40000000, 100000, 0);
	e = est(s);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_CODEC);
	cr_expect_eq(e.expected_downtime_us - without, 10486, "drain %llu us",
		     (unsigned long long)(e.expected_downtime_us - without));
	vfmig_stats_free(s);
}

Test(stats, the_wire_waits_for_the_first_chunk)
{
	/* 100 MB at 0.25, 10 ns a byte, 8 workers, 4 MB chunks, 100 MB/s:
	 * the codec takes 125 ms, the wire 250 ms, after the first chunk's
	 * 40 ms of compression: 290 ms */
	struct vfmig_stats *s = chunked_stats(8, 4000000, 100000000);
	struct vfmig_estimate e;

	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 290);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_WIRE);
	/* 2 MB already compressed and queued keep the wire busy 5 ms of
	 * those 40: 255 ms of wire after 35 */
	vfmig_stats_queued(s, 0, 2000000);
	cr_expect_eq(est(s).expected_downtime_ms, 290);
	vfmig_stats_queued(s, 0, 20000000);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 300, "120 MB, no wait");
	vfmig_stats_free(s);
}

/*
 * The wire's last frames are loaded after it: a frame is written only once
 * all of it came, and the channels share the wire, so the largest frame in
 * flight on each arrives last.  8 MiB queued in 4 MiB frames and 100 KB of
 * stop-copy data behind 1 Gbit/s, loaded at 1 GB/s there.
 */
Test(stats, the_wire_s_last_frames_are_loaded_after_it)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 2,
				      .bandwidth = 125000000,
				      .ratio = 1,
				      .chunk = 4 << 20 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, 100000, 0);
	vfmig_stats_set_device(s, 1, 50000, 0);
	vfmig_stats_queued(s, 0, 8 << 20);
	/* no load rate known: the wire's 8538608 bytes alone */
	cr_expect_eq(est(s).expected_downtime_us, 68309);
	vfmig_stats_loaded(s, 0, 0, 0, 0);
	vfmig_stats_loaded(s, 0, 200000000, 200000, 0);
	/* sizes of the queued frames unknown: the stop-copy's 100 KB frame
	 * comes last, 100 us of load */
	e = est(s);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_WIRE);
	cr_expect_eq(e.expected_downtime_us, 68409, "%llu us",
		     (unsigned long long)e.expected_downtime_us);
	/* one channel: a 4 MiB frame in the queue can come last */
	stats_set_queued_frame(s, 0, 4 << 20);
	cr_expect_eq(est(s).expected_downtime_us, 72503);
	/* two channels: a 4 MiB frame on each arrives last, and the
	 * device's frames wait for both; never more than it has left */
	stats_set_channels(s, 2);
	cr_expect_eq(est(s).expected_downtime_us, 76697);
	stats_set_channels(s, 8);
	cr_expect_eq(est(s).expected_downtime_us, 76797, "8488608 at most");
	stats_set_channels(NULL, 1); /* NULL-safe */
	stats_set_queued_frame(NULL, 0, 1);
	stats_set_queued_frame(s, 2, 1); /* no such device: ignored */
	vfmig_stats_free(s);
}

/*
 * A cap's token bucket lets its credit out at once (lib/txq.c: 20 ms and
 * 10 ms more of the cap after an idle while): those bytes do not wait for
 * the cap's pace.  256 MiB stop-copy only behind 200 MB/s was predicted
 * 1.9% over in 5 of 5 runs without this, 0.5% under with it.
 */
Test(stats, a_cap_s_credit_leaves_at_once)
{
	struct vfmig_stats *s = stats(1, 100000000, 1);

	vfmig_stats_set_device(s, 0, 10000000, 0);
	cr_expect_eq(est(s).expected_downtime_ms, 100);
	stats_set_wire_credit(s, 3000000);
	cr_expect_eq(est(s).expected_downtime_ms, 70);
	stats_set_wire_credit(s, 50000000);
	cr_expect_eq(est(s).expected_downtime_ms, 0, "all of it at once");
	stats_set_wire_credit(NULL, 1); /* NULL-safe */
	vfmig_stats_free(s);
}

Test(stats, devices_load_on_shared_cpus)
{
	/* two devices each loaded at 50 MB/s side by side; 100 MB left
	 * on one: the destination takes it at the rates' sum, 1000 ms */
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 2,
				      .bandwidth = 1000000000,
				      .ratio = 1 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, 100000000, 0);
	for (unsigned i = 0; i < 2; i++) {
		vfmig_stats_loaded(s, i, 0, 0, 0);
		vfmig_stats_loaded(s, i, 50000000, 1000000, 0);
	}
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 1000);
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_DESTINATION_LOAD);
	vfmig_stats_free(s);
}

Test(stats, the_history_s_load_rate_bounds_the_stop_copy)
{
	/* 100 MB of a device that does not pre-copy, a 1 GB/s wire */
	struct vfmig_stats *s = stats(1, 1000000000, 1);
	struct vfmig_estimate e;

	vfmig_stats_set_device(s, 0, 100000000, 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 100, "the wire's time");
	/* its destination loaded its stop-copy at 50 MB/s last time */
	cr_expect_eq(vfmig_stats_set_history_load(s, 0, 50000000), 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 2000, "100 MB at 50 MB/s");
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_DESTINATION_LOAD);
	/* pre-copy measured 200 MB/s: the lower of the two still holds */
	vfmig_stats_loaded(s, 0, 0, 0, 0);
	vfmig_stats_loaded(s, 0, 200000000, 1000000, 0);
	cr_expect_eq(est(s).expected_downtime_ms, 2000);
	/* a history faster than pre-copy: pre-copy's */
	cr_expect_eq(vfmig_stats_set_history_load(s, 0, 400000000), 0);
	cr_expect_eq(est(s).expected_downtime_ms, 500, "100 MB at 200 MB/s");
	cr_expect_eq(vfmig_stats_set_history_load(s, 1, 1), -EINVAL);
	cr_expect_eq(vfmig_stats_set_history_load(NULL, 0, 1), -EINVAL);
	vfmig_stats_free(s);
}

Test(stats, history_then_a_range_for_unknown_ratios)
{
	struct vfmig_stats_opts o = { .size = sizeof(o),
				      .ndev = 1,
				      .bandwidth = 100000000,
				      .codec = VFMIG_CODEC_ZSTD,
				      .workers = 2 };
	struct vfmig_stats *s;
	struct vfmig_estimate e;

	cr_assert_eq(vfmig_stats_new(&o, &s), 0);
	vfmig_stats_set_device(s, 0, 1000000000, 0);
	/* nothing measured, no history: ratio 1 at worst, 0.0001 at best */
	e = est(s);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_ASSUMED);
	cr_expect_eq(e.expected_downtime_ms, 10000);
	cr_expect_eq(e.expected_downtime_max_us, 10000000);
	cr_expect_eq(e.expected_downtime_min_us, 1000);
	/* earlier migrations of such a device: 0.25, 2 ns a byte */
	cr_expect_eq(vfmig_stats_set_history(s, 0, 0.25, 2.0, 0), 0);
	e = est(s);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_HISTORY);
	cr_expect_eq(e.expected_downtime_ms, 2500);
	cr_expect_eq(e.expected_downtime_min_us, e.expected_downtime_us);
	cr_expect_str_eq(vfmig_ratio_source_name(e.ratio_source), "history");
	/* its own compression, once there is enough of it, wins */
	vfmig_stats_codec(s, 0, 4 * MiB, 2 * MiB, 1000);
	e = est(s);
	cr_expect_eq(e.ratio_source, VFMIG_RATIO_MEASURED);
	cr_expect_eq(e.expected_downtime_ms, 5000);
	/* its stop-copy was read at 100 MB/s: the 1 GB takes 10 s anyway */
	cr_expect_eq(vfmig_stats_set_history(s, 0, 0.25, 2.0, 100000000), 0);
	e = est(s);
	cr_expect_eq(e.expected_downtime_ms, 10000, "1 GB at 100 MB/s");
	cr_expect_eq(e.bottleneck, VFMIG_BOTTLENECK_DEVICE_READ);
	cr_expect_eq(vfmig_stats_set_history(s, 0, 2.5, 1, 0), -EINVAL);
	cr_expect_eq(vfmig_stats_set_history(s, 0, 0.5, -1, 0), -EINVAL);
	cr_expect_eq(vfmig_stats_set_history(s, 1, 0.5, 1, 0), -EINVAL);
	vfmig_stats_free(s);
	o.codec = 7;
	cr_expect_eq(vfmig_stats_new(&o, &s), -EINVAL, "no such codec");
}
