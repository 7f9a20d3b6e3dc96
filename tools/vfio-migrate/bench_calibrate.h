/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-migrate bench: what this machine can do, measured in the same run
 * as the scenarios, so that a table from one machine can be read on
 * another: memory copies, fresh pages, one loopback TCP stream, one core
 * of zstd on framebuffer-like bytes, and the crc32c pass.
 */
#ifndef VFIO_MIGRATE_BENCH_CALIBRATE_H
#define VFIO_MIGRATE_BENCH_CALIBRATE_H

#include <stdbool.h>

#include "print.h"

/* GB/s (10^9 bytes), medians of 3; 0: not measured (see the notes). */
struct calibration {
	double memcpy, fill, tcp, zstd_fast, zstd_1, crc32c, isal;
	double zstd_fast_ratio; /* compressed / raw, at the level ours uses */
	int zstd_fast_level; /* that level: -z auto's without a cap */
};

/* Measure; about a second on 2 CPUs.  Needs nothing but this process. */
void calibrate(struct calibration *c);
void calibration_print(const struct calibration *c);
void calibration_json(struct printer *p, const struct calibration *c);

#endif
