/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vfio-migrate bench: the clock and the median its files share. */
#ifndef VFIO_MIGRATE_BENCH_UTIL_H
#define VFIO_MIGRATE_BENCH_UTIL_H

/* CLOCK_MONOTONIC, in seconds. */
double bench_now_s(void);
/* The median of @n values (sorts @v in place). */
double bench_median(double *v, int n);

#endif
