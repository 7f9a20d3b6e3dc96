// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The VFIO migration state machine: names, and the next-hop table the kernel
 * uses to compose a requested transition out of the arcs drivers implement.
 */
#include <errno.h>
#include <strings.h>

#include "device.h"

#define S_ERR VFMIG_STATE_ERROR
#define S_STOP VFMIG_STATE_STOP
#define S_RUN VFMIG_STATE_RUNNING
#define S_SC VFMIG_STATE_STOP_COPY
#define S_RES VFMIG_STATE_RESUMING
#define S_RP2P VFMIG_STATE_RUNNING_P2P
#define S_PC VFMIG_STATE_PRE_COPY
#define S_PCP2P VFMIG_STATE_PRE_COPY_P2P

/*
 * next_hop[from][to] for a device with every optional state.  Shortest
 * paths that never pass *through* a saving state (PRE_COPY, PRE_COPY_P2P,
 * STOP_COPY); ERROR marks an impossible request.
 */
static const unsigned char next_hop[VFMIG_STATE_COUNT][VFMIG_STATE_COUNT] = {
	[S_STOP] = {
		[S_STOP] = S_STOP, [S_RUN] = S_RP2P, [S_SC] = S_SC,
		[S_RES] = S_RES, [S_RP2P] = S_RP2P, [S_PC] = S_RP2P,
		[S_PCP2P] = S_RP2P, [S_ERR] = S_ERR,
	},
	[S_RUN] = {
		[S_STOP] = S_RP2P, [S_RUN] = S_RUN, [S_SC] = S_RP2P,
		[S_RES] = S_RP2P, [S_RP2P] = S_RP2P, [S_PC] = S_PC,
		[S_PCP2P] = S_RP2P, [S_ERR] = S_ERR,
	},
	[S_SC] = {
		[S_STOP] = S_STOP, [S_RUN] = S_STOP, [S_SC] = S_SC,
		[S_RES] = S_STOP, [S_RP2P] = S_STOP, [S_PC] = S_ERR,
		[S_PCP2P] = S_ERR, [S_ERR] = S_ERR,
	},
	[S_RES] = {
		[S_STOP] = S_STOP, [S_RUN] = S_STOP, [S_SC] = S_STOP,
		[S_RES] = S_RES, [S_RP2P] = S_STOP, [S_PC] = S_STOP,
		[S_PCP2P] = S_STOP, [S_ERR] = S_ERR,
	},
	[S_RP2P] = {
		[S_STOP] = S_STOP, [S_RUN] = S_RUN, [S_SC] = S_STOP,
		[S_RES] = S_STOP, [S_RP2P] = S_RP2P, [S_PC] = S_RUN,
		[S_PCP2P] = S_PCP2P, [S_ERR] = S_ERR,
	},
	[S_PC] = {
		[S_STOP] = S_RUN, [S_RUN] = S_RUN, [S_SC] = S_PCP2P,
		[S_RES] = S_RUN, [S_RP2P] = S_RUN, [S_PC] = S_PC,
		[S_PCP2P] = S_PCP2P, [S_ERR] = S_ERR,
	},
	[S_PCP2P] = {
		[S_STOP] = S_RP2P, [S_RUN] = S_RP2P, [S_SC] = S_SC,
		[S_RES] = S_RP2P, [S_RP2P] = S_RP2P, [S_PC] = S_PC,
		[S_PCP2P] = S_PCP2P, [S_ERR] = S_ERR,
	},
	/* [S_ERR] is all zero: ERROR leads nowhere. */
};

int state_supported(uint32_t flags, int state)
{
	switch (state) {
	case S_STOP:
	case S_RUN:
	case S_SC:
	case S_RES:
		return !!(flags & VFMIG_MIGRATION_STOP_COPY);
	case S_RP2P:
		return !!(flags & VFMIG_MIGRATION_P2P);
	case S_PC:
		return !!(flags & VFMIG_MIGRATION_PRE_COPY);
	case S_PCP2P:
		return (flags &
			(VFMIG_MIGRATION_PRE_COPY | VFMIG_MIGRATION_P2P)) ==
		       (VFMIG_MIGRATION_PRE_COPY | VFMIG_MIGRATION_P2P);
	default:
		return 0; /* ERROR is never requested; >= 8 unknown */
	}
}

int vfmig_state_next_hop(uint32_t flags, int cur, int target)
{
	int hop;

	if (!state_supported(flags, cur) || !state_supported(flags, target))
		return -EINVAL;
	if (cur == target)
		return target;
	/* A hop through a state the device lacks continues from there. */
	hop = next_hop[cur][target];
	while (hop != S_ERR && !state_supported(flags, hop))
		hop = next_hop[hop][target];
	return hop == S_ERR ? -EINVAL : hop;
}

static const char *const names[VFMIG_STATE_COUNT] = {
	[S_ERR] = "error",    [S_STOP] = "stop",
	[S_RUN] = "running",  [S_SC] = "stop-copy",
	[S_RES] = "resuming", [S_RP2P] = "running-p2p",
	[S_PC] = "pre-copy",  [S_PCP2P] = "pre-copy-p2p",
};

static const char *const upper[VFMIG_STATE_COUNT] = {
	[S_ERR] = "ERROR",    [S_STOP] = "STOP",
	[S_RUN] = "RUNNING",  [S_SC] = "STOP_COPY",
	[S_RES] = "RESUMING", [S_RP2P] = "RUNNING_P2P",
	[S_PC] = "PRE_COPY",  [S_PCP2P] = "PRE_COPY_P2P",
};

const char *vfmig_state_name(int state)
{
	if (state < 0 || state >= VFMIG_STATE_COUNT)
		return "unknown";
	return names[state];
}

const char *state_upper(int state)
{
	if (state < 0 || state >= VFMIG_STATE_COUNT)
		return "UNKNOWN";
	return upper[state];
}

int vfmig_state_parse(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int s = 0; s < VFMIG_STATE_COUNT; s++) {
		const char *a = name, *b = names[s];

		for (; *a && *b; a++, b++) {
			char c = *a == '_' ? '-' : *a;

			if ((c | 0x20) != *b && c != *b)
				break;
		}
		if (!*a && !*b)
			return s;
	}
	return -EINVAL;
}
