/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the estimator learns from the library's own source and no other
 * caller has, so not in vfmig.h: the source's token bucket.
 */
#ifndef VFMIG_LIB_STATS_H
#define VFMIG_LIB_STATS_H

#include <stdint.h>

struct vfmig_stats;

/* Wire bytes the bandwidth cap lets out at once now (its bucket's
 * credit, txq_credit()): they leave before the cap's pace starts. */
void stats_set_wire_credit(struct vfmig_stats *s, uint64_t bytes);

#endif
