/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SIGINT, SIGTERM and SIGHUP during send, recv, save and load: the
 * migration is cancelled through the library (its cancel calls are
 * async-signal-safe), the devices recover (source: RUNNING with their
 * state; destination: reset), and the command exits 128 + the signal.
 */
#ifndef VFIO_MIGRATE_INTERRUPT_H
#define VFIO_MIGRATE_INTERRUPT_H

#include <stdbool.h>

#include "vfmig.h"

/* Catch the three signals from now on; @source: the side that recovers
 * to RUNNING (send, save), else the side that resets (recv, load). */
void intr_install(bool source);
/* The handle a signal cancels (one of them, or neither: NULL, NULL).  A
 * signal that came before a handle was set cancels it when it is set. */
void intr_watch(struct vfmig_source *s, struct vfmig_sink *k);
/* The first signal caught, or 0. */
int intr_signal(void);
/* The exit status of a run that ended with @ret: 128 + the signal when
 * a signal ended it, else @status. */
int intr_status(int ret, int status);

#endif
