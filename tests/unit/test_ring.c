// SPDX-License-Identifier: GPL-2.0-or-later
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

struct probe {
	struct ring_op op;
	int res, calls;
};

static void done(struct ring_op *op, int res)
{
	struct probe *p = (struct probe *)op;

	p->res = res;
	p->calls++;
}

static struct ring r;

static void setup(void)
{
	char err[256];

	cr_assert_eq(ring_init(&r, 64, false, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	ring_exit(&r);
}

TestSuite(ring, .init = setup, .fini = teardown);

Test(ring, probes_a_mode)
{
	cr_log_info("io_uring mode: %s", r.mode);
	cr_expect(!strcmp(r.mode, "defer-taskrun") ||
		  !strcmp(r.mode, "coop-taskrun") || !strcmp(r.mode, "basic"));
	cr_expect_eq(ring_bound_workers(&r, 4, 4), 0);
}

Test(ring, read_completes_through_the_callback)
{
	struct probe p = { .op.done = done };
	char buf[16] = "";
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	io_uring_prep_read(ring_sqe(&r, &p.op), fds[0], buf, sizeof(buf), -1);
	/* nothing to read yet: the read waits, the loop times out */
	cr_expect_eq(ring_run_once(&r, 20), 0);
	cr_expect_eq(p.calls, 0);
	cr_expect(p.op.busy);
	cr_assert_eq(write(fds[1], "hello", 5), 5);
	cr_expect_eq(ring_run_once(&r, 1000), 1);
	cr_expect_eq(p.calls, 1);
	cr_expect_eq(p.res, 5);
	cr_expect_str_eq(buf, "hello");
	cr_expect(!p.op.busy);
	close(fds[0]);
	close(fds[1]);
}

Test(ring, cancel_a_blocked_read)
{
	struct probe p = { .op.done = done };
	char buf[16];
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	io_uring_prep_read(ring_sqe(&r, &p.op), fds[0], buf, sizeof(buf), -1);
	cr_expect_eq(ring_run_once(&r, 10), 0);
	ring_cancel(&r, &p.op);
	for (int i = 0; i < 10 && !p.calls; i++)
		ring_run_once(&r, 100);
	cr_expect_eq(p.calls, 1);
	cr_expect(p.res == -ECANCELED || p.res == -EINTR, "res %d", p.res);
	cr_expect_eq(r.inflight, 0);
	close(fds[0]);
	close(fds[1]);
}

Test(ring, many_completions_in_one_batch)
{
	static struct probe p[200];

	for (int i = 0; i < 200; i++) {
		p[i].op.done = done;
		io_uring_prep_nop(ring_sqe(&r, &p[i].op));
	}
	int total = 0;

	for (int i = 0; i < 10 && total < 200; i++)
		total += ring_run_once(&r, 100);
	cr_expect_eq(total, 200);
	for (int i = 0; i < 200; i++)
		cr_expect_eq(p[i].calls, 1);
}

Test(ring, timers)
{
	struct probe p = { .op.done = done };
	struct __kernel_timespec ts = { .tv_nsec = 5000000 };

	io_uring_prep_timeout(ring_sqe(&r, &p.op), &ts, 0, 0);
	for (int i = 0; i < 10 && !p.calls; i++)
		ring_run_once(&r, 100);
	cr_expect_eq(p.res, -ETIME);
}
