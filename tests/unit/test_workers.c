// SPDX-License-Identifier: GPL-2.0-or-later
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "workers.h"

struct job {
	struct work w;
	int in, out, done;
	pthread_t ran_on;
};

static pthread_t loop_thread;

static void run(struct work *w, struct codec *c)
{
	struct job *j = (struct job *)w;

	cr_assert_not_null(c, "every worker has a codec");
	j->out = j->in * 2;
	j->ran_on = pthread_self();
}

static void done(struct work *w)
{
	struct job *j = (struct job *)w;

	cr_assert(pthread_equal(pthread_self(), loop_thread),
		  "done() runs on the loop thread");
	j->done++;
}

Test(workers, run_on_workers_done_on_the_loop)
{
	static struct job jobs[1000];
	struct workers *w;
	int reaped = 0, other_thread = 0;

	loop_thread = pthread_self();
	cr_assert_eq(workers_new(2, CODEC_ZSTD, 1, NULL, &w), 0);
	cr_expect_eq(workers_count(w), 2);
	for (int i = 0; i < 1000; i++) {
		jobs[i] = (struct job){ .w.run = run, .w.done = done, .in = i };
		workers_submit(w, &jobs[i].w);
	}
	while (reaped < 1000) {
		struct pollfd p = { .fd = workers_eventfd(w),
				    .events = POLLIN };
		uint64_t v;

		cr_assert_eq(poll(&p, 1, 5000), 1, "no wakeup: %d reaped",
			     reaped);
		cr_assert_eq(read(p.fd, &v, sizeof(v)), 8);
		reaped += workers_reap(w);
	}
	for (int i = 0; i < 1000; i++) {
		cr_expect_eq(jobs[i].out, 2 * i);
		cr_expect_eq(jobs[i].done, 1);
		other_thread += !pthread_equal(jobs[i].ran_on, loop_thread);
	}
	cr_expect_eq(other_thread, 1000);
	workers_free(w);
	workers_free(NULL);
}

Test(workers, default_count_and_bad_level)
{
	struct workers *w;

	cr_assert_eq(workers_new(0, CODEC_NONE, 0, NULL, &w), 0);
	cr_expect_eq(workers_count(w), sysconf(_SC_NPROCESSORS_ONLN));
	workers_free(w);
	cr_expect_eq(workers_new(1, CODEC_ZSTD, 1000, NULL, &w), -EINVAL);
}

/* Whether a thread of this process is called @name (/proc/self/task). */
static bool thread_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d);
	while (!found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		found = !strcmp(comm, name);
	}
	closedir(d);
	return found;
}

Test(workers, threads_are_named)
{
	struct workers *w;

	cr_assert_eq(workers_new(2, CODEC_ZSTD, 1, NULL, &w), 0);
	cr_expect(thread_named("vfmig-codec0"), "no thread vfmig-codec0");
	cr_expect(thread_named("vfmig-codec1"), "no thread vfmig-codec1");
	workers_free(w);
	cr_expect(!thread_named("vfmig-codec0"),
		  "vfmig-codec0 outlived its pool");
}
