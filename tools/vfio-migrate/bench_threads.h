/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-migrate bench: which thread spends what, per side and role, in
 * core-seconds per GB of raw device data, and the ceiling that implies.
 */
#ifndef VFIO_MIGRATE_BENCH_THREADS_H
#define VFIO_MIGRATE_BENCH_THREADS_H

#include <stdbool.h>
#include <stdint.h>

#include "print.h"
#include "vfmig.h"

enum { SIDE_SEND, SIDE_RECV, SIDES };

/* A scenario's runs, summed: CPU by side and role, and raw bytes. */
struct thread_figs {
	bool have;
	unsigned runs;
	double raw_gb;
	double total_s[SIDES][VFMIG_CPU_ROLES], max_s[SIDES][VFMIG_CPU_ROLES];
	unsigned threads[SIDES][VFMIG_CPU_ROLES]; /* the most in one run */
	double setup_ms[SIDES]; /* the most in one run */
};

/* Add one run's figures from both ends. */
void threads_add(struct thread_figs *f, uint64_t raw,
		 const struct vfmig_times *send,
		 const struct vfmig_times *recv);
/* The busiest thread that does not scale with --workers (core-s/GB), and
 * where it runs: what the per-side ceiling is 1 over. */
double threads_busiest(const struct thread_figs *f, int *side, int *role);
/* The table (text) or an object (JSON), under @key. */
void threads_print(const char *scenario, const struct thread_figs *f,
		   bool header);
void threads_json(struct printer *p, const char *key,
		  const struct thread_figs *f);

#endif
