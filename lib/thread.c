// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpustat.h"
#include "thread.h"

struct start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

/* A library thread names itself before it runs, and records its CPU time
 * as it ends (cpustat.h): even a short one is counted in its role. */
static void *thread_main(void *p)
{
	struct start st = *(struct start *)p;
	void *ret;

	free(p);
	/* a name is for people and cpustat: a failure changes nothing */
	(void)pthread_setname_np(pthread_self(), st.name);
	ret = st.fn(st.arg);
	cpustat_thread_exit();
	return ret;
}

int thread_start(pthread_t *t, const char *name, const cpu_set_t *cpus,
		 void *(*fn)(void *), void *arg)
{
	struct start *st = malloc(sizeof(*st));
	sigset_t all, old;
	pthread_attr_t attr;
	int ret;

	if (!st)
		return -ENOMEM;
	st->fn = fn;
	st->arg = arg;
	snprintf(st->name, sizeof(st->name), "%s", name);
	ret = -pthread_attr_init(&attr);
	if (!ret && cpus)
		ret = -pthread_attr_setaffinity_np(&attr, sizeof(*cpus), cpus);
	if (ret) {
		free(st);
		return ret;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(t, &attr, thread_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret) {
		free(st);
		return ret;
	}
	/* and here: named when this returns, as its callers may expect */
	(void)pthread_setname_np(*t, name);
	return 0;
}
