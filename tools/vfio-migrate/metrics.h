/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --metrics FILE: the migration's figures in the Prometheus text format,
 * for node exporter's textfile collector: rewritten whole (a temporary
 * file renamed over it) at every progress interval and at the end, so a
 * scrape never reads half a file.
 */
#ifndef VFIO_MIGRATE_METRICS_H
#define VFIO_MIGRATE_METRICS_H

#include <stdint.h>

#include "migrate.h"

/* What one rewrite says: the status (query-migrate's), the time so far,
 * the totals, and the report's figures once there is one (else NULL). */
struct metrics_snap {
	const char *status;
	uint64_t total_ms;
	const struct vfmig_transfer *total;
	const struct mig_result *r;
};

/* Rewrite a->metrics; 0, or -errno with the reason in @err. */
int metrics_write(const struct mig_args *a, const struct metrics_snap *m,
		  char *err, size_t err_size);

#endif
