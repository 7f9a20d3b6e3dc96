/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Codec workers: a few threads (one per core by default), each with its own
 * codec, running work handed over by an event loop.  Finished work comes
 * back to the loop thread through a list and an eventfd the loop reads, so
 * the loop never blocks on a lock held for long and never runs codec work.
 */
#ifndef VFMIG_LIB_WORKERS_H
#define VFMIG_LIB_WORKERS_H

#include <sched.h>

#include "codec.h"

struct work {
	struct work *next;
	/* On a worker thread, with that worker's codec. */
	void (*run)(struct work *w, struct codec *codec);
	/* Back on the loop thread, from workers_reap(). */
	void (*done)(struct work *w);
};

struct workers;

/* @n threads (0: one per CPU of @cpus, or of the process when NULL), each
 * with a codec(@mode, @level), running on @cpus. */
int workers_new(int n, enum codec_mode mode, int level, const cpu_set_t *cpus,
		struct workers **out);
/* Stops the threads after the work queued so far; NULL-safe. */
void workers_free(struct workers *w);
int workers_count(const struct workers *w);

void workers_submit(struct workers *w, struct work *work);
/* Readable when finished work waits; read 8 bytes, then workers_reap(). */
int workers_eventfd(const struct workers *w);
/* Run done() for all finished work (loop thread); returns how many. */
int workers_reap(struct workers *w);

#endif
