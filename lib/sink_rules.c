// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the destination enforces (Documentation/stream-format.md): the
 * order and bounds of each device's DATA frames, the control frames on
 * channel 0, the silences it tells apart, and, after a channel's end,
 * the reason the source may still have sent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sink.h"

/* The rules of a device's sequence (stream-format.md, "DATA order"):
 * what a DATA frame header may say, given the frames before it.  0, or
 * the session failed. */
int rx_data_rules(struct vfmig_sink *k, const struct wire_hdr *h,
		  struct rdev *d)
{
	const char *name = vfmig_device_name(d->dev);
	unsigned long long seq = h->seq;
	bool stopcopy = h->flags & WIRE_FLAG_STOPCOPY;

	if (d->loaded || (d->end_seen && h->seq >= d->end.frames))
		return rx_fail(
			k, EPROTO,
			"DATA frame %llu of device %s after its end (DEVICE_END said %llu frames)",
			seq, name, (unsigned long long)d->end.frames);
	if (h->seq < d->next ||
	    (d->taken[h->seq % WINDOW / 64] >> (h->seq % 64) & 1))
		return rx_fail(
			k, EPROTO,
			"DATA frame: sequence %llu of device %s was already received",
			seq, name);
	if (h->seq - d->next >= WINDOW)
		return rx_fail(
			k, EPROTO,
			"DATA frame: sequence %llu of device %s is outside the window (%llu..%llu)",
			seq, name, (unsigned long long)d->next,
			(unsigned long long)(d->next + WINDOW - 1));
	if (!stopcopy && !(k->lim.caps & WIRE_CAP_PRECOPY))
		return rx_fail(
			k, EPROTO,
			"DATA frame %llu of device %s: a pre-copy frame, and pre-copy was not negotiated",
			seq, name);
	if (!stopcopy && h->seq > d->stopcopy_first)
		return rx_fail(
			k, EPROTO,
			"DATA frame %llu of device %s: a pre-copy frame after its stop-copy frame %llu",
			seq, name, (unsigned long long)d->stopcopy_first);
	if (stopcopy && h->seq + 1 < d->precopy_top)
		return rx_fail(
			k, EPROTO,
			"DATA frame %llu of device %s: a stop-copy frame before its pre-copy frame %llu",
			seq, name, (unsigned long long)(d->precopy_top - 1));
	return 0;
}

/* A DEVICE_END the frames already taken can be part of: 0, or failed. */
static int device_end_check(struct vfmig_sink *k, struct rdev *d)
{
	const struct wire_device_end *e = &d->end;
	const char *name = vfmig_device_name(d->dev);
	uint64_t frames_left, bytes_left;

	if (e->frames < d->top)
		return rx_fail(
			k, EPROTO,
			"DEVICE_END of device %s says %llu frames, and frame %llu arrived",
			name, (unsigned long long)e->frames,
			(unsigned long long)(d->top - 1));
	if (e->raw_bytes < d->taken_bytes)
		return rx_fail(
			k, EPROTO,
			"DEVICE_END of device %s says %llu bytes, and %llu arrived already",
			name, (unsigned long long)e->raw_bytes,
			(unsigned long long)d->taken_bytes);
	/* each frame still to come carries 1..max_chunk bytes */
	frames_left = e->frames - d->nframes;
	bytes_left = e->raw_bytes - d->taken_bytes;
	if (bytes_left < frames_left ||
	    bytes_left / k->lim.max_chunk > frames_left ||
	    (bytes_left / k->lim.max_chunk == frames_left &&
	     bytes_left % k->lim.max_chunk))
		return rx_fail(
			k, EPROTO,
			"DEVICE_END of device %s says %llu bytes in %llu frames: the %llu frames to come cannot carry the %llu bytes left (1 to %u each)",
			name, (unsigned long long)e->raw_bytes,
			(unsigned long long)e->frames,
			(unsigned long long)frames_left,
			(unsigned long long)bytes_left, k->lim.max_chunk);
	return 0;
}

static void rx_init_done(struct vfmig_sink *k, struct rdev *d,
			 const struct wire_hdr *h, const unsigned char *p)
{
	const char *name = vfmig_device_name(d->dev);
	char err[256];

	if (!(k->lim.caps & WIRE_CAP_SWITCHOVER_ACK)) {
		rx_fail(k, EPROTO,
			"INIT_DONE of device %s: switchover-ack was not negotiated",
			name);
		return;
	}
	if (d->init_seen || d->end_seen || d->stopcopy_first != UINT64_MAX) {
		rx_fail(k, EPROTO, "INIT_DONE of device %s after its %s", name,
			d->init_seen ? "first INIT_DONE" :
			d->end_seen  ? "DEVICE_END" :
				       "first stop-copy frame");
		return;
	}
	if (wire_count_decode(p, h->enc_len, &d->init_bytes, err, sizeof(err)) <
	    0) {
		rx_fail(k, EPROTO, "INIT_DONE of device %s: %s", name, err);
		return;
	}
	d->init_seen = true;
	if (d->t.raw_bytes >= d->init_bytes && !d->ack_sent)
		rx_send_ack(d);
}

static void rx_device_end(struct vfmig_sink *k, struct rdev *d,
			  const struct wire_hdr *h, const unsigned char *p)
{
	char err[256];

	if (d->end_seen) {
		rx_fail(k, EPROTO, "a second DEVICE_END of device %s",
			vfmig_device_name(d->dev));
		return;
	}
	if (wire_device_end_decode(p, h->enc_len, &d->end, err, sizeof(err)) <
	    0) {
		rx_fail(k, EPROTO, "device %s: %s", vfmig_device_name(d->dev),
			err);
		return;
	}
	if (device_end_check(k, d) < 0)
		return;
	d->end_seen = true;
	k->stopcopy_seen = true;
	rx_device_complete(d);
}

static void rx_done(struct vfmig_sink *k)
{
	for (unsigned i = 0; i < k->ndev; i++)
		if (!k->d[i].end_seen) {
			rx_fail(k, EPROTO,
				"DONE before the DEVICE_END of device %s",
				vfmig_device_name(k->d[i].dev));
			return;
		}
	k->peer_done = true;
	if (k->loaded == k->ndev)
		k->stop = true;
}

/* A whole control frame on channel 0 (rx_recv_done() checked where it came). */
void rx_control(struct rchan *c)
{
	struct vfmig_sink *k = c->k;
	const struct wire_hdr *h = &c->h;
	char err[256], text[WIRE_MAX_TEXT + 1];
	uint32_t code;

	if (wire_payload_check(h, c->ctl, err, sizeof(err)) < 0) {
		rx_fail(k, EBADMSG, "%s", err);
		return;
	}
	switch (h->type) {
	case WIRE_INIT_DONE:
		rx_init_done(k, &k->d[h->device], h, c->ctl);
		break;
	case WIRE_DEVICE_END:
		rx_device_end(k, &k->d[h->device], h, c->ctl);
		break;
	case WIRE_NOP:
		if (!(k->lim.caps & WIRE_CAP_PROGRESS))
			rx_fail(k, EPROTO,
				"unexpected NOP frame on channel 0: progress was not negotiated");
		break;
	case WIRE_DONE:
		rx_done(k);
		break;
	case WIRE_ERROR:
		wire_text_decode(c->ctl, h->enc_len, &code, text, sizeof(text),
				 err, sizeof(err));
		rx_fail_as(k,
			   code == WIRE_E_CANCELLED ? WIRE_E_CANCELLED :
						      WIRE_E_PROTOCOL,
			   code == WIRE_E_CANCELLED ? ECANCELED : EIO,
			   "source: %s", text);
		k->told = true; /* it is closing: no answer */
		return;
	default:
		rx_fail(k, EPROTO, "unexpected %s frame on channel 0",
			wire_type_name(h->type));
		return;
	}
	rx_next_header(c);
}

/* What TCP received on each channel, sampled every RX_SAMPLE_MS: bytes
 * that arrive without making a whole frame (they are read whole,
 * MSG_WAITALL) tell a trickle from a stall. */
void rx_sample_rx(struct vfmig_sink *k, uint64_t now)
{
	if (now - k->t_rx_sample < RX_SAMPLE_MS)
		return;
	k->t_rx_sample = now;
	for (unsigned i = 0; i < k->nchan; i++) {
		struct rchan *c = &k->c[i];
		uint64_t n;

		if (chan_rx_bytes(c->conn->fd, &n) == 0 && n != c->rx_bytes) {
			c->rx_bytes = n;
			c->t_rx = now;
		}
	}
}

/* No whole frame and no write for the timeout: say what it looks like. */
void rx_no_progress(struct vfmig_sink *k)
{
	uint64_t n;

	for (unsigned i = 0; i < k->ndev; i++) {
		struct rdev *d = &k->d[i];
		unsigned later = 0;

		if (d->win[d->next % WINDOW])
			continue;
		for (unsigned j = 1; j < WINDOW; j++)
			later += d->win[(d->next + j) % WINDOW] != NULL;
		if (later) {
			rx_fail(k, ETIMEDOUT,
				"no progress for %d ms: device %s waits for frame %llu, and %u later frames wait behind it (a gap the source never filled)",
				k->o.timeout_ms, vfmig_device_name(d->dev),
				(unsigned long long)d->next, later);
			return;
		}
	}
	for (unsigned i = 0; i < k->nchan; i++)
		/* bytes after the last whole frame (and its sampling), and
		 * still in the silence's second half: a few bytes just after
		 * a frame and nothing since is a stall */
		if (k->c[i].t_rx > k->last_activity + 2 * RX_SAMPLE_MS &&
		    now_ms() - k->c[i].t_rx < (uint64_t)k->o.timeout_ms / 2) {
			rx_fail(k, ETIMEDOUT,
				"no whole frame from the source for %d ms, though bytes keep arriving on channel %u: it trickles",
				k->o.timeout_ms, i);
			return;
		}
	if (k->nchan && chan_rx_bytes(k->c[0].conn->fd, &n) < 0)
		rx_fail(k, ETIMEDOUT,
			"no whole frame from the source for %d ms (it stalled, or trickles: %s does not say which)",
			k->o.timeout_ms,
			k->ss.file ? "a file" : "a unix socket");
	else
		rx_fail(k, ETIMEDOUT,
			"no whole frame from the source for %d ms: it stalled (nothing arrived)",
			k->o.timeout_ms);
}

/* Read @n bytes of channel 0 into @p (NULL: drop them), within the
 * reason's wait; 0 or -errno. */
static int reason_read(struct vfmig_sink *k, unsigned char *p, size_t n)
{
	unsigned char skip[4096] = { 0 }; /* what is dropped lands here */

	while (n) {
		size_t m = p || n < sizeof(skip) ? n : sizeof(skip);
		int ret = conn_read_all(k->c[0].conn, p ? p : skip, m,
					REASON_WAIT_MS);

		if (ret < 0)
			return ret;
		n -= m;
		if (p)
			p += m;
	}
	return 0;
}

/*
 * After a channel but 0 ended: read on along channel 0, past the frames
 * still queued ahead of it (dropped: the session has failed), for the
 * source's ERROR, which then replaces the end as the reason.  Bounded:
 * REASON_WAIT_MS of silence, the timeout in all.
 */
void rx_await_reason(struct vfmig_sink *k)
{
	struct rchan *c = &k->c[0];
	uint64_t until = now_ms() + (uint64_t)k->o.timeout_ms;
	char err[256], text[WIRE_MAX_TEXT + 1];
	size_t done = c->have; /* of the frame in progress's payload */
	uint32_t code;

	/* the frame in progress: c->h and @done of its payload */
	if (c->st == RC_HDR) {
		if (reason_read(k, c->hbuf + c->have, WIRE_HDR_LEN - c->have) ||
		    wire_hdr_decode(c->hbuf, &k->lim, &c->h, err, sizeof(err)))
			return;
		done = 0;
	} else if (c->st == RC_PAUSED) {
		done = 0;
	} else if (c->st != RC_PAYLOAD) {
		return;
	}
	for (;;) {
		bool ctl = c->h.type != WIRE_DATA;

		if (ctl && c->h.enc_len > sizeof(c->ctl))
			return;
		if (reason_read(k, ctl ? c->ctl + done : NULL,
				c->h.enc_len - done))
			return;
		if (c->h.type == WIRE_ERROR) {
			wire_text_decode(c->ctl, c->h.enc_len, &code, text,
					 sizeof(text), err, sizeof(err));
			k->failed = false; /* the cause of the end */
			rx_fail_as(k,
				   code == WIRE_E_CANCELLED ? WIRE_E_CANCELLED :
							      WIRE_E_PROTOCOL,
				   code == WIRE_E_CANCELLED ? ECANCELED : EIO,
				   "source: %s", text);
			return;
		}
		done = 0;
		if (now_ms() > until || reason_read(k, c->hbuf, WIRE_HDR_LEN) ||
		    wire_hdr_decode(c->hbuf, &k->lim, &c->h, err, sizeof(err)))
			return;
	}
}
