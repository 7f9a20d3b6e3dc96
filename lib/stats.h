/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the estimator learns from the library's own source and no other
 * caller has, so not in vfmig.h: the source's token bucket and frames.
 */
#ifndef VFMIG_LIB_STATS_H
#define VFMIG_LIB_STATS_H

#include <stdint.h>

struct vfmig_stats;

/* Wire bytes the bandwidth cap lets out at once now (its bucket's
 * credit, txq_credit()): they leave before the cap's pace starts. */
void stats_set_wire_credit(struct vfmig_stats *s, uint64_t bytes);

/* The channels the wire is shared by, and the largest frame of @dev read
 * and not yet sent (raw bytes): the destination loads a frame only once
 * all of it came, so the last to arrive is loaded after the wire. */
void stats_set_channels(struct vfmig_stats *s, unsigned channels);
void stats_set_queued_frame(struct vfmig_stats *s, unsigned dev, uint64_t raw);

#endif
