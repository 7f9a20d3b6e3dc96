// SPDX-License-Identifier: GPL-2.0-or-later
/* The switchover policy, case by case: switchover_decide() is a pure
 * function of what the source's loop tells it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "switchover.h"

#define NEVER UINT64_MAX

enum {
	EST_NONE, /* nothing measured yet */
	EST_READY, /* within the limit */
	EST_OVER, /* over it, still converging */
	EST_STALLED, /* over it, and not shrinking */
	EST_UNKNOWN, /* no bandwidth yet (vfmig_stats_estimate() < 0) */
	EST_RANGE, /* a ratio unknown: 100 to 900 ms, around the limit */
	EST_RANGE_OVER, /* a ratio unknown: 400 to 900 ms, over it */
};

struct row {
	const char *what;
	int mode;
	bool asked;
	int unacked; /* 0 none; 1 its INIT_DONE not sent; 2 not acked */
	bool precopy;
	uint64_t ram;
	uint64_t elapsed_ms, timeout_ms;
	int est;
	enum switchover_action want;
	const char *why; /* a part of the reason, for CANCEL */
};

static const struct row rows[] = {
	{ "nothing measured yet", VFMIG_SWITCHOVER_AUTO, false, 0, true, 0, 0,
	  NEVER, EST_NONE, SWITCHOVER_WAIT, NULL },
	{ "auto, within the limit", VFMIG_SWITCHOVER_AUTO, false, 0, true, 0,
	  10, NEVER, EST_READY, SWITCHOVER_GO,
	  "expected downtime 100 ms <= limit 300 ms" },
	{ "auto, over the limit, converging", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 10, NEVER, EST_OVER, SWITCHOVER_WAIT, NULL },
	{ "auto, stalled, before the timeout", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 10, 1000, EST_STALLED, SWITCHOVER_WAIT, NULL },
	{ "auto, stalled, at the timeout", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 1000, 1000, EST_STALLED, SWITCHOVER_CANCEL,
	  "did not converge: expected downtime 900 ms > limit 300 ms, stalled for 4 s; a limit of 1000 ms" },
	{ "auto, converging at the timeout", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 2000, 2000, EST_OVER, SWITCHOVER_CANCEL,
	  "still converging after 2 s" },
	{ "auto, ready, but at the timeout", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 2000, 2000, EST_READY, SWITCHOVER_CANCEL,
	  "did not converge" },
	{ "auto, no bandwidth at the timeout", VFMIG_SWITCHOVER_AUTO, false, 0,
	  true, 0, 2000, 2000, EST_UNKNOWN, SWITCHOVER_CANCEL,
	  "the bandwidth is still unknown" },
	{ "auto, nothing can shrink, over", VFMIG_SWITCHOVER_AUTO, false, 0,
	  false, 0, 10, NEVER, EST_OVER, SWITCHOVER_CANCEL,
	  "no device pre-copies, so waiting cannot shrink it; a limit of 1000 ms would do" },
	{ "auto, nothing can shrink, bandwidth unknown", VFMIG_SWITCHOVER_AUTO,
	  false, 0, false, 0, 10, NEVER, EST_UNKNOWN, SWITCHOVER_GO,
	  "the bandwidth is unknown: the stop-copy measures it" },
	{ "auto, nothing can shrink, a ratio unknown, the limit in range",
	  VFMIG_SWITCHOVER_AUTO, false, 0, false, 0, 10, NEVER, EST_RANGE,
	  SWITCHOVER_GO,
	  "a ratio is unknown (no history): expected downtime 100 to 900 ms, the limit 300 ms within it; going ahead" },
	{ "auto, nothing can shrink, a ratio unknown, over at best",
	  VFMIG_SWITCHOVER_AUTO, false, 0, false, 0, 10, NEVER, EST_RANGE_OVER,
	  SWITCHOVER_CANCEL,
	  "expected downtime 900 ms (400 ms even at the best ratio) > limit 300 ms" },
	{ "auto, nothing pre-copies but RAM moves", VFMIG_SWITCHOVER_AUTO,
	  false, 0, false, 1 << 30, 10, NEVER, EST_OVER, SWITCHOVER_WAIT,
	  NULL },
	{ "auto, not acked", VFMIG_SWITCHOVER_AUTO, false, 2, true, 0, 10, 1000,
	  EST_READY, SWITCHOVER_WAIT, NULL },
	{ "auto, initial data not ended at the timeout", VFMIG_SWITCHOVER_AUTO,
	  false, 1, true, 0, 3000, 3000, EST_READY, SWITCHOVER_CANCEL,
	  "device gpu0: its initial data did not end in 3 s (PRECOPY_INFO still reports 4096 initial bytes)" },
	{ "auto, not acked at the timeout", VFMIG_SWITCHOVER_AUTO, false, 2,
	  true, 0, 3000, 3000, EST_READY, SWITCHOVER_CANCEL,
	  "device gpu0: the destination did not acknowledge its initial data in 3 s" },
	{ "immediate, acked", VFMIG_SWITCHOVER_IMMEDIATE, false, 0, true, 0, 0,
	  NEVER, EST_OVER, SWITCHOVER_GO, "switchover immediate" },
	{ "immediate, not acked", VFMIG_SWITCHOVER_IMMEDIATE, false, 2, true, 0,
	  0, NEVER, EST_OVER, SWITCHOVER_WAIT, NULL },
	{ "manual, not asked, ready", VFMIG_SWITCHOVER_MANUAL, false, 0, true,
	  0, 10, NEVER, EST_READY, SWITCHOVER_WAIT, NULL },
	{ "manual, not asked, past the timeout", VFMIG_SWITCHOVER_MANUAL, false,
	  0, true, 0, 5000, 1000, EST_STALLED, SWITCHOVER_WAIT, NULL },
	{ "manual, asked, over the limit", VFMIG_SWITCHOVER_MANUAL, true, 0,
	  true, 0, 10, NEVER, EST_STALLED, SWITCHOVER_GO,
	  "asked to switch over" },
	{ "manual, asked, not acked", VFMIG_SWITCHOVER_MANUAL, true, 2, true, 0,
	  10, NEVER, EST_READY, SWITCHOVER_WAIT, NULL },
	{ "auto, asked, over the limit past the timeout", VFMIG_SWITCHOVER_AUTO,
	  true, 0, true, 0, 5000, 1000, EST_STALLED, SWITCHOVER_GO,
	  "asked to switch over" },
};

static enum switchover_action decide_row(const struct row *r, char *why,
					 size_t n)
{
	struct vfmig_estimate e = {
		.size = sizeof(e),
		.expected_downtime_ms = r->est == EST_READY ? 100 : 900,
		.recommended_limit_ms = 1000,
		.verdict = r->est == EST_READY	 ? VFMIG_VERDICT_READY :
			   r->est == EST_STALLED ? VFMIG_VERDICT_STALLED :
						   VFMIG_VERDICT_CONVERGING,
		.stalled_ms = r->est == EST_STALLED ? 4000 : 0,
		.expected_downtime_min_us = r->est == EST_RANGE	     ? 100000 :
					    r->est == EST_RANGE_OVER ? 400000 :
								       0,
		.expected_downtime_max_us = r->est >= EST_RANGE ? 900000 : 0,
	};
	struct switchover_unacked u = {
		.name = "gpu0",
		.init_done = r->unacked == 2,
		.initial_bytes = 4096,
	};
	struct switchover_in in = {
		.mode = (enum vfmig_switchover)r->mode,
		.asked = r->asked,
		.unacked = r->unacked ? &u : NULL,
		.any_precopy = r->precopy,
		.ram_pending = r->ram,
		.elapsed_ms = r->elapsed_ms,
		.timeout_ms = r->timeout_ms,
		.limit_ms = 300,
		.est = r->est == EST_NONE ? NULL : &e,
		.est_ret = r->est == EST_UNKNOWN ? -EAGAIN : 0,
	};

	return switchover_decide(&in, why, n);
}

Test(switchover, the_policy_case_by_case)
{
	static const char *names[] = { "WAIT", "GO", "CANCEL" };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char why[512];
		enum switchover_action a = decide_row(r, why, sizeof(why));

		cr_expect_eq(a, r->want, "%s: %s, expected %s", r->what,
			     names[a], names[r->want]);
		/* a GO says why too (the report's switchover-reason) */
		if (r->want != SWITCHOVER_WAIT)
			cr_expect(r->why && strstr(why, r->why),
				  "%s: the reason is \"%s\"", r->what, why);
		else
			cr_expect_str_empty(why, "%s: a reason for %s: %s",
					    r->what, names[a], why);
	}
}
