// SPDX-License-Identifier: LGPL-2.1-or-later
#include <signal.h>

#include "thread.h"

int thread_start(pthread_t *t, const char *name, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* a name is for people: its failure (too long) changes nothing */
	if (!ret)
		(void)pthread_setname_np(*t, name);
	return ret;
}
