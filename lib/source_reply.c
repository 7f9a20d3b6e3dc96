// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the destination says, at the source: its answers on channel 0
 * (SWITCHOVER_ACK, DEVICE_LOADED, PROGRESS, DONE, ERROR) through the ring,
 * the other channels watched for their end, the reason a destination
 * sent before it closed, read after the loop, and the ERROR code that
 * tells it ours.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "source.h"
#include "tls.h"
#include "util.h"

/* After a lost connection, how long the destination's reason may take:
 * it was sent before the close, so it is normally queued already. */
#define REASON_WAIT_MS 500

static void tx_answer(struct vfmig_source *s, const struct wire_hdr *h,
		      const unsigned char *p)
{
	char text[WIRE_MAX_TEXT + 1], err[256];
	uint32_t code;
	uint64_t v;

	switch (h->type) {
	case WIRE_SWITCHOVER_ACK:
		if (wire_count_decode(p, h->enc_len, &v, err, sizeof(err)) <
		    0) {
			tx_fail(s, EPROTO, "destination: %s", err);
			return;
		}
		if (!s->d[h->device].acked)
			events_device(s->o.events, VFMIG_EVENT_INITIAL_ACKED,
				      h->device, s->d[h->device].dev, 0, 0,
				      NULL);
		s->d[h->device].acked = true;
		break;
	case WIRE_DEVICE_LOADED:
		if (wire_text_decode(p, h->enc_len, &code, text, sizeof(text),
				     err, sizeof(err)) < 0) {
			tx_fail(s, EPROTO, "destination: %s", err);
			return;
		}
		if (code != WIRE_OK) {
			tx_fail(s, EIO, "destination: device %s: %s",
				vfmig_device_name(s->d[h->device].dev), text);
			s->peer_said = true;
			return;
		}
		if (!s->d[h->device].loaded) {
			struct sdev *d = &s->d[h->device];

			d->loaded = true;
			s->loaded++;
			events_device(s->o.events, VFMIG_EVENT_LOADED, d->idx,
				      d->dev, d->t.raw_bytes,
				      now_us() - d->t_stopcopy_us, NULL);
		}
		break;
	case WIRE_PROGRESS: {
		struct sdev *d = &s->d[h->device];
		struct wire_progress m;

		if (!(s->ss.caps & WIRE_CAP_PROGRESS) ||
		    wire_progress_decode(p, h->enc_len, &m, err, sizeof(err)) <
			    0) {
			tx_fail(s, EPROTO, "destination: %s",
				s->ss.caps & WIRE_CAP_PROGRESS ?
					err :
					"PROGRESS was not negotiated");
			return;
		}
		/* never more than was released, never backwards */
		if (m.received > d->raw_released ||
		    m.received < d->dest.received ||
		    m.loaded < d->dest.loaded || m.busy_us < d->dest.busy_us) {
			tx_fail(s, EPROTO,
				"destination: device %s: PROGRESS says %llu bytes received, %llu loaded in %llu us, after %llu, %llu in %llu us, of %llu sent",
				vfmig_device_name(d->dev),
				(unsigned long long)m.received,
				(unsigned long long)m.loaded,
				(unsigned long long)m.busy_us,
				(unsigned long long)d->dest.received,
				(unsigned long long)d->dest.loaded,
				(unsigned long long)d->dest.busy_us,
				(unsigned long long)d->raw_released);
			return;
		}
		d->dest = m;
		d->sent_at_report = d->raw_sent;
		break;
	}
	case WIRE_DONE:
		s->peer_done = true;
		break;
	case WIRE_ERROR:
		wire_text_decode(p, h->enc_len, &code, text, sizeof(text), err,
				 sizeof(err));
		s->failed = s->failed && !s->lost; /* the cause of that loss */
		tx_fail(s, code == WIRE_E_CANCELLED ? ECANCELED : EIO,
			"destination: %s", text);
		s->peer_said = true;
		return;
	default:
		tx_fail(s, EPROTO, "destination sent an unexpected %s frame",
			wire_type_name(h->type));
		return;
	}
	tx_check_finished(s);
}

/* Account @n bytes received on channel 0: 1 when a whole reply is in
 * rbuf (its header in s->rh), 0 when more is needed, -1 failed. */
static int reply_take(struct vfmig_source *s, size_t n)
{
	struct wire_limits lim = { .caps = s->ss.caps,
				   .max_chunk = s->o.chunk,
				   .ndevices = s->ndev };
	char err[256];

	s->rhave += n;
	if (s->rhave >= WIRE_HDR_LEN && !s->rh.type) {
		if (wire_hdr_decode(s->rbuf, &lim, &s->rh, err, sizeof(err)) <
		    0) {
			tx_fail(s, EPROTO, "destination: %s", err);
			return -1;
		}
		if (s->rh.enc_len > WIRE_MAX_REPLY || s->rh.type == WIRE_DATA) {
			tx_fail(s, EPROTO,
				"destination sent a %s frame of %u bytes",
				wire_type_name(s->rh.type), s->rh.enc_len);
			return -1;
		}
	}
	if (!s->rh.type || s->rhave < WIRE_HDR_LEN + s->rh.enc_len)
		return 0;
	if (wire_payload_check(&s->rh, s->rbuf + WIRE_HDR_LEN, err,
			       sizeof(err)) < 0) {
		tx_fail(s, EPROTO, "destination: %s", err);
		return -1;
	}
	return 1;
}

static size_t reply_want(const struct vfmig_source *s)
{
	return s->rh.type ? WIRE_HDR_LEN + s->rh.enc_len - s->rhave :
			    WIRE_HDR_LEN - s->rhave;
}

static void tx_reply_done(struct ring_op *op, int res)
{
	struct vfmig_source *s = container_of(op, struct vfmig_source, rop);
	struct wire_hdr h;
	int ret;

	if (s->stop) {
		/* bytes of the reason for a lost connection: see
		 * tx_await_reason() */
		if (s->lost && res > 0)
			s->rhave += (size_t)res;
		return;
	}
	if (res <= 0) {
		if (res == -EINTR || res == -EAGAIN) {
			tx_replies_arm(s);
			return;
		}
		if (res && s->c[0].conn->tls)
			tx_fail(s, res, "channel 0: %s",
				conn_error(s->c[0].conn, res));
		else
			tx_fail(s, res ? res : -ECONNRESET,
				"the destination %s before confirming every device",
				res ? "failed" : "closed the connection");
		return;
	}
	s->last_activity = now_ms();
	ret = reply_take(s, (size_t)res);
	if (ret < 0)
		return;
	if (ret) {
		h = s->rh;
		s->rhave = 0;
		memset(&s->rh, 0, sizeof(s->rh));
		tx_answer(s, &h, s->rbuf + WIRE_HDR_LEN);
	}
	tx_replies_arm(s);
}

/* After a lost connection, and with nothing left in flight: read what
 * is left on channel 0 and take the destination's reason if one is
 * there, behind any PROGRESS still queued before it.  Bounded by
 * REASON_WAIT_MS; a destination that died without one leaves the loss
 * as the cause. */
void tx_await_reason(struct vfmig_source *s)
{
	uint64_t until = now_ms() + REASON_WAIT_MS;
	size_t n = s->rhave;

	s->rhave = 0; /* reply_take() decodes from the start again */
	memset(&s->rh, 0, sizeof(s->rh));
	for (;;) {
		int ret = reply_take(s, n);
		uint64_t t;

		if (ret < 0)
			return;
		if (ret > 0 && s->rh.type == WIRE_ERROR) {
			tx_answer(s, &s->rh, s->rbuf + WIRE_HDR_LEN);
			return;
		}
		if (ret > 0) {
			s->rhave = 0;
			memset(&s->rh, 0, sizeof(s->rh));
		}
		t = now_ms();
		ret = t < until ?
			      conn_read_some(s->c[0].conn, s->rbuf + s->rhave,
					     reply_want(s), (int)(until - t)) :
			      -ETIMEDOUT;
		if (ret <= 0)
			return;
		n = (size_t)ret;
	}
}

static void tx_watch_done(struct ring_op *op, int res);

void tx_watch(struct chan *c)
{
	c->wop.done = tx_watch_done;
	if (c->conn->tls)
		tls_recv(&c->s->ring, c->conn->tls, &c->wop, c->wbuf,
			 sizeof(c->wbuf));
	else
		io_uring_prep_recv(ring_sqe(&c->s->ring, &c->wop), c->conn->fd,
				   c->wbuf, sizeof(c->wbuf), 0);
}

static void tx_watch_done(struct ring_op *op, int res)
{
	struct chan *c = container_of(op, struct chan, wop);
	struct vfmig_source *s = c->s;

	if (s->stop || res == -ECANCELED)
		return;
	if (res == -EINTR || res == -EAGAIN) {
		tx_watch(c);
		return;
	}
	/* An orderly end is how a successful destination closes, and may
	 * arrive before its last answer on channel 0: a send on the channel
	 * would fail anyway.  A reset is a lost channel. */
	if (res > 0)
		tx_fail(s, EPROTO, "the destination sent data on channel %u",
			(unsigned)(c - s->c));
	else if (res < 0)
		tx_lose(s, res,
			"channel %u: the connection to the destination: %s",
			(unsigned)(c - s->c), conn_error(c->conn, res));
}

void tx_replies_arm(struct vfmig_source *s)
{
	if (s->ss.file || s->stop)
		return;
	s->rop.done = tx_reply_done;
	if (s->c[0].conn->tls)
		tls_recv(&s->ring, s->c[0].conn->tls, &s->rop,
			 s->rbuf + s->rhave, reply_want(s));
	else
		io_uring_prep_recv(ring_sqe(&s->ring, &s->rop),
				   s->c[0].conn->fd, s->rbuf + s->rhave,
				   reply_want(s), 0);
}

/* The ERROR code that tells the destination what ended the migration. */
enum wire_code tx_error_code(int err)
{
	switch (err) {
	case -ECANCELED: /* the caller, or a switchover that cannot be */
		return WIRE_E_CANCELLED;
	case -EPROTO:
	case -EBADMSG:
	case -ETIMEDOUT:
		return WIRE_E_PROTOCOL;
	case -ENOMEM:
		return WIRE_E_INTERNAL;
	default: /* a device's read or state change */
		return WIRE_E_DEVICE;
	}
}
