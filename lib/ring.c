// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ring.h"
#include "util.h"

/*
 * The setup flags we would like, best first.  DEFER_TASKRUN (6.1) runs
 * completion work only when our one loop thread asks for events;
 * COOP_TASKRUN (5.19) at least avoids interrupting it.  Older kernels
 * refuse unknown flags with EINVAL, so fall back in order.  Both leave
 * completions unposted while the task sleeps in someone else's poll(), so
 * a ring polled by a caller's loop is a basic one (the last entry).
 */
static const struct {
	unsigned flags;
	const char *mode;
} setups[] = {
	{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_SUBMIT_ALL,
	  "defer-taskrun" },
	{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL, "coop-taskrun" },
	{ 0, "basic" },
};

int ring_init(struct ring *r, unsigned entries, bool pollable, char *err,
	      size_t es)
{
	unsigned n = sizeof(setups) / sizeof(setups[0]);
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	for (unsigned i = pollable ? n - 1 : 0; i < n; i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		/* Completions can outnumber submissions (a read, a send, a
		 * timer per frame): a CQ four times the SQ. */
		p.flags = setups[i].flags | IORING_SETUP_CQSIZE;
		p.cq_entries = entries * 4;
		ret = io_uring_queue_init_params(entries, &r->uring, &p);
		if (ret == 0) {
			r->setup_flags = p.flags;
			r->mode = setups[i].mode;
			/* Saves a file lookup per io_uring_enter; optional. */
			io_uring_register_ring_fd(&r->uring);
			return 0;
		}
		if (ret != -EINVAL)
			break;
	}
	if (err && es)
		snprintf(
			err, es, "io_uring setup failed: %s%s", strerror(-ret),
			ret == -EPERM || ret == -ENOSYS ?
				" (io_uring disabled? see kernel.io_uring_disabled)" :
				"");
	return ret;
}

void ring_exit(struct ring *r)
{
	if (r->mode)
		io_uring_queue_exit(&r->uring);
	r->mode = NULL;
}

struct io_uring_sqe *ring_sqe(struct ring *r, struct ring_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);

	if (!sqe) {
		io_uring_submit(&r->uring);
		sqe = io_uring_get_sqe(&r->uring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	op->busy = true;
	r->inflight++;
	return sqe;
}

int ring_run_once(struct ring *r, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int ret;

	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(&r->uring, 1);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (timeout_ms % 1000) * 1000000ll,
		};

		ret = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts,
						       NULL);
		if (ret == -ETIME)
			ret = 0;
	}
	if (ret < 0 && ret != -EINTR)
		return ret;
	/* Reap the whole batch, then let the kernel reuse the CQ slots. */
	for (;;) {
		struct ring_op *batch[64];
		int res[64], k = 0;

		io_uring_for_each_cqe(&r->uring, head, cqe)
		{
			batch[k] = io_uring_cqe_get_data(cqe);
			res[k] = cqe->res;
			if (++k == 64)
				break;
		}
		if (!k)
			break;
		io_uring_cq_advance(&r->uring, (unsigned)k);
		for (int i = 0; i < k; i++) {
			r->inflight--;
			if (!batch[i]) /* a cancel request's own completion */
				continue;
			batch[i]->busy = false;
			batch[i]->done(batch[i], res[i]);
		}
		n += (unsigned)k;
	}
	return (int)n;
}

int ring_bound_workers(struct ring *r, unsigned bounded, unsigned unbounded)
{
	unsigned v[2] = { bounded, unbounded };

	return io_uring_register_iowq_max_workers(&r->uring, v);
}

static void beat_done(struct ring_op *op, int res)
{
	struct ring_beat *b = container_of(op, struct ring_beat, op);

	(void)res;
	if (!*b->stop)
		io_uring_prep_timeout(ring_sqe(b->r, &b->op), &b->ts, 0, 0);
}

void ring_beat_start(struct ring *r, struct ring_beat *b, unsigned ms,
		     const bool *stop)
{
	b->r = r;
	b->stop = stop;
	b->ts.tv_sec = ms / 1000;
	b->ts.tv_nsec = (long long)(ms % 1000) * 1000000;
	b->op.done = beat_done;
	beat_done(&b->op, 0);
}

void ring_cancel(struct ring *r, struct ring_op *op)
{
	struct io_uring_sqe *sqe;

	if (!op->busy)
		return;
	sqe = io_uring_get_sqe(&r->uring);
	if (!sqe) {
		io_uring_submit(&r->uring);
		sqe = io_uring_get_sqe(&r->uring);
	}
	if (!sqe)
		return;
	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data(sqe, NULL);
	r->inflight++;
}
