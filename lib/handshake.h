/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The set-up of a session (connect or accept, TLS, HELLO, the manifest)
 * blocks, each wait bounded by the timeout and the cancel eventfd.  A
 * caller's event loop must not: vfmig_source_start() and
 * vfmig_sink_start() run it on a thread of its own ("vfmig-setup"), whose
 * end is a completion in the loop's ring.  Only that thread touches the
 * session until handshake_join() returned.
 */
#ifndef VFMIG_LIB_HANDSHAKE_H
#define VFMIG_LIB_HANDSHAKE_H

#include <pthread.h>
#include <stdbool.h>

#include "ring.h"

struct handshake {
	int (*fn)(void *arg);
	void *arg;
	pthread_t thread;
	int evfd; /* readable once fn returned */
	int ret; /* fn's result, once joined */
	bool started, joined;
	struct ring_op op; /* the poll on evfd */
};

/*
 * Run @fn(@arg) on a new thread (on @cpus; NULL: anywhere) and poll for
 * its end in @r: @done runs (from the ring's loop) once it returned.  0 or
 * -errno (nothing runs).
 */
int handshake_start(struct handshake *h, struct ring *r, ring_done_fn done,
		    const cpu_set_t *cpus, int (*fn)(void *), void *arg);
/* Wait for the thread (at once, after @done ran) and return fn's result;
 * the same again on later calls.  -EINVAL if it was never started. */
int handshake_join(struct handshake *h);
/* Whether a thread was started and not joined yet. */
bool handshake_running(const struct handshake *h);

#endif
