// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The migration state machine: the library's next-hop composition checked
 * against the uAPI's rules (direct arcs per feature set, no detour through
 * a saving state, shortest paths), and the sim device driven through every
 * (from, to) pair of every feature set.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define ERR VFMIG_STATE_ERROR
#define STOP VFMIG_STATE_STOP
#define RUN VFMIG_STATE_RUNNING
#define SC VFMIG_STATE_STOP_COPY
#define RES VFMIG_STATE_RESUMING
#define RP2P VFMIG_STATE_RUNNING_P2P
#define PC VFMIG_STATE_PRE_COPY
#define PCP2P VFMIG_STATE_PRE_COPY_P2P
#define N VFMIG_STATE_COUNT

static const uint32_t flag_sets[] = {
	VFMIG_MIGRATION_STOP_COPY,
	VFMIG_MIGRATION_STOP_COPY | VFMIG_MIGRATION_P2P,
	VFMIG_MIGRATION_STOP_COPY | VFMIG_MIGRATION_PRE_COPY,
	VFMIG_MIGRATION_STOP_COPY | VFMIG_MIGRATION_P2P |
		VFMIG_MIGRATION_PRE_COPY,
};

static bool has(uint32_t f, uint32_t bit)
{
	return (f & bit) == bit;
}

static bool supported(uint32_t f, int s)
{
	switch (s) {
	case STOP:
	case RUN:
	case SC:
	case RES:
		return true;
	case RP2P:
		return has(f, VFMIG_MIGRATION_P2P);
	case PC:
		return has(f, VFMIG_MIGRATION_PRE_COPY);
	case PCP2P:
		return has(f, VFMIG_MIGRATION_PRE_COPY | VFMIG_MIGRATION_P2P);
	}
	return false;
}

/* The arcs a driver implements (uAPI, "direct arcs"), written out here
 * independently of the library's table. */
static bool direct_arc(uint32_t f, int a, int b)
{
	bool p2p = has(f, VFMIG_MIGRATION_P2P);
	bool pre = has(f, VFMIG_MIGRATION_PRE_COPY);

#define ARC(x, y) (a == (x) && b == (y))
	if (ARC(STOP, SC) || ARC(SC, STOP) || ARC(STOP, RES) || ARC(RES, STOP))
		return true;
	if (!p2p && (ARC(RUN, STOP) || ARC(STOP, RUN)))
		return true;
	if (p2p && (ARC(RUN, RP2P) || ARC(RP2P, RUN) || ARC(RP2P, STOP) ||
		    ARC(STOP, RP2P)))
		return true;
	if (pre && !p2p && (ARC(RUN, PC) || ARC(PC, RUN) || ARC(PC, SC)))
		return true;
	if (pre && p2p &&
	    (ARC(RUN, PC) || ARC(PC, RUN) || ARC(PC, PCP2P) || ARC(PCP2P, PC) ||
	     ARC(RP2P, PCP2P) || ARC(PCP2P, RP2P) || ARC(PCP2P, SC)))
		return true;
#undef ARC
	return false;
}

static bool saving(int s)
{
	return s == PC || s == PCP2P || s == SC;
}

/* Shortest legal path length by BFS over direct arcs: a saving state may
 * be passed through only while the session that started the path goes on;
 * STOP_COPY never goes back to pre-copy.  -1: unreachable. */
static int shortest(uint32_t f, int from, int to)
{
	int dist[N], queue[N], head = 0, tail = 0;

	if (!supported(f, from) || !supported(f, to))
		return -1;
	if (from == SC && (to == PC || to == PCP2P))
		return -1;
	for (int i = 0; i < N; i++)
		dist[i] = -1;
	dist[from] = 0;
	queue[tail++] = from;
	while (head < tail) {
		int s = queue[head++];

		if (s == to)
			return dist[s];
		/* leaving a saving state other than as the endpoint is
		 * only allowed inside the session it started in */
		if (s != from && saving(s) && !saving(from))
			continue;
		for (int t = 0; t < N; t++) {
			if (dist[t] >= 0 || !direct_arc(f, s, t))
				continue;
			dist[t] = dist[s] + 1;
			queue[tail++] = t;
		}
	}
	return -1;
}

Test(fsm, every_pair_follows_the_uapi_rules)
{
	for (unsigned fi = 0; fi < 4; fi++) {
		uint32_t f = flag_sets[fi];

		for (int from = 0; from < N; from++) {
			for (int to = 0; to < N; to++) {
				int want = shortest(f, from, to), steps = 0;
				int cur = from, hop;
				bool left_session = !saving(from);

				if (from == to && supported(f, from)) {
					cr_expect_eq(vfmig_state_next_hop(
							     f, from, to),
						     to);
					continue;
				}
				hop = vfmig_state_next_hop(f, cur, to);
				if (want < 0) {
					cr_expect_eq(
						hop, -EINVAL,
						"flags %x %d->%d: expected EINVAL, got %d",
						f, from, to, hop);
					continue;
				}
				while (cur != to && steps < 10) {
					hop = vfmig_state_next_hop(f, cur, to);
					cr_assert_geq(hop, 0,
						      "flags %x %d->%d at %d",
						      f, from, to, cur);
					cr_expect(
						direct_arc(f, cur, hop),
						"flags %x %d->%d: %d->%d is not an arc",
						f, from, to, cur, hop);
					if (hop != to && saving(hop))
						cr_expect(
							!left_session,
							"flags %x %d->%d passes through %d",
							f, from, to, hop);
					if (!saving(hop))
						left_session = true;
					cur = hop;
					steps++;
				}
				cr_expect_eq(
					steps, want,
					"flags %x %d->%d: %d hops, shortest is %d",
					f, from, to, steps, want);
			}
		}
	}
}

static void path(uint32_t f, int from, int to, char *out, size_t size)
{
	int cur = from;

	snprintf(out, size, "%s", vfmig_state_name(from));
	while (cur != to) {
		cur = vfmig_state_next_hop(f, cur, to);
		if (cur < 0) {
			snprintf(out + strlen(out), size - strlen(out),
				 ">EINVAL");
			return;
		}
		snprintf(out + strlen(out), size - strlen(out), ">%s",
			 vfmig_state_name(cur));
	}
}

#define ALL (flag_sets[3])
#define BASE (flag_sets[0])

Test(fsm, documented_paths)
{
	static const struct {
		uint32_t flags;
		int from, to;
		const char *path;
	} cases[] = {
		{ 0, RUN, SC, "running>running-p2p>stop>stop-copy" },
		{ 0, PC, SC, "pre-copy>pre-copy-p2p>stop-copy" },
		{ 0, PC, STOP, "pre-copy>running>running-p2p>stop" },
		{ 0, SC, PC, "stop-copy>EINVAL" },
		{ 0, SC, PCP2P, "stop-copy>EINVAL" },
		{ 0, RES, RUN, "resuming>stop>running-p2p>running" },
		{ 0, RUN, RES, "running>running-p2p>stop>resuming" },
		{ 1, RUN, SC, "running>stop>stop-copy" },
		{ 1, RES, RUN, "resuming>stop>running" },
		{ 1, SC, RUN, "stop-copy>stop>running" },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[256];

		path(cases[i].flags ? BASE : ALL, cases[i].from, cases[i].to,
		     got, sizeof(got));
		cr_expect_str_eq(got, cases[i].path);
	}
	/* without P2P, pre-copy reaches STOP_COPY directly */
	cr_expect_eq(vfmig_state_next_hop(flag_sets[2], PC, SC), SC);
	/* ERROR is never requested, and never left by a SET */
	cr_expect_eq(vfmig_state_next_hop(ALL, RUN, ERR), -EINVAL);
	cr_expect_eq(vfmig_state_next_hop(ALL, ERR, RUN), -EINVAL);
	/* unknown future states */
	cr_expect_eq(vfmig_state_next_hop(ALL, 8, RUN), -EINVAL);
	cr_expect_eq(vfmig_state_next_hop(ALL, RUN, 8), -EINVAL);
}

Test(fsm, names)
{
	cr_expect_str_eq(vfmig_state_name(PCP2P), "pre-copy-p2p");
	cr_expect_str_eq(vfmig_state_name(9), "unknown");
	cr_expect_eq(vfmig_state_parse("pre-copy"), PC);
	cr_expect_eq(vfmig_state_parse("PRE_COPY_P2P"), PCP2P);
	cr_expect_eq(vfmig_state_parse("Stop-Copy"), SC);
	cr_expect_eq(vfmig_state_parse("stopcopy"), -EINVAL);
	cr_expect_eq(vfmig_state_parse(""), -EINVAL);
}

/* The final arcs that open a migration session (and return a data_fd). */
static bool opens_session(int a, int b)
{
	return (a == RUN && b == PC) || (a == RP2P && b == PCP2P) ||
	       (a == STOP && b == SC) || (a == STOP && b == RES);
}

static bool fd_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

Test(sim_fsm, every_pair_on_every_feature_set)
{
	static const char *const variants[] = {
		"sim:size=64K,precopy=off,p2p=off",
		"sim:size=64K,precopy=off,p2p=on",
		"sim:size=64K,precopy=on,p2p=off",
		"sim:size=64K,precopy=on,p2p=on",
	};

	for (unsigned v = 0; v < 4; v++) {
		uint32_t f = flag_sets[v];

		for (int from = 1; from < N; from++) {
			if (!supported(f, from))
				continue;
			for (int to = 0; to < N; to++) {
				struct vfmig_device *dev = open_ok(variants[v]);
				int fd0 = -1, fd = -2, ret, last;

				cr_assert_eq(vfmig_device_migration_flags(dev),
					     (int)f);
				cr_assert_eq(vfmig_device_set_state(
						     dev,
						     (enum vfmig_state)from,
						     &fd0),
					     0, "%s: to %d: %s", variants[v],
					     from, vfmig_device_strerror(dev));
				ret = vfmig_device_set_state(
					dev, (enum vfmig_state)to, &fd);
				if (from == RES && to != RES &&
				    supported(f, to)) {
					/* nothing was written: the stream is
					 * rejected on the way out */
					cr_expect_eq(ret, -EINVAL);
					cr_expect_eq(
						vfmig_device_get_state(dev),
						ERR);
					cr_expect_eq(fd, -1);
					cr_expect(!fd_is_open(fd0));
				} else if (shortest(f, from, to) < 0 &&
					   from != to) {
					cr_expect_eq(ret, -EINVAL, "%x: %d->%d",
						     f, from, to);
					cr_expect_eq(fd, -1);
					/* a refused request changes nothing */
					cr_expect_eq(
						vfmig_device_get_state(dev),
						from);
					cr_expect_eq(vfmig_device_data_fd(dev),
						     fd0);
				} else {
					cr_expect_eq(
						ret, 0, "%x: %d->%d: %s", f,
						from, to,
						vfmig_device_strerror(dev));
					cr_expect_eq(
						vfmig_device_get_state(dev),
						to);
					/* the final arc decides the fd */
					last = from;
					while (last != to) {
						int h = vfmig_state_next_hop(
							f, last, to);

						if (h == to)
							break;
						last = h;
					}
					if (from != to &&
					    opens_session(last, to))
						cr_expect_geq(fd, 0,
							      "%x: %d->%d", f,
							      from, to);
					else
						cr_expect_eq(fd, -1,
							     "%x: %d->%d", f,
							     from, to);
					/* a session lives in its group only */
					if (fd0 >= 0 && fd < 0 &&
					    (saving(to) == saving(from)) &&
					    (to == RES) == (from == RES))
						cr_expect(fd_is_open(fd0));
					if (fd0 >= 0 && !saving(to) &&
					    to != RES)
						cr_expect_eq(
							vfmig_device_data_fd(
								dev),
							-1);
				}
				vfmig_device_close(dev);
			}
		}
	}
}

Test(sim_fsm, error_state_needs_reset)
{
	struct vfmig_device *dev =
		open_ok("sim:size=64K,faults=error:pre-copy-p2p:stop-copy");
	int fd;

	cr_assert_eq(vfmig_device_set_state(dev, PC, &fd), 0);
	cr_expect_eq(vfmig_device_set_state(dev, SC, NULL), -EIO);
	cr_expect_eq(vfmig_device_get_state(dev), ERR);
	cr_expect(strstr(vfmig_device_strerror(dev),
			 "PRE_COPY->STOP_COPY failed: EIO"),
		  "%s", vfmig_device_strerror(dev));
	cr_expect(strstr(vfmig_device_strerror(dev), "device now in ERROR"),
		  "%s", vfmig_device_strerror(dev));
	cr_expect_eq(vfmig_device_data_fd(dev), -1);
	cr_expect(!fd_is_open(fd));
	/* no SET leaves ERROR */
	cr_expect_eq(vfmig_device_set_state(dev, RUN, NULL), -EINVAL);
	cr_expect_eq(vfmig_device_recover(dev), 0, "%s",
		     vfmig_device_strerror(dev));
	cr_expect_eq(vfmig_device_get_state(dev), RUN);
	vfmig_device_close(dev);
}
