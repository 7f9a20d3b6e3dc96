// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>

#include "bench_threads.h"

static const char *const side_name[SIDES] = { "send", "recv" };
static const char *const role_name[VFMIG_CPU_ROLES] = {
	[VFMIG_CPU_LOOP] = "loop",   [VFMIG_CPU_CODEC] = "codec",
	[VFMIG_CPU_IOWQ] = "io-wq",  [VFMIG_CPU_SIM] = "sim",
	[VFMIG_CPU_OTHER] = "other",
};

void threads_add(struct thread_figs *f, uint64_t raw,
		 const struct vfmig_times *send, const struct vfmig_times *recv)
{
	const struct vfmig_times *t[SIDES] = { send, recv };

	f->have = true;
	f->runs++;
	f->raw_gb += (double)raw / 1e9;
	for (int s = 0; s < SIDES; s++) {
		double setup = (double)t[s]->setup_us / 1000;

		if (setup > f->setup_ms[s])
			f->setup_ms[s] = setup;
		for (int r = 0; r < VFMIG_CPU_ROLES; r++) {
			const struct vfmig_cpu_use *u = &t[s]->cpu[r];

			f->total_s[s][r] += (double)u->total_ns / 1e9;
			f->max_s[s][r] += (double)u->max_ns / 1e9;
			if (u->threads > f->threads[s][r])
				f->threads[s][r] = u->threads;
		}
	}
}

/*
 * The codec workers and io_uring's workers grow with the cores (--workers,
 * the kernel's io-wq); the loop is one thread, and a sim device's thread
 * carries its device's bytes (the simulator's cost, not the pipeline's).
 */
static bool scales(int role)
{
	return role == VFMIG_CPU_CODEC || role == VFMIG_CPU_IOWQ ||
	       role == VFMIG_CPU_SIM;
}

double threads_busiest(const struct thread_figs *f, int *side, int *role)
{
	double worst = 0;

	*side = *role = 0;
	for (int s = 0; s < SIDES; s++)
		for (int r = 0; r < VFMIG_CPU_ROLES; r++)
			if (!scales(r) && f->max_s[s][r] / f->raw_gb > worst) {
				worst = f->max_s[s][r] / f->raw_gb;
				*side = s;
				*role = r;
			}
	return worst;
}

void threads_print(const char *scenario, const struct thread_figs *f,
		   bool header)
{
	int bs, br;
	double worst;

	if (header) {
		printf("\nthreads: CPU core-seconds per GB of raw data, devices started to the end,\n"
		       "all runs: the role's threads together / its busiest thread (threads)\n");
		printf("%-8s %-4s", "scenario", "side");
		for (int r = 0; r < VFMIG_CPU_ROLES; r++)
			printf(" %20s", role_name[r]);
		printf(" %9s %s\n", "setup", " ceiling");
	}
	if (!f->have)
		return;
	worst = threads_busiest(f, &bs, &br);
	for (int s = 0; s < SIDES; s++) {
		printf("%-8s %-4s", s ? "" : scenario, side_name[s]);
		for (int r = 0; r < VFMIG_CPU_ROLES; r++)
			if (f->threads[s][r])
				printf("  %5.3f / %5.3f (%3u)",
				       f->total_s[s][r] / f->raw_gb,
				       f->max_s[s][r] / f->raw_gb,
				       f->threads[s][r]);
			else
				printf(" %20s", "-");
		printf(" %6.1f ms", f->setup_ms[s]);
		if (!s && worst > 0)
			printf("  %.1f GB/s (%s %s)", 1 / worst, side_name[bs],
			       role_name[br]);
		printf("\n");
	}
}

void threads_json(struct printer *p, const char *key,
		  const struct thread_figs *f)
{
	int bs, br;
	double worst;

	if (!f->have)
		return;
	worst = threads_busiest(f, &bs, &br);
	pr_open_object(p, key);
	for (int s = 0; s < SIDES; s++) {
		pr_open_object(p, side_name[s]);
		pr_double(p, "setup-ms", NULL, f->setup_ms[s], 1);
		for (int r = 0; r < VFMIG_CPU_ROLES; r++) {
			if (!f->threads[s][r])
				continue;
			pr_open_object(p, role_name[r]);
			pr_u64(p, "threads", NULL, f->threads[s][r]);
			pr_double(p, "core-s-per-gb", NULL,
				  f->total_s[s][r] / f->raw_gb, 4);
			pr_double(p, "busiest-core-s-per-gb", NULL,
				  f->max_s[s][r] / f->raw_gb, 4);
			pr_close_object(p);
		}
		pr_close_object(p);
	}
	if (worst > 0) {
		pr_double(p, "ceiling-gb-per-s", NULL, 1 / worst, 2);
		pr_string(p, "ceiling-thread", NULL, role_name[br]);
		pr_string(p, "ceiling-side", NULL, side_name[bs]);
	}
	pr_close_object(p);
}
