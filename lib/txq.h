/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Send queues: one per channel, one send in flight on each, through the
 * owner's ring; the least-queued choice for the next frame; and a token
 * bucket on wire bytes (--max-bandwidth) shared by every channel.  What
 * completes is reported through callbacks: the queue never calls into
 * the pipeline that owns it.
 */
#ifndef VFMIG_LIB_TXQ_H
#define VFMIG_LIB_TXQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "channel.h"
#include "conn.h"
#include "ring.h"
#include "wire.h"

/* A frame on its way out: a header and what follows it, in up to two
 * pieces.  A data frame is its owner's (the pipeline's buffer); a
 * control frame (txq_control()) is the queue's, freed once sent. */
struct txq_frame {
	struct txq_frame *next;
	struct iovec iov[2];
	int niov;
	size_t len, sent;
	void *owner; /* NULL: a control frame */
	unsigned char hdr[WIRE_HDR_LEN];
};

struct txq;

struct txq_ops {
	/* @f went out whole (a control frame is freed after this); NULL:
	 * nothing to do then */
	void (*sent)(void *arg, struct txq_frame *f);
	/* sending on channel @chan failed with @res: it sends no more */
	void (*failed)(void *arg, unsigned chan, int res);
};

struct txq_chan {
	struct txq *q;
	struct conn *conn;
	bool socket; /* sendmsg; else writev (a file, a pipe) */
	struct ring_op op, top;
	/* the request in flight points here until it completes */
	struct msghdr msg;
	struct iovec iov[2];
	struct __kernel_timespec ts;
	struct txq_frame *head, *tail;
	uint64_t queued; /* bytes */
	bool throttled; /* waiting for tokens */
};

struct txq {
	struct ring *ring;
	const struct txq_ops *ops;
	void *arg;
	const bool *halt; /* the owner's: no send starts once it is set */
	unsigned n;
	struct txq_chan c[CHAN_MAX];
	/* the token bucket: bytes/s (0: none), the burst's floor */
	uint64_t rate;
	uint64_t burst_min;
	double tokens;
	uint64_t t_tokens;
	/* the owner reads these */
	unsigned frames; /* queued on all channels, in flight included */
	uint64_t bytes; /* wire bytes sent */
	uint64_t t_last_ms; /* when the last of them went */
};

/* @n channels on @conns (socket[i]: whether channel i is one).  @halt
 * may be NULL. */
void txq_init(struct txq *q, struct ring *ring, unsigned n, struct conn *conns,
	      const bool *socket, const struct txq_ops *ops, void *arg,
	      const bool *halt);
/* Cap the wire at @rate bytes/s (0: none); a burst holds at least
 * @burst_min (a whole frame) and 20 ms worth, and 10 ms more. */
void txq_rate(struct txq *q, uint64_t rate, uint64_t burst_min);
/* The bucket at @now (ms): 0 when @len bytes may go (their tokens are
 * taken), else the ms until they may. */
double txq_bucket_take(struct txq *q, uint64_t now, size_t len);
/* Wire bytes the bucket would let out at once at @now (ms): its credit,
 * which leaves before the cap's pace starts.  0 without a cap. */
uint64_t txq_credit(const struct txq *q, uint64_t now);

/* Queue @f (its iov and len set) on channel @chan. */
void txq_push(struct txq *q, unsigned chan, struct txq_frame *f);
/* Queue a control frame on channel @chan: 0 or -ENOMEM. */
int txq_control(struct txq *q, unsigned chan, enum wire_type type,
		uint16_t device, const void *payload, uint32_t len);
/* The channel with the fewest bytes queued (the first of equals). */
unsigned txq_least_queued(const struct txq *q);
/* Whether some channel waits for tokens. */
bool txq_throttled(const struct txq *q);

/* Cancel what is in flight (the owner runs its ring until it is done). */
void txq_cancel(struct txq *q);
/* Free the control frames still queued; data frames are their owner's. */
void txq_clear(struct txq *q);

#endif
