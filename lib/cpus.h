/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfmig_stream_opts.cpus: the CPUs the library's threads run on, as a
 * list taskset -c takes ("0-3,8,10-11").
 */
#ifndef VFMIG_LIB_CPUS_H
#define VFMIG_LIB_CPUS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Parse @text into @set: each CPU must be one this process may run on
 * (its affinity, a cpuset).  0, or -EINVAL with the reason in @err
 * ("cpus '0-x': 'x' is not a CPU number").
 */
int cpus_parse(const char *text, cpu_set_t *set, char *err, size_t es);

struct vfmig_stream_opts;
/* @o's cpus, where the caller's struct has the field: *@pinned and @set
 * when it is set.  0, or -EINVAL with the reason in @err. */
int cpus_of_opts(const struct vfmig_stream_opts *o, cpu_set_t *set,
		 bool *pinned, char *err, size_t es);

#endif
