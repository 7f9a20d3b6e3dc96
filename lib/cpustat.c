// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which thread spends what: the figures behind `vfio-migrate bench`'s
 * core-seconds per GB, and the ceiling the busiest thread implies.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpustat.h"

/* Threads that ended: a ring, enough for a run's sim and codec threads. */
#define ENDED_MAX 512

struct ended {
	pid_t tid;
	uint8_t role;
	uint64_t ns, at_ns; /* its CPU time, and when it ended */
};

static pthread_mutex_t ended_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ended ended[ENDED_MAX];
static unsigned ended_next;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t role_of(const char *comm, pid_t tid, pid_t loop)
{
	if (tid == loop)
		return VFMIG_CPU_LOOP;
	if (!strncmp(comm, "vfmig-codec", 11))
		return VFMIG_CPU_CODEC;
	if (!strncmp(comm, "iou-wrk-", 8) || !strncmp(comm, "iou-sqp-", 8))
		return VFMIG_CPU_IOWQ;
	if (!strncmp(comm, "vfmig-sim", 9))
		return VFMIG_CPU_SIM;
	return VFMIG_CPU_OTHER;
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

/* The number at @p, or false when there is none. */
static bool number(const char *p, char **end, unsigned long long *v)
{
	errno = 0;
	*v = strtoull(p, end, 10);
	return *end != p && !errno;
}

/* A thread's CPU time in ns: schedstat's runtime, else stat's ticks. */
static bool thread_ns(pid_t tid, uint64_t *ns)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if (read_line(path, buf, sizeof(buf)) && number(buf, &end, &ut)) {
		*ns = ut;
		return true;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	/* the name in parentheses may hold spaces: count from its end;
	 * utime and stime are the 12th and 13th fields after it */
	if (!read_line(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return false;
	for (int field = 0; field < 12; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return false;
	}
	if (!number(p + 1, &end, &ut) || !number(end, &end, &st))
		return false;
	*ns = (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	return true;
}

/* The live threads, with their roles and times. */
static unsigned snapshot(struct cpustat_thread *t, unsigned max, pid_t loop)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	if (!dir)
		return 0;
	while (n < max && (e = readdir(dir))) {
		char path[64], comm[32] = "", *end;
		unsigned long long id;
		pid_t tid;

		if (!number(e->d_name, &end, &id) || *end || !id ||
		    id > INT32_MAX)
			continue;
		tid = (pid_t)id;
		if (!thread_ns(tid, &t[n].ns))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
		(void)read_line(path, comm, sizeof(comm));
		t[n].tid = tid;
		t[n].role = role_of(comm, tid, loop);
		n++;
	}
	closedir(dir);
	return n;
}

void cpustat_begin(struct cpustat *c)
{
	c->loop = gettid();
	c->n = snapshot(c->t, CPUSTAT_MAX, c->loop);
	c->t0_ns = mono_ns();
}

static uint64_t at_begin(const struct cpustat *c, pid_t tid)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].tid == tid)
			return c->t[i].ns;
	return 0;
}

static void count(struct vfmig_cpu_use *u, uint64_t ns)
{
	if (!ns)
		return; /* never ran in the interval */
	u->threads++;
	u->total_ns += ns;
	if (ns > u->max_ns)
		u->max_ns = ns;
}

void cpustat_end(const struct cpustat *c,
		 struct vfmig_cpu_use use[VFMIG_CPU_ROLES])
{
	struct cpustat_thread now[CPUSTAT_MAX];
	unsigned n;

	memset(use, 0, sizeof(*use) * VFMIG_CPU_ROLES);
	if (!c->t0_ns)
		return;
	n = snapshot(now, CPUSTAT_MAX, c->loop);
	for (unsigned i = 0; i < n; i++) {
		uint64_t b = at_begin(c, now[i].tid);

		count(&use[now[i].role], now[i].ns > b ? now[i].ns - b : 0);
	}
	pthread_mutex_lock(&ended_lock);
	for (unsigned i = 0; i < ENDED_MAX; i++) {
		const struct ended *e = &ended[i];
		uint64_t b;

		if (!e->at_ns || e->at_ns < c->t0_ns)
			continue;
		b = at_begin(c, e->tid);
		count(&use[e->role], e->ns > b ? e->ns - b : 0);
	}
	pthread_mutex_unlock(&ended_lock);
}

void cpustat_thread_exit(void)
{
	char comm[32] = "";
	struct timespec ts;
	struct ended e = { .tid = gettid() };

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return;
	e.ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	(void)pthread_getname_np(pthread_self(), comm, sizeof(comm));
	e.role = role_of(comm, e.tid, 0);
	e.at_ns = mono_ns();
	pthread_mutex_lock(&ended_lock);
	ended[ended_next++ % ENDED_MAX] = e;
	pthread_mutex_unlock(&ended_lock);
}
