/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFMIG_LIB_CPUSTAT_H
#define VFMIG_LIB_CPUSTAT_H

#include <stdint.h>
#include <sys/types.h>

#include "vfmig.h"

/*
 * CPU time of this process's threads over an interval, by role (enum
 * vfmig_cpu_role): a snapshot of /proc/self/task at the start, another at
 * the end, and what threads that ended in between recorded as they went
 * (thread_start()'s threads call cpustat_thread_exit()).  A thread's time
 * is its scheduler runtime in ns (schedstat), or clock ticks where the
 * kernel has no schedstat.
 */
#define CPUSTAT_MAX 256

struct cpustat_thread {
	pid_t tid;
	uint8_t role;
	uint64_t ns;
};

struct cpustat {
	uint64_t t0_ns; /* CLOCK_MONOTONIC at the start; 0: none taken */
	pid_t loop; /* the thread that took it */
	unsigned n;
	struct cpustat_thread t[CPUSTAT_MAX];
};

/* Start an interval, from the thread that runs the loop. */
void cpustat_begin(struct cpustat *c);
/* End it: each role's threads, CPU time, and busiest thread. */
void cpustat_end(const struct cpustat *c,
		 struct vfmig_cpu_use use[VFMIG_CPU_ROLES]);
/* Record the calling thread's CPU time as it ends. */
void cpustat_thread_exit(void);

#endif
