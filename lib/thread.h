/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFMIG_LIB_THREAD_H
#define VFMIG_LIB_THREAD_H

#include <pthread.h>
#include <sched.h>

/*
 * Start a library thread with every signal blocked: signals stay with the
 * application's threads.  @name (up to 15 characters: "vfmig-codec3")
 * is what top -H, perf and /proc/PID/task/TID/comm show, and what cpustat
 * counts it as.  @cpus (NULL: the process's) are the CPUs it may run on,
 * from its first instruction.  Returns 0 or -errno.
 */
int thread_start(pthread_t *t, const char *name, const cpu_set_t *cpus,
		 void *(*fn)(void *), void *arg);

#endif
