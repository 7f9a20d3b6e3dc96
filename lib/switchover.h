/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The source's switchover policy, apart from the pipeline that carries it
 * out (as QEMU keeps the policy in migration/migration.c and the device
 * mechanism in hw/vfio/migration.c): what the estimator is fed, and when
 * to stop the devices.  Documentation/stats.md describes the model.
 */
#ifndef VFMIG_LIB_SWITCHOVER_H
#define VFMIG_LIB_SWITCHOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfmig.h"
#include "wire.h"

/* ------------------------------------------------------------ feed */

/* One device's figures, as the pipeline sees them. */
struct switchover_dev {
	struct vfmig_device *dev; /* asked for MIG_DATA_SIZE */
	struct vfmig_precopy_info last; /* its last PRECOPY_INFO */
	uint64_t released_raw, released_wire; /* handed to the channels */
	uint64_t queued_raw; /* read here, not sent yet */
	uint64_t queued_frame; /* the largest of those frames */
	/* handed to the sockets when the destination's last PROGRESS came:
	 * less its received count, what was in flight then */
	uint64_t sent_raw;
	struct wire_progress dest; /* the destination's last PROGRESS */
	uint64_t read_bytes, read_us; /* reads that got data, and their time */
	uint64_t z_raw, z_wire, z_us; /* what the codec compressed */
};

/* The wire's, since pre-copy started. */
struct switchover_wire {
	uint64_t elapsed_ms;
	uint64_t sat_ms, sat_bytes; /* saturated time, and what it sent */
	uint64_t sent; /* every byte */
	uint64_t credit; /* wire bytes the cap lets out at once now */
	unsigned channels; /* sharing the wire */
	/* no link speed and no cap: the average so far is the floor */
	bool average_is_prior;
	uint64_t ram_pending, ram_dirty_rate; /* the VMM's RAM */
};

/* Feed @st and estimate into @est: vfmig_stats_estimate()'s result. */
int switchover_feed(struct vfmig_stats *st, const struct switchover_wire *w,
		    const struct switchover_dev *devs, unsigned ndev,
		    struct vfmig_estimate *est);

/* ---------------------------------------------------------- decide */

enum switchover_action {
	SWITCHOVER_WAIT = 0,
	SWITCHOVER_GO,
	SWITCHOVER_CANCEL, /* give up: the devices run on; @why says why */
};

/* A pre-copy device whose initial data is not acknowledged yet. */
struct switchover_unacked {
	const char *name;
	bool init_done; /* INIT_DONE sent: the destination's ack is due */
	uint64_t initial_bytes; /* what PRECOPY_INFO still reports */
};

/* What the policy decides on. */
struct switchover_in {
	enum vfmig_switchover mode;
	bool asked; /* vfmig_source_switchover() */
	/* NULL: every pre-copy device's initial data is acknowledged */
	const struct switchover_unacked *unacked;
	bool any_precopy; /* waiting can shrink the stop-copy */
	uint64_t ram_pending;
	uint64_t elapsed_ms, timeout_ms; /* in pre-copy; precopy_timeout_ms */
	uint64_t limit_ms; /* the downtime limit */
	/* the estimate, and vfmig_stats_estimate()'s result (< 0: the
	 * bandwidth is unknown yet) */
	const struct vfmig_estimate *est;
	int est_ret;
};

/* WAIT, GO, or CANCEL with the reason in @why. */
enum switchover_action switchover_decide(const struct switchover_in *in,
					 char *why, size_t why_size);

#endif
