// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-channel send queues on an io_uring.  A short send resumes where it
 * stopped; over TLS the record layer takes the bytes (tls_send()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "txq.h"
#include "util.h"

static void kick(struct txq_chan *c);

static void timer_done(struct ring_op *op, int res)
{
	struct txq_chan *c = container_of(op, struct txq_chan, top);

	(void)res;
	c->throttled = false;
	kick(c);
}

/* The bucket's size: 20 ms worth, at least a frame. */
static double bucket_size(const struct txq *q)
{
	double burst = (double)q->rate / 50;

	if (burst < (double)q->burst_min)
		burst = (double)q->burst_min;
	/* and 10 ms more: a bucket that holds just one frame is full at
	 * the moment the timer is due, and what accrues while a late timer
	 * or a busy loop keeps us away is lost: 256 MiB behind 200 MB/s
	 * went out 3.6% under the cap with 4 MiB frames */
	return burst + (double)q->rate / 100;
}

uint64_t txq_credit(const struct txq *q, uint64_t now)
{
	double t;

	if (!q->rate)
		return 0;
	t = q->tokens + (double)(now - q->t_tokens) * (double)q->rate / 1000.0;
	if (t > bucket_size(q))
		t = bucket_size(q);
	return t > 0 ? (uint64_t)t : 0;
}

double txq_bucket_take(struct txq *q, uint64_t now, size_t len)
{
	double burst = bucket_size(q);

	q->tokens += (double)(now - q->t_tokens) * (double)q->rate / 1000.0;
	q->t_tokens = now;
	if (q->tokens > burst)
		q->tokens = burst;
	if (q->tokens >= (double)len || q->tokens >= burst) {
		q->tokens -= (double)len;
		return 0;
	}
	return ((double)len - q->tokens) * 1000.0 / (double)q->rate;
}

/* The token bucket on wire bytes, shared by all channels. */
static bool may_send(struct txq *q, struct txq_chan *c, size_t len)
{
	double wait_ms;

	if (!q->rate)
		return true;
	if (c->throttled)
		return false;
	wait_ms = txq_bucket_take(q, now_ms(), len);
	if (wait_ms <= 0)
		return true;
	c->ts.tv_sec = (long long)(wait_ms / 1000);
	c->ts.tv_nsec =
		(long long)((wait_ms - (double)c->ts.tv_sec * 1000) * 1e6) +
		1000000;
	c->throttled = true;
	io_uring_prep_timeout(ring_sqe(q->ring, &c->top), &c->ts, 0, 0);
	return false;
}

/* Send what is left of the head frame, if nothing is in flight. */
static void kick(struct txq_chan *c)
{
	struct txq *q = c->q;
	struct txq_frame *f = c->head;
	struct io_uring_sqe *sqe;
	struct iovec iov[2];
	size_t skip;
	int n = 0;

	if (!f || c->op.busy || c->throttled || (q->halt && *q->halt))
		return;
	if (!f->sent && !may_send(q, c, f->len))
		return;
	skip = f->sent;
	for (int i = 0; i < f->niov; i++) {
		if (skip >= f->iov[i].iov_len) {
			skip -= f->iov[i].iov_len;
			continue;
		}
		iov[n].iov_base = (char *)f->iov[i].iov_base + skip;
		iov[n].iov_len = f->iov[i].iov_len - skip;
		skip = 0;
		n++;
	}
	if (c->conn->tls) {
		/* encrypted into the session's buffer before this returns */
		tls_send(q->ring, c->conn->tls, &c->op, iov, n);
		return;
	}
	sqe = ring_sqe(q->ring, &c->op);
	memcpy(c->iov, iov, sizeof(iov));
	if (c->socket) {
		memset(&c->msg, 0, sizeof(c->msg));
		c->msg.msg_iov = c->iov;
		c->msg.msg_iovlen = (size_t)n;
		io_uring_prep_sendmsg(sqe, c->conn->fd, &c->msg, MSG_NOSIGNAL);
	} else {
		io_uring_prep_writev(sqe, c->conn->fd, c->iov, (unsigned)n,
				     (uint64_t)-1);
	}
	ring_copy_async(sqe, f->len - f->sent);
}

static void send_done(struct ring_op *op, int res)
{
	struct txq_chan *c = container_of(op, struct txq_chan, op);
	struct txq *q = c->q;
	struct txq_frame *f = c->head;

	if (res == -EINTR || res == -EAGAIN) {
		kick(c);
		return;
	}
	if (res < 0) {
		q->ops->failed(q->arg, (unsigned)(c - q->c), res);
		return;
	}
	q->bytes += (uint64_t)res;
	q->t_last_ms = now_ms();
	f->sent += (size_t)res;
	if (f->sent < f->len) {
		kick(c);
		return;
	}
	c->head = f->next;
	if (!c->head)
		c->tail = NULL;
	c->queued -= f->len;
	q->frames--;
	kick(c);
	if (q->ops->sent)
		q->ops->sent(q->arg, f);
	if (!f->owner)
		free(f);
}

void txq_init(struct txq *q, struct ring *ring, unsigned n, struct conn *conns,
	      const bool *socket, const struct txq_ops *ops, void *arg,
	      const bool *halt)
{
	memset(q, 0, sizeof(*q));
	q->ring = ring;
	q->ops = ops;
	q->arg = arg;
	q->halt = halt;
	q->n = n;
	q->t_last_ms = now_ms();
	for (unsigned i = 0; i < n; i++) {
		q->c[i].q = q;
		q->c[i].conn = &conns[i];
		q->c[i].socket = socket[i];
		q->c[i].op.done = send_done;
		q->c[i].top.done = timer_done;
	}
}

void txq_rate(struct txq *q, uint64_t rate, uint64_t burst_min)
{
	q->rate = rate;
	q->burst_min = burst_min; /* and a full bucket at the start */
}

void txq_push(struct txq *q, unsigned chan, struct txq_frame *f)
{
	struct txq_chan *c = &q->c[chan];

	f->next = NULL;
	f->sent = 0;
	if (c->tail)
		c->tail->next = f;
	else
		c->head = f;
	c->tail = f;
	c->queued += f->len;
	q->frames++;
	kick(c);
}

/* A control frame and its bytes, in one allocation. */
struct ctl_frame {
	struct txq_frame f;
	unsigned char buf[];
};

int txq_control(struct txq *q, unsigned chan, enum wire_type type,
		uint16_t device, const void *payload, uint32_t len)
{
	struct ctl_frame *cf = calloc(1, sizeof(*cf) + WIRE_HDR_LEN + len);

	if (!cf)
		return -ENOMEM;
	cf->f.len = wire_control(cf->buf, type, device, payload, len);
	cf->f.iov[0].iov_base = cf->buf;
	cf->f.iov[0].iov_len = cf->f.len;
	cf->f.niov = 1;
	txq_push(q, chan, &cf->f);
	return 0;
}

unsigned txq_least_queued(const struct txq *q)
{
	unsigned best = 0;

	for (unsigned i = 1; i < q->n; i++)
		if (q->c[i].queued < q->c[best].queued)
			best = i;
	return best;
}

bool txq_throttled(const struct txq *q)
{
	for (unsigned i = 0; i < q->n; i++)
		if (q->c[i].throttled)
			return true;
	return false;
}

void txq_cancel(struct txq *q)
{
	for (unsigned i = 0; i < q->n; i++) {
		ring_cancel(q->ring, &q->c[i].op);
		ring_cancel(q->ring, &q->c[i].top);
		tls_cancel(q->ring, q->c[i].conn->tls);
	}
}

void txq_clear(struct txq *q)
{
	for (unsigned i = 0; i < q->n; i++) {
		while (q->c[i].head) {
			struct txq_frame *f = q->c[i].head;

			q->c[i].head = f->next;
			if (!f->owner)
				free(f);
		}
		q->c[i].tail = NULL;
		q->c[i].queued = 0;
	}
	q->frames = 0;
}
