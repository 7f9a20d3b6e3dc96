// SPDX-License-Identifier: GPL-2.0-or-later
/* The send queues' token bucket (--max-bandwidth), on a simulated clock. */
#include <criterion/criterion.h>
#include <string.h>

#include "txq.h"

/*
 * 4 MiB frames behind 200 MB/s, each timer 2 ms late (a loaded machine):
 * what accrues meanwhile is kept, so the wire carries the cap, not
 * 21 ms of frame every 23 ms (9% under).
 */
Test(txq, a_late_timer_loses_no_tokens)
{
	struct txq q;
	const size_t len = (4u << 20) + 32;
	uint64_t now = 1000, start, frames = 0;
	double rate;

	memset(&q, 0, sizeof(q));
	txq_rate(&q, 200000000, len);
	/* the bucket starts full: the first frame goes at once */
	cr_expect_eq(txq_bucket_take(&q, now, len), 0);
	start = now;
	while (now - start < 10000) {
		double wait = txq_bucket_take(&q, now, len);

		if (wait > 0) {
			now += (uint64_t)wait + 1 + 2; /* rounded up, late */
			continue;
		}
		frames++;
	}
	rate = (double)frames * (double)len * 1000.0 / (double)(now - start);
	cr_expect(rate >= 0.99 * 200000000 && rate <= 1.01 * 200000000,
		  "%.1f MB/s behind a 200 MB/s cap", rate / 1e6);
}

Test(txq, the_cap_holds_after_an_idle_while)
{
	struct txq q;
	const size_t len = 1 << 20;
	uint64_t sent = 0;

	memset(&q, 0, sizeof(q));
	txq_rate(&q, 100000000, len);
	/* an hour idle buys one burst (20 ms + 10 ms, or a frame + 10 ms),
	 * not an hour's worth */
	for (int i = 0; i < 100; i++)
		if (txq_bucket_take(&q, 3600000, len) == 0)
			sent += len;
	cr_expect_leq(sent, 100000000 / 50 + 100000000 / 100 + len,
		      "%llu bytes at once", (unsigned long long)sent);
	cr_expect_geq(sent, len);
}

/* The credit the estimate counts is what the bucket would let out now:
 * full after an idle while (20 ms + 10 ms worth), less a frame just
 * taken, none without a cap. */
Test(txq, the_credit_is_what_leaves_at_once)
{
	struct txq q;
	const size_t len = 1 << 20;

	memset(&q, 0, sizeof(q));
	cr_expect_eq(txq_credit(&q, 1000), 0, "no cap, no credit");
	txq_rate(&q, 100000000, len);
	cr_expect_eq(txq_credit(&q, 3600000), 3000000);
	cr_expect_eq(txq_bucket_take(&q, 3600000, len), 0);
	cr_expect_eq(txq_credit(&q, 3600000), 3000000 - len);
	/* 5 ms later, 500 kB more */
	cr_expect_eq(txq_credit(&q, 3600005), 3000000 - len + 500000);
}
