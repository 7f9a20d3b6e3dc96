// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stddef.h>

#include "events.h"

/* The caller's table holds @field (it may be older and shorter). */
#define HAS(e, field)                                                         \
	((e) &&                                                               \
	 (e)->size >=                                                         \
		 offsetof(struct vfmig_events, field) + sizeof((e)->field) && \
	 (e)->field)

/* 0 goes on; anything else fails, as -errno (a positive value: -EIO). */
static int verdict(int ret)
{
	return ret < 0 ? ret : ret > 0 ? -EIO : 0;
}

bool events_stops_vcpus(const struct vfmig_events *e)
{
	return HAS(e, vcpus_stop);
}

int events_vcpus_stop(const struct vfmig_events *e, bool p2p)
{
	return HAS(e, vcpus_stop) ? verdict(e->vcpus_stop(e->arg, p2p)) : 0;
}

bool events_start_is_callers(const struct vfmig_events *e)
{
	return HAS(e, vcpus_start);
}

int events_vcpus_start(const struct vfmig_events *e, bool p2p)
{
	return HAS(e, vcpus_start) ? verdict(e->vcpus_start(e->arg, p2p)) : 0;
}

void events_device(const struct vfmig_events *e, int type, unsigned index,
		   struct vfmig_device *dev, uint64_t bytes,
		   uint64_t downtime_us, const char *reason)
{
	struct vfmig_device_event ev = {
		.size = sizeof(ev),
		.type = type,
		.index = index,
		.dev = dev,
		.bytes = bytes,
		.downtime_us = downtime_us,
		.reason = reason,
	};

	if (HAS(e, device))
		e->device(e->arg, &ev);
}
