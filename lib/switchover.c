// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * When the source stops its devices.  switchover_feed() turns the
 * pipeline's figures into an estimate; switchover_decide() is the policy,
 * a pure function of what it is given, evaluated once per turn of the
 * source's loop (never from inside a completion).
 */
#include <stdio.h>

#include "stats.h"
#include "switchover.h"
#include "util.h"

/* A device's stop-copy size, as best known. */
static uint64_t stopcopy_size(const struct switchover_dev *d)
{
	uint64_t size;

	/* MIG_DATA_SIZE counts everything left, pre-copy's part too;
	 * without it, PRECOPY_INFO's two figures are the best. */
	if (vfmig_device_stopcopy_size(d->dev, &size) == 0)
		return size;
	size = d->last.initial_bytes + d->last.dirty_bytes;
	return size < d->last.initial_bytes ? UINT64_MAX : size; /* garbage */
}

int switchover_feed(struct vfmig_stats *st, const struct switchover_wire *w,
		    const struct switchover_dev *devs, unsigned ndev,
		    struct vfmig_estimate *est)
{
	vfmig_stats_wire(st, w->elapsed_ms, w->sat_ms, w->sat_bytes);
	if (w->average_is_prior && w->elapsed_ms)
		vfmig_stats_set_prior(st, w->sent * 1000 / w->elapsed_ms);
	vfmig_stats_set_ram(st, w->ram_pending, w->ram_dirty_rate);
	stats_set_wire_credit(st, w->credit);
	stats_set_channels(st, w->channels);
	for (unsigned i = 0; i < ndev; i++) {
		const struct switchover_dev *d = &devs[i];
		uint64_t socket = d->sent_raw > d->dest.received ?
					  d->sent_raw - d->dest.received :
					  0;

		vfmig_stats_set_device(st, i, stopcopy_size(d), 0);
		vfmig_stats_moved(st, i, d->released_raw, d->released_wire);
		/* On its way: read here and not yet sent; in the sockets
		 * (sent and not received there, as of the destination's last
		 * PROGRESS); and what waited there, received and not loaded.
		 * A report is a few ms old: its backlogs then stand for the
		 * backlogs now (what was sent since is mostly received by
		 * now).  Megabytes sit in socket buffers, which a device
		 * that loads slowly has to take before its stop-copy data. */
		vfmig_stats_queued(st, i, d->queued_raw);
		stats_set_queued_frame(st, i, d->queued_frame);
		vfmig_stats_loaded(st, i, d->dest.loaded, d->dest.busy_us,
				   d->dest.received - d->dest.loaded + socket);
		vfmig_stats_read(st, i, d->read_bytes, d->read_us);
		vfmig_stats_codec(st, i, d->z_raw, d->z_wire, d->z_us);
	}
	est->size = sizeof(*est);
	return vfmig_stats_estimate(st, est);
}

/* Whatever the policy, no switchover without the initial data acked. */
static enum switchover_action unacked(const struct switchover_in *in, char *why,
				      size_t n)
{
	const struct switchover_unacked *u = in->unacked;
	unsigned long long s = in->timeout_ms / 1000;

	if (in->elapsed_ms < in->timeout_ms)
		return SWITCHOVER_WAIT;
	if (!u->init_done)
		snprintf(
			why, n,
			"device %s: its initial data did not end in %llu s (PRECOPY_INFO still reports %llu initial bytes)",
			u->name, s, (unsigned long long)u->initial_bytes);
	else
		snprintf(
			why, n,
			"device %s: the destination did not acknowledge its initial data in %llu s",
			u->name, s);
	return SWITCHOVER_CANCEL;
}

static unsigned long long ms_of(uint64_t us)
{
	return (unsigned long long)((us + 500) / 1000);
}

/* A ratio is unknown (no pre-copy, no history): the estimate is a range. */
static bool ranged(const struct vfmig_estimate *e)
{
	return e->expected_downtime_min_us < e->expected_downtime_max_us;
}

/* The estimate over the limit: cancel, saying what limit would do. */
static enum switchover_action give_up(const struct switchover_in *in,
				      bool shrinkable, char *why, size_t n)
{
	const struct vfmig_estimate *e = in->est;
	unsigned long long s = in->timeout_ms / 1000;
	char trend[80];

	if (in->est_ret < 0) {
		snprintf(
			why, n,
			"did not converge in %llu s: the bandwidth is still unknown",
			s);
		return SWITCHOVER_CANCEL;
	}
	if (!shrinkable) {
		char range[96] = "";

		if (ranged(e))
			snprintf(range, sizeof(range),
				 " (%llu ms even at the best ratio)",
				 ms_of(e->expected_downtime_min_us));
		snprintf(
			why, n,
			"cannot meet the downtime limit: expected downtime %llu ms%s > limit %llu ms, and no device pre-copies, so waiting cannot shrink it; a limit of %llu ms would do",
			(unsigned long long)e->expected_downtime_ms, range,
			(unsigned long long)in->limit_ms,
			(unsigned long long)e->recommended_limit_ms);
		return SWITCHOVER_CANCEL;
	}
	if (e->verdict == VFMIG_VERDICT_CONVERGING)
		snprintf(trend, sizeof(trend), "still converging after %llu s",
			 s);
	else
		snprintf(trend, sizeof(trend), "%s for %llu s",
			 vfmig_verdict_name(e->verdict),
			 (unsigned long long)(e->stalled_ms / 1000));
	snprintf(
		why, n,
		"did not converge: expected downtime %llu ms > limit %llu ms, %s; a limit of %llu ms would converge now",
		(unsigned long long)e->expected_downtime_ms,
		(unsigned long long)in->limit_ms, trend,
		(unsigned long long)e->recommended_limit_ms);
	return SWITCHOVER_CANCEL;
}

/*
 * Nothing pre-copies, no RAM moves, the estimate is over the limit: waiting
 * cannot help.  When an unknown ratio makes it a range that reaches under
 * the limit, the stop-copy may well meet it: go, and say so; else give up.
 */
static enum switchover_action no_precopy(const struct switchover_in *in,
					 char *why, size_t n)
{
	const struct vfmig_estimate *e = in->est;

	/* only the stop-copy itself can measure the bandwidth */
	if (in->est_ret < 0) {
		snprintf(
			why, n,
			"no device pre-copies and the bandwidth is unknown: the stop-copy measures it");
		return SWITCHOVER_GO;
	}
	if (!ranged(e) || e->expected_downtime_min_us > in->limit_ms * 1000)
		return give_up(in, false, why, n);
	snprintf(
		why, n,
		"no device pre-copies and a ratio is unknown (no history): expected downtime %llu to %llu ms, the limit %llu ms within it; going ahead, as waiting cannot narrow it",
		ms_of(e->expected_downtime_min_us),
		ms_of(e->expected_downtime_max_us),
		(unsigned long long)in->limit_ms);
	return SWITCHOVER_GO;
}

enum switchover_action switchover_decide(const struct switchover_in *in,
					 char *why, size_t n)
{
	bool timed_out = in->elapsed_ms >= in->timeout_ms;

	if (n)
		why[0] = '\0';
	if (!in->est)
		return SWITCHOVER_WAIT; /* nothing measured yet */
	if (in->unacked)
		return unacked(in, why, n);
	if (in->asked || in->mode == VFMIG_SWITCHOVER_IMMEDIATE) {
		snprintf(why, n, "%s",
			 in->asked ? "asked to switch over" :
				     "switchover immediate");
		return SWITCHOVER_GO;
	}
	if (in->mode == VFMIG_SWITCHOVER_MANUAL)
		return SWITCHOVER_WAIT;
	if (timed_out)
		return give_up(in, true, why, n);
	if (in->est_ret == 0 && in->est->verdict == VFMIG_VERDICT_READY) {
		snprintf(why, n, "expected downtime %llu ms <= limit %llu ms",
			 (unsigned long long)in->est->expected_downtime_ms,
			 (unsigned long long)in->limit_ms);
		return SWITCHOVER_GO;
	}
	/* Nothing pre-copies and the VMM has no RAM to move: waiting would
	 * change nothing. */
	if (!in->any_precopy && !in->ram_pending)
		return no_precopy(in, why, n);
	return SWITCHOVER_WAIT;
}
