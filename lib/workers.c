// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "thread.h"
#include "workers.h"

struct worker {
	struct workers *pool;
	struct codec *codec;
	pthread_t thread;
	bool started;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work *head, *tail; /* to run */
	struct work *done_head, *done_tail; /* finished */
	bool stop;
	int evfd, n;
	struct worker *w;
};

static void push(struct work **head, struct work **tail, struct work *work)
{
	work->next = NULL;
	if (*tail)
		(*tail)->next = work;
	else
		*head = work;
	*tail = work;
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	struct workers *p = me->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct work *work = p->head;
		bool wake;

		if (!work) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		p->head = work->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		work->run(work, me->codec);

		pthread_mutex_lock(&p->lock);
		/* One wakeup per batch: only when the list was empty. */
		wake = !p->done_head;
		push(&p->done_head, &p->done_tail, work);
		if (wake) {
			uint64_t one = 1;

			if (write(p->evfd, &one, sizeof(one)) < 0) {
				/* saturated counter: a wakeup is pending */
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* One worker per CPU this process may run on (taskset, a cpuset), as
 * nproc counts them: not the machine's, which a pinned end would
 * oversubscribe. */
static int usable_cpus(void)
{
	cpu_set_t set;
	long cpus;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (int)cpus : 1;
}

int workers_new(int n, enum codec_mode mode, int level, const cpu_set_t *cpus,
		struct workers **out)
{
	struct workers *p;
	int ret;

	if (n <= 0)
		n = cpus ? CPU_COUNT(cpus) : usable_cpus();
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->w = calloc((size_t)n, sizeof(*p->w));
	p->n = n;
	if (p->evfd < 0 || !p->w) {
		ret = p->evfd < 0 ? -errno : -ENOMEM;
		goto err;
	}
	for (int i = 0; i < n; i++) {
		char name[24];

		p->w[i].pool = p;
		ret = codec_new(mode, level, &p->w[i].codec);
		if (ret < 0)
			goto err;
		/* "vfmig-codec12": the kernel keeps 15 characters */
		snprintf(name, sizeof(name), "vfmig-codec%u",
			 (unsigned)i % 10000);
		ret = thread_start(&p->w[i].thread, name, cpus, worker_main,
				   &p->w[i]);
		if (ret < 0)
			goto err;
		p->w[i].started = true;
	}
	*out = p;
	return 0;
err:
	workers_free(p);
	return ret;
}

void workers_free(struct workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; p->w && i < p->n; i++) {
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
		codec_free(p->w[i].codec);
	}
	if (p->evfd >= 0)
		close(p->evfd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->w);
	free(p);
}

int workers_count(const struct workers *p)
{
	return p->n;
}

void workers_submit(struct workers *p, struct work *work)
{
	pthread_mutex_lock(&p->lock);
	push(&p->head, &p->tail, work);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int workers_eventfd(const struct workers *p)
{
	return p->evfd;
}

int workers_reap(struct workers *p)
{
	struct work *list;
	int n = 0;

	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (list) {
		struct work *next = list->next;

		list->done(list);
		list = next;
		n++;
	}
	return n;
}
