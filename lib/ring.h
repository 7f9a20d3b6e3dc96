/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One io_uring per event loop.  Every request carries a struct ring_op
 * whose callback runs when it completes; ring_run_once() submits what was
 * queued, waits, and reaps completions in a batch.  Only the thread that
 * created the ring may use it (SINGLE_ISSUER where the kernel has it).
 */
#ifndef VFMIG_LIB_RING_H
#define VFMIG_LIB_RING_H

#include <liburing.h>
#include <stdbool.h>

struct ring_op;
typedef void (*ring_done_fn)(struct ring_op *op, int res);

struct ring_op {
	ring_done_fn done;
	bool busy; /* submitted, completion not seen yet */
};

struct ring {
	struct io_uring uring;
	unsigned setup_flags;
	const char *mode; /* "defer-taskrun", "coop-taskrun" or "basic" */
	unsigned inflight;
};

/*
 * Set up a ring of @entries, probing the setup flags the kernel offers.
 * @pollable: another thread's poll() on the ring fd is what wakes us
 * (a caller's event loop), so completion work must be signalled to the
 * task rather than deferred until it enters the ring itself.
 */
int ring_init(struct ring *r, unsigned entries, bool pollable, char *err,
	      size_t err_size);
void ring_exit(struct ring *r);

/* An SQE for @op (submitting queued ones if the SQ is full). */
struct io_uring_sqe *ring_sqe(struct ring *r, struct ring_op *op);

/*
 * Submit, wait up to @timeout_ms (-1: forever) for at least one
 * completion, and run the callbacks of every completion there is.
 * Returns the number of completions handled, or -errno.
 */
int ring_run_once(struct ring *r, int timeout_ms);

/*
 * A copy of @len bytes or more (a device chunk, a DATA frame's payload)
 * runs on io_uring's workers (IOSQE_ASYNC), not inline in the loop thread
 * that submitted it: the loop only submits and completes, and the copies
 * of many devices and channels run on as many cores.  Smaller ones
 * (headers, control frames) stay inline, where a thread hop would cost
 * more than the copy.  Documentation/performance.md has the measurements.
 */
#define RING_ASYNC_MIN (64u << 10)

static inline void ring_copy_async(struct io_uring_sqe *sqe, size_t len)
{
	if (len >= RING_ASYNC_MIN)
		sqe->flags |= IOSQE_ASYNC;
}

/* Bound io-wq workers: the copies above, and VFIO data_fds without
 * nowait support (each blocks one worker while it waits). */
int ring_bound_workers(struct ring *r, unsigned bounded, unsigned unbounded);

/*
 * A timeout that completes every @ms until *@stop: a caller's poll() on
 * the ring fd (vfmig_*_fd()) wakes at least that often, for silences and
 * reports.  Cancel it with ring_cancel(r, &b->op).
 */
struct ring_beat {
	struct ring_op op;
	struct __kernel_timespec ts;
	struct ring *r;
	const bool *stop;
};
void ring_beat_start(struct ring *r, struct ring_beat *b, unsigned ms,
		     const bool *stop);

/* Cancel @op if it is in flight (its callback runs with -ECANCELED). */
void ring_cancel(struct ring *r, struct ring_op *op);

#endif
