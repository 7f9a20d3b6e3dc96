/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM's callbacks (vfmig_stream_opts.events): its vCPUs' stop and
 * start around the devices' state changes, and each device's events.
 * Each callback is read only where the caller's struct vfmig_events (of
 * its own size) has it; a NULL table or callback does nothing.
 */
#ifndef VFMIG_LIB_EVENTS_H
#define VFMIG_LIB_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vfmig.h"

/* Whether the caller stops its vCPUs itself (vcpus_stop is set), and
 * its vcpus_stop(): 0 without one; a failure is -errno. */
bool events_stops_vcpus(const struct vfmig_events *e);
int events_vcpus_stop(const struct vfmig_events *e, bool p2p);
/* Whether the caller starts its vCPUs itself (vcpus_start is set). */
bool events_start_is_callers(const struct vfmig_events *e);
int events_vcpus_start(const struct vfmig_events *e, bool p2p);
/* A device's event (enum vfmig_event). */
void events_device(const struct vfmig_events *e, int type, unsigned index,
		   struct vfmig_device *dev, uint64_t bytes,
		   uint64_t downtime_us, const char *reason);

#endif
