// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which thread spends what: cpustat counts each thread's CPU time in its
 * role, including a thread that ended inside the interval, and
 * vfmig_source_times()/vfmig_sink_times() report a run's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cpustat.h"
#include "helpers.h"
#include "thread.h"

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin on this thread's CPU clock: @ms of CPU, not of wall time. */
static void burn(unsigned ms)
{
	uint64_t end = thread_cpu_ns() + ms * 1000000ull;
	volatile unsigned x = 0;

	while (thread_cpu_ns() < end)
		x++;
}

static void *burn_40ms(void *arg)
{
	(void)arg;
	burn(40);
	return NULL;
}

#define MS(ns) ((double)(ns) / 1e6)

Test(cpustat, an_ended_thread_counts_in_its_role)
{
	struct vfmig_cpu_use use[VFMIG_CPU_ROLES];
	struct cpustat c;
	pthread_t t;

	burn(5); /* before the interval: not counted */
	cpustat_begin(&c);
	cr_assert_eq(thread_start(&t, "vfmig-codec7", NULL, burn_40ms, NULL),
		     0);
	pthread_join(t, NULL); /* gone before the end: from the ring */
	burn(20);
	cpustat_end(&c, use);
	cr_expect_eq(use[VFMIG_CPU_CODEC].threads, 1);
	cr_expect(MS(use[VFMIG_CPU_CODEC].total_ns) >= 38 &&
			  MS(use[VFMIG_CPU_CODEC].total_ns) < 200,
		  "codec: %.1f ms, expected about 40",
		  MS(use[VFMIG_CPU_CODEC].total_ns));
	cr_expect_eq(use[VFMIG_CPU_CODEC].max_ns,
		     use[VFMIG_CPU_CODEC].total_ns);
	cr_expect_eq(use[VFMIG_CPU_LOOP].threads, 1);
	cr_expect(
		MS(use[VFMIG_CPU_LOOP].total_ns) >= 19 &&
			MS(use[VFMIG_CPU_LOOP].total_ns) < 200,
		"loop: %.1f ms, expected about 20 (the 5 before the start not counted)",
		MS(use[VFMIG_CPU_LOOP].total_ns));
	cr_expect_eq(use[VFMIG_CPU_SIM].threads, 0);
}

Test(cpustat, a_run_reports_its_times, .timeout = 60)
{
	struct vfmig_device *a = open_ok("sim:size=8M,pattern=fb,seed=3");
	struct vfmig_device *b = open_ok("sim:size=8M,pattern=zero");
	struct vfmig_stream_opts o = { .size = sizeof(o),
				       .codec = VFMIG_CODEC_ZSTD,
				       .workers = 2 };
	struct vfmig_times st = { .size = sizeof(st) };
	struct vfmig_times kt = { .size = sizeof(kt) };
	struct vfmig_times old = { .size = sizeof(old) - 1 };
	struct vfmig_source *s;
	struct vfmig_sink *k;
	char uri[64];

	snprintf(uri, sizeof(uri), "file:/tmp/vfmig-times-%d", getpid());
	o.uri = uri;
	cr_assert_eq(vfmig_source_new(&a, 1, &o, &s), 0);
	cr_expect_eq(vfmig_source_times(s, &st), -ENODATA, "before a run");
	cr_expect_eq(vfmig_source_times(s, &old), -EINVAL, "a short struct");
	cr_expect_eq(vfmig_source_times(NULL, &st), -EINVAL);
	cr_assert_eq(vfmig_source_run(s), 0, "%s", vfmig_source_strerror(s));
	cr_assert_eq(vfmig_source_times(s, &st), 0);
	vfmig_source_free(s);
	cr_assert_eq(vfmig_sink_new(&b, 1, &o, &k), 0);
	cr_expect_eq(vfmig_sink_times(k, &kt), -ENODATA, "before a run");
	cr_assert_eq(vfmig_sink_run(k), 0, "%s", vfmig_sink_strerror(k));
	cr_assert_eq(vfmig_sink_times(k, &kt), 0);
	vfmig_sink_free(k);
	unlink(uri + 5);
	cr_expect_eq(hash_of(b), hash_of(a));

	for (int i = 0; i < 2; i++) {
		const struct vfmig_times *t = i ? &kt : &st;
		const char *end = i ? "sink" : "source";

		cr_expect(t->transfer_us > 0, "%s: no transfer time", end);
		cr_expect(t->setup_us > 0 && t->setup_us < 10000000,
			  "%s: setup %llu us", end,
			  (unsigned long long)t->setup_us);
		cr_expect_eq(t->cpu[VFMIG_CPU_LOOP].threads, 1,
			     "%s: one loop thread", end);
		cr_expect(t->cpu[VFMIG_CPU_LOOP].total_ns > 0, "%s: loop", end);
		/* zstd over 8 MiB: the workers did the codec's work */
		cr_expect(t->cpu[VFMIG_CPU_CODEC].threads >= 1 &&
				  t->cpu[VFMIG_CPU_CODEC].total_ns > 0,
			  "%s: no codec time", end);
		cr_expect(t->cpu[VFMIG_CPU_CODEC].max_ns <=
				  t->cpu[VFMIG_CPU_CODEC].total_ns,
			  "%s: busiest over total", end);
	}
	vfmig_device_close(a);
	vfmig_device_close(b);
}
