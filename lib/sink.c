// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The receive pipeline.
 *
 *   channels --recv (io_uring)--> checked header --> slot (pool, or the
 *     channel's reserved slot for a frame next in line) --> codec worker
 *     (decode, crc32c of the decoded bytes) --> per-device window -->
 *     in-order write (one in flight per data_fd) --> RESUMING->STOP
 *
 * Memory is the pool plus one slot per channel whatever the source sends;
 * a channel whose next frame finds no slot pauses after its header (the
 * rest waits in the socket).  design.md shows why this cannot deadlock.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bufmem.h"
#include "cpus.h"
#include "crc32c.h"
#include "device.h"
#include "events.h"
#include "sink.h"
#include "tls.h"
#include "util.h"

#define OUR_CAPS                                            \
	(WIRE_CAP_ZSTD | WIRE_CAP_ZERO | WIRE_CAP_PRECOPY | \
	 WIRE_CAP_SWITCHOVER_ACK | WIRE_CAP_PROGRESS | WIRE_CAP_PREFLIGHT)
#define PROGRESS_MS 20 /* how often the source hears what was loaded */
#define LOOP_MS 200 /* the loop wakes at least this often: silences, reports */

/*
 * The first failure is the session's: its errno, its message, and the
 * ERROR code the source is told (Documentation/stream-format.md lists
 * which failure gets which).  A cancel wins over the failure it caused
 * (a wait that gave up).
 */
static int rx_vfail(struct vfmig_sink *k, enum wire_code code, int err,
		    const char *fmt, va_list ap)
{
	if (!k->failed) {
		k->failed = true;
		if (io_cancelled(k->cancel)) {
			code = WIRE_E_CANCELLED;
			err = ECANCELED;
			snprintf(k->errmsg, sizeof(k->errmsg), "cancelled");
		} else {
			vsnprintf(k->errmsg, sizeof(k->errmsg), fmt, ap);
		}
		k->err = err < 0 ? err : -err;
		k->code = code;
	}
	k->stop = true;
	return k->err;
}

/* A protocol violation, a silence, a peer gone: code protocol. */
int rx_fail(struct vfmig_sink *k, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rx_vfail(k, WIRE_E_PROTOCOL, err, fmt, ap);
	va_end(ap);
	return k->err;
}

/* Any other failure, with the code that says what it was. */
int rx_fail_as(struct vfmig_sink *k, enum wire_code code, int err,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rx_vfail(k, code, err, fmt, ap);
	va_end(ap);
	return k->err;
}

/* Small frames back to the source, on channel 0 through the ring: the
 * loop never blocks on them. */
static void rx_reply(struct vfmig_sink *k, enum wire_type type, uint16_t dev,
		     const void *p, uint32_t len)
{
	if (!k->ss.file && txq_control(&k->tx, 0, type, dev, p, len) < 0)
		rx_fail_as(k, WIRE_E_INTERNAL, ENOMEM, "out of memory");
}

static void rx_reply_failed(void *arg, unsigned chan, int res)
{
	struct vfmig_sink *k = arg;

	rx_fail(k, res, "answering the source: %s",
		conn_error(k->c[chan].conn, res));
	/* A source that failed sent its reason on channel 0 before it
	 * closed, and our answer met the close: read on for that reason
	 * (set, never cleared: a channel's end may have set it already). */
	if (!k->told)
		k->reason_may_follow = true;
	k->told = true; /* nobody to tell */
	k->reply_lost = true;
}

static const struct txq_ops reply_ops = { .failed = rx_reply_failed };

static void progress_one(struct rdev *d)
{
	struct wire_progress m = { .loaded = d->t.raw_bytes,
				   .busy_us = d->busy_us,
				   .received = d->received };

	if (d->active)
		m.busy_us += now_us() - d->t_active_us;
	unsigned char p[WIRE_PROGRESS_LEN];

	if (!(d->k->lim.caps & WIRE_CAP_PROGRESS))
		return;
	d->reported = d->t.raw_bytes;
	wire_progress_encode(&m, p);
	rx_reply(d->k, WIRE_PROGRESS, (uint16_t)d->idx, p, sizeof(p));
}

/* The initial data is in the device: the source may stop.  What waits
 * here goes first: the source decides on it. */
void rx_send_ack(struct rdev *d)
{
	unsigned char p[WIRE_COUNT_LEN];

	d->ack_sent = true;
	progress_one(d);
	wire_count_encode(d->t.raw_bytes, p);
	rx_reply(d->k, WIRE_SWITCHOVER_ACK, (uint16_t)d->idx, p, sizeof(p));
}

/* ------------------------------------------------------------ slots */

static void rx_chan_read(struct rchan *c);
static void rx_take_payload(struct rchan *c);

static void rx_slot_put(struct vfmig_sink *k, struct rslot *sl)
{
	if (sl->owner >= 0) {
		k->c[sl->owner].reserve = sl;
	} else {
		sl->next_free = k->free_slots;
		k->free_slots = sl;
	}
	/* A paused channel may go on now. */
	for (unsigned i = 0; i < k->nchan; i++)
		if (k->c[i].st == RC_PAUSED)
			rx_take_payload(&k->c[i]);
}

/* --------------------------------------------------------- writing */

static void write_done(struct ring_op *op, int res);

/* Work on @d begins or ends (struct rdev's busy_us). */
static void busy_begin(struct rdev *d)
{
	if (d->active++ == 0)
		d->t_active_us = now_us();
}

static void busy_end(struct rdev *d)
{
	if (d->active && --d->active == 0)
		d->busy_us += now_us() - d->t_active_us;
}

static void try_write(struct rdev *d)
{
	struct vfmig_sink *k = d->k;
	struct rslot *sl = d->win[d->next % WINDOW];
	struct io_uring_sqe *sqe;

	if (d->writing || k->stop || !sl || sl->h.seq != d->next)
		return;
	sqe = ring_sqe(&k->ring, &d->wop);
	io_uring_prep_write(sqe, d->fd, sl->raw + sl->woff,
			    (unsigned)(sl->h.raw_len - sl->woff), (uint64_t)-1);
	if (d->async)
		sqe->flags |= IOSQE_ASYNC;
	else
		ring_copy_async(sqe, sl->h.raw_len - sl->woff);
	d->writing = true;
	busy_begin(d);
}

/*
 * Every device is loaded, in STOP.  Where the VMM starts its vCPUs, it
 * does so now, with the devices in RUNNING_P2P where all support it; then
 * they run.  A failure is the session's: the source, told instead of
 * DONE, runs on, and the devices here stay loaded.  0 or -errno.
 */
static int rx_all_loaded(struct vfmig_sink *k)
{
	bool p2p = true;
	int ret = 0;

	if (k->o.no_start || !events_start_is_callers(k->o.events))
		return 0;
	for (unsigned i = 0; i < k->ndev; i++) {
		int f = vfmig_device_migration_flags(k->d[i].dev);

		p2p = p2p && f > 0 && (f & VFMIG_MIGRATION_P2P);
	}
	for (unsigned i = 0; p2p && i < k->ndev; i++) {
		ret = vfmig_device_set_state(k->d[i].dev,
					     VFMIG_STATE_RUNNING_P2P, NULL);
		if (ret < 0)
			return rx_fail_as(k, WIRE_E_DEVICE, ret, "%s",
					  vfmig_device_strerror(k->d[i].dev));
	}
	ret = events_vcpus_start(k->o.events, p2p);
	if (ret < 0)
		return rx_fail_as(
			k, WIRE_E_DEVICE, ret,
			"the VMM could not start its vCPUs (vcpus_start: %s)",
			errno_name(ret));
	for (unsigned i = 0; i < k->ndev; i++) {
		ret = vfmig_device_set_state(k->d[i].dev, VFMIG_STATE_RUNNING,
					     NULL);
		if (ret < 0)
			return rx_fail_as(k, WIRE_E_DEVICE, ret, "%s",
					  vfmig_device_strerror(k->d[i].dev));
	}
	return 0;
}

void rx_device_complete(struct rdev *d)
{
	struct vfmig_sink *k = d->k;
	unsigned char p[4 + WIRE_MAX_TEXT];
	int ret;

	if (d->loaded || !d->end_seen || d->next != d->end.frames)
		return;
	if (d->t.raw_bytes != d->end.raw_bytes || d->crc != d->end.crc) {
		rx_fail(k, EBADMSG,
			"device %s: received %llu bytes (crc32c %08x), the source sent %llu (crc32c %08x)",
			vfmig_device_name(d->dev),
			(unsigned long long)d->t.raw_bytes, d->crc,
			(unsigned long long)d->end.raw_bytes, d->end.crc);
		return;
	}
	/* RESUMING -> STOP is where the driver checks and loads the state;
	 * the devices run once all are loaded where the VMM starts its
	 * vCPUs itself (rx_all_loaded()), else each at once. */
	ret = vfmig_device_set_state(d->dev, VFMIG_STATE_STOP, NULL);
	if (!ret && !k->o.no_start && !events_start_is_callers(k->o.events))
		ret = vfmig_device_set_state(d->dev, VFMIG_STATE_RUNNING, NULL);
	if (ret < 0) {
		/* the source hears it in the device's answer: no ERROR */
		rx_reply(k, WIRE_DEVICE_LOADED, (uint16_t)d->idx, p,
			 wire_text_encode(WIRE_E_DEVICE,
					  vfmig_device_strerror(d->dev), p));
		/* what the pipeline gave the driver, so that a stream the
		 * device found short is told from one the source cut */
		rx_fail_as(
			k, WIRE_E_DEVICE, ret,
			"%s (it was written %llu bytes in %llu frames, crc32c %08x, as the source's DEVICE_END says)",
			vfmig_device_strerror(d->dev),
			(unsigned long long)d->t.raw_bytes,
			(unsigned long long)d->t.frames, d->crc);
		k->told = true;
		return;
	}
	/* its final figures, nothing in flight: the source keeps the rate
	 * the stop-copy loaded at for the next migration's estimate */
	progress_one(d);
	d->loaded = true;
	k->loaded++;
	rx_reply(k, WIRE_DEVICE_LOADED, (uint16_t)d->idx, p,
		 wire_text_encode(WIRE_OK, "loaded", p));
	events_device(k->o.events, VFMIG_EVENT_LOADED, k->ss.map[d->idx],
		      d->dev, d->t.raw_bytes, 0, NULL);
	if (k->loaded == k->ndev && rx_all_loaded(k) == 0) {
		k->t_end = now_ms();
		rx_reply(k, WIRE_DONE, WIRE_NO_DEVICE, NULL, 0);
		if (k->peer_done)
			k->stop = true;
	}
}

static void write_done(struct ring_op *op, int res)
{
	struct rdev *d = container_of(op, struct rdev, wop);
	struct vfmig_sink *k = d->k;
	struct rslot *sl = d->win[d->next % WINDOW];

	d->writing = false;
	busy_end(d);
	if (k->stop)
		return;
	if (res == -EINTR || res == -EAGAIN) {
		try_write(d);
		return;
	}
	if (res <= 0) {
		/* Any write error means the driver rejected the stream. */
		rx_fail_as(
			k, WIRE_E_DEVICE, res ? res : -EIO,
			"device %s: the driver refused the stream at byte %llu: %s",
			vfmig_device_name(d->dev),
			(unsigned long long)d->t.raw_bytes + sl->woff,
			errno_name(res ? res : -EIO));
		return;
	}
	k->last_activity = now_ms();
	sl->woff += (size_t)res;
	if (sl->woff < sl->h.raw_len) {
		try_write(d);
		return;
	}
	/* the worker checked the chunk's crc: combine, no second pass */
	d->crc = crc32c_combine(d->crc, sl->h.crc, sl->h.raw_len);
	d->t.raw_bytes += sl->h.raw_len;
	if (sl->h.flags & WIRE_FLAG_STOPCOPY)
		d->t.stopcopy_bytes += sl->h.raw_len;
	else
		d->t.precopy_bytes += sl->h.raw_len;
	d->t.frames++;
	d->win[d->next % WINDOW] = NULL;
	d->taken[d->next % WINDOW / 64] &= ~(1ull << (d->next % 64));
	d->next++;
	rx_slot_put(k, sl);
	if (d->init_seen && !d->ack_sent && d->t.raw_bytes >= d->init_bytes) {
		rx_send_ack(d);
	}
	rx_device_complete(d);
	try_write(d);
}

/* -------------------------------------------------------- decoding */

static void decode_run(struct work *w, struct codec *codec)
{
	struct rslot *sl = (struct rslot *)w;

	if (sl->h.codec != WIRE_CODEC_RAW) {
		sl->err = codec_decode(codec, sl->h.codec, sl->enc,
				       sl->h.enc_len, sl->raw, sl->h.raw_len,
				       sl->why, sizeof(sl->why));
		if (sl->err)
			return;
	}
	if (crc32c(0, sl->raw, sl->h.raw_len) != sl->h.crc) {
		snprintf(sl->why, sizeof(sl->why),
			 "crc32c of the decoded bytes does not match");
		sl->err = -EBADMSG;
	}
}

static void decode_done(struct work *w)
{
	struct rslot *sl = (struct rslot *)w;
	struct rdev *d = sl->d;

	busy_end(d);
	if (sl->err) {
		rx_fail(d->k, EBADMSG,
			"DATA frame %llu of device %s: %s: stream rejected",
			(unsigned long long)sl->h.seq,
			vfmig_device_name(d->dev), sl->why);
		rx_slot_put(d->k, sl);
		return;
	}
	d->win[sl->h.seq % WINDOW] = sl;
	try_write(d);
}

/* --------------------------------------------------------- channels */

static void rx_recv_done(struct ring_op *op, int res);

static void rx_chan_read(struct rchan *c)
{
	struct vfmig_sink *k = c->k;
	struct io_uring_sqe *sqe;

	if (k->stop || c->st == RC_EOF || c->st == RC_PAUSED)
		return;
	if (c->conn->tls) {
		tls_recv(&k->ring, c->conn->tls, &c->op, c->dst + c->have,
			 c->want - c->have);
		return;
	}
	sqe = ring_sqe(&k->ring, &c->op);
	if (c->socket)
		io_uring_prep_recv(sqe, c->conn->fd, c->dst + c->have,
				   c->want - c->have, MSG_WAITALL);
	else
		io_uring_prep_read(sqe, c->conn->fd, c->dst + c->have,
				   (unsigned)(c->want - c->have), (uint64_t)-1);
	ring_copy_async(sqe, c->want - c->have);
}

void rx_next_header(struct rchan *c)
{
	/* Progress is whole frames: bytes trickling in (slow-loris) or
	 * frames piling up behind a gap are no progress. */
	c->k->last_activity = now_ms();
	c->st = RC_HDR;
	c->dst = c->hbuf;
	c->have = 0;
	c->want = WIRE_HDR_LEN;
	c->slot = NULL;
	rx_chan_read(c);
}

static void data_ready(struct rchan *c)
{
	struct rslot *sl = c->slot;

	struct rdev *d = &c->k->d[sl->h.device];

	d->received += sl->h.raw_len;
	busy_begin(d);
	sl->work.run = decode_run;
	sl->work.done = decode_done;
	workers_submit(c->k->workers, &sl->work);
	rx_next_header(c);
}

/* A slot for the DATA frame whose header @c holds, or pause. */
static void rx_take_payload(struct rchan *c)
{
	struct vfmig_sink *k = c->k;
	struct rdev *d = &k->d[c->h.device];
	struct rslot *sl = NULL;

	if (c->h.seq == d->next && c->reserve) {
		sl = c->reserve;
		c->reserve = NULL;
	} else if (k->free_slots) {
		sl = k->free_slots;
		k->free_slots = sl->next_free;
	}
	if (!sl) {
		c->st = RC_PAUSED;
		return;
	}
	sl->h = c->h;
	sl->d = d;
	sl->err = 0;
	sl->woff = 0;
	c->slot = sl;
	c->st = RC_PAYLOAD;
	c->have = 0;
	c->want = c->h.enc_len;
	c->dst = c->h.codec == WIRE_CODEC_RAW ? sl->raw : sl->enc;
	if (!c->want) { /* a zero chunk */
		data_ready(c);
		return;
	}
	rx_chan_read(c);
}

static void rx_data_header(struct rchan *c)
{
	struct vfmig_sink *k = c->k;
	struct rdev *d = &k->d[c->h.device];

	if (!k->t_first_us)
		k->t_first_us = now_us();
	if (rx_data_rules(k, &c->h, d) < 0)
		return;
	d->taken[c->h.seq % WINDOW / 64] |= 1ull << (c->h.seq % 64);
	d->nframes++;
	d->taken_bytes += c->h.raw_len;
	if (c->h.seq >= d->top)
		d->top = c->h.seq + 1;
	if (c->h.flags & WIRE_FLAG_STOPCOPY) {
		k->stopcopy_seen = true;
		if (c->h.seq < d->stopcopy_first)
			d->stopcopy_first = c->h.seq;
	} else if (c->h.seq >= d->precopy_top) {
		d->precopy_top = c->h.seq + 1;
	}
	rx_take_payload(c);
}

/*
 * A channel ended mid-stream.  A source that fails sends its reason on
 * channel 0 and then closes every channel: another channel's end may be
 * seen first.  That end fails the session, and rx_await_reason() reads on
 * for the reason once the loop has stopped.
 *
 * A source that dies with our PROGRESS still unread in its socket ends
 * with a reset rather than a FIN (the kernel's rule for a close that
 * discards data): the same event to the operator, so it is named alike.
 */
static void lost(struct rchan *c, int res)
{
	struct vfmig_sink *k = c->k;
	const char *why = k->ss.file ? "the file ends" :
				       "the source closed the connection";

	if (res)
		why = conn_error(c->conn, res);
	/* a TLS session's own reason for it stays as it is */
	if (res == -ECONNRESET && !strcmp(why, "ECONNRESET"))
		why = "the source reset the connection (ECONNRESET)";
	c->st = RC_EOF;
	rx_fail(k, res ? res : -ECONNRESET, "channel %d: %s mid-stream", c->idx,
		why);
	if (c->idx && !k->told) /* set, never cleared: see rx_reply_failed() */
		k->reason_may_follow = true;
	k->told = true; /* nobody left to tell */
}

static void rx_recv_done(struct ring_op *op, int res)
{
	struct rchan *c = container_of(op, struct rchan, op);
	struct vfmig_sink *k = c->k;
	char err[256];

	if (k->stop) {
		/* a read cut short keeps what it read: rx_await_reason() goes
		 * on from there */
		if (res > 0)
			c->have += (size_t)res;
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		rx_chan_read(c);
		return;
	}
	if (res <= 0) {
		if (res == 0 && c->st == RC_HDR && !c->have &&
		    (k->peer_done || k->loaded == k->ndev)) {
			c->st = RC_EOF;
			return;
		}
		lost(c, res);
		return;
	}
	c->have += (size_t)res;
	if (c->have < c->want) {
		rx_chan_read(c);
		return;
	}
	if (c->st == RC_PAYLOAD) {
		if (c->h.type == WIRE_DATA)
			data_ready(c);
		else
			rx_control(c);
		return;
	}
	/* a whole header */
	if (wire_hdr_decode(c->hbuf, &k->lim, &c->h, err, sizeof(err)) < 0) {
		rx_fail(k, EPROTO, "channel %d: %s", c->idx, err);
		return;
	}
	/* channel 0 carries the control frames, and nothing after DONE */
	if (c->idx && c->h.type != WIRE_DATA) {
		rx_fail(k, EPROTO,
			"unexpected %s frame on channel %d: control frames travel on channel 0",
			wire_type_name(c->h.type), c->idx);
		return;
	}
	if (!c->idx && k->peer_done) {
		rx_fail(k, EPROTO,
			"unexpected %s frame on channel 0 after DONE",
			wire_type_name(c->h.type));
		return;
	}
	if (c->h.type == WIRE_DATA) {
		rx_data_header(c);
		return;
	}
	if (c->h.enc_len > sizeof(c->ctl)) {
		rx_fail(k, EPROTO, "unexpected %s frame on channel 0",
			wire_type_name(c->h.type));
		return;
	}
	c->st = RC_PAYLOAD;
	c->dst = c->ctl;
	c->have = 0;
	c->want = c->h.enc_len;
	if (!c->want)
		rx_control(c);
	else
		rx_chan_read(c);
}

/* One session at a time: a connection during it is told why it is refused. */
static void stray_done(struct ring_op *op, int res)
{
	struct vfmig_sink *k = container_of(op, struct vfmig_sink, aop);
	unsigned char t[4 + WIRE_MAX_TEXT];

	/* over TLS it is closed unanswered: an answer would take a
	 * handshake, which this loop does not block on */
	if (res >= 0 && !k->o.tls) {
		unsigned char f[WIRE_HDR_LEN + sizeof(t)];
		size_t n = wire_control(
			f, WIRE_REJECT, WIRE_NO_DEVICE, t,
			wire_text_encode(WIRE_E_SESSION,
					 "another session is in progress", t));

		/* a new socket's buffer takes it whole; best effort */
		(void)send(res, f, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (res >= 0)
		close(res);
	if (!k->stop && res != -ECANCELED)
		io_uring_prep_accept(ring_sqe(&k->ring, &k->aop), k->ss.lfd,
				     NULL, NULL, SOCK_CLOEXEC);
}

/* vfmig_sink_cancel() was called (a poll: the eventfd stays readable for
 * every later wait). */
static void cancel_done(struct ring_op *op, int res)
{
	struct vfmig_sink *k = container_of(op, struct vfmig_sink, cop);

	if (res != -ECANCELED)
		rx_fail_as(k, WIRE_E_CANCELLED, ECANCELED, "cancelled");
}

static void workers_ready(struct ring_op *op, int res);

static void arm_workers(struct vfmig_sink *k)
{
	io_uring_prep_read(ring_sqe(&k->ring, &k->eop),
			   workers_eventfd(k->workers), &k->evbuf,
			   sizeof(k->evbuf), (uint64_t)-1);
}

static void workers_ready(struct ring_op *op, int res)
{
	struct vfmig_sink *k = container_of(op, struct vfmig_sink, eop);

	(void)res;
	workers_reap(k->workers);
	if (!k->stop)
		arm_workers(k);
}

/* ------------------------------------------------------------ setup */

int vfmig_sink_new(struct vfmig_device *const *devs, unsigned ndev,
		   const struct vfmig_stream_opts *opts,
		   struct vfmig_sink **out)
{
	struct vfmig_sink *k;
	size_t ws;
	char *why;
	int ret = session_check_new(opts, out, devs, ndev, &why, &ws);

	if (ret < 0)
		return ret;
	if (opts->size > offsetof(struct vfmig_stream_opts, tls) && opts->tls &&
	    !tls_is_server(opts->tls))
		return set_errbuf(
			why, ws, EINVAL,
			"tls: a source's credentials (VFMIG_TLS_CLIENT); the destination needs VFMIG_TLS_SERVER");
	k = calloc(1, sizeof(*k));
	if (!k)
		return set_errbuf(why, ws, ENOMEM, "out of memory");
	ret = cpus_of_opts(opts, &k->cpus, &k->pinned, why, ws);
	if (ret < 0) {
		free(k);
		return ret;
	}
	k->cancel = session_cancel_fd(why, ws);
	if (k->cancel < 0) {
		ret = k->cancel;
		free(k);
		return ret;
	}
	memcpy(&k->o, opts,
	       opts->size < sizeof(k->o) ? opts->size : sizeof(k->o));
	k->o.size = sizeof(k->o);
	if (!k->o.memory)
		k->o.memory = SESSION_DEFAULT_MEMORY;
	if (!k->o.timeout_ms)
		k->o.timeout_ms = SESSION_DEFAULT_TIMEOUT_MS;
	if (!k->o.precopy_max_ms)
		k->o.precopy_max_ms = SESSION_DEFAULT_PRECOPY_MAX_MS;
	k->devs = devs;
	k->ndev = ndev;
	session_init(&k->ss);
	k->ss.uri = k->o.uri;
	k->ss.tls = k->o.tls;
	k->ss.devs = devs;
	k->ss.ndev = ndev;
	k->ss.timeout_ms = k->o.timeout_ms;
	k->ss.cancel = k->cancel;
	k->ss.memory = k->o.memory;
	k->ss.offer = OUR_CAPS;
	for (unsigned i = 0; i < CHAN_MAX; i++)
		k->c[i].conn = &k->ss.c[i];
	*out = k;
	return 0;
}

int vfmig_sink_cancel(struct vfmig_sink *sink)
{
	return sink ? io_cancel(sink->cancel) : -EINVAL;
}

int vfmig_sink_listen(struct vfmig_sink *k)
{
	int ret;

	if (!k)
		return -EINVAL;
	ret = session_listen(&k->ss);
	if (ret < 0)
		snprintf(k->errmsg, sizeof(k->errmsg), "%s", k->ss.why);
	return ret;
}

int vfmig_sink_port(const struct vfmig_sink *sink)
{
	if (!sink)
		return -EINVAL;
	return sink->ss.port >= 0 ? sink->ss.port : -ENOTCONN;
}

int vfmig_sink_address(const struct vfmig_sink *k, struct sockaddr *addr,
		       socklen_t *len)
{
	if (!k || !addr || !len)
		return -EINVAL;
	if (k->ss.lfd < 0)
		return -ENOTCONN;
	return getsockname(k->ss.lfd, addr, len) < 0 ? -errno : 0;
}

/* The session's channels, agreed, and the manifest matched: 0, or the
 * session failed with the reason (and ERROR code) set-up found. */
/* Take the channels, answer the HELLOs, check the manifest.  Blocking: on
 * the set-up thread when the caller's loop drives us. */
static int accept_blocking(void *arg)
{
	struct vfmig_sink *k = arg;

	return session_accept(&k->ss);
}

/* What the set-up agreed on, or why it failed (@ret). */
static int accepted(struct vfmig_sink *k, int ret)
{
	if (k->ss.t_open_ms)
		k->t_start = k->ss.t_open_ms; /* the session, not the wait */
	if (ret < 0) {
		rx_fail_as(k, k->ss.code, ret, "%s", k->ss.why);
		k->told = k->ss.told;
		return k->err;
	}
	k->nchan = k->ss.nchan;
	k->lim.caps = k->ss.caps;
	k->lim.max_chunk = k->ss.max_chunk;
	k->lim.ndevices = k->ndev;
	return 0;
}

/*
 * The manifest matched: the devices go to RESUMING before the source is
 * told to start, so a device refusing it is reported before any data
 * moves, and nothing streams at a sink still busy with its devices.
 */
static int resume_devices(struct vfmig_sink *k)
{
	int ret;

	for (unsigned i = 0; i < k->ndev; i++) {
		ret = vfmig_device_set_state(k->d[i].dev, VFMIG_STATE_RESUMING,
					     &k->d[i].fd);
		if (ret < 0)
			return rx_fail_as(k, WIRE_E_DEVICE, ret, "%s",
					  vfmig_device_strerror(k->d[i].dev));
		k->resuming = true;
	}
	rx_reply(k, WIRE_MANIFEST_ACK, WIRE_NO_DEVICE, NULL, 0);
	return k->failed ? k->err : 0;
}

static int rx_setup(struct vfmig_sink *k)
{
	size_t slot_mem = 2 * (size_t)k->lim.max_chunk;
	unsigned total;
	char err[256];
	int ret;

	/* session_budget() made room for the channels' reserves */
	total = (unsigned)(k->o.memory / slot_mem);
	if (total < k->nchan + SESSION_RX_MIN_SHARED)
		return rx_fail_as(
			k, WIRE_E_INTERNAL, EINVAL,
			"--memory %llu is too small for %u-byte chunks",
			(unsigned long long)k->o.memory, k->lim.max_chunk);
	k->nslots = total - k->nchan;
	k->mem_len = total * slot_mem;
	k->mem = bufmem_alloc(k->mem_len);
	k->slots = calloc(total, sizeof(*k->slots));
	k->d = calloc(k->ndev, sizeof(*k->d));
	if (!k->mem || !k->slots || !k->d)
		return rx_fail_as(k, WIRE_E_INTERNAL, ENOMEM,
				  "out of memory for %u buffers", total);
	for (unsigned i = 0; i < total; i++) {
		struct rslot *sl = &k->slots[i];

		sl->k = k;
		sl->raw = k->mem + i * slot_mem;
		sl->enc = sl->raw + k->lim.max_chunk;
		if (i < k->nslots) {
			sl->owner = -1;
			sl->next_free = k->free_slots;
			k->free_slots = sl;
		} else {
			sl->owner = (int)(i - k->nslots);
			k->c[sl->owner].reserve = sl;
		}
	}
	for (unsigned i = 0; i < k->nchan; i++) {
		k->c[i].k = k;
		k->c[i].idx = (int)i;
		k->c[i].op.done = rx_recv_done;
		k->c[i].socket = k->ss.socket[i];
	}
	for (unsigned i = 0; i < k->ndev; i++) {
		struct rdev *d = &k->d[i];

		d->k = k;
		d->idx = i;
		d->dev = k->devs[k->ss.map[i]]; /* matched by id */
		d->wop.done = write_done;
		d->async = !strcmp(vfmig_device_backend(d->dev), "vfio");
		d->stopcopy_first = UINT64_MAX;
		d->win = calloc(WINDOW, sizeof(struct rslot *));
		if (!d->win)
			return rx_fail_as(k, WIRE_E_INTERNAL, ENOMEM,
					  "out of memory");
	}
	ret = workers_new((int)k->o.workers, CODEC_ZSTD, 1,
			  k->pinned ? &k->cpus : NULL, &k->workers);
	if (ret < 0)
		return rx_fail_as(k, WIRE_E_INTERNAL, ret, "codec workers: %s",
				  errno_name(ret));
	/* vfmig_sink_start() made it before the set-up */
	ret = k->ring.mode ? 0 :
			     ring_init(&k->ring, 256, false, err, sizeof(err));
	if (ret < 0)
		return rx_fail_as(k, WIRE_E_INTERNAL, ret, "%s", err);
	/* io-wq: a write per device, a receive per channel */
	ring_bound_workers(&k->ring, k->ndev, k->ndev + k->ss.nchan);
	txq_init(&k->tx, &k->ring, 1, k->ss.c, k->ss.socket, &reply_ops, k,
		 NULL);
	k->eop.done = workers_ready;
	k->aop.done = stray_done;
	k->cop.done = cancel_done;
	return 0;
}

/* Tell the source what each device has loaded, and how fast: the
 * source's estimate counts what waits here and this side's load rate. */
static void progress(struct vfmig_sink *k)
{
	uint64_t now = now_ms();

	/* a report still queued says enough: the queue stays short */
	if (!(k->lim.caps & WIRE_CAP_PROGRESS) ||
	    now - k->t_progress < PROGRESS_MS || k->tx.frames)
		return;
	k->t_progress = now;
	for (unsigned i = 0; i < k->ndev && !k->stop; i++)
		if (k->d[i].reported != k->d[i].t.raw_bytes &&
		    !k->d[i].end_seen)
			progress_one(&k->d[i]);
}

static void rx_report(struct vfmig_sink *k)
{
	struct vfmig_transfer t = { .size = sizeof(t) };
	unsigned every = k->o.interval_ms ? k->o.interval_ms : 1000;
	uint64_t now = now_ms();

	if (!k->o.progress || now - k->t_report < every)
		return;
	k->t_report = now;
	vfmig_sink_transfer(k, -1, &t);
	k->o.progress(k->o.progress_arg, &t, now - k->t_start, "receiving");
}

/* What waits on channel 0 (answers, the last DONE) goes out before the
 * channels close, within REASON_WAIT_MS.  One still queued then (the
 * source does not read) leaves no room for an ERROR after it: a frame
 * may be cut. */
static void flush_replies(struct vfmig_sink *k)
{
	uint64_t until = now_ms() + REASON_WAIT_MS;

	while (k->tx.frames && !k->reply_lost && now_ms() < until)
		if (ring_run_once(&k->ring, 50) < 0)
			break;
	if (k->tx.frames)
		k->told = true;
}

static void rx_drain(struct vfmig_sink *k)
{
	txq_cancel(&k->tx);
	for (unsigned i = 0; k->d && i < k->ndev; i++)
		ring_cancel(&k->ring, &k->d[i].wop);
	for (unsigned i = 0; i < k->nchan; i++) {
		ring_cancel(&k->ring, &k->c[i].op);
		tls_cancel(&k->ring, k->c[i].conn->tls);
	}
	ring_cancel(&k->ring, &k->eop);
	ring_cancel(&k->ring, &k->aop);
	ring_cancel(&k->ring, &k->cop);
	ring_cancel(&k->ring, &k->beat.op);
	ring_cancel(&k->ring, &k->hs.op);
	for (int i = 0; i < 100 && k->ring.inflight; i++)
		ring_run_once(&k->ring, 100);
}

/* Every turn of the loop: the silences and the bounds, and reports. */
static void checks(struct vfmig_sink *k)
{
	uint64_t now = now_ms();

	rx_sample_rx(k, now);
	if (now - k->last_activity > (uint64_t)k->o.timeout_ms)
		rx_no_progress(k);
	if (!k->stopcopy_seen && now - k->t_start > k->o.precopy_max_ms)
		rx_fail(k, ETIMEDOUT,
			"the source has pre-copied for %llu s without stopping its devices (the destination's limit): refusing an endless pre-copy",
			(unsigned long long)(k->o.precopy_max_ms / 1000));
	progress(k);
	rx_report(k);
}

/* The loop's first requests: workers, cancel, strays, every channel. */
static void rx_arm(struct vfmig_sink *k)
{
	arm_workers(k);
	io_uring_prep_poll_add(ring_sqe(&k->ring, &k->cop), k->cancel, POLLIN);
	if (k->ss.lfd >= 0)
		io_uring_prep_accept(ring_sqe(&k->ring, &k->aop), k->ss.lfd,
				     NULL, NULL, SOCK_CLOEXEC);
	for (unsigned i = 0; i < k->nchan; i++)
		rx_next_header(&k->c[i]);
}

/* The channels agreed: buffers, workers, the devices into RESUMING, and
 * the loop's requests.  0, or -errno (failed). */
static int rx_begin(struct vfmig_sink *k)
{
	if (rx_setup(k) || resume_devices(k))
		return k->err ? k->err : -EIO;
	k->t_devs_us = now_us();
	cpustat_begin(&k->cpu);
	rx_arm(k);
	return 0;
}

/* One turn of the loop, waiting up to @timeout_ms for a completion. */
static void rx_turn(struct vfmig_sink *k, int timeout_ms)
{
	int ret = ring_run_once(&k->ring, timeout_ms);

	if (ret < 0) {
		rx_fail_as(k, WIRE_E_INTERNAL, ret, "io_uring: %s",
			   errno_name(ret));
		return;
	}
	checks(k);
}

static void rx_clock_start(struct vfmig_sink *k)
{
	k->t_run_us = now_us();
	k->t_start = k->last_activity = k->t_run_us / 1000;
}

/* Stop everything in flight, tell the source why if it failed, reset the
 * devices out of RESUMING unless loaded, close the channels. */
static int rx_finish(struct vfmig_sink *k)
{
	k->t_finish_us = now_us();
	cpustat_end(&k->cpu, k->use);
	if (handshake_running(&k->hs)) {
		/* given up during the set-up: its waits watch the cancel */
		io_cancel(k->cancel);
		handshake_join(&k->hs);
	}
	if (k->ring.mode) {
		flush_replies(k);
		rx_drain(k);
		txq_clear(&k->tx);
	}
	if (k->workers) {
		/* decodes still running own slots: let them finish */
		workers_free(k->workers);
		k->workers = NULL;
	}
	if (k->reason_may_follow)
		rx_await_reason(k);
	if (k->failed) {
		/* one ERROR a failure, with the code that says what it was */
		if (!k->told)
			frame_send_error(session_told_on(&k->ss), k->code,
					 k->errmsg);
		k->told = true;
		/* Out of RESUMING: a reset, never a partial load. */
		for (unsigned i = 0; k->resuming && i < k->ndev; i++)
			if (!k->d[i].loaded)
				vfmig_device_recover(k->d[i].dev);
		for (unsigned i = 0; i < k->ndev; i++)
			if (!k->d || !k->d[i].loaded)
				events_device(k->o.events, VFMIG_EVENT_FAILED,
					      k->d ? k->ss.map[i] : i,
					      k->d ? k->d[i].dev : k->devs[i],
					      0, 0, k->errmsg);
	}
	session_close(&k->ss, false);
	return k->failed ? k->err : 0;
}

int vfmig_sink_run(struct vfmig_sink *k)
{
	if (!k)
		return -EINVAL;
	if (k->started)
		return -EALREADY;
	k->started = true;
	rx_clock_start(k);
	if (accepted(k, accept_blocking(k)) == 0 && rx_begin(k) == 0)
		while (!k->stop)
			rx_turn(k, LOOP_MS);
	return rx_finish(k);
}

/* The set-up thread ended (the caller's step() goes on from there). */
static void accept_done(struct ring_op *op, int res)
{
	struct vfmig_sink *k = container_of(op, struct vfmig_sink, hs.op);

	(void)res;
	k->accept_ended = true;
}

/* A step during the set-up: the beat, and the set-up's end. */
static void rx_accept_step(struct vfmig_sink *k)
{
	int ret = ring_run_once(&k->ring, 0);

	if (ret < 0) {
		rx_fail_as(k, WIRE_E_INTERNAL, ret, "io_uring: %s",
			   errno_name(ret));
		return;
	}
	if (!k->accept_ended)
		return;
	if (accepted(k, handshake_join(&k->hs)) == 0)
		rx_begin(k);
}

/* As vfmig_source_start(): the ring now, the set-up on its own thread. */
int vfmig_sink_start(struct vfmig_sink *k)
{
	char err[256];
	int ret = 0;

	if (!k)
		return -EINVAL;
	if (k->started)
		return -EALREADY;
	k->started = k->external = true;
	rx_clock_start(k);
	/* here, not on the thread: the port is the caller's to read */
	ret = session_listen(&k->ss);
	if (ret < 0)
		rx_fail_as(k, k->ss.code, ret, "%s", k->ss.why);
	if (!ret) {
		ret = ring_init(&k->ring, 256, true, err, sizeof(err));
		if (ret < 0)
			rx_fail_as(k, WIRE_E_INTERNAL, ret, "%s", err);
	}
	if (!ret) {
		ret = handshake_start(&k->hs, &k->ring, accept_done,
				      k->pinned ? &k->cpus : NULL,
				      accept_blocking, k);
		if (ret < 0)
			rx_fail_as(k, WIRE_E_INTERNAL, ret,
				   "the set-up thread: %s", errno_name(ret));
	}
	if (ret < 0) {
		k->result = rx_finish(k);
		k->finished = true;
		return k->result;
	}
	ring_beat_start(&k->ring, &k->beat, LOOP_MS, &k->stop);
	/* queued requests reach the kernel now: the caller may poll */
	io_uring_submit(&k->ring.uring);
	return 0;
}

int vfmig_sink_fd(const struct vfmig_sink *k)
{
	if (!k || !k->external || !k->ring.mode)
		return -EINVAL;
	return k->ring.uring.ring_fd;
}

int vfmig_sink_step(struct vfmig_sink *k)
{
	if (!k || !k->external)
		return -EINVAL;
	if (k->finished)
		return k->result;
	if (handshake_running(&k->hs))
		rx_accept_step(k);
	else
		rx_turn(k, 0);
	if (!k->stop) {
		io_uring_submit(&k->ring.uring);
		return 1;
	}
	k->result = rx_finish(k);
	k->finished = true;
	return k->result;
}

const char *vfmig_sink_strerror(const struct vfmig_sink *sink)
{
	return sink ? sink->errmsg : "";
}

int vfmig_sink_transfer(const struct vfmig_sink *k, int dev,
			struct vfmig_transfer *t)
{
	struct vfmig_transfer sum = { .size = sizeof(sum) };

	if (!k || dev >= (int)k->ndev || !t)
		return -EINVAL;
	for (unsigned i = 0; k->d && i < k->ndev; i++) {
		const struct vfmig_transfer *x = &k->d[i].t;

		if (dev < 0 || k->d[i].dev == k->devs[dev])
			transfer_add(&sum, x);
	}
	sum.state = dev >= 0 ? vfmig_device_get_state(k->devs[dev]) : 0;
	return transfer_out(t, &sum);
}

uint64_t vfmig_sink_total_ms(const struct vfmig_sink *k)
{
	return k ? session_total_ms(k->t_start, k->t_end, k->t_run_us,
				    k->t_finish_us) :
		   0;
}

int vfmig_sink_times(const struct vfmig_sink *k, struct vfmig_times *t)
{
	if (!k || !t || t->size < sizeof(*t))
		return -EINVAL;
	if (!k->t_finish_us || !k->t_devs_us)
		return -ENODATA;
	t->setup_us = k->t_first_us ? k->t_first_us - k->ss.t_open_us : 0;
	t->transfer_us = k->t_finish_us - k->t_devs_us;
	memcpy(t->cpu, k->use, sizeof(t->cpu));
	return 0;
}

unsigned vfmig_sink_channels(const struct vfmig_sink *sink)
{
	return sink ? sink->nchan : 0;
}

void vfmig_sink_free(struct vfmig_sink *k)
{
	if (!k)
		return;
	if (k->external && !k->finished) {
		/* given up mid-way: as a failure ends (requests drained
		 * before their buffers go, devices reset, the source told) */
		rx_fail_as(k, WIRE_E_CANCELLED, ECANCELED,
			   "the caller ended the session");
		k->result = rx_finish(k);
		k->finished = true;
	}
	workers_free(k->workers);
	if (k->ring.mode)
		ring_exit(&k->ring);
	for (unsigned i = 0; k->d && i < k->ndev; i++)
		free(k->d[i].win);
	session_close(&k->ss, false);
	close(k->cancel);
	free(k->d);
	free(k->slots);
	bufmem_free(k->mem, k->mem_len);
	free(k);
}
