// SPDX-License-Identifier: GPL-2.0-or-later
/* opts.cpus: the list as taskset -c takes it, and the threads it pins. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "cpus.h"
#include "helpers.h"

Test(cpus, lists_and_the_refusals_that_name_the_fault)
{
	cpu_set_t set, allowed;
	char err[256], last[16];

	cr_assert_eq(cpus_parse("0", &set, err, sizeof(err)), 0, "%s", err);
	cr_expect(CPU_ISSET(0, &set));
	cr_expect_eq(CPU_COUNT(&set), 1);
	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	if (CPU_ISSET(0, &allowed) && CPU_ISSET(1, &allowed)) {
		cr_expect_eq(cpus_parse("0-1", &set, err, sizeof(err)), 0, "%s",
			     err);
		cr_expect_eq(CPU_COUNT(&set), 2);
		cr_expect_eq(cpus_parse("1,0", &set, err, sizeof(err)), 0, "%s",
			     err);
		cr_expect_eq(CPU_COUNT(&set), 2);
	}
	cr_expect_eq(cpus_parse("0-x", &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "'x' is not a CPU number"), "%s", err);
	cr_expect_eq(cpus_parse("3-1", &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "3-1 runs backwards"), "%s", err);
	cr_expect_eq(cpus_parse("0;1", &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "';' where a ',' belongs"), "%s", err);
	cr_expect_eq(cpus_parse("", &set, err, sizeof(err)), -EINVAL);
	cr_expect_eq(cpus_parse("99999", &set, err, sizeof(err)), -EINVAL);
	/* the highest CPU the set can hold is surely not this process's */
	snprintf(last, sizeof(last), "%d", CPU_SETSIZE - 1);
	cr_expect_eq(cpus_parse(last, &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not one this process may run on"), "%s", err);
}

/* The Cpus_allowed_list of every thread of ours named @prefix, joined. */
static void threads_allowed(const char *prefix, char *out, size_t n,
			    unsigned *count)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	out[0] = 0;
	*count = 0;
	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], line[256];
		FILE *f;
		bool ours = false;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* ended meanwhile */
		ours = fgets(line, sizeof(line), f) &&
		       !strncmp(line, prefix, strlen(prefix));
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 e->d_name);
		f = ours ? fopen(path, "r") : NULL;
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Cpus_allowed_list:", 18)) {
				size_t len = strlen(out);

				snprintf(out + len, n - len, "%s%s",
					 len ? " " : "",
					 line + 18 + strspn(line + 18, " \t"));
				out[strcspn(out, "\n")] = 0;
				(*count)++;
			}
		if (f)
			fclose(f);
	}
	closedir(d);
}

struct seen {
	char allowed[1024];
	unsigned count;
};

/* While the migration runs (its loop thread): the workers' CPUs. */
static void on_event(void *arg, const struct vfmig_device_event *ev)
{
	struct seen *s = arg;

	if (ev->type == VFMIG_EVENT_STOPCOPY_DONE)
		threads_allowed("vfmig-codec", s->allowed, sizeof(s->allowed),
				&s->count);
}

static void *sink_main(void *arg)
{
	return (void *)(intptr_t)vfmig_sink_run(arg);
}

Test(cpus, the_codec_workers_run_where_opts_cpus_says, .timeout = 60)
{
	struct vfmig_device *a = open_ok("sim:size=4M,pattern=fb,seed=51");
	struct vfmig_device *b = open_ok("sim:size=4M");
	static struct seen seen;
	struct vfmig_events ev = { .size = sizeof(ev),
				   .arg = &seen,
				   .device = on_event };
	struct vfmig_stream_opts ko = { .size = sizeof(ko),
					.uri = "tcp:127.0.0.1:0",
					.workers = 2,
					.cpus = "0" };
	struct vfmig_stream_opts so = {
		.size = sizeof(so), .workers = 2, .cpus = "0", .events = &ev
	};
	struct vfmig_source *s;
	struct vfmig_sink *k;
	pthread_t th;
	void *kret;
	char uri[64];

	cr_assert_eq(vfmig_sink_new(&b, 1, &ko, &k), 0);
	cr_assert_eq(vfmig_sink_listen(k), 0);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", vfmig_sink_port(k));
	so.uri = uri;
	cr_assert_eq(pthread_create(&th, NULL, sink_main, k), 0);
	cr_assert_eq(vfmig_source_new(&a, 1, &so, &s), 0);
	cr_expect_eq(vfmig_source_run(s), 0, "%s", vfmig_source_strerror(s));
	pthread_join(th, &kret);
	cr_expect_eq((intptr_t)kret, 0, "%s", vfmig_sink_strerror(k));
	/* both ends' workers (one process): 2 + 2, each on CPU 0 only */
	cr_expect_eq(seen.count, 4, "workers seen: %u (%s)", seen.count,
		     seen.allowed);
	cr_expect_str_eq(seen.allowed, "0 0 0 0");
	cr_expect_eq(hash_of(b), hash_of(a));
	vfmig_source_free(s);
	vfmig_sink_free(k);
	vfmig_device_close(a);
	vfmig_device_close(b);
}

Test(cpus, a_bad_list_is_refused_by_new)
{
	struct vfmig_device *a = open_ok("sim:size=64K");
	char why[256] = "";
	struct vfmig_stream_opts so = { .size = sizeof(so),
					.uri = "tcp:127.0.0.1:1",
					.cpus = "0-",
					.errbuf = why,
					.errbuf_size = sizeof(why) };
	struct vfmig_source *s = NULL;
	struct vfmig_sink *k = NULL;

	cr_expect_eq(vfmig_source_new(&a, 1, &so, &s), -EINVAL);
	cr_expect(strstr(why, "cpus '0-'"), "%s", why);
	why[0] = 0;
	cr_expect_eq(vfmig_sink_new(&a, 1, &so, &k), -EINVAL);
	cr_expect(strstr(why, "cpus '0-'"), "%s", why);
	cr_expect_null(s);
	cr_expect_null(k);
	vfmig_device_close(a);
}
